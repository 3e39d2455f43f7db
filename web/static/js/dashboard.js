// The nurse dashboard: live roster, the help-call queue, and the call view.

import { CallMedia } from "./hoiva-call.js";
import { CareBoard } from "./dashboard-care.js";
import { InsightView } from "./dashboard-insight.js";
import { CLOSE_BAD_TOKEN, SignalConnection } from "./hoiva-signal.js";
import { _, formatDateTime, ngettext } from "./i18n.js";

const STATUS_TEXT = {
  online: _("Online"),
  offline: _("Offline"),
  ringing: _("Ringing"),
  in_call: _("In a call"),
};
const STATUS_ORDER = { online: 0, ringing: 1, in_call: 2, offline: 3 };
const END_REASON_TEXT = {
  completed: _("the call was completed"),
  declined: _("the client declined"),
  unanswered: _("no answer"),
  cancelled: _("the call was cancelled"),
  busy: _("the client is busy"),
  offline: _("the client's tablet is offline"),
  dropped: _("the connection was lost"),
  media_failed: _("video could not connect"),
  interrupted: _("the server restarted"),
  revoked: _("the tablet's access was revoked"),
  quiet_hours: _("the client's quiet hours"),
  unavailable: _("the client cannot take calls now"),
  preempted: _("another call took its place"),
};
const END_FALLBACK_MS = 3000;
const TOAST_MS = 12000;

const $ = (id) => document.getElementById(id);

const dash = {
  signal: null,
  iceServers: [],
  clients: new Map(),
  help: new Map(),
  seenHelp: new Set(),
  // The help requests the visible notice is about.
  toastHelp: new Set(),
  call: null,
  // A call.start sent but not yet ringing: busy and offline end it before it rings.
  placing: null,
  pending: new Map(),
  timers: { clock: null, toast: null, endFallback: null, tick: null },
};

// ---- roster ------------------------------------------------------------------------------

function relativeTime(iso) {
  if (!iso) {
    return "";
  }
  const moment = new Date(iso);
  const seconds = Math.round((Date.now() - moment.getTime()) / 1000);
  if (Number.isNaN(seconds)) {
    return "";
  }
  if (seconds < 60) {
    return _("just now");
  }
  if (seconds < 3600) {
    return _("{minutes} min ago", { minutes: Math.floor(seconds / 60) });
  }
  if (seconds < 86400) {
    return _("{hours} h ago", { hours: Math.floor(seconds / 3600) });
  }
  return formatDateTime(moment, { dateStyle: "medium" });
}

function statusLine(client) {
  const text = STATUS_TEXT[client.status] ?? client.status;
  if (client.status === "offline" && client.last_seen) {
    return _("{status} · last seen {when}", { status: text, when: relativeTime(client.last_seen) });
  }
  return text;
}

function canCall(client) {
  return client.status === "online" && !dash.call && Boolean(dash.signal?.open);
}

function renderRoster() {
  const list = $("roster-list");
  const filter = $("roster-filter").value.trim().toLowerCase();
  const clients = [...dash.clients.values()]
    .filter((c) => !filter || `${c.first_name} ${c.last_name}`.toLowerCase().includes(filter))
    .sort(
      (a, b) =>
        (STATUS_ORDER[a.status] ?? 9) - (STATUS_ORDER[b.status] ?? 9) ||
        a.display_name.localeCompare(b.display_name),
    );
  $("roster-empty").hidden = dash.clients.size > 0;
  const items = clients.map((client) => {
    const item = document.createElement("li");
    item.className = "client";
    item.dataset.status = client.status;
    item.dataset.clientId = client.id;

    const dot = document.createElement("span");
    dot.className = "status-dot";
    dot.setAttribute("aria-hidden", "true");

    const main = document.createElement("div");
    const name = document.createElement("span");
    name.className = "client-name";
    name.textContent = `${client.first_name} ${client.last_name}`.trim() || client.display_name;
    const status = document.createElement("span");
    status.className = "client-status";
    status.textContent = statusLine(client);
    main.append(name, status);

    const button = document.createElement("button");
    button.type = "button";
    button.className = "btn btn-primary";
    button.textContent = _("Call");
    button.setAttribute("aria-label", _("Call {name}", { name: client.display_name }));
    button.disabled = !canCall(client);
    button.addEventListener("click", () => startCall(client));

    const plan = document.createElement("a");
    plan.className = "btn btn-quiet";
    plan.href = `/clients/${encodeURIComponent(client.id)}/plan`;
    plan.textContent = _("Plan");
    plan.setAttribute("aria-label", _("Care plan of {name}", { name: client.display_name }));

    item.append(dot, main, button, plan);
    return item;
  });
  list.replaceChildren(...items);
}

async function loadRoster() {
  let response;
  try {
    response = await fetch("/api/clients", { credentials: "same-origin" });
  } catch (error) {
    return;
  }
  if (response.status === 401) {
    window.location.assign(`/login?next=${encodeURIComponent("/dashboard")}`);
    return;
  }
  if (!response.ok) {
    return;
  }
  const roster = await response.json();
  const known = new Map(roster.map((client) => [client.id, client]));
  // Presence that arrived over the socket meanwhile is newer than this answer.
  for (const [id, client] of dash.clients) {
    if (known.has(id) && client.fromSocket) {
      known.get(id).status = client.status;
      known.get(id).last_seen = client.last_seen;
    }
  }
  dash.clients = known;
  renderRoster();
}

function applyPresence(entry) {
  if (!entry) {
    return;
  }
  const existing = dash.clients.get(entry.client_id);
  if (existing) {
    existing.status = entry.status;
    existing.last_seen = entry.last_seen;
    existing.fromSocket = true;
  } else {
    dash.clients.set(entry.client_id, {
      id: entry.client_id,
      first_name: entry.name,
      last_name: "",
      display_name: entry.name,
      status: entry.status,
      last_seen: entry.last_seen,
      fromSocket: true,
    });
  }
}

// ---- help queue --------------------------------------------------------------------------

function renderHelp() {
  // A notice about help requests that are all gone (taken or cancelled) goes too.
  if (dash.toastHelp.size && ![...dash.toastHelp].some((id) => dash.help.has(id))) {
    dash.toastHelp.clear();
    $("help-toast").hidden = true;
  }
  const list = $("help-list");
  const requests = [...dash.help.values()].sort((a, b) => a.created_at.localeCompare(b.created_at));
  $("help-count").textContent = String(requests.length);
  $("help-empty").hidden = requests.length > 0;
  const title = `${_("Dashboard")} · Hoiva`;
  document.title = requests.length ? `(${requests.length}) ${title}` : title;
  list.replaceChildren(
    ...requests.map((request) => {
      const item = document.createElement("li");
      item.className = request.fresh ? "help-item fresh" : "help-item";
      item.dataset.helpId = request.help_id;
      const text = document.createElement("div");
      const who = document.createElement("span");
      who.className = "help-who";
      who.textContent = request.client_name;
      const when = document.createElement("span");
      when.className = "help-when";
      when.textContent = _("Asked for help {when}", { when: relativeTime(request.created_at) });
      text.append(who, when);
      const button = document.createElement("button");
      button.type = "button";
      button.className = "btn btn-primary";
      button.textContent = _("Take");
      button.setAttribute("aria-label", _("Take help request from {name}", { name: request.client_name }));
      button.disabled = Boolean(dash.call) || !dash.signal?.open;
      button.addEventListener("click", () => takeHelp(request));
      item.append(text, button);
      request.fresh = false;
      return item;
    }),
  );
}

/** help.queue always carries the whole open queue (docs/protocol.md), also after a new request. */
function replaceHelpQueue(requests) {
  const fresh = requests.filter((request) => !dash.seenHelp.has(request.help_id));
  dash.help = new Map(
    requests.map((request) => [
      request.help_id,
      { ...request, fresh: !dash.seenHelp.has(request.help_id) },
    ]),
  );
  for (const request of requests) {
    dash.seenHelp.add(request.help_id);
  }
  renderHelp();
  if (fresh.length) {
    notify(
      fresh.length === 1
        ? _("{name} is asking for help", { name: fresh[0].client_name })
        : ngettext("{n} client is asking for help", "{n} clients are asking for help", fresh.length),
    );
    dash.toastHelp = new Set(fresh.map((request) => request.help_id));
  }
}

function notify(text) {
  dash.toastHelp.clear();
  // Cleared first, so the same words twice are announced twice.
  $("dash-announcer").textContent = "";
  setTimeout(() => {
    $("dash-announcer").textContent = text;
  }, 50);
  $("help-toast-text").textContent = text;
  $("help-toast").hidden = false;
  clearTimeout(dash.timers.toast);
  dash.timers.toast = setTimeout(() => {
    $("help-toast").hidden = true;
  }, TOAST_MS);
  chime();
}

function takeHelp(request) {
  const ref = dash.signal.send({ type: "help.take", help_id: request.help_id });
  if (ref) {
    dash.pending.set(ref, _("Could not take the request of {name}", { name: request.client_name }));
  }
}

let audioContext = null;

function chime() {
  try {
    audioContext = audioContext ?? new AudioContext();
    const osc = audioContext.createOscillator();
    const gain = audioContext.createGain();
    const start = audioContext.currentTime;
    osc.frequency.value = 740;
    gain.gain.setValueAtTime(0.0001, start);
    gain.gain.exponentialRampToValueAtTime(0.2, start + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.6);
    osc.connect(gain).connect(audioContext.destination);
    osc.start(start);
    osc.stop(start + 0.62);
  } catch (error) {
    // No sound before the nurse has touched the page; the visible notice is enough.
  }
}

// ---- call --------------------------------------------------------------------------------

function setCallState(state, text) {
  $("call-panel").dataset.state = state;
  $("call-status").textContent = text;
  $("stage-placeholder").hidden = state !== "idle" && state !== "ended";
  const active = state === "ringing" || state === "connected";
  $("end-button").disabled = !active;
  $("mute-button").disabled = !active || !dash.call?.media.hasAudio;
  $("camera-button").disabled = !active || !dash.call?.media.hasVideo;
  if (!active) {
    resetToggle("mute-button", _("Mute"));
    resetToggle("camera-button", _("Camera off"));
  }
  renderRoster();
  renderHelp();
  care.callChanged();
  insight.callChanged(state);
}

function resetToggle(id, label) {
  $(id).setAttribute("aria-pressed", "false");
  $(id).textContent = label;
}

function startCall(client) {
  if (dash.call) {
    return;
  }
  const ref = dash.signal.send({ type: "call.start", client_id: client.id });
  if (ref) {
    dash.pending.set(ref, _("Could not call {name}", { name: client.display_name }));
    dash.placing = { clientId: client.id, clientName: client.display_name };
    $("call-status").textContent = _("Calling {name}…", { name: client.display_name });
  }
}

/** call.ringing: the server placed our call (from Call or from Take); start media now. */
function onRinging(message) {
  dash.placing = null;
  if (dash.call) {
    return; // one call at a time; the server refuses a second call.start anyway
  }
  clearTimeout(dash.timers.endFallback);
  $("media-warning").hidden = true;
  $("unmute-remote").hidden = true;
  const media = new CallMedia({
    signal: dash.signal,
    callId: message.call_id,
    iceServers: dash.iceServers,
    localVideo: $("local-video"),
    remoteVideo: $("remote-video"),
    onLocalMediaError: (error) => {
      $("media-warning").textContent = _(
        "Your camera or microphone is not available ({error}). The client will not see or hear you.",
        { error: error.name },
      );
      $("media-warning").hidden = false;
    },
    onConnectionState: (state) => {
      if (state === "failed" && dash.call?.media === media) {
        $("media-warning").textContent = _("The video connection failed.");
        $("media-warning").hidden = false;
      }
    },
    onPlaybackBlocked: () => {
      $("unmute-remote").hidden = false;
    },
  });
  dash.call = {
    id: message.call_id,
    clientId: message.client_id,
    clientName: message.client_name,
    media,
    answeredAt: null,
  };
  setCallState("ringing", _("Ringing {name}…", { name: message.client_name }));
  // The Call or Take button that placed the call is disabled now and has lost the focus:
  // hand it to End call, the one thing a keyboard user needs next.
  if (lostFocus()) {
    $("end-button").focus();
  }
  media.start().then(() => {
    if (dash.call?.media === media) {
      setCallState(dash.call.answeredAt ? "connected" : "ringing", $("call-status").textContent);
    }
  });
}

function onAccepted(message) {
  if (dash.call?.id !== message.call_id) {
    return;
  }
  dash.call.answeredAt = Date.now();
  setCallState("connected", _("Connected with {name}", { name: dash.call.clientName }));
  startTimer();
}

function onEnded(message) {
  if (!dash.call && dash.placing) {
    const reason = END_REASON_TEXT[message.reason] ?? message.reason;
    setCallState("ended", _("Call to {name} ended: {reason}", { name: dash.placing.clientName, reason }));
    dash.placing = null;
    return;
  }
  if (dash.call?.id !== message.call_id) {
    return;
  }
  // A whole sentence for the usual ending: "Call ended: the call was completed" would read
  // twice over in Finnish and Swedish.
  if (message.reason === "completed") {
    finishCall(_("Call ended: the call was completed"));
    return;
  }
  const reason = END_REASON_TEXT[message.reason] ?? message.reason;
  finishCall(_("Call ended: {reason}", { reason }));
}

function finishCall(text) {
  clearTimeout(dash.timers.endFallback);
  stopTimer();
  const clientId = dash.call?.clientId ?? null;
  if (dash.call) {
    dash.call.media.close();
    dash.call = null;
  }
  $("unmute-remote").hidden = true;
  const endedHere = document.activeElement === $("end-button");
  setCallState("ended", text);
  if (endedHere || lostFocus()) {
    // Back to where the call began: the client's Call button, or the roster's filter.
    const again = document.querySelector(`#roster-list li[data-client-id="${clientId}"] button`);
    (again && !again.disabled ? again : $("roster-filter")).focus();
  }
}

/** Whether the focus fell to the page itself (its button was disabled or redrawn). */
function lostFocus() {
  const active = document.activeElement;
  return !active || active === document.body || !active.isConnected || active.disabled;
}

function endCall() {
  if (!dash.call) {
    return;
  }
  const callId = dash.call.id;
  dash.signal.send({ type: "call.end", call_id: callId });
  $("call-status").textContent = _("Ending the call…");
  // If the server's call.ended is lost with the socket, do not leave the camera on.
  dash.timers.endFallback = setTimeout(() => {
    if (dash.call?.id === callId) {
      finishCall(_("Call ended."));
    }
  }, END_FALLBACK_MS);
}

function toggle(id, onLabel, offLabel, apply) {
  const button = $(id);
  const pressed = button.getAttribute("aria-pressed") !== "true";
  button.setAttribute("aria-pressed", String(pressed));
  button.textContent = pressed ? onLabel : offLabel;
  apply(pressed);
}

function startTimer() {
  stopTimer();
  const timer = $("call-timer");
  timer.hidden = false;
  const started = Date.now();
  const tick = () => {
    const seconds = Math.floor((Date.now() - started) / 1000);
    const mm = String(Math.floor(seconds / 60)).padStart(2, "0");
    const ss = String(seconds % 60).padStart(2, "0");
    timer.textContent = `${mm}:${ss}`;
  };
  tick();
  dash.timers.tick = setInterval(tick, 1000);
}

function stopTimer() {
  clearInterval(dash.timers.tick);
  $("call-timer").hidden = true;
}

// ---- signaling ---------------------------------------------------------------------------

function onWelcome(welcome) {
  dash.iceServers = welcome.ice_servers || [];
  $("connection-banner").hidden = true;
  loadRoster();
  care.load();
  if (dash.call) {
    $("call-status").textContent = dash.call.answeredAt
      ? _("Connected with {name}", { name: dash.call.clientName })
      : _("Ringing {name}…", { name: dash.call.clientName });
  }
}

function onMessage(message) {
  if (care.handle(message) || insight.handle(message)) {
    return undefined;
  }
  switch (message.type) {
    case "presence.snapshot":
      for (const entry of message.clients || []) {
        applyPresence(entry);
      }
      return renderRoster();
    case "presence.update":
      applyPresence(message.client);
      return renderRoster();
    case "help.queue":
      return replaceHelpQueue(message.requests || []);
    case "help.closed":
      dash.help.delete(message.help_id);
      return renderHelp();
    case "call.ringing":
      return onRinging(message);
    case "call.accepted":
      return onAccepted(message);
    case "call.ended":
      return onEnded(message);
    case "call.media":
      if (dash.call?.id === message.call_id && message.state === "failed") {
        $("media-warning").textContent = _("The video connection failed.");
        $("media-warning").hidden = false;
      }
      return undefined;
    case "media.answer":
      return dash.call?.id === message.call_id && dash.call.media.onAnswer(message.sdp);
    case "media.offer":
      return dash.call?.id === message.call_id && dash.call.media.onOffer(message.sdp);
    case "media.restart":
      return dash.call?.id === message.call_id && dash.call.media.restart();
    case "error":
      return onError(message);
    default:
      return undefined;
  }
}

function onError(message) {
  const context = message.ref ? dash.pending.get(message.ref) : null;
  if (message.ref) {
    dash.pending.delete(message.ref);
  }
  const text = context ? `${context}: ${message.message}` : message.message;
  dash.placing = null;
  if (!dash.call) {
    setCallState("idle", text);
  } else {
    $("media-warning").textContent = text;
    $("media-warning").hidden = false;
  }
}

function onClose(code) {
  if (code === CLOSE_BAD_TOKEN) {
    // The staff session expired: the login page brings the nurse back here.
    window.location.assign(`/login?next=${encodeURIComponent("/dashboard")}`);
    return false;
  }
  return true;
}

function onState(state) {
  if (state === "down") {
    $("connection-banner").hidden = false;
    renderRoster();
    renderHelp();
  }
}

function bind() {
  $("roster-filter").addEventListener("input", renderRoster);
  $("end-button").addEventListener("click", endCall);
  $("mute-button").addEventListener("click", () =>
    toggle("mute-button", _("Unmute"), _("Mute"), (on) => dash.call?.media.setMuted(on)),
  );
  $("camera-button").addEventListener("click", () =>
    toggle("camera-button", _("Camera on"), _("Camera off"), (on) => dash.call?.media.setCameraOff(on)),
  );
  $("help-toast-close").addEventListener("click", () => {
    $("help-toast").hidden = true;
  });
  $("unmute-remote").addEventListener("click", () => {
    const video = $("remote-video");
    video.muted = false;
    video.play().catch(() => {});
    $("unmute-remote").hidden = true;
  });
  // Relative times ("2 min ago") drift; refresh them twice a minute.
  dash.timers.clock = setInterval(() => {
    renderRoster();
    renderHelp();
  }, 30000);
}

// For tests and troubleshooting: read-only views of the dashboard's state.
window.hoivaDashboard = {
  get connected() {
    return Boolean(dash.signal?.open);
  },
  get callId() {
    return dash.call?.id ?? null;
  },
  get callState() {
    return $("call-panel").dataset.state;
  },
  videoStats: () => dash.call?.media.videoStats() ?? Promise.resolve(null),
};

// Check-ins, follow-up tasks and the attention list (dashboard-care.js).
const care = new CareBoard({
  send: (message) => dash.signal?.send(message) ?? null,
  call: (clientId) => {
    const client = dash.clients.get(clientId);
    if (client) {
      startCall(client);
    }
  },
  notify,
  callClientId: () => dash.call?.clientId ?? null,
  callClientName: () => dash.call?.clientName ?? "",
});

// Camera hints, quality dots and recording in the call view (dashboard-insight.js).
const insight = new InsightView({
  send: (message) => dash.signal?.send(message) ?? null,
  call: () => dash.call,
  panel: $("call-panel"),
});

bind();
setCallState("idle", _("No call in progress."));
loadRoster();
dash.signal = new SignalConnection({ agent: "dashboard/0.1", onWelcome, onMessage, onClose, onState });
dash.signal.start();
