// Report charts, drawn as SVG from /api/reports (the same SQL figures as the tables).
// No chart library: a kiosk-free staff page still must work without the internet.

import { _, formatDateTime, formatNumber, ngettext } from "./i18n.js";

const SVG = "http://www.w3.org/2000/svg";
const ADHERENCE_LIMIT = 80;
const MAX_CLIENT_BARS = 25;

const state = { ready: false, weeks: 0, clients: 0, error: null };

function el(name, attributes = {}, text = "") {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) {
    node.setAttribute(key, String(value));
  }
  if (text) {
    node.textContent = text;
  }
  return node;
}

function svgRoot(width, height, label) {
  return el("svg", {
    viewBox: `0 0 ${width} ${height}`,
    role: "img",
    "aria-label": label,
    preserveAspectRatio: "xMidYMid meet",
    class: "chart-svg",
  });
}

function niceMax(value) {
  if (value <= 5) {
    return 5;
  }
  const magnitude = 10 ** Math.floor(Math.log10(value));
  return Math.ceil(value / magnitude) * magnitude;
}

function shortDate(iso) {
  // Noon UTC is the same calendar day in Helsinki.
  return formatDateTime(`${iso}T12:00:00Z`, { day: "numeric", month: "numeric" });
}

function percent(value, digits = 0) {
  return formatNumber(value / 100, {
    style: "percent",
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

/** Bars: virtual visits per week; line: adherence % on a 0-100 scale on the right. */
function drawWeekly(container, weeks) {
  const width = 640;
  const height = 260;
  const pad = { left: 44, right: 44, top: 16, bottom: 36 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const top = niceMax(Math.max(1, ...weeks.map((w) => w.virtual_visits)));
  const total = weeks.reduce((sum, w) => sum + w.virtual_visits, 0);
  const svg = svgRoot(
    width,
    height,
    _("Virtual visits per week, {total} in all, and adherence per week", { total }),
  );
  const y = (v) => pad.top + plotH - (v / top) * plotH;
  const yPct = (v) => pad.top + plotH - (v / 100) * plotH;
  for (const tick of [0, Math.round(top / 2), top]) {
    svg.append(
      el("line", { x1: pad.left, x2: width - pad.right, y1: y(tick), y2: y(tick), class: "grid" }),
      el("text", { x: pad.left - 6, y: y(tick) + 4, class: "axis axis-left" }, String(tick)),
    );
  }
  for (const pct of [0, 50, 100]) {
    svg.append(el("text", { x: width - pad.right + 6, y: yPct(pct) + 4, class: "axis" }, percent(pct)));
  }
  const slot = plotW / Math.max(1, weeks.length);
  const points = [];
  weeks.forEach((week, index) => {
    const x = pad.left + index * slot;
    const bar = el("rect", {
      x: x + slot * 0.2,
      y: y(week.virtual_visits),
      width: slot * 0.6,
      height: Math.max(0, pad.top + plotH - y(week.virtual_visits)),
      class: "bar",
      "data-week": week.week_start,
    });
    bar.append(
      el(
        "title",
        {},
        ngettext("{week}: {n} virtual visit", "{week}: {n} virtual visits", week.virtual_visits, {
          week: formatDateTime(`${week.week_start}T12:00:00Z`, { dateStyle: "medium" }),
        }),
      ),
    );
    svg.append(bar, el("text", { x: x + slot / 2, y: height - 14, class: "axis axis-mid" }, shortDate(week.week_start)));
    if (week.adherence_pct !== null && week.adherence_pct !== undefined) {
      points.push([x + slot / 2, yPct(week.adherence_pct)]);
    }
  });
  if (points.length) {
    svg.append(el("polyline", { points: points.map((p) => p.join(",")).join(" "), class: "line" }));
    for (const [cx, cy] of points) {
      svg.append(el("circle", { cx, cy, r: 4, class: "dot" }));
    }
  }
  container.replaceChildren(svg);
}

/** Horizontal bars, lowest adherence first, with the attention limit marked. */
function drawAdherence(container, clients) {
  const rows = clients
    .filter((c) => c.adherence_pct !== null && c.adherence_pct !== undefined)
    .sort((a, b) => a.adherence_pct - b.adherence_pct)
    .slice(0, MAX_CLIENT_BARS);
  if (!rows.length) {
    const empty = document.createElement("p");
    empty.className = "muted";
    empty.textContent = _("No check-ins were due in this period.");
    container.replaceChildren(empty);
    return 0;
  }
  const width = 640;
  const rowH = 24;
  const pad = { left: 120, right: 56, top: 8, bottom: 24 };
  const height = pad.top + pad.bottom + rows.length * rowH;
  const plotW = width - pad.left - pad.right;
  const x = (pct) => pad.left + (pct / 100) * plotW;
  const svg = svgRoot(
    width,
    height,
    ngettext("Adherence by client, {n} client, lowest first", "Adherence by client, {n} clients, lowest first", rows.length),
  );
  rows.forEach((row, index) => {
    const top = pad.top + index * rowH;
    const low = row.adherence_pct < ADHERENCE_LIMIT;
    const bar = el("rect", {
      x: pad.left,
      y: top + 4,
      width: Math.max(1, x(row.adherence_pct) - pad.left),
      height: rowH - 8,
      class: low ? "bar bar-low" : "bar",
      "data-client": row.client_id,
    });
    bar.append(el("title", {}, `${row.name}: ${percent(row.adherence_pct, 1)}`));
    svg.append(
      el("text", { x: pad.left - 8, y: top + rowH / 2 + 4, class: "axis axis-left" }, row.name),
      bar,
      el("text", { x: x(row.adherence_pct) + 6, y: top + rowH / 2 + 4, class: "axis" }, percent(row.adherence_pct)),
    );
  });
  svg.append(
    el("line", { x1: x(ADHERENCE_LIMIT), x2: x(ADHERENCE_LIMIT), y1: pad.top, y2: height - pad.bottom, class: "limit" }),
    el("text", { x: x(ADHERENCE_LIMIT), y: height - 6, class: "axis axis-mid" }, percent(ADHERENCE_LIMIT)),
  );
  container.replaceChildren(svg);
  return rows.length;
}

async function load() {
  const root = document.getElementById("report");
  if (!root) {
    return;
  }
  try {
    // The page carries its own figures: fetching /api/reports again would be a second read
    // of the same personal data, and a second entry in each client's access log.
    const report = JSON.parse(root.dataset.report);
    drawWeekly(document.getElementById("chart-weekly"), report.weeks);
    state.clients = drawAdherence(document.getElementById("chart-adherence"), report.clients);
    state.weeks = report.weeks.length;
  } catch (error) {
    state.error = String(error.message || error);
    for (const chart of document.querySelectorAll(".chart")) {
      chart.textContent = state.error;
    }
  } finally {
    state.ready = true;
  }
}

document.getElementById("print-button")?.addEventListener("click", () => window.print());

// For tests: whether the charts are drawn, and how many bars.
window.hoivaReports = {
  get ready() {
    return state.ready;
  },
  get weeks() {
    return state.weeks;
  },
  get clients() {
    return state.clients;
  },
  get error() {
    return state.error;
  },
};

load();
