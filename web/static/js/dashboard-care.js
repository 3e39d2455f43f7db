// The dashboard's care side: today's check-ins, follow-up tasks, the attention list, and
// the outcome form beside the video. Lists load over HTTP once per connection and then
// follow the socket (checkin.update, escalation.queue, attention.list; docs/protocol.md).

import { _, formatNumber, formatTime, locale, ngettext } from "./i18n.js";

const OUTCOMES = {
  medication: [
    ["taken", _("Taken")],
    ["not_taken", _("Not taken")],
    ["refused", _("Refused")],
  ],
  glucose: [
    ["measured", _("Measured")],
    ["not_measured", _("Not measured")],
    ["refused", _("Refused")],
  ],
  exercise: [
    ["done", _("Done")],
    ["not_done", _("Not done")],
    ["refused", _("Refused")],
  ],
  visit: [
    ["done", _("Done")],
    ["not_done", _("Not done")],
    ["refused", _("Refused")],
  ],
};
const OUTCOME_TEXT = Object.fromEntries(Object.values(OUTCOMES).flat());
const STATUS_TEXT = {
  scheduled: _("later"),
  due: _("due"),
  missed: _("missed"),
  escalated: _("escalated"),
  home_visit: _("home visit"),
  done: _("done"),
  closed: _("closed"),
  cancelled: _("cancelled"),
};
const GLUCOSE_RANGE = [1.0, 35.0];
const FINISHED = new Set(["done", "closed", "cancelled"]);

const $ = (id) => document.getElementById(id);

function node(tag, className = "", text = "") {
  const element = document.createElement(tag);
  if (className) {
    element.className = className;
  }
  if (text) {
    element.textContent = text;
  }
  return element;
}

function button(text, label, onClick, className = "btn") {
  const element = node("button", className, text);
  element.type = "button";
  element.setAttribute("aria-label", label);
  element.addEventListener("click", onClick);
  return element;
}

function localTime(iso) {
  const moment = new Date(iso);
  return Number.isNaN(moment.getTime()) ? "" : formatTime(moment);
}

/** An outcome inside a sentence ("Recorded: taken"): the option's label in lower case. */
function outcomeText(outcome) {
  return (OUTCOME_TEXT[outcome] ?? outcome.replace("_", " ")).toLocaleLowerCase(locale);
}

/** A note field and a button that only sends with a note: closing and dismissing need one. */
function noteForm(placeholder, action, label, onSubmit) {
  const form = node("form", "note-form");
  const input = node("input");
  input.type = "text";
  input.maxLength = 500;
  input.required = true;
  input.placeholder = placeholder;
  input.setAttribute("aria-label", _("{action}: note", { action: label }));
  const submit = node("button", "btn btn-quiet", action);
  submit.type = "submit";
  submit.setAttribute("aria-label", label);
  form.append(input, submit);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const note = input.value.trim();
    if (note) {
      onSubmit(note);
    }
  });
  return form;
}

export class CareBoard {
  /**
   * send(message) -> ref | null; call(clientId); notify(text); callClientId() -> id | null;
   * callClientName() -> text.
   */
  constructor({ send, call, notify, callClientId, callClientName }) {
    this.send = send;
    this.call = call;
    this.notify = notify;
    this.callClientId = callClientId;
    this.callClientName = callClientName;
    this.day = new Map();
    this.tasks = [];
    this.flags = [];
    this.seenTasks = new Set();
    this.pending = new Map(); // ref -> check-in id whose form waits for the answer
    this.loaded = false;
  }

  async load() {
    const [day, tasks, flags] = await Promise.all(
      ["/api/checkins/today", "/api/escalations", "/api/attention"].map(async (url) => {
        try {
          const response = await fetch(url, { credentials: "same-origin" });
          return response.ok ? response.json() : null;
        } catch (error) {
          return null;
        }
      }),
    );
    if (day) {
      this.day = new Map(day.map((entry) => [entry.checkin_id, entry]));
    }
    if (tasks) {
      this.tasks = tasks;
      tasks.forEach((task) => this.seenTasks.add(task.escalation_id));
    }
    if (flags) {
      this.flags = flags;
    }
    this.loaded = true;
    this.render();
  }

  /** Returns true when the message was the care board's to handle. */
  handle(message) {
    switch (message.type) {
      case "checkin.update":
        if (message.checkin) {
          this.day.set(message.checkin.checkin_id, message.checkin);
          this.renderDay();
          this.renderOutcomes();
        }
        return true;
      case "escalation.queue":
        this.replaceTasks(message.escalations || []);
        return true;
      case "attention.list":
        this.flags = message.flags || [];
        this.renderFlags();
        return true;
      case "checkin.recorded":
        this.recorded(message);
        return true;
      case "error":
        return this.refused(message);
      default:
        return false;
    }
  }

  callChanged() {
    this.renderOutcomes();
  }

  render() {
    this.renderDay();
    this.renderTasks();
    this.renderFlags();
    this.renderOutcomes();
  }

  // ---- today's check-ins -----------------------------------------------------------------

  renderDay() {
    const entries = [...this.day.values()].sort(
      (a, b) => a.scheduled_at.localeCompare(b.scheduled_at) || a.client_name.localeCompare(b.client_name),
    );
    const open = entries.filter((e) => !FINISHED.has(e.status) && e.status !== "scheduled").length;
    $("day-count").textContent = String(open);
    $("day-empty").hidden = entries.length > 0;
    $("day-list").replaceChildren(
      ...entries.map((entry) => {
        const item = node("li", "care-item day-item");
        item.dataset.checkinId = entry.checkin_id;
        item.dataset.status = entry.status;
        const text = node("div");
        text.append(
          node("strong", "", `${entry.time} ${entry.client_name}`),
          node("p", "muted", [entry.label, entry.detail].filter(Boolean).join(": ")),
        );
        const status = node(
          "span",
          `checkin-status status-${entry.status}`,
          entry.outcome
            ? `${STATUS_TEXT[entry.status] ?? entry.status}: ${outcomeText(entry.outcome)}`
            : STATUS_TEXT[entry.status] ?? entry.status,
        );
        item.append(text, status);
        return item;
      }),
    );
  }

  // ---- follow-up tasks -------------------------------------------------------------------

  replaceTasks(tasks) {
    const fresh = tasks.filter((task) => !this.seenTasks.has(task.escalation_id));
    tasks.forEach((task) => this.seenTasks.add(task.escalation_id));
    this.tasks = tasks;
    this.renderTasks(new Set(fresh.map((task) => task.escalation_id)));
    if (fresh.length && this.loaded) {
      this.notify(
        fresh.length === 1
          ? fresh[0].message
          : ngettext("{n} new follow-up task", "{n} new follow-up tasks", fresh.length),
      );
    }
  }

  renderTasks(fresh = new Set()) {
    $("task-count").textContent = String(this.tasks.length);
    $("task-empty").hidden = this.tasks.length > 0;
    $("task-list").replaceChildren(
      ...this.tasks.map((task) => {
        const item = node("li", fresh.has(task.escalation_id) ? "care-item task-item fresh" : "care-item task-item");
        item.dataset.escalationId = task.escalation_id;
        item.dataset.stage = task.stage;
        const text = node("div");
        const when =
          task.stage === "home_visit"
            ? _("home visit since {time}", { time: localTime(task.home_visit_at) })
            : _("since {time}", { time: localTime(task.created_at) });
        text.append(node("strong", "", task.client_name), node("p", "", task.message), node("p", "muted", when));
        text.append(
          noteForm(_("Why close without an outcome?"), _("Close"), _("Close task for {name}", { name: task.client_name }), (note) =>
            this.send({ type: "escalation.close", escalation_id: task.escalation_id, note }),
          ),
        );
        const actions = node("div", "care-actions");
        actions.append(
          button(_("Call"), _("Call {name} about the task", { name: task.client_name }), () => this.call(task.client_id), "btn btn-primary"),
        );
        item.append(text, actions);
        return item;
      }),
    );
  }

  // ---- attention list --------------------------------------------------------------------

  renderFlags() {
    $("flag-count").textContent = String(this.flags.length);
    $("flag-empty").hidden = this.flags.length > 0;
    $("flag-list").replaceChildren(
      ...this.flags.map((flag) => {
        const item = node("li", "care-item flag-item");
        item.dataset.flagId = flag.flag_id;
        item.dataset.rule = flag.rule_id;
        const text = node("div");
        text.append(
          node("strong", "", `${flag.client_name}: ${flag.title}`),
          node("p", "", flag.reason),
          noteForm(_("Why dismiss?"), _("Dismiss"), _("Dismiss flag for {name}", { name: flag.client_name }), (note) =>
            this.send({ type: "attention.resolve", flag_id: flag.flag_id, action: "dismissed", note }),
          ),
        );
        const actions = node("div", "care-actions");
        actions.append(
          button(_("Call"), _("Call {name} about the flag", { name: flag.client_name }), () => {
            this.send({ type: "attention.resolve", flag_id: flag.flag_id, action: "called" });
            this.call(flag.client_id);
          }, "btn btn-primary"),
          button(_("Adjust plan"), _("Adjust the care plan of {name}", { name: flag.client_name }), () => {
            this.send({ type: "attention.resolve", flag_id: flag.flag_id, action: "plan_adjusted" });
            window.location.assign(`/clients/${encodeURIComponent(flag.client_id)}/plan`);
          }),
        );
        item.append(text, actions);
        return item;
      }),
    );
  }

  // ---- the outcome form beside the video -------------------------------------------------

  renderOutcomes() {
    const clientId = this.callClientId();
    const panel = $("outcome-panel");
    const entries = clientId
      ? [...this.day.values()]
          .filter((entry) => entry.client_id === clientId && entry.status !== "cancelled")
          .sort((a, b) => a.scheduled_at.localeCompare(b.scheduled_at))
      : [];
    panel.hidden = !clientId;
    if (!clientId) {
      return;
    }
    $("outcome-title").textContent = _("Check-ins for {name} today", { name: this.callClientName() });
    $("outcome-empty").hidden = entries.length > 0;
    const forms = $("outcome-forms");
    // Keep a form the nurse is typing in: re-render only those whose state changed.
    const existing = new Map([...forms.children].map((form) => [form.dataset.checkinId, form]));
    forms.replaceChildren(
      ...entries.map((entry) => {
        const form = existing.get(entry.checkin_id);
        if (form && form.dataset.status === entry.status) {
          return form;
        }
        return this.outcomeForm(entry);
      }),
    );
  }

  outcomeForm(entry) {
    const id = entry.checkin_id;
    const form = node("form", "outcome-form");
    form.dataset.checkinId = id;
    form.dataset.status = entry.status;
    const heading = node("h3", "", `${entry.time} ${entry.label}${entry.detail ? `: ${entry.detail}` : ""}`);
    const state = node("span", `checkin-status status-${entry.status}`, STATUS_TEXT[entry.status] ?? entry.status);
    heading.append(" ", state);
    form.append(heading);
    const result = node("p", "outcome-result muted");
    result.setAttribute("role", "status");
    if (FINISHED.has(entry.status)) {
      result.textContent = entry.outcome
        ? _("Recorded: {outcome}", { outcome: outcomeText(entry.outcome) })
        : _("Closed.");
      form.append(result);
      return form;
    }
    const outcome = node("select");
    outcome.name = "outcome";
    outcome.id = `outcome-${id}`;
    for (const [value, text] of OUTCOMES[entry.kind] ?? OUTCOMES.visit) {
      const option = node("option", "", text);
      option.value = value;
      outcome.append(option);
    }
    form.append(this.field(_("Outcome"), outcome));
    let glucose = null;
    if (entry.kind === "glucose") {
      glucose = node("input");
      glucose.type = "number";
      glucose.name = "glucose";
      glucose.id = `glucose-${id}`;
      glucose.step = "0.1";
      glucose.min = String(GLUCOSE_RANGE[0]);
      glucose.max = String(GLUCOSE_RANGE[1]);
      glucose.inputMode = "decimal";
      form.append(this.field(_("Blood sugar (mmol/L)"), glucose));
      outcome.addEventListener("change", () => {
        glucose.required = outcome.value === "measured";
      });
      glucose.required = true;
    }
    const note = node("input");
    note.type = "text";
    note.name = "note";
    note.id = `note-${id}`;
    note.maxLength = 500;
    const noteField = this.field(_("Note"), note);
    noteField.classList.add("field-wide");
    const save = node("button", "btn btn-primary", _("Save outcome"));
    save.type = "submit";
    save.setAttribute("aria-label", _("Save outcome of {time} {label}", { time: entry.time, label: entry.label }));
    form.append(noteField, save, result);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const message = { type: "checkin.record", checkin_id: id, outcome: outcome.value, note: note.value.trim() };
      if (glucose && outcome.value === "measured") {
        const value = Number.parseFloat(glucose.value.replace(",", "."));
        if (!(value >= GLUCOSE_RANGE[0] && value <= GLUCOSE_RANGE[1])) {
          result.textContent = _("Blood sugar must be {low}–{high} mmol/L.", {
            low: formatNumber(GLUCOSE_RANGE[0], { minimumFractionDigits: 1 }),
            high: formatNumber(GLUCOSE_RANGE[1], { minimumFractionDigits: 1 }),
          });
          return;
        }
        message.glucose_mmol_l = value;
      }
      const ref = this.send(message);
      if (ref) {
        this.pending.set(ref, id);
        save.disabled = true;
        result.textContent = _("Saving…");
      } else {
        result.textContent = _("Not connected; try again in a moment.");
      }
    });
    return form;
  }

  field(label, control) {
    const wrapper = node("div", "field");
    const text = node("label", "", label);
    text.htmlFor = control.id;
    wrapper.append(text, control);
    return wrapper;
  }

  recorded(message) {
    const id = this.pending.get(message.ref);
    this.pending.delete(message.ref);
    const form = [...$("outcome-forms").children].find((f) => f.dataset.checkinId === (id ?? message.checkin_id));
    const result = form?.querySelector(".outcome-result");
    if (result) {
      result.textContent = message.duplicate ? _("Already recorded.") : _("Saved.");
    }
  }

  refused(message) {
    if (!message.ref || !this.pending.has(message.ref)) {
      return false;
    }
    const id = this.pending.get(message.ref);
    this.pending.delete(message.ref);
    const form = [...$("outcome-forms").children].find((f) => f.dataset.checkinId === id);
    if (form) {
      form.querySelector(".outcome-result").textContent = message.message;
      const save = form.querySelector("button[type=submit]");
      if (save) {
        save.disabled = false;
      }
    }
    return true;
  }
}
