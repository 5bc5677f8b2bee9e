// DOM building without HTML strings: every text is a text node (textContent), so nothing from a
// task, mail, feed, file or the model can become markup or script. innerHTML is never used.

// h("div", {class: "x", onclick: fn}, "text", child, [more]) → an element.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k === "value") el.value = v;
    else if (k === "checked") el.checked = !!v;
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// Replaces el's children (arrays flattened, strings as text).
export function fill(el, ...children) {
  return append(clear(el), children);
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function time(ms) {
  if (ms === null || ms === undefined) return "—";
  const d = new Date(ms);
  return d.toLocaleString(undefined, { hour12: false });
}

export function ago(ms, now = Date.now()) {
  if (!ms) return "—";
  const s = Math.round((now - ms) / 1000);
  const abs = Math.abs(s);
  const text = abs < 60 ? `${abs}s` : abs < 3600 ? `${Math.round(abs / 60)}m` : abs < 86400 ? `${Math.round(abs / 3600)}h` : `${Math.round(abs / 86400)}d`;
  return s >= 0 ? `${text} ago` : `in ${text}`;
}

export function duration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60000)}m ${Math.round((ms % 60000) / 1000)}s`;
}

export function statusBadge(status) {
  return h("span", { class: `badge s-${status}` }, status);
}

export function link(href, ...children) {
  return h("a", { href }, ...children);
}

// A short one-line preview of untrusted text.
export function preview(text, n = 100) {
  if (!text) return "";
  const one = String(text).replace(/\s+/g, " ").trim();
  return one.length > n ? one.slice(0, n) + "…" : one;
}
