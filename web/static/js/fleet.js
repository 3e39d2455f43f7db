// The fleet page: every tablet live over the signaling socket (fleet.watch, then
// fleet.snapshot, fleet.device and fleet.alerts; docs/protocol.md, "Fleet"), and the
// Reload and Self-test buttons (fleet.reload, fleet.selftest).

import { CLOSE_BAD_TOKEN, SignalConnection } from "./hoiva-signal.js";

const $ = (id) => document.getElementById(id);

const PERMISSION_TEXT = {
  granted: "Allowed",
  denied: "Blocked",
  prompt: "Not asked yet",
  unknown: "—",
};
const SCREEN_TEXT = { on: "On", off: "Off", unknown: "—" };
const SELFTEST_TEXT = {
  running: "Running…",
  passed: "Passed",
  failed: "Failed",
  no_answer: "No answer",
};
const CHECK_TEXT = {
  camera: "Camera",
  microphone: "Microphone",
  speaker: "Speaker",
  media_server: "Media server",
  turn: "TURN",
};

const fleet = {
  signal: null,
  devices: new Map(),
  alerts: [],
  // ref -> device id of a Reload / Self-test request waiting for its answer
  pending: new Map(),
  notes: new Map(),
  loaded: false, // a snapshot arrived on the current socket
};

const timeFormat = new Intl.DateTimeFormat(undefined, { timeStyle: "medium" });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, {
  dateStyle: "medium",
  timeStyle: "short",
});

function when(iso) {
  if (!iso) {
    return "never";
  }
  const moment = new Date(iso);
  if (Number.isNaN(moment.getTime())) {
    return "";
  }
  const today = new Date().toDateString() === moment.toDateString();
  return today ? timeFormat.format(moment) : dateTimeFormat.format(moment);
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
  parts.push(status.quality === "unknown" ? "quality unknown" : status.quality);
  if (typeof status.rtt_ms === "number") {
    parts.push(`${Math.round(status.rtt_ms)} ms`);
  }
  return parts.join(" · ");
}

function batteryText(status) {
  if (!status || typeof status.battery_pct !== "number") {
    return "—";
  }
  return `${status.battery_pct} %${status.charging ? " (charging)" : ""}`;
}

function selftestCell(device) {
  const td = cell("selftest", "");
  const run = device.selftest;
  if (!run) {
    td.textContent = "Not run yet";
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
    summary.textContent = failing ? `${failing} of ${run.checks.length} checks failed` : "Checks";
    const list = document.createElement("ul");
    list.className = "fleet-checks";
    for (const check of run.checks) {
      const item = document.createElement("li");
      item.dataset.check = check.name;
      item.dataset.outcome = check.outcome;
      const name = CHECK_TEXT[check.name] ?? check.name;
      item.textContent = `${name}: ${check.outcome}${check.detail ? ` (${check.detail})` : ""}`;
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
  const who = `${device.label || "tablet"} of ${device.client_name}`;
  for (const [command, text] of [
    ["reload", "Reload"],
    ["selftest", "Self-test"],
  ]) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "btn btn-quiet";
    button.dataset.command = command;
    button.textContent = text;
    button.setAttribute("aria-label", `${text} ${who}`);
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

function renderRow(device) {
  const status = device.status;
  const row = document.createElement("tr");
  row.id = `device-${device.device_id}`;
  row.dataset.deviceId = device.device_id;
  row.dataset.online = String(device.online);
  const state = cell("state", "");
  const badge = document.createElement("span");
  badge.className = "fleet-state";
  badge.dataset.online = String(device.online);
  badge.textContent = device.online ? "Online" : "Offline";
  state.append(badge);
  if (device.offline_since) {
    const alert = document.createElement("span");
    alert.className = "fleet-row-note fleet-bad";
    alert.dataset.field = "alert";
    alert.textContent = "Offline alert";
    alert.title = `Silent since ${when(device.offline_since)}`;
    state.append(alert);
  }
  const camera = status ? PERMISSION_TEXT[status.camera] ?? status.camera : "—";
  const microphone = status ? PERMISSION_TEXT[status.microphone] ?? status.microphone : "—";
  row.append(
    cell("client", device.client_name),
    cell("label", device.label || "Tablet"),
    state,
    cell("last_seen", when(device.last_seen)),
    cell("app_version", status?.app_version ?? "—"),
    cell("connection", connectionText(status), status?.quality === "poor" ? "fleet-bad" : ""),
    cell("camera", camera, status?.camera === "denied" ? "fleet-bad" : ""),
    cell("microphone", microphone, status?.microphone === "denied" ? "fleet-bad" : ""),
    cell("screen", status ? SCREEN_TEXT[status.screen] ?? status.screen : "—"),
    cell("battery", batteryText(status), status?.battery_pct < 20 ? "fleet-warn" : ""),
    selftestCell(device),
    actionsCell(device),
  );
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
    $("fleet-summary").textContent = "Reconnecting… the table may be out of date.";
    return;
  }
  if (!fleet.loaded) {
    $("fleet-summary").textContent = "Loading…";
    return;
  }
  const total = fleet.devices.size;
  const online = [...fleet.devices.values()].filter((d) => d.online).length;
  const alerts = fleet.alerts.length;
  $("fleet-summary").textContent =
    `${total} tablet${total === 1 ? "" : "s"}, ${online} online` +
    (alerts ? `, ${alerts} offline alert${alerts === 1 ? "" : "s"}` : "");
}

function renderAlerts() {
  const list = $("fleet-alerts");
  list.replaceChildren(
    ...fleet.alerts.map((alert) => {
      const item = document.createElement("li");
      item.dataset.deviceId = alert.device_id;
      item.textContent =
        `${alert.client_name} (${alert.label || "tablet"}): not heard from since ` +
        `${when(alert.last_seen)}`;
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
    note(deviceId, "Not connected to the server; try again in a moment.");
    return;
  }
  fleet.pending.set(ref, deviceId);
  note(deviceId, command === "reload" ? "Reloading…" : "Self-test asked…");
}

function onSent(message) {
  fleet.pending.delete(message.ref);
  note(
    message.device_id,
    message.command === "reload" ? "Reload sent." : "Self-test started on the tablet.",
  );
}

function onError(message) {
  const deviceId = fleet.pending.get(message.ref);
  if (deviceId) {
    fleet.pending.delete(message.ref);
    note(deviceId, message.code === "invalid_state" ? "The tablet is not connected." : message.message);
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
