// A relative's call page: opened from a personal link (the secret is in the URL fragment),
// it connects as that relative and calls the one client the link belongs to.

import { CallMedia } from "./hoiva-call.js";
import { CLOSE_BAD_TOKEN, CLOSE_REVOKED, SignalConnection } from "./hoiva-signal.js";
import { _, has, lang } from "./i18n.js";

const $ = (id) => document.getElementById(id);

const page = { signal: null, client: null, call: null, iceServers: [], placing: false };

// The page's language is the relative's browser's (the server chose it for <html lang>).
function say(key, name = page.client?.first_name ?? "") {
  const id = `family.${key}`;
  return _(id, { name });
}

function show(state, title, message = "") {
  document.body.dataset.state = state;
  $("family-title").textContent = title;
  $("family-message").textContent = message;
  $("call-button").hidden = state !== "ready" && state !== "ended";
  $("call-button").textContent = state === "ended" ? say("again") : say("call");
  $("call-view").hidden = state !== "calling" && state !== "in-call";
  $("retry-button").hidden = true;
}

function placeCall() {
  if (!page.signal?.open || page.call || page.placing) {
    return;
  }
  page.placing = true;
  page.signal.send({ type: "call.start", client_id: page.client.client_id });
  show("calling", say("calling"), say("callingHelp"));
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
      $("family-message").textContent = say("noCamera");
    },
    onPlaybackBlocked: () => {
      $("unmute-button").hidden = false;
    },
  });
  page.call = { id: message.call_id, media };
  show("calling", say("calling"), say("callingHelp"));
  media.start();
}

function onEnded(message) {
  page.placing = false;
  if (page.call && page.call.id !== message.call_id) {
    return;
  }
  page.call?.media.close();
  page.call = null;
  const known = has(`family.ended.${message.reason}`);
  // The server words what only it knows (quiet hours and until when) in English; ours
  // come first where we have them, in the relative's own language.
  const detail = message.reason === "quiet_hours" && message.message && lang === "en"
    ? message.message
    : known ? say(`ended.${message.reason}`) : message.message || say("ended.completed");
  if (message.reason === "completed") {
    show("ended", say("ended.completed"));
  } else {
    show("ended", say("ready"), detail);
  }
  document.body.dataset.endReason = message.reason;
}

function onMessage(message) {
  switch (message.type) {
    case "call.ringing":
      return onRinging(message);
    case "call.accepted":
      if (page.call?.id === message.call_id) {
        show("in-call", say("inCall"));
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
        show("ended", say("ready"), message.message);
      }
      return undefined;
    default:
      return undefined;
  }
}

function start() {
  const token = decodeURIComponent(window.location.hash.slice(1));
  $("call-button").addEventListener("click", placeCall);
  $("end-button").textContent = say("end");
  $("end-button").addEventListener("click", () => {
    if (page.call) {
      page.signal.send({ type: "call.end", call_id: page.call.id });
    }
  });
  $("unmute-button").textContent = say("unmute");
  $("unmute-button").addEventListener("click", () => {
    $("unmute-button").hidden = true;
    page.call?.media.playRemote();
  });
  if (!token) {
    show("invalid", say("incomplete"), say("incompleteHelp"));
    return;
  }
  show("connecting", say("connecting"));
  page.signal = new SignalConnection({
    token,
    agent: "family/0.1",
    onWelcome: (welcome) => {
      page.client = welcome.family_of;
      page.iceServers = welcome.ice_servers || [];
      if (!page.call) {
        show("ready", say("ready"), say("readyHelp"));
      }
    },
    onMessage,
    onState: (state) => {
      if (state === "down" && !page.call) {
        show("connecting", say("down"));
      }
    },
    onClose: (code) => {
      if (code === CLOSE_BAD_TOKEN || code === CLOSE_REVOKED) {
        page.call?.media.close();
        page.call = null;
        show("invalid", say("invalid"), say("invalidHelp"));
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
