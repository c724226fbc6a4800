// ivrd's dashboard: today's figures and charts from the JSON API (/api/KIND), drawn as SVG.
// Text from the journal is only ever inserted with textContent (common.js), never as markup.
"use strict";

const SVGNS = "http://www.w3.org/2000/svg";
// Okabe-Ito: told apart with any colour vision, and each outcome also has a label.
const COLOURS = {
  ok: "#009E73", failed: "#D55E00", busy: "#E69F00", closed: "#CC79A7", refused: "#000000",
  calls: "#0072B2", transferred: "#009E73", dropped: "#D55E00", other: "#56B4E9",
  entered: "#0072B2", left: "#009E73", invalid: "#E69F00", timeouts: "#CC79A7",
  hung_up: "#D55E00",
};
const REFRESH_MS = 30000;

function svg(tag, attrs, text) {
  const e = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
}

function pct(rate) {
  return rate === null || rate === undefined ? "–" : Math.round(rate * 100) + "%";
}

function plural(n, word) {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function hhmm(ms) {
  const d = new Date(ms);
  return String(d.getHours()).padStart(2, "0") + ":" + String(d.getMinutes()).padStart(2, "0");
}

function when(ms) {
  if (ms === null || ms === undefined || ms < 0) return "–";
  const d = new Date(ms);
  return d.toLocaleDateString(undefined, { month: "short", day: "numeric" }) + " " + hhmm(ms);
}

function seconds(ms) {
  if (ms === null || ms === undefined || ms < 0) return "–";
  return ms < 60000 ? Math.round(ms / 1000) + " s" : Math.floor(ms / 60000) + " min " +
    Math.round((ms % 60000) / 1000) + " s";
}

// The range asked for: ?day=YYYY-MM-DD, else today.
function range() {
  const day = new URLSearchParams(location.search).get("day");
  if (day && /^\d{4}-\d{2}-\d{2}$/.test(day)) return { since: day, until: day, day };
  return { since: "today", until: "today", day: null };
}

function failed(node, err) {
  clear(node);
  node.appendChild(el("p", { class: "error" }, "Cannot show this: " + err.message));
}

function legend(items) {
  const box = el("div", { class: "legend" });
  for (const [key, label] of items) {
    const item = el("span", { class: "legend-item", "data-key": key });
    item.appendChild(el("span", { class: "swatch sw-" + key, "aria-hidden": "true" }));
    item.appendChild(document.createTextNode(label));
    box.appendChild(item);
  }
  return box;
}

function figures(rep) {
  const box = document.getElementById("figures");
  clear(box);
  const p = rep.promises || {};
  const items = [
    ["calls", rep.calls, "calls"],
    ["transferred", rep.transferred_calls, "transferred"],
    ["dropped", rep.dropped_calls, "hung up in a menu"],
    ["first-transfer", pct(rep.first_transfer_success_rate), "first transfer succeeded"],
    ["promises", (p.kept_on_time ?? 0) + " / " + (p.made ?? 0),
      "call backs kept on time (" + pct(p.on_time_rate) + ")"],
  ];
  for (const [id, value, label] of items) {
    const f = el("div", { class: "figure", "data-figure": id });
    f.appendChild(el("span", { class: "value" }, value ?? 0));
    f.appendChild(el("span", { class: "label" }, label));
    box.appendChild(f);
  }
}

// Calls per hour of the day, stacked: transferred, hung up in a menu, other.
function hoursChart(rep) {
  const node = document.getElementById("chart-hours");
  clear(node);
  const byHour = new Map();
  for (const h of rep.hours || []) byHour.set(new Date(h.hour_ms).getHours(), h);
  const max = Math.max(1, ...[...byHour.values()].map((h) => h.calls));
  const W = 960, H = 240, left = 40, bottom = 30, top = 20;
  const bw = (W - left) / 24, scale = (H - bottom - top) / max;
  const s = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img",
    "aria-label": "Calls per hour", class: "bars" });
  s.appendChild(svg("line", { class: "axis", x1: left, y1: H - bottom, x2: W, y2: H - bottom }));
  s.appendChild(svg("text", { x: 0, y: top + 4 }, max));
  s.appendChild(svg("text", { x: 0, y: H - bottom }, 0));
  for (let hour = 0; hour < 24; hour++) {
    const h = byHour.get(hour) || { calls: 0, transferred: 0, dropped: 0 };
    const x = left + hour * bw;
    const g = svg("g", { class: "bar", "data-hour": hour, "data-calls": h.calls });
    const title = svg("title", {}, `${String(hour).padStart(2, "0")}:00 — ${h.calls} calls, ` +
      `${h.transferred} transferred, ${h.dropped} hung up in a menu`);
    g.appendChild(title);
    const other = Math.max(0, h.calls - h.transferred - h.dropped);
    let y = H - bottom;
    for (const [key, n] of [["transferred", h.transferred], ["dropped", h.dropped],
      ["other", other]]) {
      if (n <= 0) continue;
      const hgt = n * scale;
      y -= hgt;
      g.appendChild(svg("rect", { class: "mark mark-" + key, x: x + 3, y, width: bw - 6,
        height: hgt, fill: COLOURS[key], "data-key": key, "data-value": n }));
    }
    if (h.calls > 0)
      g.appendChild(svg("text", { class: "value", x: x + bw / 2, y: y - 4,
        "text-anchor": "middle" }, h.calls));
    g.appendChild(svg("text", { class: "label", x: x + bw / 2, y: H - bottom + 16,
      "text-anchor": "middle" }, String(hour).padStart(2, "0")));
    s.appendChild(g);
  }
  node.appendChild(legend([["transferred", "transferred"], ["dropped", "hung up in a menu"],
    ["other", "other"]]));
  node.appendChild(s);
  if (!rep.calls) node.appendChild(el("p", { class: "empty" }, "No calls in this range."));
}

// One horizontal bar per department, stacked by outcome, with the count on each part.
function transfersChart(rows) {
  const node = document.getElementById("chart-transfers");
  clear(node);
  const keys = ["ok", "failed", "closed", "busy", "refused"];
  const names = { ok: "connected", failed: "transfer failed", closed: "closed",
    busy: "busy", refused: "refused" };
  node.appendChild(legend(keys.map((k) => [k, names[k]])));
  if (!rows.length) {
    node.appendChild(el("p", { class: "empty" }, "No transfers in this range."));
    return;
  }
  const total = (r) => keys.reduce((a, k) => a + (r[k] || 0), 0);
  const max = Math.max(1, ...rows.map(total));
  const W = 960, row = 30, left = 140, right = 200;
  const s = svg("svg", { viewBox: `0 0 ${W} ${rows.length * row + 10}`, role: "img",
    "aria-label": "Transfers per department by outcome", class: "stacked" });
  rows.forEach((r, i) => {
    const y = 5 + i * row;
    const g = svg("g", { class: "bar", "data-dept": r.dept, "data-total": total(r) });
    g.appendChild(svg("text", { x: left - 8, y: y + 19, "text-anchor": "end" }, r.dept));
    let x = left;
    for (const k of keys) {
      const n = r[k] || 0;
      if (n <= 0) continue;
      const w = (n / max) * (W - left - right);
      g.appendChild(svg("rect", { class: "mark mark-" + k, x, y: y + 4, width: w, height: row - 8,
        fill: COLOURS[k], "data-key": k, "data-value": n }));
      g.lastChild.appendChild(svg("title", {}, `${r.dept}: ${n} ${names[k]}`));
      if (w > 18)
        g.appendChild(svg("text", { x: x + w / 2, y: y + 19, "text-anchor": "middle",
          fill: k === "refused" ? "#fff" : "#000", class: "value" }, n));
      x += w;
    }
    g.appendChild(svg("text", { x: x + 8, y: y + 19 }, `${total(r)} · ` +
      `${pct(r.success_rate)} connected · ${r.routed} routed`));
    s.appendChild(g);
  });
  node.appendChild(s);
}

// The funnel of each menu: entered, then how calls left it, and how many hung up there.
function dropsChart(menus) {
  const node = document.getElementById("chart-drops");
  clear(node);
  node.appendChild(legend([["entered", "entered"], ["left", "went on"],
    ["invalid", "invalid key"], ["timeouts", "no key"], ["hung_up", "hung up here"]]));
  if (!menus.length) {
    node.appendChild(el("p", { class: "empty" }, "No menus entered in this range."));
    return;
  }
  for (const m of menus) {
    const rows = [["entered", "entered", m.entered]];
    for (const l of m.left || []) rows.push(["left", `${l.key} → ${l.to}`, l.count]);
    rows.push(["invalid", "invalid key", m.invalid], ["timeouts", "no key", m.timeouts],
      ["hung_up", "hung up", m.hung_up]);
    const max = Math.max(1, ...rows.map((r) => r[2] || 0));
    const W = 960, row = 24, left = 170, right = 80;
    const fig = el("figure", { class: "funnel", "data-menu": m.menu });
    fig.appendChild(el("figcaption", {}, `Menu ${m.menu}: ${plural(m.calls, "call")}, ` +
      `${pct(m.hangup_rate)} hung up here` +
      (m.median_hangup_ms !== null && m.median_hangup_ms !== undefined ?
        `, after ${seconds(m.median_hangup_ms)} (median)` : "")));
    const s = svg("svg", { viewBox: `0 0 ${W} ${rows.length * row + 6}`, role: "img",
      "aria-label": "Funnel of menu " + m.menu });
    rows.forEach(([key, label, n], i) => {
      const y = 3 + i * row;
      const g = svg("g", { class: "bar", "data-key": key, "data-value": n || 0 });
      g.appendChild(svg("text", { x: left - 8, y: y + 16, "text-anchor": "end" }, label));
      const w = Math.max(n ? 2 : 0, ((n || 0) / max) * (W - left - right));
      g.appendChild(svg("rect", { class: "mark mark-" + key, x: left, y: y + 3, width: w,
        height: row - 6, fill: COLOURS[key], "data-value": n || 0 }));
      g.appendChild(svg("text", { class: "value", x: left + w + 6, y: y + 16 }, n || 0));
      s.appendChild(g);
    });
    fig.appendChild(s);
    node.appendChild(fig);
  }
}

function table(headers, rows) {
  const t = el("table");
  const tr = el("tr");
  for (const h of headers) tr.appendChild(el("th", { scope: "col" }, h));
  t.appendChild(el("thead")).appendChild(tr);
  const tb = el("tbody");
  for (const r of rows) tb.appendChild(r);
  t.appendChild(tb);
  return t;
}

function callbacksTable(list) {
  const node = document.getElementById("callbacks");
  clear(node);
  if (!list.length) {
    node.appendChild(el("p", { class: "empty" }, "No call back promises."));
    return;
  }
  const rows = list.map((p) => {
    const state = p.overdue ? "overdue" : p.state;
    const tr = el("tr", { class: state, "data-id": p.id });
    for (const v of [p.id, state, p.dept, p.number, when(p.due_ms),
      `${p.attempts}/${p.max_attempts}`, p.last_result ?? p.reason ?? ""])
      tr.appendChild(el("td", {}, v ?? "–"));
    return tr;
  });
  node.appendChild(table(["#", "state", "department", "number", "due", "attempts",
    "last result"], rows));
}

function callsTable(list) {
  const node = document.getElementById("calls");
  clear(node);
  if (!list.length) {
    node.appendChild(el("p", { class: "empty" }, "No calls in this range."));
    return;
  }
  const rows = list.map((c) => {
    const tr = el("tr", { class: "call" });
    const a = el("a", { href: "/trace?call_id=" + encodeURIComponent(c.call_id),
      class: "trace-link" }, when(c.start_ms));
    tr.appendChild(el("td")).appendChild(a);
    for (const v of [c.ani, c.dnis, c.menu_path, c.outcome, seconds(c.duration_ms)])
      tr.appendChild(el("td", {}, v ?? "–"));
    return tr;
  });
  node.appendChild(table(["started", "caller", "dialed", "menus", "what happened",
    "duration"], rows));
}

async function refresh() {
  const r = range();
  const span = { since: r.since, until: r.until };
  document.getElementById("title-day").textContent = r.day ? r.day : "today";
  const parts = [
    api("report", span).then((rep) => { figures(rep); hoursChart(rep); },
      (e) => { failed(document.getElementById("figures"), e);
        failed(document.getElementById("chart-hours"), e); }),
    api("transfers", span).then(transfersChart,
      (e) => failed(document.getElementById("chart-transfers"), e)),
    api("drops", span).then(dropsChart, (e) => failed(document.getElementById("chart-drops"), e)),
    api("callbacks", { view: "all" }).then(callbacksTable,
      (e) => failed(document.getElementById("callbacks"), e)),
    api("calls", { since: r.since, until: r.until, limit: 50 }).then(callsTable,
      (e) => failed(document.getElementById("calls"), e)),
  ];
  await Promise.all(parts);
  document.getElementById("updated").textContent = "updated " + hhmm(Date.now()) +
    (r.day ? "" : ", every 30 s");
  document.body.setAttribute("data-loaded", String(Date.now()));
}

document.addEventListener("DOMContentLoaded", () => {
  const r = range();
  const day = document.getElementById("day");
  if (r.day) day.value = r.day;
  document.getElementById("day-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    location.search = day.value ? "?day=" + encodeURIComponent(day.value) : "";
  });
  refresh();
  if (!r.day) setInterval(refresh, REFRESH_MS);
});
