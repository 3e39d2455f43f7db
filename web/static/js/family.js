// A relative's call page: opened from a personal link (the secret is in the URL fragment),
// it connects as that relative and calls the one client the link belongs to.

import { CallMedia } from "./hoiva-call.js";
import { CLOSE_BAD_TOKEN, CLOSE_REVOKED, SignalConnection } from "./hoiva-signal.js";

const TEXT = {
  en: {
    connecting: "Connecting…",
    ready: "Call {name}",
    readyHelp: "Press the button to start a video call with {name}.",
    call: "Call {name}",
    calling: "Calling {name}…",
    callingHelp: "{name}'s tablet is ringing.",
    inCall: "In a call with {name}",
    end: "End call",
    unmute: "Tap for sound",
    again: "Call again",
    invalid: "This call link is not valid any more",
    invalidHelp: "Ask the home care team for a new link.",
    incomplete: "This link is incomplete",
    incompleteHelp: "Open the whole link you were sent.",
    down: "Connection lost, reconnecting…",
    ended: {
      completed: "The call has ended.",
      preempted: "The nurse is calling {name} now. Please call again later.",
      declined: "{name} could not answer now. Please try again later.",
      unanswered: "{name} did not answer. Please try again later.",
      cancelled: "The call was cancelled.",
      busy: "{name} is in another call. Please try again later.",
      offline: "{name}'s tablet is not connected right now. Please try again later.",
      dropped: "The connection was lost.",
      media_failed: "The video connection could not be set up.",
      interrupted: "The service restarted. Please call again.",
      revoked: "This call link is not valid any more.",
      quiet_hours: "{name} is resting now. Please call again later.",
      unavailable: "{name} cannot take calls at the moment.",
    },
    noCamera: "Your camera or microphone is not available; {name} will not see or hear you.",
  },
  fi: {
    connecting: "Yhdistetään…",
    ready: "Soita: {name}",
    readyHelp: "Aloita videopuhelu henkilölle {name} painamalla painiketta.",
    call: "Soita: {name}",
    calling: "Soitetaan: {name}…",
    callingHelp: "Tabletti soi.",
    inCall: "Puhelu: {name}",
    end: "Lopeta puhelu",
    unmute: "Napauta, niin kuulet äänen",
    again: "Soita uudelleen",
    invalid: "Tämä puhelulinkki ei ole enää voimassa",
    invalidHelp: "Pyydä kotihoidolta uusi linkki.",
    incomplete: "Linkki on vajaa",
    incompleteHelp: "Avaa koko saamasi linkki.",
    down: "Yhteys katkesi, yhdistetään uudelleen…",
    ended: {
      completed: "Puhelu päättyi.",
      preempted: "Hoitaja soittaa nyt henkilölle {name}. Soita myöhemmin uudelleen.",
      declined: "{name} ei voinut vastata nyt. Yritä myöhemmin uudelleen.",
      unanswered: "{name} ei vastannut. Yritä myöhemmin uudelleen.",
      cancelled: "Puhelu peruttiin.",
      busy: "{name} on toisessa puhelussa. Yritä myöhemmin uudelleen.",
      offline: "Tabletti ei ole nyt verkossa. Yritä myöhemmin uudelleen.",
      dropped: "Yhteys katkesi.",
      media_failed: "Videoyhteyttä ei saatu muodostettua.",
      interrupted: "Palvelu käynnistyi uudelleen. Soita uudelleen.",
      revoked: "Tämä puhelulinkki ei ole enää voimassa.",
      quiet_hours: "{name} lepää nyt. Soita myöhemmin uudelleen.",
      unavailable: "{name} ei voi nyt ottaa puheluita vastaan.",
    },
    noCamera: "Kamerasi tai mikrofonisi ei ole käytettävissä.",
  },
  sv: {
    connecting: "Ansluter…",
    ready: "Ring {name}",
    readyHelp: "Tryck på knappen för att ringa ett videosamtal till {name}.",
    call: "Ring {name}",
    calling: "Ringer {name}…",
    callingHelp: "Surfplattan ringer.",
    inCall: "I samtal med {name}",
    end: "Avsluta samtalet",
    unmute: "Tryck för ljud",
    again: "Ring igen",
    invalid: "Den här samtalslänken gäller inte längre",
    invalidHelp: "Be hemvården om en ny länk.",
    incomplete: "Länken är ofullständig",
    incompleteHelp: "Öppna hela länken du fick.",
    down: "Anslutningen bröts, ansluter igen…",
    ended: {
      completed: "Samtalet har avslutats.",
      preempted: "Vårdaren ringer {name} nu. Ring igen senare.",
      declined: "{name} kunde inte svara nu. Försök igen senare.",
      unanswered: "{name} svarade inte. Försök igen senare.",
      cancelled: "Samtalet avbröts.",
      busy: "{name} är i ett annat samtal. Försök igen senare.",
      offline: "Surfplattan är inte ansluten just nu. Försök igen senare.",
      dropped: "Anslutningen bröts.",
      media_failed: "Videoanslutningen kunde inte upprättas.",
      interrupted: "Tjänsten startade om. Ring igen.",
      revoked: "Den här samtalslänken gäller inte längre.",
      quiet_hours: "{name} vilar nu. Ring igen senare.",
      unavailable: "{name} kan inte ta emot samtal just nu.",
    },
    noCamera: "Din kamera eller mikrofon är inte tillgänglig.",
  },
};

const $ = (id) => document.getElementById(id);
const lang = (navigator.languages || [navigator.language || "en"])
  .map((tag) => tag.slice(0, 2).toLowerCase())
  .find((code) => code in TEXT) || "en";
document.documentElement.lang = lang;

const page = { signal: null, client: null, call: null, iceServers: [], placing: false };

function t(key, name = page.client?.first_name ?? "") {
  const text = key.split(".").reduce((node, part) => node?.[part], TEXT[lang]) ?? key;
  return String(text).replaceAll("{name}", name);
}

function show(state, title, message = "") {
  document.body.dataset.state = state;
  $("family-title").textContent = title;
  $("family-message").textContent = message;
  $("call-button").hidden = state !== "ready" && state !== "ended";
  $("call-button").textContent = state === "ended" ? t("again") : t("call");
  $("call-view").hidden = state !== "calling" && state !== "in-call";
  $("retry-button").hidden = true;
}

function placeCall() {
  if (!page.signal?.open || page.call || page.placing) {
    return;
  }
  page.placing = true;
  page.signal.send({ type: "call.start", client_id: page.client.client_id });
  show("calling", t("calling"), t("callingHelp"));
}

function onRinging(message) {
  page.placing = false;
  const media = new CallMedia({
    signal: page.signal,
    callId: message.call_id,
    iceServers: page.iceServers,
    localVideo: $("local-video"),
    remoteVideo: $("remote-video"),
    onLocalMediaError: () => {
      $("family-message").textContent = t("noCamera");
    },
    onPlaybackBlocked: () => {
      $("unmute-button").hidden = false;
    },
  });
  page.call = { id: message.call_id, media };
  show("calling", t("calling"), t("callingHelp"));
  media.start();
}

function onEnded(message) {
  page.placing = false;
  if (page.call && page.call.id !== message.call_id) {
    return;
  }
  page.call?.media.close();
  page.call = null;
  const known = TEXT[lang].ended[message.reason];
  // The server words what only it knows (quiet hours and until when) in English; ours
  // come first where we have them, in the relative's own language.
  const detail = message.reason === "quiet_hours" && message.message && lang === "en"
    ? message.message
    : known ? t(`ended.${message.reason}`) : message.message || t("ended.completed");
  if (message.reason === "completed") {
    show("ended", t("ended.completed"));
  } else {
    show("ended", t("ready"), detail);
  }
  document.body.dataset.endReason = message.reason;
}

function onMessage(message) {
  switch (message.type) {
    case "call.ringing":
      return onRinging(message);
    case "call.accepted":
      if (page.call?.id === message.call_id) {
        show("in-call", t("inCall"));
      }
      return undefined;
    case "call.ended":
      return onEnded(message);
    case "media.answer":
      return page.call?.id === message.call_id && page.call.media.onAnswer(message.sdp);
    case "media.offer":
      return page.call?.id === message.call_id && page.call.media.onOffer(message.sdp);
    case "media.restart":
      return page.call?.id === message.call_id && page.call.media.restart();
    case "error":
      page.placing = false;
      if (!page.call) {
        show("ended", t("ready"), message.message);
      }
      return undefined;
    default:
      return undefined;
  }
}

function start() {
  const token = decodeURIComponent(window.location.hash.slice(1));
  $("call-button").addEventListener("click", placeCall);
  $("end-button").textContent = t("end");
  $("end-button").addEventListener("click", () => {
    if (page.call) {
      page.signal.send({ type: "call.end", call_id: page.call.id });
    }
  });
  $("unmute-button").textContent = t("unmute");
  $("unmute-button").addEventListener("click", () => {
    $("unmute-button").hidden = true;
    page.call?.media.playRemote();
  });
  if (!token) {
    show("invalid", t("incomplete"), t("incompleteHelp"));
    return;
  }
  show("connecting", t("connecting"));
  page.signal = new SignalConnection({
    token,
    agent: "family/0.1",
    onWelcome: (welcome) => {
      page.client = welcome.family_of;
      page.iceServers = welcome.ice_servers || [];
      if (!page.call) {
        show("ready", t("ready"), t("readyHelp"));
      }
    },
    onMessage,
    onState: (state) => {
      if (state === "down" && !page.call) {
        show("connecting", t("down"));
      }
    },
    onClose: (code) => {
      if (code === CLOSE_BAD_TOKEN || code === CLOSE_REVOKED) {
        page.call?.media.close();
        page.call = null;
        show("invalid", t("invalid"), t("invalidHelp"));
        return false;
      }
      return true;
    },
  });
  page.signal.start();
}

// For tests and support: what the page's video connection decodes.
window.familyCall = {
  videoStats: () => page.call?.media.videoStats() ?? Promise.resolve(null),
};

start();
