// The host console: every participant of a meal or exercise room in a grid, with name and a
// quality dot, and the host's controls (mute one or all, spotlight, talk privately, remove,
// lock, end). Wire format: docs/protocol.md, "Rooms".

import { SignalConnection } from "./hoiva-signal.js";
import { RoomMedia } from "./hoiva-room.js";
import { _ } from "./i18n.js";

const AGENT = "host-console/0.1";
const QUALITY_TEXT = {
  connecting: _("connecting"),
  good: _("good connection"),
  fair: _("fair connection"),
  poor: _("poor connection"),
  lost: _("connection lost"),
};
const END_TEXT = {
  ended_by_host: _("The meal has ended."),
  empty: _("The room closed after its end time."),
  interrupted: _("The server stopped the room."),
};

const $ = (id) => document.getElementById(id);
const consoleEl = $("console");
const roomId = consoleEl.dataset.roomId;

const host = {
  signal: null,
  me: null,
  iceServers: [],
  room: null, // the last room.state
  sessionId: null,
  media: null,
  tracks: new Map(), // mid -> {kind, publisher_id, paused}
  tiles: new Map(), // subject id -> <li>
  myMicMuted: false,
  ended: false,
};

function send(message) {
  return host.signal?.send({ room_id: roomId, ...message });
}

// ---- signaling ---------------------------------------------------------------------------

function onWelcome(welcome) {
  host.me = welcome.subject_id;
  host.iceServers = welcome.ice_servers || [];
  if (!host.ended) {
    // Joining opens the room if it is not open yet; after a reconnect it finds our seat.
    send({ type: "room.join" });
  }
}

function onMessage(message) {
  switch (message.type) {
    case "room.state":
      return message.room_id === roomId && onState(message);
    case "room.media_map":
      if (message.session_id === host.sessionId) {
        host.tracks = new Map(message.tracks.map((t) => [t.mid, t]));
        renderMedia();
      }
      return undefined;
    case "media.answer":
      return message.call_id === host.sessionId && host.media?.onAnswer(message.sdp);
    case "media.offer":
      return message.call_id === host.sessionId && host.media?.onOffer(message.sdp);
    case "media.publish_hint":
      return message.call_id === host.sessionId && host.media?.applyHint(message);
    case "room.ended":
      return message.room_id === roomId && onEnded(message.reason);
    case "room.left":
      return message.room_id === roomId && onEnded(message.reason);
    case "error":
      return showAlert(message.message);
    default:
      return undefined;
  }
}

function onState(state) {
  host.room = state;
  if (host.sessionId !== state.session_id) {
    startMedia(state.session_id);
  }
  consoleEl.dataset.state = "live";
  $("room-status").textContent = state.locked ? _("Live · locked") : _("Live");
  render();
}

function onEnded(reason) {
  host.ended = true;
  stopMedia();
  consoleEl.dataset.state = "ended";
  $("room-status").textContent = END_TEXT[reason] ?? _("You left the room.");
  for (const button of consoleEl.querySelectorAll(".console-actions button")) {
    button.disabled = true;
  }
  $("tiles").replaceChildren();
  host.tiles.clear();
}

function showAlert(text) {
  const alert = $("console-alert");
  alert.textContent = text;
  alert.hidden = false;
  setTimeout(() => {
    alert.hidden = true;
  }, 8000);
}

// ---- media -------------------------------------------------------------------------------

function startMedia(sessionId) {
  stopMedia();
  host.sessionId = sessionId;
  host.tracks = new Map();
  host.media = new RoomMedia({
    signal: host.signal,
    callId: sessionId,
    iceServers: host.iceServers,
    onTracks: renderMedia,
    onConnectionState: (state) => {
      if (state === "failed") {
        showAlert(_("The video connection failed. Reload the page to reconnect."));
      }
    },
    onLocalMediaError: () => showAlert(_("Your camera or microphone could not be used.")),
  });
  host.media.start().then(renderMedia);
}

function stopMedia() {
  host.media?.close();
  host.media = null;
  host.sessionId = null;
}

// ---- the grid ----------------------------------------------------------------------------

function button(action, text) {
  const element = document.createElement("button");
  element.type = "button";
  element.className = "btn btn-small";
  element.dataset.action = action;
  element.textContent = text;
  return element;
}

function newTile(subjectId) {
  const tile = document.createElement("li");
  tile.className = "tile";
  tile.dataset.subjectId = subjectId;
  const video = document.createElement("video");
  video.autoplay = true;
  video.playsInline = true;
  const bar = document.createElement("div");
  bar.className = "tile-bar";
  const dot = document.createElement("span");
  dot.className = "quality-dot";
  // The dot is a picture of the connection: a label on a plain span is not announced.
  dot.setAttribute("role", "img");
  const name = document.createElement("span");
  name.className = "tile-name";
  const flags = document.createElement("span");
  flags.className = "tile-flags";
  bar.append(dot, name, flags);
  const controls = document.createElement("div");
  controls.className = "tile-controls";
  if (subjectId !== host.me) {
    controls.append(
      button("mute", _("Mute")),
      button("spotlight", _("Spotlight")),
      button("side", _("Talk privately")),
      button("remove", _("Remove")),
    );
  }
  tile.append(video, bar, controls);
  return tile;
}

function label(tile, action, text, spoken) {
  const element = tile.querySelector(`[data-action="${action}"]`);
  element.textContent = text;
  element.setAttribute("aria-label", spoken);
}

function render() {
  const state = host.room;
  if (!state) {
    return;
  }
  const list = $("tiles");
  const present = new Set();
  for (const person of state.participants) {
    present.add(person.subject_id);
    let tile = host.tiles.get(person.subject_id);
    if (!tile) {
      tile = newTile(person.subject_id);
      host.tiles.set(person.subject_id, tile);
      list.append(tile);
    }
    const self = person.subject_id === host.me;
    tile.dataset.quality = person.quality;
    tile.dataset.muted = String(person.muted);
    tile.dataset.away = String(person.away);
    tile.dataset.spotlit = String(state.spotlight_id === person.subject_id);
    tile.dataset.self = String(self);
    tile.querySelector(".tile-name").textContent = self ? _("{name} (you)", { name: person.name }) : person.name;
    const dot = tile.querySelector(".quality-dot");
    dot.title = QUALITY_TEXT[person.quality] ?? person.quality;
    dot.setAttribute("aria-label", dot.title);
    const flags = [];
    if (person.muted) flags.push(_("Muted"));
    if (person.away && !self) flags.push(_("Talking privately"));
    if (state.spotlight_id === person.subject_id) flags.push(_("Spotlight"));
    tile.querySelector(".tile-flags").textContent = flags.join(" · ");
    if (!self) {
      // Short words on the buttons; the whole sentence for screen readers (and tests).
      const spotlit = state.spotlight_id === person.subject_id;
      const aside = state.side_call_id === person.subject_id;
      const name = { name: person.name };
      label(
        tile,
        "mute",
        person.muted ? _("Unmute") : _("Mute"),
        person.muted ? _("Unmute {name}", name) : _("Mute {name}", name),
      );
      label(
        tile,
        "spotlight",
        spotlit ? _("End spotlight") : _("Spotlight"),
        spotlit ? _("End spotlight on {name}", name) : _("Spotlight {name}", name),
      );
      label(
        tile,
        "side",
        aside ? _("Back to the table") : _("Talk privately"),
        aside ? _("Bring {name} back to the table", name) : _("Talk privately with {name}", name),
      );
      label(tile, "remove", _("Remove"), _("Remove {name}", name));
    }
  }
  for (const [subjectId, tile] of host.tiles) {
    if (!present.has(subjectId)) {
      tile.remove();
      host.tiles.delete(subjectId);
    }
  }
  fitGrid();
  const homes = state.participants.filter((p) => p.role === "client").length;
  $("room-count").textContent = String(homes);
  $("console-empty").hidden = homes > 0;
  const side = state.participants.find((p) => p.subject_id === state.side_call_id);
  $("side-call-banner").hidden = !side;
  $("side-call-banner").textContent = side
    ? _("You are talking privately with {name}. The table cannot hear or see you.", { name: side.name })
    : "";
  const lock = $("lock-button");
  lock.setAttribute("aria-pressed", String(state.locked));
  lock.textContent = state.locked ? _("Unlock room") : _("Lock room");
  for (const id of ["my-mic-button", "mute-all-button", "unmute-all-button", "lock-button", "end-button"]) {
    $(id).disabled = false;
  }
  renderMedia();
}

const TILE_GAP_PX = 12; // .tiles' gap (0.75rem)
const VIDEO_RATIO = 4 / 3;

/**
 * The grid's columns and width that give every tile the largest picture with the whole table
 * on the screen: try each column count, keep the one whose tiles come out widest.
 */
function fitGrid() {
  const list = $("tiles");
  const count = Math.max(1, host.tiles.size);
  const width = list.parentElement.clientWidth;
  const height = window.innerHeight - list.getBoundingClientRect().top - 16;
  // The name bar and buttons under each picture, measured from a tile when there is one.
  const sample = list.querySelector(".tile");
  const video = sample?.querySelector("video");
  const chrome = sample && video ? sample.offsetHeight - video.offsetHeight : 90;
  let best = { columns: 1, tile: 0 };
  for (let columns = 1; columns <= count; columns += 1) {
    const rows = Math.ceil(count / columns);
    const byWidth = (width - TILE_GAP_PX * (columns - 1)) / columns;
    const byHeight = ((height - TILE_GAP_PX * (rows - 1)) / rows - chrome) * VIDEO_RATIO;
    const tile = Math.min(byWidth, byHeight);
    if (tile > best.tile) {
      best = { columns, tile };
    }
  }
  // Never smaller than a readable name and its buttons, even on a short screen.
  const tile = Math.max(best.tile, 240);
  list.style.setProperty("--columns", String(best.columns));
  list.style.maxWidth = `${Math.round(tile * best.columns + TILE_GAP_PX * (best.columns - 1))}px`;
}

window.addEventListener("resize", () => fitGrid());

function renderMedia() {
  const media = host.media;
  for (const [subjectId, tile] of host.tiles) {
    const video = tile.querySelector("video");
    let stream = null;
    if (subjectId === host.me) {
      stream = media?.localStream ?? null;
      video.muted = true; // never hear yourself
    } else if (media) {
      stream = media.streamFor(subjectId, host.tracks);
    }
    if (stream && video.srcObject !== stream) {
      video.srcObject = stream;
    }
    if (stream) {
      play(video);
    }
    const paused = [...host.tracks.values()].some(
      (t) => t.publisher_id === subjectId && t.kind === "video" && t.paused,
    );
    tile.dataset.videoPaused = String(paused);
  }
}

function play(video) {
  if (!video.paused) {
    return;
  }
  video.play().catch(() => {
    // Autoplay with sound needs a click in most browsers: play muted, offer sound.
    video.muted = true;
    video.play().catch(() => {});
    $("sound-button").hidden = false;
  });
}

// ---- controls ----------------------------------------------------------------------------

function onTileClick(event) {
  const target = event.target.closest("button[data-action]");
  const tile = event.target.closest(".tile");
  if (!target || !tile || !host.room) {
    return;
  }
  const subjectId = tile.dataset.subjectId;
  const person = host.room.participants.find((p) => p.subject_id === subjectId);
  switch (target.dataset.action) {
    case "mute":
      send({ type: "room.mute", subject_id: subjectId, muted: !person?.muted });
      break;
    case "spotlight":
      send({
        type: "room.spotlight",
        subject_id: host.room.spotlight_id === subjectId ? null : subjectId,
      });
      break;
    case "side":
      send({
        type: "room.side_call",
        subject_id: host.room.side_call_id === subjectId ? null : subjectId,
      });
      break;
    case "remove":
      const question = person
        ? _("Remove {name} from the room for today?", { name: person.name })
        : _("Remove this home from the room for today?");
      if (window.confirm(question)) {
        send({ type: "room.remove", subject_id: subjectId });
      }
      break;
    default:
      break;
  }
}

function toggleMyMic() {
  host.myMicMuted = !host.myMicMuted;
  host.media?.setMuted(host.myMicMuted);
  const mic = $("my-mic-button");
  mic.setAttribute("aria-pressed", String(host.myMicMuted));
  mic.textContent = host.myMicMuted ? _("Unmute my microphone") : _("Mute my microphone");
}

function bind() {
  $("tiles").addEventListener("click", onTileClick);
  $("my-mic-button").addEventListener("click", toggleMyMic);
  $("mute-all-button").addEventListener("click", () => send({ type: "room.mute_all", muted: true }));
  $("unmute-all-button").addEventListener("click", () => send({ type: "room.mute_all", muted: false }));
  $("lock-button").addEventListener("click", () => send({ type: "room.lock", locked: !host.room?.locked }));
  $("end-button").addEventListener("click", (event) => {
    if (window.confirm(event.target.dataset.confirm)) {
      send({ type: "room.end" });
    }
  });
  $("sound-button").addEventListener("click", () => {
    for (const video of consoleEl.querySelectorAll(".tile[data-self='false'] video")) {
      video.muted = false;
      video.play().catch(() => {});
    }
    $("sound-button").hidden = true;
  });
}

// For tests and support sessions: read-only views of the console.
window.hoivaConsole = {
  get sessionId() {
    return host.sessionId;
  },
  get participants() {
    return host.room?.participants ?? [];
  },
  /** One entry per remote tile: who, whether its <video> plays, frames decoded for it. */
  async tiles() {
    const stats = (await host.media?.statsByMid()) ?? new Map();
    const result = [];
    for (const [subjectId, tile] of host.tiles) {
      if (subjectId === host.me) {
        continue;
      }
      const video = tile.querySelector("video");
      const mids = [...host.tracks.entries()]
        .filter(([, t]) => t.publisher_id === subjectId && t.kind === "video")
        .map(([mid]) => mid);
      const decoded = mids.reduce((sum, mid) => sum + (stats.get(mid)?.framesDecoded ?? 0), 0);
      result.push({
        subjectId,
        framesDecoded: decoded,
        playing: !video.paused && video.readyState >= 2 && video.videoWidth > 0,
        width: video.videoWidth,
      });
    }
    return result;
  },
};

bind();
host.signal = new SignalConnection({
  agent: AGENT,
  onWelcome,
  onMessage,
  onClose: () => !host.ended,
  onState: (state) => {
    if (state === "down" || state === "connecting") {
      $("room-status").textContent = _("Reconnecting…");
    }
  },
});
host.signal.start();
