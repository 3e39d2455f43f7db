// Media insight in the nurse's call view: camera hints, a quality dot per participant, and
// recording (start/stop and a banner while it is on). It builds its own elements inside the
// call panel, so the dashboard only routes messages here and tells it when the call changes.

import { _, formatNumber } from "./i18n.js";

const LEVEL_TEXT = { good: _("Good connection"), fair: _("Fair connection"), poor: _("Poor connection") };

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) {
    node.className = className;
  }
  if (text) {
    node.textContent = text;
  }
  return node;
}

export class InsightView {
  /**
   * @param {{send: (message: object) => string | null, call: () => ({id: string, clientId: string, clientName: string} | null), panel: HTMLElement}} deps
   */
  constructor({ send, call, panel }) {
    this.send = send;
    this.call = call;
    this.pending = new Map();
    this.recordingOn = false;

    this.banner = element("p", "alert alert-error insight-recording", `● ${_("Recording")}`);
    this.banner.setAttribute("role", "status");
    this.banner.hidden = true;
    this.hint = element("p", "alert alert-warn insight-hint");
    this.hint.setAttribute("role", "status");
    this.hint.setAttribute("aria-live", "polite");
    this.hint.hidden = true;
    // Why a recording request was refused; kept apart from the camera hint.
    this.notice = element("p", "alert alert-warn insight-notice");
    this.notice.setAttribute("role", "alert");
    this.notice.hidden = true;
    this.quality = element("p", "insight-quality muted");
    this.quality.setAttribute("aria-live", "off");
    this.quality.hidden = true;
    this.button = element("button", "btn", _("Record"));
    this.button.type = "button";
    this.button.disabled = true;
    this.button.setAttribute("aria-pressed", "false");
    this.button.addEventListener("click", () => this.toggleRecording());
    this.levels = new Map();

    const status = panel.querySelector("#call-status");
    status?.after(this.banner, this.hint, this.notice, this.quality);
    panel.querySelector(".call-controls")?.append(this.button);
  }

  /** Route call.hint, call.quality, call.recording and errors about our requests. */
  handle(message) {
    const call = this.call();
    switch (message.type) {
      case "call.hint":
        if (call?.id === message.call_id) {
          this.hint.textContent = message.hint ? message.text : "";
          this.hint.hidden = !message.hint;
        }
        return true;
      case "call.quality":
        if (call?.id === message.call_id) {
          this.levels.set(message.subject_id === call.clientId ? "client" : "you", message);
          this.renderQuality(call);
        }
        return true;
      case "call.recording":
        if (call?.id === message.call_id) {
          this.setRecording(message.active);
        }
        return true;
      case "error":
        if (message.ref && this.pending.has(message.ref)) {
          this.pending.delete(message.ref);
          this.notice.textContent =
            message.code === "consent_required"
              ? _("Recording needs the client's consent, recorded on their privacy page.")
              : message.message;
          this.notice.hidden = false;
          this.button.disabled = !this.call();
          return true;
        }
        return false;
      default:
        return false;
    }
  }

  /** The dashboard's call changed (placed, connected, ended). */
  callChanged(state) {
    const active = state === "connected" && Boolean(this.call());
    this.button.disabled = !active;
    if (!active) {
      this.setRecording(false);
      this.hint.hidden = true;
      this.notice.hidden = true;
      this.quality.hidden = true;
      this.levels.clear();
    }
  }

  toggleRecording() {
    const call = this.call();
    if (!call) {
      return;
    }
    const type = this.recordingOn ? "call.record_stop" : "call.record_start";
    const ref = this.send({ type, call_id: call.id });
    if (ref) {
      this.pending.set(ref, type);
      this.button.disabled = true;
    }
  }

  setRecording(active) {
    this.recordingOn = active;
    this.banner.hidden = !active;
    if (active) {
      this.notice.hidden = true;
    }
    this.button.textContent = active ? _("Stop recording") : _("Record");
    this.button.setAttribute("aria-pressed", String(active));
    this.button.disabled = !this.call();
    this.pending.clear();
  }

  renderQuality(call) {
    const parts = [];
    for (const [who, sample] of this.levels) {
      const name = who === "client" ? call.clientName : _("You");
      const figures =
        sample.rtt_ms == null
          ? _("{loss} % loss, {fps} fps", { loss: formatNumber(sample.loss_pct), fps: Math.round(sample.fps) })
          : _("{loss} % loss, {rtt} ms, {fps} fps", {
              loss: formatNumber(sample.loss_pct),
              rtt: Math.round(sample.rtt_ms),
              fps: Math.round(sample.fps),
            });
      parts.push(
        `<span class="quality-dot quality-${sample.level}" aria-hidden="true"></span>` +
          `${escapeHtml(name)}: ${escapeHtml(LEVEL_TEXT[sample.level] ?? sample.level)}` +
          ` (${escapeHtml(figures)})`,
      );
    }
    this.quality.innerHTML = parts.join(" · ");
    this.quality.hidden = parts.length === 0;
  }
}

function escapeHtml(text) {
  const span = document.createElement("span");
  span.textContent = text;
  return span.innerHTML;
}
