// The fleet page: every tablet live over the signaling socket (fleet.watch, then
// fleet.snapshot, fleet.device and fleet.alerts; docs/protocol.md, "Fleet"), and the
// Reload and Self-test buttons (fleet.reload, fleet.selftest).

import { CLOSE_BAD_TOKEN, SignalConnection } from "./hoiva-signal.js";
import { _, formatDateTime, ngettext } from "./i18n.js";

const $ = (id) => document.getElementById(id);

const PERMISSION_TEXT = {
  granted: _("Allowed"),
  denied: _("Blocked"),
  prompt: _("Not asked yet"),
  unknown: "—",
};
const SCREEN_TEXT = { on: _("On"), off: _("Off"), unknown: "—" };
const SELFTEST_TEXT = {
  running: _("Running…"),
  passed: _("Passed"),
  failed: _("Failed"),
  no_answer: _("No answer"),
};
const CHECK_TEXT = {
  camera: _("Camera"),
  microphone: _("Microphone"),
  speaker: _("Speaker"),
  media_server: _("Media server"),
  turn: "TURN",
};
// A check's outcome as the tablet reports it ("pass", "fail", "skipped").
const OUTCOME_TEXT = { pass: _("pass"), fail: _("fail"), skipped: _("skipped") };
const QUALITY_TEXT = { good: _("good"), fair: _("fair"), poor: _("poor") };

const fleet = {
  signal: null,
  devices: new Map(),
  alerts: [],
  // ref -> device id of a Reload / Self-test request waiting for its answer
  pending: new Map(),
  notes: new Map(),
  loaded: false, // a snapshot arrived on the current socket
};

function when(iso) {
  if (!iso) {
    return _("never");
  }
  const moment = new Date(iso);
  if (Number.isNaN(moment.getTime())) {
    return "";
  }
  const day = (value) => formatDateTime(value, { dateStyle: "short" });
  return day(new Date()) === day(moment)
    ? formatDateTime(moment, { timeStyle: "medium" })
    : formatDateTime(moment);
}

// ---- rendering ---------------------------------------------------------------------------

function cell(field, text, className = "") {
  const td = document.createElement("td");
  td.dataset.field = field;
  td.textContent = text;
  if (className) {
    td.className = className;
  }
  return td;
}

function connectionText(status) {
  if (!status) {
    return "—";
  }
  const parts = [];
  if (status.connection_type !== "unknown") {
    parts.push(status.connection_type);
  }
  if (status.effective_type !== "unknown") {
    parts.push(status.effective_type);
  }
  parts.push(status.quality === "unknown" ? _("quality unknown") : QUALITY_TEXT[status.quality] ?? status.quality);
  if (typeof status.rtt_ms === "number") {
    parts.push(`${Math.round(status.rtt_ms)} ms`);
  }
  return parts.join(" · ");
}

function batteryText(status) {
  if (!status || typeof status.battery_pct !== "number") {
    return "—";
  }
  return status.charging
    ? _("{pct} % (charging)", { pct: status.battery_pct })
    : `${status.battery_pct} %`;
}

function selftestCell(device) {
  const td = cell("selftest", "");
  const run = device.selftest;
  if (!run) {
    td.textContent = _("Not run yet");
    td.classList.add("muted");
    return td;
  }
  const head = document.createElement("strong");
  head.dataset.state = run.state;
  head.textContent = SELFTEST_TEXT[run.state] ?? run.state;
  if (run.state === "failed" || run.state === "no_answer") {
    head.className = "fleet-bad";
  }
  td.append(head, document.createTextNode(` ${when(run.answered_at || run.requested_at)}`));
  if (run.checks?.length) {
    // Every check is a click away; a failed run opens them, so the failure is in view.
    const details = document.createElement("details");
    details.open = run.state === "failed";
    const summary = document.createElement("summary");
    const failing = run.checks.filter((c) => c.outcome === "fail").length;
    summary.textContent = failing
      ? ngettext("{failing} of {n} check failed", "{failing} of {n} checks failed", run.checks.length, { failing })
      : _("Checks");
    const list = document.createElement("ul");
    list.className = "fleet-checks";
    for (const check of run.checks) {
      const item = document.createElement("li");
      item.dataset.check = check.name;
      item.dataset.outcome = check.outcome;
      const name = CHECK_TEXT[check.name] ?? check.name;
      const outcome = OUTCOME_TEXT[check.outcome] ?? check.outcome;
      item.textContent = `${name}: ${outcome}${check.detail ? ` (${check.detail})` : ""}`;
      if (check.outcome === "fail") {
        item.className = "fleet-bad";
      }
      list.append(item);
    }
    details.append(summary, list);
    td.append(details);
  }
  return td;
}

function actionsCell(device) {
  const td = cell("actions", "");
  const box = document.createElement("div");
  box.className = "fleet-actions";
  const tablet = device.label || _("tablet");
  for (const [command, text, spoken] of [
    ["reload", _("Reload"), _("Reload {tablet} of {name}", { tablet, name: device.client_name })],
    ["selftest", _("Self-test"), _("Self-test {tablet} of {name}", { tablet, name: device.client_name })],
  ]) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "btn btn-quiet";
    button.dataset.command = command;
    button.textContent = text;
    button.setAttribute("aria-label", spoken);
    button.disabled = !device.online || !fleet.signal?.open;
    button.addEventListener("click", () => sendCommand(device.device_id, command));
    box.append(button);
  }
  td.append(box);
  const note = document.createElement("span");
  note.className = "fleet-row-note";
  note.dataset.field = "note";
  note.setAttribute("role", "status");
  note.textContent = fleet.notes.get(device.device_id) ?? "";
  td.append(note);
  return td;
}

/** A labelled figure inside a cell: the label for sighted readers, the value by its field. */
function figure(field, label, text, className = "") {
  const line = document.createElement("span");
  line.className = "fleet-figure";
  const name = document.createElement("span");
  name.className = "fleet-figure-label";
  name.textContent = `${label}: `;
  const value = document.createElement("span");
  value.dataset.field = field;
  value.textContent = text;
  if (className) {
    value.className = className;
  }
  line.append(name, value);
  return line;
}

// Six columns, so the table fits a 1280 px window: the client's name first (a row header)
// and the actions last, the tablet's figures grouped in between.
function renderRow(device) {
  const status = device.status;
  const row = document.createElement("tr");
  row.id = `device-${device.device_id}`;
  row.dataset.deviceId = device.device_id;
  row.dataset.online = String(device.online);

  const who = document.createElement("th");
  who.scope = "row";
  who.className = "cell-name";
  const name = document.createElement("span");
  name.dataset.field = "client";
  name.textContent = device.client_name;
  const label = document.createElement("span");
  label.className = "cell-sub";
  label.dataset.field = "label";
  label.textContent = device.label || _("Tablet");
  who.append(name, label);

  const stateCell = document.createElement("td");
  const state = document.createElement("span");
  state.dataset.field = "state";
  const badge = document.createElement("span");
  badge.className = "fleet-state";
  badge.dataset.online = String(device.online);
  badge.textContent = device.online ? _("Online") : _("Offline");
  state.append(badge);
  if (device.offline_since) {
    const alert = document.createElement("span");
    alert.className = "fleet-row-note fleet-bad";
    alert.dataset.field = "alert";
    alert.textContent = _("Offline alert");
    alert.title = _("Silent since {when}", { when: when(device.offline_since) });
    state.append(alert);
  }
  const seen = figure("last_seen", _("Last seen"), when(device.last_seen));
  seen.classList.add("cell-sub");
  stateCell.append(state, seen);

  const tablet = document.createElement("td");
  tablet.append(
    figure("app_version", _("App"), status?.app_version ?? "—"),
    figure("connection", _("Connection"), connectionText(status), status?.quality === "poor" ? "fleet-bad" : ""),
    figure("battery", _("Battery"), batteryText(status), status?.battery_pct < 20 ? "fleet-warn" : ""),
  );

  const camera = status ? PERMISSION_TEXT[status.camera] ?? status.camera : "—";
  const microphone = status ? PERMISSION_TEXT[status.microphone] ?? status.microphone : "—";
  const devices = document.createElement("td");
  devices.append(
    figure("camera", _("Camera"), camera, status?.camera === "denied" ? "fleet-bad" : ""),
    figure("microphone", _("Microphone"), microphone, status?.microphone === "denied" ? "fleet-bad" : ""),
    figure("screen", _("Screen"), status ? SCREEN_TEXT[status.screen] ?? status.screen : "—"),
  );

  row.append(who, stateCell, tablet, devices, selftestCell(device), actionsCell(device));
  return row;
}

function sortedDevices() {
  return [...fleet.devices.values()].sort(
    (a, b) =>
      a.client_name.localeCompare(b.client_name) || a.paired_at.localeCompare(b.paired_at),
  );
}

function renderTable() {
  const body = $("fleet-rows");
  body.replaceChildren(...sortedDevices().map(renderRow));
  $("fleet-empty").hidden = fleet.devices.size > 0;
  renderSummary();
}

function renderDevice(device) {
  const existing = $(`device-${device.device_id}`);
  if (existing) {
    existing.replaceWith(renderRow(device));
    renderSummary();
  } else {
    renderTable();
  }
}

function renderSummary() {
  if (!fleet.signal?.open) {
    fleet.loaded = false;
    $("fleet-summary").textContent = _("Reconnecting… the table may be out of date.");
    return;
  }
  if (!fleet.loaded) {
    $("fleet-summary").textContent = _("Loading…");
    return;
  }
  const total = fleet.devices.size;
  const online = [...fleet.devices.values()].filter((d) => d.online).length;
  const alerts = fleet.alerts.length;
  const parts = [
    ngettext("{n} tablet", "{n} tablets", total),
    _("{online} online", { online }),
  ];
  if (alerts) {
    parts.push(ngettext("{n} offline alert", "{n} offline alerts", alerts));
  }
  $("fleet-summary").textContent = parts.join(", ");
}

function renderAlerts() {
  const list = $("fleet-alerts");
  list.replaceChildren(
    ...fleet.alerts.map((alert) => {
      const item = document.createElement("li");
      item.dataset.deviceId = alert.device_id;
      item.textContent = _("{name} ({tablet}): not heard from since {when}", {
        name: alert.client_name,
        tablet: alert.label || _("tablet"),
        when: when(alert.last_seen),
      });
      return item;
    }),
  );
  $("alert-count").textContent = String(fleet.alerts.length);
  $("fleet-alerts-none").hidden = fleet.alerts.length > 0;
  renderSummary();
}

// ---- commands ----------------------------------------------------------------------------

function note(deviceId, text) {
  fleet.notes.set(deviceId, text);
  const element = $(`device-${deviceId}`)?.querySelector('[data-field="note"]');
  if (element) {
    element.textContent = text;
  }
}

function sendCommand(deviceId, command) {
  const type = command === "reload" ? "fleet.reload" : "fleet.selftest";
  const ref = fleet.signal?.send({ type, device_id: deviceId });
  if (!ref) {
    note(deviceId, _("Not connected to the server; try again in a moment."));
    return;
  }
  fleet.pending.set(ref, deviceId);
  note(deviceId, command === "reload" ? _("Reloading…") : _("Self-test asked…"));
}

function onSent(message) {
  fleet.pending.delete(message.ref);
  note(
    message.device_id,
    message.command === "reload" ? _("Reload sent.") : _("Self-test started on the tablet."),
  );
}

function onError(message) {
  const deviceId = fleet.pending.get(message.ref);
  if (deviceId) {
    fleet.pending.delete(message.ref);
    note(deviceId, message.code === "invalid_state" ? _("The tablet is not connected.") : message.message);
    return;
  }
  console.warn("hoiva: server error", message.code, message.message);
}

// ---- the socket --------------------------------------------------------------------------

function onMessage(message) {
  switch (message.type) {
    case "fleet.snapshot":
      fleet.loaded = true;
      fleet.devices = new Map((message.devices ?? []).map((d) => [d.device_id, d]));
      fleet.alerts = message.alerts ?? [];
      renderTable();
      renderAlerts();
      return;
    case "fleet.device":
      fleet.devices.set(message.device.device_id, message.device);
      renderDevice(message.device);
      return;
    case "fleet.removed":
      fleet.devices.delete(message.device_id);
      renderTable();
      return;
    case "fleet.alerts":
      fleet.alerts = message.alerts ?? [];
      renderAlerts();
      return;
    case "fleet.sent":
      onSent(message);
      return;
    case "error":
      onError(message);
      return;
    default:
  }
}

function start() {
  fleet.signal = new SignalConnection({
    agent: "fleet/0.1",
    // Subscribe again on every (re)connect: the snapshot replaces whatever we had.
    onWelcome: () => fleet.signal.send({ type: "fleet.watch" }),
    onMessage,
    onState: () => renderSummary(),
    onClose: (code) => {
      if (code === CLOSE_BAD_TOKEN) {
        window.location.assign("/login?next=/admin/fleet");
        return false;
      }
      return true;
    },
  });
  fleet.signal.start();
}

// For tests and support: a read-only view of what the page holds.
window.hoivaFleet = {
  get connected() {
    return Boolean(fleet.signal?.open);
  },
  device: (id) => fleet.devices.get(id) ?? null,
};

start();
