// The daemon's HTTP API as the dashboard uses it. State-changing requests carry the control
// header (X-Agentd-Request: 1) that the server requires of every POST under /api/.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function answer(res) {
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(res.status, body?.error?.message || `HTTP ${res.status}`);
  return body;
}

export async function get(path) {
  return answer(await fetch(path, { headers: { Accept: "application/json" } }));
}

export async function post(path, body = {}) {
  return answer(await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Agentd-Request": "1" },
    body: JSON.stringify(body),
  }));
}

// One EventSource for the whole page (GET /api/events): every view subscribes to it, so a tab
// costs the daemon one stream however many panels are live.
let source = null;
const listeners = new Set();
let lastState = null;

export function onState(fn) {
  listeners.add(fn);
  if (lastState) fn(lastState);
  if (!source) connect();
  return () => listeners.delete(fn);
}

function connect() {
  const badge = document.getElementById("live");
  source = new EventSource("/api/events");
  source.addEventListener("state", (e) => {
    lastState = JSON.parse(e.data);
    if (badge) { badge.textContent = "live"; badge.className = "live on"; }
    for (const fn of [...listeners]) fn(lastState);
  });
  source.addEventListener("error", () => {
    if (badge) { badge.textContent = "reconnecting…"; badge.className = "live off"; }
  });
}
