// Shared by the dashboard's pages: elements built with textContent only (never markup from
// the journal), and the JSON API's answers or its error in words.
"use strict";

function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

async function api(kind, params) {
  const r = await fetch("/api/" + kind + "?" + new URLSearchParams(params).toString(),
    { credentials: "same-origin", cache: "no-store" });
  let body = null;
  try {
    body = await r.json();
  } catch (e) {
    body = null;
  }
  if (!r.ok) {
    const msg = body && body.error ? body.error : r.status + " " + r.statusText;
    throw new Error(r.status === 501 ? "not available yet" : msg);
  }
  return body;
}
