// ivrd's call trace page: one call's timeline in words, from /api/trace?call_id=ID.
// Text from the journal is only ever inserted with textContent, never as markup.
"use strict";

function offset(ms) {
  if (ms === null || ms === undefined) return "";
  const s = ms / 1000;
  return s < 60 ? "+" + s.toFixed(1) + " s" : "+" + Math.floor(s / 60) + " min " +
    Math.round(s % 60) + " s";
}

async function load() {
  const id = new URLSearchParams(location.search).get("call_id") || "";
  const summary = document.getElementById("summary");
  const list = document.getElementById("timeline");
  document.getElementById("call-id").textContent = id;
  if (!id) {
    summary.textContent = "No call named: open a call from the overview.";
    return;
  }
  let body;
  try {
    body = await api("trace", { call_id: id });
  } catch (err) {
    summary.className = "error";
    summary.textContent = err.message;
    document.body.setAttribute("data-loaded", "error");
    return;
  }
  const first = body[0], last = body[body.length - 1];
  const from = body.find((e) => e.ani) || {};
  summary.textContent = `${body.length} events` +
    (from.ani ? `, caller ${from.ani}` : "") + (from.dnis ? ` dialing ${from.dnis}` : "") +
    (first ? `, started ${new Date(first.ts_ms).toLocaleString()}` : "") +
    (last ? `, lasted ${offset(last.offset_ms).slice(1)}` : "") + ".";
  for (const ev of body) {
    const li = el("li", { class: "event", "data-event": ev.event });
    li.appendChild(el("span", { class: "at" }, offset(ev.offset_ms)));
    li.appendChild(el("span", { class: "text" }, ev.text || ev.event));
    list.appendChild(li);
  }
  document.body.setAttribute("data-loaded", String(Date.now()));
}

document.addEventListener("DOMContentLoaded", load);
