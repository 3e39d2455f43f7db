// The kiosk tablet: enrollment by pairing code, the idle clock with "Call nurse",
// incoming calls (with auto-answer), the call itself, and a calm reconnecting screen.

import { CallMedia } from "/static/js/hoiva-call.js";
import {
  CLOSE_BAD_TOKEN,
  CLOSE_REPLACED,
  CLOSE_REVOKED,
  SignalConnection,
} from "/static/js/hoiva-signal.js";
import { LOCALES, TIME_ZONE, applyTranslations, loadLanguage, pickLanguage, translate } from "./i18n.js";
import { ReminderScreen } from "./reminders.js";
import { MealView } from "./meal.js";
import { loadAccessLog } from "./privacy.js";
import { DeviceAgent } from "./device.js";

const TOKEN_KEY = "hoiva.tablet.token";
const LANGUAGE_KEY = "hoiva.tablet.language";
const AGENT = "kiosk/0.1";
// The version of this page as served (tablet.html); the fleet page shows which kiosks still
// run an older page and need a reload.
const APP_VERSION = document.body.dataset.appVersion || "kiosk/unknown";
const TEXT_SIZES = ["large", "larger", "largest"];
const RING_PEAK_GAIN = 0.3;
const NOTICE_MS = 8000;
// The kiosk shows "Connecting…" only when a reconnect takes longer than a blink.
const CONNECTING_GRACE_MS = 1500;
const SCREENS = [
  "connecting", "enroll", "idle", "ringing", "call", "reminder", "meal-invite", "meal", "privacy",
];

const $ = (id) => document.getElementById(id);

const storage = {
  get(key) {
    try {
      return window.localStorage.getItem(key);
    } catch (error) {
      return null;
    }
  },
  set(key, value) {
    try {
      window.localStorage.setItem(key, value);
    } catch (error) {
      // A kiosk without storage must be paired again after a reload; nothing else to do.
    }
  },
  remove(key) {
    try {
      window.localStorage.removeItem(key);
    } catch (error) {
      // see set()
    }
  },
};

const kiosk = {
  lang: pickLanguage(storage.get(LANGUAGE_KEY)),
  token: storage.get(TOKEN_KEY),
  name: "",
  subjectId: null,
  settings: null,
  iceServers: [],
  signal: null,
  screen: "connecting",
  incoming: null,
  call: null,
  help: { state: "none", ref: null },
  timers: { countdown: null, notice: null, connecting: null, endFallback: null },
  ring: null,
  wakeLock: null,
  volume: 0.8, // 0-1, from the client's settings: ring tone and call audio
};

function t(key, params) {
  return translate(kiosk.lang, key, params);
}

async function setLanguage(lang) {
  const wanted = pickLanguage(lang);
  await loadLanguage(wanted);
  // A newer choice may have arrived while this catalogue loaded; the newest one wins.
  if (pickLanguage(lang) !== wanted) {
    return;
  }
  kiosk.lang = wanted;
  storage.set(LANGUAGE_KEY, kiosk.lang);
  applyTranslations(document, kiosk.lang);
  renderIdle();
  renderClock();
  reminders.render();
}

// ---- the client's settings (welcome, and settings.update from the fleet page) -------------

function applySettings(settings) {
  if (!settings) {
    return;
  }
  kiosk.settings = { ...kiosk.settings, ...settings };
  if (settings.language) {
    setLanguage(settings.language);
  }
  const size = TEXT_SIZES.includes(settings.text_size) ? settings.text_size : "large";
  document.documentElement.dataset.textSize = size;
  if (Number.isFinite(settings.volume)) {
    kiosk.volume = Math.min(100, Math.max(0, settings.volume)) / 100;
    for (const media of document.querySelectorAll("video, audio")) {
      media.volume = kiosk.volume;
    }
  }
}

function showScreen(name) {
  kiosk.screen = name;
  document.body.dataset.screen = name;
  for (const screen of SCREENS) {
    $(`screen-${screen}`).hidden = screen !== name;
  }
  if (name === "idle") {
    keepScreenOn();
  }
}

// ---- enrollment -------------------------------------------------------------------------

function cancelConnectingScreen() {
  clearTimeout(kiosk.timers.connecting);
  kiosk.timers.connecting = null;
}

function showEnroll(messageKey = "") {
  cancelConnectingScreen();
  $("enroll-message").textContent = messageKey ? t(messageKey) : "";
  showScreen("enroll");
  $("enroll-code").focus();
}

function formatCode(raw) {
  const cleaned = raw.toUpperCase().replace(/[^A-Z0-9]/g, "").slice(0, 8);
  return cleaned.length > 4 ? `${cleaned.slice(0, 4)}-${cleaned.slice(4)}` : cleaned;
}

async function submitEnrollment(event) {
  event.preventDefault();
  unlockAudio();
  const code = formatCode($("enroll-code").value);
  const label = $("enroll-label").value.trim().slice(0, 80);
  const message = $("enroll-message");
  if (!code) {
    message.textContent = t("enroll.empty");
    return;
  }
  const button = $("enroll-submit");
  button.disabled = true;
  button.textContent = t("enroll.busy");
  message.textContent = "";
  let response;
  try {
    response = await fetch("/api/tablet/pair", {
      method: "POST",
      // A tablet never rides on cookies, whatever else this browser is signed into.
      credentials: "omit",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ code, label }),
    });
  } catch (error) {
    message.textContent = t("enroll.network");
    return;
  } finally {
    button.disabled = false;
    button.textContent = t("enroll.submit");
  }
  if (response.ok) {
    const body = await response.json();
    kiosk.token = body.token;
    storage.set(TOKEN_KEY, body.token);
    $("enroll-code").value = "";
    $("enroll-label").value = "";
    showScreen("connecting");
    connect();
    return;
  }
  if (response.status === 429) {
    message.textContent = t("enroll.rate_limited");
  } else if (response.status === 400) {
    message.textContent = t("enroll.failed");
  } else {
    message.textContent = t("enroll.network");
  }
}

function forgetToken(messageKey) {
  kiosk.token = null;
  storage.remove(TOKEN_KEY);
  if (kiosk.signal) {
    kiosk.signal.stop();
    kiosk.signal = null;
  }
  stopRinging();
  teardownCall();
  kiosk.incoming = null;
  showEnroll(messageKey);
}

// ---- connection -------------------------------------------------------------------------

async function loadMe() {
  try {
    const response = await fetch("/api/tablet/me", {
      credentials: "omit",
      headers: { Authorization: `Bearer ${kiosk.token}` },
    });
    if (response.status === 401) {
      forgetToken("enroll.revoked");
      return false;
    }
    if (response.ok) {
      const me = await response.json();
      kiosk.name = me.first_name;
      kiosk.settings = me.settings;
      setLanguage(me.settings.language);
    }
  } catch (error) {
    // Offline at boot: the signaling connection keeps retrying and tells us the rest.
  }
  return true;
}

function connect() {
  if (kiosk.signal) {
    kiosk.signal.stop();
  }
  kiosk.signal = new SignalConnection({
    token: kiosk.token,
    agent: AGENT,
    onWelcome,
    onMessage,
    onClose,
    onState,
  });
  kiosk.signal.start();
}

function onWelcome(welcome) {
  cancelConnectingScreen();
  kiosk.name = welcome.display_name || kiosk.name;
  kiosk.subjectId = welcome.subject_id;
  kiosk.iceServers = welcome.ice_servers || [];
  applySettings(welcome.settings);
  device.start(welcome.tablet_heartbeat_s);
  // Forget invitations from before the reconnect; the server sends the current ones.
  meal.sync();
  if (kiosk.call) {
    $("call-status").textContent = t("call.connected");
  } else if (
    !kiosk.incoming &&
    !meal.seated &&
    !["reminder", "meal-invite"].includes(kiosk.screen)
  ) {
    showIdle();
  }
  // Reminders that fell due while the tablet was away.
  kiosk.signal?.send({ type: "checkin.pending" });
}

function onClose(code) {
  if (code === CLOSE_BAD_TOKEN || code === CLOSE_REVOKED) {
    forgetToken("enroll.revoked");
    return false;
  }
  if (code === CLOSE_REPLACED) {
    // The same tablet opened Hoiva again elsewhere; two pages taking turns would steal
    // each other's calls, so this one steps aside until someone taps "Try again".
    stopRinging();
    teardownCall();
    kiosk.incoming = null;
    showReplaced();
    return false;
  }
  return true;
}

function showReplaced() {
  cancelConnectingScreen();
  $("connecting-help").textContent = t("connecting.replaced");
  $("connecting-retry").hidden = false;
  showScreen("connecting");
}

function retryConnection() {
  $("connecting-help").textContent = t("connecting.help");
  $("connecting-retry").hidden = true;
  connect();
}

function onState(state) {
  if (state !== "down" && state !== "connecting") {
    return;
  }
  if (kiosk.call) {
    $("call-status").textContent = t("call.reconnecting");
    return;
  }
  if (kiosk.screen === "enroll" || kiosk.timers.connecting) {
    return;
  }
  kiosk.timers.connecting = setTimeout(() => {
    kiosk.timers.connecting = null;
    if (!kiosk.signal?.open && !kiosk.call && kiosk.screen !== "enroll") {
      stopRinging();
      kiosk.incoming = null;
      showScreen("connecting");
    }
  }, kiosk.screen === "connecting" ? 0 : CONNECTING_GRACE_MS);
}

function onMessage(message) {
  if (device.handle(message)) {
    return undefined;
  }
  if (meal.handle(message)) {
    return undefined;
  }
  switch (message.type) {
    case "call.incoming":
      return incomingCall(message);
    case "call.ended":
      return callEnded(message);
    case "media.answer":
      return kiosk.call?.callId === message.call_id && kiosk.call.media.onAnswer(message.sdp);
    case "media.offer":
      return kiosk.call?.callId === message.call_id && kiosk.call.media.onOffer(message.sdp);
    case "media.restart":
      return kiosk.call?.callId === message.call_id && kiosk.call.media.restart();
    case "call.media":
      if (
        kiosk.call?.callId === message.call_id &&
        message.subject_id === kiosk.subjectId &&
        message.state === "connected"
      ) {
        $("call-status").textContent = t("call.connected");
      }
      return undefined;
    case "call.recording":
      return showRecording(kiosk.call?.callId === message.call_id && message.active);
    case "help.queued":
      return setHelp("sent");
    case "help.closed":
      return kiosk.help.state !== "none" && setHelp("none");
    case "checkin.reminders":
      return reminders.update(message);
    case "checkin.recorded":
      return reminders.recorded(message);
    case "error":
      return onError(message);
    default:
      return undefined;
  }
}

function onError(message) {
  console.warn("hoiva: server error", message.code, message.message);
  if (reminders.refused(message)) {
    return;
  }
  if (message.ref && message.ref === kiosk.help.ref) {
    setHelp("failed");
  }
}

// ---- idle: clock and "Call nurse" --------------------------------------------------------

function showIdle(noticeText = "") {
  // A room invitation that arrived during a call or a ring comes back first.
  if (!kiosk.call && !kiosk.incoming && !meal.seated && meal.resume()) {
    return;
  }
  renderIdle();
  showScreen("idle");
  const notice = $("idle-notice");
  clearTimeout(kiosk.timers.notice);
  notice.textContent = noticeText;
  notice.hidden = !noticeText;
  if (noticeText) {
    kiosk.timers.notice = setTimeout(() => {
      notice.hidden = true;
    }, NOTICE_MS);
  }
}

function renderIdle() {
  $("idle-greeting").textContent = kiosk.name
    ? t("idle.greeting", { name: kiosk.name })
    : t("idle.greeting_anon");
  renderHelp();
  reminders.renderWaiting();
}

function renderClock() {
  const now = new Date();
  const locale = LOCALES[kiosk.lang];
  $("clock-time").textContent = new Intl.DateTimeFormat(locale, {
    hour: "2-digit",
    minute: "2-digit",
    timeZone: TIME_ZONE,
  }).format(now);
  $("clock-date").textContent = new Intl.DateTimeFormat(locale, {
    timeZone: TIME_ZONE,
    weekday: "long",
    day: "numeric",
    month: "long",
    year: "numeric",
  }).format(now);
}

function requestHelp() {
  unlockAudio();
  if (kiosk.help.state === "sending" || kiosk.help.state === "sent") {
    return;
  }
  const ref = kiosk.signal?.send({ type: "help.request" });
  kiosk.help.ref = ref ?? null;
  setHelp(ref ? "sending" : "failed");
}

function cancelHelp() {
  kiosk.signal?.send({ type: "help.cancel" });
  setHelp("none");
}

function setHelp(state) {
  kiosk.help.state = state;
  if (state === "none") {
    kiosk.help.ref = null;
  }
  renderHelp();
}

function renderHelp() {
  const state = kiosk.help.state;
  const box = $("help-status");
  const text = {
    sending: "idle.help_sending",
    sent: "idle.help_sent",
    failed: "idle.help_failed",
  }[state];
  box.hidden = !text;
  box.dataset.state = state;
  $("help-status-text").textContent = text ? t(text) : "";
  $("help-cancel").hidden = state !== "sent";
  $("help-button").disabled = state === "sending" || state === "sent";
}

// ---- incoming call -----------------------------------------------------------------------

// Only the call itself says whether to auto-answer: the server reads the client's settings
// when it rings, while the welcome's copy may be hours old. Auto-answer turns the camera
// on without a touch, so a stale "yes" must never win over a current "no".
function autoAnswerDelay(message) {
  return Number.isInteger(message.auto_answer_after_s) ? message.auto_answer_after_s : null;
}

function incomingCall(message) {
  if (kiosk.call || meal.seated) {
    return;
  }
  reminders.quiet();
  kiosk.incoming = { callId: message.call_id, callerName: message.caller_name };
  setHelp("none");
  $("ring-caller").textContent = t("ring.caller", { name: message.caller_name });
  showPerson($("ring-avatar"), message.caller_name);
  showScreen("ringing");
  startRinging();
  const delay = autoAnswerDelay(message);
  const countdown = $("ring-countdown");
  clearInterval(kiosk.timers.countdown);
  countdown.hidden = delay === null;
  if (delay === null) {
    return;
  }
  let left = Math.max(0, delay);
  const tick = () => {
    if (left <= 0) {
      clearInterval(kiosk.timers.countdown);
      answer();
      return;
    }
    countdown.textContent = t("ring.auto", { s: left });
    left -= 1;
  };
  tick();
  kiosk.timers.countdown = setInterval(tick, 1000);
}

function answer() {
  unlockAudio();
  const incoming = kiosk.incoming;
  if (!incoming) {
    return;
  }
  clearInterval(kiosk.timers.countdown);
  stopRinging();
  kiosk.incoming = null;
  kiosk.signal?.send({ type: "call.answer", call_id: incoming.callId });
  startCall(incoming);
}

function decline() {
  const incoming = kiosk.incoming;
  clearInterval(kiosk.timers.countdown);
  stopRinging();
  kiosk.incoming = null;
  if (incoming) {
    kiosk.signal?.send({ type: "call.decline", call_id: incoming.callId });
  }
  showIdle();
}

// ---- in call -----------------------------------------------------------------------------

/** Initials in a coloured circle: who calls or is on the call, seen at a glance. */
function initials(name) {
  const words = String(name || "").trim().split(/\s+/).filter(Boolean);
  return words.slice(0, 2).map((word) => word[0].toUpperCase()).join("") || "?";
}

function showPerson(element, name) {
  element.textContent = initials(name);
  element.hidden = !name;
}

function startCall({ callId, callerName }) {
  const media = new CallMedia({
    signal: kiosk.signal,
    callId,
    iceServers: kiosk.iceServers,
    localVideo: $("local-video"),
    remoteVideo: $("remote-video"),
    onConnectionState: (state) => {
      if (state === "connected") {
        $("call-status").textContent = t("call.connected");
      }
    },
    onLocalMediaError: () => {
      $("call-status").textContent = t("call.no_camera");
    },
    onPlaybackBlocked: () => {
      $("sound-button").hidden = false;
    },
  });
  kiosk.call = { callId, callerName, media };
  showPerson($("call-avatar"), callerName);
  $("call-peer-name").textContent = callerName ? t("call.with", { name: callerName }) : "";
  $("call-status").textContent = t("call.connecting");
  $("sound-button").hidden = true;
  showScreen("call");
  media.start();
}

// The client must always see when the nurse records the call (docs/media.md).

function showRecording(active) {
  let banner = $("recording-banner");
  if (!banner) {
    banner = document.createElement("p");
    banner.id = "recording-banner";
    banner.className = "recording-banner";
    banner.setAttribute("role", "status");
    $("call-status").after(banner);
  }
  banner.textContent = `● ${t("call.recording")}`;
  banner.hidden = !active;
}

function teardownCall() {
  clearTimeout(kiosk.timers.endFallback);
  showRecording(false);
  if (kiosk.call) {
    kiosk.call.media.close();
    kiosk.call = null;
  }
}

function endCall() {
  const call = kiosk.call;
  if (!call) {
    return;
  }
  kiosk.signal?.send({ type: "call.end", call_id: call.callId });
  teardownCall();
  showIdle(t("reason.completed"));
}

function callEnded(message) {
  if (kiosk.incoming?.callId === message.call_id) {
    const name = kiosk.incoming.callerName;
    clearInterval(kiosk.timers.countdown);
    stopRinging();
    kiosk.incoming = null;
    const missed = message.reason === "unanswered" || message.reason === "cancelled";
    showIdle(missed ? t("ended.missed", { name }) : reasonText(message.reason));
    return;
  }
  if (kiosk.call?.callId === message.call_id) {
    teardownCall();
    showIdle(reasonText(message.reason));
  }
}

function reasonText(reason) {
  const key = `reason.${reason}`;
  const text = t(key);
  return text === key ? t("reason.other") : text;
}

// ---- sound and screen --------------------------------------------------------------------

let audioContext = null;

// Browsers only start audio after a touch; the first tap anywhere unlocks the ring tone.
function unlockAudio() {
  if (!audioContext && window.AudioContext) {
    audioContext = new AudioContext();
  }
  audioContext?.resume().catch(() => {});
}

function startRinging() {
  stopRinging();
  if (!audioContext) {
    return;
  }
  const beep = () => {
    for (const [offset, freq] of [[0, 660], [0.35, 880]]) {
      const osc = audioContext.createOscillator();
      const gain = audioContext.createGain();
      const start = audioContext.currentTime + offset;
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, start);
      // An exponential ramp cannot reach 0: volume 0 is the quietest tick instead.
      const peak = Math.max(0.0002, RING_PEAK_GAIN * kiosk.volume);
      gain.gain.exponentialRampToValueAtTime(peak, start + 0.03);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.3);
      osc.connect(gain).connect(audioContext.destination);
      osc.start(start);
      osc.stop(start + 0.32);
    }
  };
  beep();
  kiosk.ring = setInterval(beep, 2500);
}

function stopRinging() {
  clearInterval(kiosk.ring);
  kiosk.ring = null;
}

async function keepScreenOn() {
  if (!("wakeLock" in navigator) || kiosk.wakeLock) {
    return;
  }
  try {
    kiosk.wakeLock = await navigator.wakeLock.request("screen");
    kiosk.wakeLock.addEventListener("release", () => {
      kiosk.wakeLock = null;
    });
  } catch (error) {
    // Not granted (no user gesture yet, or unsupported): the kiosk's OS setting applies.
  }
}

// ---- start -------------------------------------------------------------------------------

function bind() {
  $("enroll-form").addEventListener("submit", submitEnrollment);
  $("enroll-code").addEventListener("input", (event) => {
    event.target.value = formatCode(event.target.value);
  });
  $("help-button").addEventListener("click", requestHelp);
  $("privacy-button").addEventListener("click", async () => {
    showScreen("privacy");
    await loadAccessLog(kiosk.token, t, LOCALES[kiosk.lang]);
  });
  $("privacy-back").addEventListener("click", () => showIdle());
  $("help-cancel").addEventListener("click", cancelHelp);
  $("connecting-retry").addEventListener("click", retryConnection);
  $("answer-button").addEventListener("click", answer);
  $("decline-button").addEventListener("click", decline);
  $("end-button").addEventListener("click", endCall);
  $("sound-button").addEventListener("click", () => {
    const video = $("remote-video");
    video.muted = false;
    video.play().catch(() => {});
    $("sound-button").hidden = true;
  });
  reminders.bind();
  meal.bind();
  document.addEventListener("pointerdown", unlockAudio, { passive: true });
  // Every video that starts playing (a call, a room's tiles) plays at the client's volume;
  // play does not bubble, so listen while it travels down.
  document.addEventListener(
    "play",
    (event) => {
      if (event.target instanceof HTMLMediaElement) {
        event.target.volume = kiosk.volume;
      }
    },
    true,
  );
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && kiosk.screen === "idle") {
      keepScreenOn();
    }
  });
}

// For tests and support sessions: read-only views of the kiosk's state.
window.hoivaKiosk = {
  get screen() {
    return kiosk.screen;
  },
  get language() {
    return kiosk.lang;
  },
  get callId() {
    return kiosk.call?.callId ?? kiosk.incoming?.callId ?? null;
  },
  get connected() {
    return Boolean(kiosk.signal?.open);
  },
  get reminders() {
    return reminders.ids;
  },
  get settings() {
    return kiosk.settings;
  },
  get volume() {
    return Math.round(kiosk.volume * 100);
  },
  get textSize() {
    return document.documentElement.dataset.textSize ?? "large";
  },
  get heartbeats() {
    return device.heartbeats;
  },
  get selfTest() {
    return device.lastSelfTest;
  },
  videoStats: () => kiosk.call?.media.videoStats() ?? Promise.resolve(null),
  meal: () => meal.debug(),
};

// Check-in reminders (reminders.js): shown between calls, never over one.
const reminders = new ReminderScreen({
  t,
  send: (message) => kiosk.signal?.send(message) ?? null,
  showScreen,
  showIdle,
  requestHelp,
  startRinging,
  stopRinging,
  busy: () =>
    Boolean(kiosk.call || kiosk.incoming || meal.seated) ||
    ["enroll", "connecting", "meal-invite"].includes(kiosk.screen),
});

// The kiosk as a managed device (device.js): heartbeats, self-test, remote commands.
const device = new DeviceAgent({
  signal: () => kiosk.signal,
  appVersion: APP_VERSION,
  iceServers: () => kiosk.iceServers,
  onSettings: applySettings,
  onReload: () => window.location.reload(),
});

// Meal and exercise rooms (meal.js): an invitation waits while a call or ring is on.
const meal = new MealView({
  t,
  send: (message) => kiosk.signal?.send(message) ?? null,
  showScreen,
  showIdle,
  iceServers: () => kiosk.iceServers,
  subjectId: () => kiosk.subjectId,
  busy: () => Boolean(kiosk.call || kiosk.incoming) || ["enroll", "connecting"].includes(kiosk.screen),
});

// Opened from the fleet page's QR code: /tablet?pair=CODE pairs at once. The code leaves
// the address bar first, so a reload never sends a used code again.
function pairingCodeFromAddress() {
  const params = new URLSearchParams(window.location.search);
  const code = params.get("pair");
  if (code === null) {
    return null;
  }
  params.delete("pair");
  const rest = params.toString();
  window.history.replaceState(null, "", window.location.pathname + (rest ? `?${rest}` : ""));
  return formatCode(code);
}

async function boot() {
  bind();
  await setLanguage(kiosk.lang);
  setInterval(renderClock, 1000);
  const code = pairingCodeFromAddress();
  if (!kiosk.token) {
    showEnroll();
    if (code) {
      $("enroll-code").value = code;
      $("enroll-form").requestSubmit();
    }
    return;
  }
  showScreen("connecting");
  if (await loadMe()) {
    connect();
  }
}

boot();
