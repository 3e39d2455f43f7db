// The kiosk's meal view: "Lunch with the Kallio group is starting" with one big Join button
// (or a countdown when the client's settings let the tablet join by itself), then the table:
// everyone in a grid with the host (or whoever the host spotlights) large, one big Leave
// button, and the muted state shown so that nobody wonders why they are not heard.
// Wire format: docs/protocol.md, "Rooms".

import { RoomMedia } from "/static/js/hoiva-room.js";

const $ = (id) => document.getElementById(id);
const LEFT_TEXT = {
  removed: "meal.removed",
  dropped: "meal.dropped",
  ended: "meal.ended",
  left: "meal.left",
};
const JOIN_REFUSED = {
  busy: "meal.full",
  invalid_state: "meal.closed",
  forbidden: "meal.closed",
  not_found: "meal.closed",
};

export class MealView {
  /**
   * Hooks: t(key, params); send(message) -> ref | null; showScreen(name);
   * showIdle(notice); iceServers() -> list; subjectId() -> string; busy() -> true during
   * a call or a ring (an invitation then waits).
   */
  constructor(hooks) {
    this.hooks = hooks;
    this.invites = new Map(); // room id -> room.starting
    this.shown = null; // room id of the invitation on screen
    this.active = null; // {roomId, sessionId, media, state, tracks, joinRef}
    this.countdown = null;
  }

  get seated() {
    return this.active !== null;
  }

  bind() {
    $("meal-join").addEventListener("click", () => this.join(this.shown));
    $("meal-not-now").addEventListener("click", () => this.dismiss());
    $("meal-leave").addEventListener("click", () => this.leave());
    $("meal-sound").addEventListener("click", () => {
      for (const video of $("meal-grid").querySelectorAll("video")) {
        video.muted = false;
        video.play().catch(() => {});
      }
      $("meal-sound").hidden = true;
    });
  }

  /** After every welcome: which of my rooms are open (a latecomer, or back from a blip). */
  sync() {
    this.invites.clear();
    this.hooks.send({ type: "room.sync" });
  }

  /** Consume a room message or the room's media message; false: not ours. */
  handle(message) {
    const active = this.active;
    const ours = active && message.call_id === active.sessionId;
    switch (message.type) {
      case "room.starting":
        this.invites.set(message.room_id, message);
        if (!this.active && !this.hooks.busy()) {
          this.invite(message.room_id);
        }
        return true;
      case "room.state":
        if (active && message.room_id === active.roomId) {
          active.state = message;
          this.render();
        }
        return true;
      case "room.media_map":
        if (active && message.session_id === active.sessionId) {
          active.tracks = new Map(message.tracks.map((track) => [track.mid, track]));
          this.renderMedia();
        }
        return true;
      case "room.left":
        if (active && message.room_id === active.roomId) {
          this.teardown();
          this.hooks.showIdle(this.hooks.t(LEFT_TEXT[message.reason] ?? "meal.left"));
        }
        return true;
      case "room.ended":
        this.invites.delete(message.room_id);
        if (active && message.room_id === active.roomId) {
          this.teardown();
          this.hooks.showIdle(this.hooks.t("meal.ended"));
        } else if (this.shown === message.room_id) {
          this.dismiss();
        }
        return true;
      case "media.answer":
        return Boolean(ours && active.media.onAnswer(message.sdp));
      case "media.offer":
        return Boolean(ours && active.media.onOffer(message.sdp));
      case "media.publish_hint":
        return Boolean(ours && active.media.applyHint(message));
      case "error":
        return this.refused(message);
      default:
        return false;
    }
  }

  /** Show a waiting invitation once a call or ring is over. */
  resume() {
    const [roomId] = this.invites.keys();
    if (roomId && !this.active) {
      this.invite(roomId);
      return true;
    }
    return false;
  }

  // ---- the invitation ----------------------------------------------------------------

  invite(roomId) {
    const starting = this.invites.get(roomId);
    if (!starting) {
      return;
    }
    const { t } = this.hooks;
    this.shown = roomId;
    $("meal-invite-title").textContent = t("meal.starting", { name: starting.name });
    $("meal-invite-host").textContent = starting.host_name
      ? t("meal.host", { name: starting.host_name })
      : "";
    $("meal-invite-message").textContent = "";
    this.hooks.showScreen("meal-invite");
    clearInterval(this.countdown);
    const counter = $("meal-countdown");
    const delay = Number.isInteger(starting.auto_join_after_s) ? starting.auto_join_after_s : null;
    counter.hidden = delay === null;
    if (delay === null) {
      return;
    }
    let left = Math.max(0, delay);
    const tick = () => {
      if (left <= 0) {
        clearInterval(this.countdown);
        this.join(roomId);
        return;
      }
      counter.textContent = t("meal.auto", { s: left });
      left -= 1;
    };
    tick();
    this.countdown = setInterval(tick, 1000);
  }

  dismiss() {
    clearInterval(this.countdown);
    if (this.shown) {
      this.invites.delete(this.shown);
    }
    this.shown = null;
    this.hooks.showIdle("");
  }

  // ---- at the table ------------------------------------------------------------------

  join(roomId) {
    const starting = this.invites.get(roomId);
    if (!starting || this.active) {
      return;
    }
    clearInterval(this.countdown);
    const joinRef = this.hooks.send({ type: "room.join", room_id: roomId });
    if (!joinRef) {
      $("meal-invite-message").textContent = this.hooks.t("meal.closed");
      return;
    }
    const media = new RoomMedia({
      signal: { send: (message) => this.hooks.send(message) },
      callId: starting.session_id,
      iceServers: this.hooks.iceServers(),
      localVideo: $("meal-self"),
      onTracks: () => this.renderMedia(),
      onLocalMediaError: () => {
        $("meal-status").textContent = this.hooks.t("call.no_camera");
      },
    });
    this.active = {
      roomId,
      sessionId: starting.session_id,
      media,
      state: null,
      tracks: new Map(),
      joinRef,
    };
    this.invites.delete(roomId);
    this.shown = null;
    $("meal-title").textContent = starting.name;
    $("meal-status").textContent = this.hooks.t("meal.connecting");
    $("meal-grid").replaceChildren();
    this.hooks.showScreen("meal");
    // The offer follows the join on the same socket, so the seat exists when it arrives.
    media.start();
  }

  leave() {
    if (!this.active) {
      return;
    }
    this.hooks.send({ type: "room.leave", room_id: this.active.roomId });
    this.teardown();
    this.hooks.showIdle(this.hooks.t("meal.left"));
  }

  refused(message) {
    const active = this.active;
    if (!active || message.ref !== active.joinRef) {
      return false;
    }
    const roomId = active.roomId;
    this.teardown();
    this.hooks.showScreen("meal-invite");
    this.shown = roomId;
    $("meal-invite-message").textContent = this.hooks.t(JOIN_REFUSED[message.code] ?? "meal.closed");
    return true;
  }

  teardown() {
    clearInterval(this.countdown);
    if (this.active) {
      this.active.media.close();
      this.active = null;
    }
    $("meal-grid").replaceChildren();
    $("meal-muted").hidden = true;
    $("meal-private").hidden = true;
  }

  render() {
    const active = this.active;
    const state = active?.state;
    if (!state) {
      return;
    }
    const { t } = this.hooks;
    const me = this.hooks.subjectId();
    const grid = $("meal-grid");
    const large = state.large_id ?? state.host_id;
    const others = state.participants.filter((p) => p.subject_id !== me);
    const present = new Set(others.map((p) => p.subject_id));
    for (const tile of [...grid.children]) {
      if (!present.has(tile.dataset.subjectId)) {
        tile.remove();
      }
    }
    for (const person of others) {
      let tile = grid.querySelector(`[data-subject-id="${CSS.escape(person.subject_id)}"]`);
      if (!tile) {
        tile = document.createElement("figure");
        tile.className = "meal-tile";
        tile.dataset.subjectId = person.subject_id;
        const video = document.createElement("video");
        video.autoplay = true;
        video.playsInline = true;
        const caption = document.createElement("figcaption");
        tile.append(video, caption);
        grid.append(tile);
      }
      tile.dataset.large = String(person.subject_id === large);
      tile.dataset.host = String(person.role === "host");
      tile.dataset.muted = String(person.muted);
      tile.dataset.away = String(person.away && state.side_call_id !== me);
      let caption = person.name;
      if (person.muted) caption += ` · ${t("meal.muted_short")}`;
      if (person.away && state.side_call_id !== me && person.role !== "host") {
        caption += ` · ${t("meal.away")}`;
      }
      tile.querySelector("figcaption").textContent = caption;
    }
    // The large tile first, so the grid places it top-left at double size.
    const first = grid.querySelector('[data-large="true"]');
    if (first && grid.firstElementChild !== first) {
      grid.prepend(first);
    }
    grid.dataset.count = String(others.length);
    const mine = state.participants.find((p) => p.subject_id === me);
    $("meal-muted").hidden = !mine?.muted;
    const host = state.participants.find((p) => p.subject_id === state.host_id);
    const privateNote = $("meal-private");
    if (state.side_call_id === me) {
      privateNote.textContent = t("meal.private_you", { name: host?.name ?? "" });
      privateNote.hidden = false;
    } else if (state.side_call_id) {
      privateNote.textContent = t("meal.private_other", { name: host?.name ?? "" });
      privateNote.hidden = false;
    } else {
      privateNote.hidden = true;
    }
    $("meal-status").textContent = "";
    this.renderMedia();
  }

  renderMedia() {
    const active = this.active;
    if (!active) {
      return;
    }
    for (const tile of $("meal-grid").children) {
      const video = tile.querySelector("video");
      const stream = active.media.streamFor(tile.dataset.subjectId, active.tracks);
      if (video.srcObject !== stream) {
        video.srcObject = stream;
      }
      if (video.paused && stream.getTracks().length) {
        video.play().catch(() => {
          video.muted = true;
          video.play().catch(() => {});
          $("meal-sound").hidden = false;
        });
      }
    }
  }

  /** For tests: what the meal view shows and decodes. */
  async debug() {
    const active = this.active;
    if (!active) {
      return null;
    }
    const stats = await active.media.statsByMid();
    const tiles = [...$("meal-grid").children].map((tile) => {
      const video = tile.querySelector("video");
      const mids = [...active.tracks.entries()]
        .filter(([, t]) => t.publisher_id === tile.dataset.subjectId && t.kind === "video")
        .map(([mid]) => mid);
      return {
        subjectId: tile.dataset.subjectId,
        large: tile.dataset.large === "true",
        playing: !video.paused && video.readyState >= 2 && video.videoWidth > 0,
        framesDecoded: mids.reduce((n, mid) => n + (stats.get(mid)?.framesDecoded ?? 0), 0),
      };
    });
    return { roomId: active.roomId, sessionId: active.sessionId, muted: !$("meal-muted").hidden, tiles };
  }
}
