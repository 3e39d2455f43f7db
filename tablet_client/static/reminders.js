// The kiosk's check-in reminders: "Time for your evening medicine: Metformin 500 mg" with
// two big buttons, "I have taken it" and "Call nurse". The server always sends the whole
// list of open check-ins (checkin.reminders); this screen shows one at a time and never
// interrupts a call. Wire format: docs/protocol.md, "Check-ins".

const GLUCOSE_RANGE = [1.0, 35.0];
// A retry rings like a call for this long, then waits quietly on the screen.
const RING_MS = 30000;
const CHIME_MS = 1200;

const $ = (id) => document.getElementById(id);

export class ReminderScreen {
  /**
   * t(key, params); send(message) -> ref | null; showScreen(name); showIdle(notice);
   * requestHelp(); startRinging(); stopRinging(); busy() -> true during a call or a ring.
   */
  constructor(hooks) {
    this.hooks = hooks;
    this.list = [];
    this.current = null;
    this.seen = new Set();
    this.ref = null;
    this.ringTimer = null;
  }

  bind() {
    $("reminder-confirm").addEventListener("click", () => this.confirm());
    $("reminder-help").addEventListener("click", () => {
      this.quiet();
      this.hooks.requestHelp();
      this.hooks.showIdle("");
    });
    $("reminder-later").addEventListener("click", () => {
      this.quiet();
      this.current = null;
      this.hooks.showIdle("");
    });
    $("reminder-waiting").addEventListener("click", () => {
      if (this.list.length) {
        this.show(this.list[0], false);
      }
    });
  }

  /** checkin.reminders: the whole open list; `ring` asks for a retry ring. */
  update(message) {
    const list = message.reminders || [];
    const fresh = list.filter((r) => !this.seen.has(r.checkin_id));
    list.forEach((r) => this.seen.add(r.checkin_id));
    this.list = list;
    const still = this.current && list.find((r) => r.checkin_id === this.current.checkin_id);
    if (this.hooks.busy()) {
      this.renderWaiting();
      return;
    }
    if (!list.length) {
      if (this.current) {
        this.quiet();
        this.current = null;
        this.hooks.showIdle("");
      }
      this.renderWaiting();
      return;
    }
    // A plan may list a check-in without reminding: it waits behind the idle button.
    const alerting = fresh.filter((r) => r.alert !== false);
    if (message.ring || alerting.length) {
      this.show(alerting[0] ?? still ?? list[0], Boolean(message.ring));
    } else if (this.current && !still) {
      this.quiet();
      this.current = null;
      this.hooks.showIdle("");
    }
    this.renderWaiting();
  }

  show(reminder, ring) {
    this.current = reminder;
    this.render();
    this.hooks.showScreen("reminder");
    $("screen-reminder").classList.toggle("ringing", ring);
    clearTimeout(this.ringTimer);
    this.hooks.startRinging();
    this.ringTimer = setTimeout(() => this.quiet(), ring ? RING_MS : CHIME_MS);
  }

  render() {
    const r = this.current;
    if (!r) {
      return;
    }
    const { t } = this.hooks;
    const titleKey = `reminder.${r.kind}`;
    const title = t(titleKey, { label: r.label });
    $("reminder-title").textContent = r.detail ? `${title}: ${r.detail}` : title;
    $("reminder-time").textContent = t("reminder.time", { time: r.time });
    const button = $("reminder-confirm");
    const confirmKey = `reminder.confirm.${r.confirm}`;
    button.textContent = t(confirmKey);
    button.disabled = false;
    $("reminder-glucose").hidden = r.confirm !== "measured";
    $("reminder-glucose-input").value = "";
    $("reminder-message").textContent = "";
  }

  renderWaiting() {
    $("reminder-waiting").hidden = this.list.length === 0;
  }

  confirm() {
    const r = this.current;
    if (!r) {
      return;
    }
    const message = { type: "checkin.confirm", checkin_id: r.checkin_id, outcome: r.confirm };
    if (r.confirm === "measured") {
      const value = Number.parseFloat($("reminder-glucose-input").value.replace(",", "."));
      if (!(value >= GLUCOSE_RANGE[0] && value <= GLUCOSE_RANGE[1])) {
        $("reminder-message").textContent = this.hooks.t("reminder.glucose_invalid");
        return;
      }
      message.glucose_mmol_l = value;
    }
    this.ref = this.hooks.send(message);
    if (!this.ref) {
      $("reminder-message").textContent = this.hooks.t("reminder.failed");
      return;
    }
    $("reminder-confirm").disabled = true;
    this.quiet();
  }

  /** checkin.recorded: the check-in is done (or was already). */
  recorded(message) {
    if (this.current?.checkin_id !== message.checkin_id) {
      return;
    }
    this.ref = null;
    this.current = null;
    this.list = this.list.filter((r) => r.checkin_id !== message.checkin_id);
    this.renderWaiting();
    this.hooks.showIdle(this.hooks.t("reminder.thanks"));
  }

  /** An error about our confirm: say so and let the client try again. */
  refused(message) {
    if (!message.ref || message.ref !== this.ref) {
      return false;
    }
    this.ref = null;
    $("reminder-message").textContent = this.hooks.t("reminder.failed");
    $("reminder-confirm").disabled = false;
    return true;
  }

  /** A call took over the screen: stop ringing, keep the reminder for later. */
  quiet() {
    clearTimeout(this.ringTimer);
    this.ringTimer = null;
    $("screen-reminder").classList.remove("ringing");
    this.hooks.stopRinging();
  }

  get ids() {
    return this.list.map((r) => r.checkin_id);
  }
}
