// The dashboard's care side: today's check-ins, follow-up tasks, the attention list, and
// the outcome form beside the video. Lists load over HTTP once per connection and then
// follow the socket (checkin.update, escalation.queue, attention.list; docs/protocol.md).

const OUTCOMES = {
  medication: [
    ["taken", "Taken"],
    ["not_taken", "Not taken"],
    ["refused", "Refused"],
  ],
  glucose: [
    ["measured", "Measured"],
    ["not_measured", "Not measured"],
    ["refused", "Refused"],
  ],
  exercise: [
    ["done", "Done"],
    ["not_done", "Not done"],
    ["refused", "Refused"],
  ],
  visit: [
    ["done", "Done"],
    ["not_done", "Not done"],
    ["refused", "Refused"],
  ],
};
const STATUS_TEXT = {
  scheduled: "later",
  due: "due",
  missed: "missed",
  escalated: "escalated",
  home_visit: "home visit",
  done: "done",
  closed: "closed",
  cancelled: "cancelled",
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
  return Number.isNaN(moment.getTime())
    ? ""
    : moment.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

/** A note field and a button that only sends with a note: closing and dismissing need one. */
function noteForm(placeholder, action, label, onSubmit) {
  const form = node("form", "note-form");
  const input = node("input");
  input.type = "text";
  input.maxLength = 500;
  input.required = true;
  input.placeholder = placeholder;
  input.setAttribute("aria-label", `${label}: note`);
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
          entry.outcome ? `${STATUS_TEXT[entry.status]}: ${entry.outcome.replace("_", " ")}` : STATUS_TEXT[entry.status] ?? entry.status,
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
      this.notify(fresh.length === 1 ? fresh[0].message : `${fresh.length} new follow-up tasks`);
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
        const when = task.stage === "home_visit" ? `home visit since ${localTime(task.home_visit_at)}` : `since ${localTime(task.created_at)}`;
        text.append(node("strong", "", task.client_name), node("p", "", task.message), node("p", "muted", when));
        text.append(
          noteForm("Why close without an outcome?", "Close", `Close task for ${task.client_name}`, (note) =>
            this.send({ type: "escalation.close", escalation_id: task.escalation_id, note }),
          ),
        );
        const actions = node("div", "care-actions");
        actions.append(
          button("Call", `Call ${task.client_name} about the task`, () => this.call(task.client_id), "btn btn-primary"),
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
          noteForm("Why dismiss?", "Dismiss", `Dismiss flag for ${flag.client_name}`, (note) =>
            this.send({ type: "attention.resolve", flag_id: flag.flag_id, action: "dismissed", note }),
          ),
        );
        const actions = node("div", "care-actions");
        actions.append(
          button("Call", `Call ${flag.client_name} about the flag`, () => {
            this.send({ type: "attention.resolve", flag_id: flag.flag_id, action: "called" });
            this.call(flag.client_id);
          }, "btn btn-primary"),
          button("Adjust plan", `Adjust ${flag.client_name}'s care plan`, () => {
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
    $("outcome-title").textContent = `Check-ins for ${this.callClientName()} today`;
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
      result.textContent = entry.outcome ? `Recorded: ${entry.outcome.replace("_", " ")}` : "Closed.";
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
    form.append(this.field("Outcome", outcome));
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
      form.append(this.field("Blood sugar (mmol/L)", glucose));
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
    const noteField = this.field("Note", note);
    noteField.classList.add("field-wide");
    const save = node("button", "btn btn-primary", "Save outcome");
    save.type = "submit";
    save.setAttribute("aria-label", `Save outcome of ${entry.time} ${entry.label}`);
    form.append(noteField, save, result);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const message = { type: "checkin.record", checkin_id: id, outcome: outcome.value, note: note.value.trim() };
      if (glucose && outcome.value === "measured") {
        const value = Number.parseFloat(glucose.value.replace(",", "."));
        if (!(value >= GLUCOSE_RANGE[0] && value <= GLUCOSE_RANGE[1])) {
          result.textContent = `Blood sugar must be ${GLUCOSE_RANGE[0]}–${GLUCOSE_RANGE[1]} mmol/L.`;
          return;
        }
        message.glucose_mmol_l = value;
      }
      const ref = this.send(message);
      if (ref) {
        this.pending.set(ref, id);
        save.disabled = true;
        result.textContent = "Saving…";
      } else {
        result.textContent = "Not connected; try again in a moment.";
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
      result.textContent = message.duplicate ? "Already recorded." : "Saved.";
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
