// Overview: the shared engine (model, policy, slots busy and queue per class, decode tokens/s now
// and over the last hour,
// TTFT p50/p95 per class, prefix cache), the agents (state, last run, next run, 24 h success rate
// and p95 duration, config errors) and recent failures, all live from /api/events.
import { ago, clear, fill, duration, h, link, preview, statusBadge } from "./dom.js";
import { onState } from "./api.js";

const CLASSES = ["interactive", "tool", "background"];

export function render(main) {
  const engine = h("section", { class: "panel", id: "engine" }, h("h2", {}, "Engine"), h("p", {}, "waiting for the daemon…"));
  const agents = h("section", { class: "panel", id: "agents" }, h("h2", {}, "Agents"));
  const failures = h("section", { class: "panel", id: "failures" }, h("h2", {}, "Recent failures"));
  main.append(h("h1", {}, "Overview"), h("div", { class: "grid" }, engine, failures), agents);
  return onState((s) => {
    drawEngine(engine, s);
    drawAgents(agents, s);
    drawFailures(failures, s);
  });
}

function drawEngine(el, s) {
  const e = s.daemon?.engine || {};
  const pc = e.prefix_cache || {};
  const rows = CLASSES.map((c) => {
    const live = e.classes?.[c] || {};
    const cls = s.classes?.[c] || {};
    return h("tr", {}, h("td", {}, c), h("td", { class: "num" }, live.running ?? 0), h("td", { class: "num" }, live.queued ?? 0),
      h("td", { class: "num" }, cls.queued_tasks ?? 0), h("td", { class: "num" }, cls.calls ?? 0),
      h("td", { class: "num" }, cls.calls ? `≤ ${duration(cls.ttft_p50_ms)}` : "—"),
      h("td", { class: "num" }, cls.calls ? `≤ ${duration(cls.ttft_p95_ms)}` : "—"));
  });
  const sent = (pc.hit_tokens || 0) + (pc.miss_tokens || 0);
  const hitRate = sent ? `${Math.round(100 * (pc.hit_rate || 0))}% of prompt tokens` : "—";
  fill(el, 
    h("h2", {}, "Engine"),
    h("dl", { class: "facts" },
      h("dt", {}, "model"), h("dd", {}, e.model ?? "—"),
      h("dt", {}, "policy"), h("dd", {}, e.policy ?? "—"),
      h("dt", {}, "slots"), h("dd", {}, e.slots ?? "—"),
      h("dt", {}, "decode"), h("dd", {}, `${(e.tokens_per_s ?? 0).toFixed(1)} tok/s`),
      h("dt", {}, "decode, last hour"), decodeHour(s.decode),
      h("dt", {}, "prefix cache hits"), h("dd", {}, hitRate),
      h("dt", {}, "tasks"), h("dd", {}, Object.entries(s.tasks || {}).map(([k, v]) => `${k} ${v}`).join(" · "))),
    h("table", {},
      h("thead", {}, h("tr", {}, ["class", "generating", "waiting", "queued tasks", "calls", "TTFT p50", "TTFT p95"].map((t) => h("th", {}, t)))),
      h("tbody", {}, rows)));
}

// Completion tokens over decode seconds of the last hour's model calls, and a bar per 5 minutes.
function decodeHour(d) {
  if (!d || typeof d.tokens_per_s !== "number") return h("dd", { id: "decode-hour" }, "— (no model call in the last hour)");
  return h("dd", { id: "decode-hour", dataset: { tokensPerS: d.tokens_per_s.toFixed(1) } },
    `${d.tokens_per_s.toFixed(1)} tok/s over ${d.tokens} tokens `, sparkline(d));
}

function sparkline(d) {
  const NS = "http://www.w3.org/2000/svg";
  const n = Math.round(d.window_ms / d.bucket_ms);
  const w = 6, height = 16;
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("class", "spark");
  svg.setAttribute("width", n * w);
  svg.setAttribute("height", height);
  svg.setAttribute("viewBox", `0 0 ${n * w} ${height}`);
  const top = Math.max(...d.buckets.map((b) => b.tokens_per_s || 0), 1);
  for (const b of d.buckets) {
    const i = Math.round((b.start - d.since) / d.bucket_ms);
    if (i < 0 || i >= n || !b.tokens_per_s) continue;
    const bar = document.createElementNS(NS, "rect");
    const bh = Math.max(1, Math.round((height * b.tokens_per_s) / top));
    for (const [k, v] of [["x", i * w], ["y", height - bh], ["width", w - 1], ["height", bh]]) bar.setAttribute(k, v);
    const title = document.createElementNS(NS, "title");
    title.textContent = `${new Date(b.start).toLocaleTimeString(undefined, { hour12: false })}: ${b.tokens_per_s.toFixed(1)} tok/s`;
    bar.append(title);
    svg.append(bar);
  }
  return svg;
}

function drawAgents(el, s) {
  const stats = s.agents || {};
  const rows = (s.daemon?.agents || []).map((a) => {
    const st = stats[a.name] || {};
    const day = st.day || {};
    const ended = (day.finished || 0) + (day.failed || 0);
    const last = st.last;
    const lastDur = last?.finished_at && last?.started_at ? duration(last.finished_at - last.started_at) : "";
    return h("tr", { class: a.state === "broken" ? "broken" : "" },
      h("td", {}, link(`#/agents/${encodeURIComponent(a.name)}`, a.name)),
      h("td", {}, statusBadge(a.state)),
      h("td", {}, last ? [link(`#/tasks/${last.id}`, statusBadge(last.status)), " ", ago(last.created_at, s.now), lastDur ? ` · ${lastDur}` : ""] : "—"),
      h("td", {}, st.next_run ? ago(st.next_run, s.now) : "—"),
      h("td", { class: "num" }, ended ? `${Math.round((100 * (day.finished || 0)) / ended)}% of ${ended}` : "—"),
      h("td", { class: "num" }, day.p95_duration_ms ? duration(day.p95_duration_ms) : "—"),
      h("td", { class: "error" }, a.error ? [h("code", {}, a.file || ""), " ", a.error] : ""));
  });
  fill(el, h("h2", {}, "Agents"),
    h("table", {}, h("thead", {}, h("tr", {}, ["agent", "state", "last run", "next run", "success (24 h)", "p95 (24 h)", "config error"].map((t) => h("th", {}, t)))),
      h("tbody", {}, rows)));
}

function drawFailures(el, s) {
  const list = s.failures || [];
  fill(el, h("h2", {}, "Recent failures"),
    list.length === 0 ? h("p", { class: "muted" }, "none") :
      h("ul", { class: "failures" }, list.map((t) => h("li", {}, link(`#/tasks/${t.id}`, `#${t.id} ${t.agent}`), " ",
        h("span", { class: "muted" }, ago(t.finished_at || t.created_at, s.now)), h("div", { class: "error" }, preview(t.error, 160))))));
}
