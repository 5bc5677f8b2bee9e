// One task: its timeline (every event; each model call with route, queue wait, TTFT, tokens and
// cost), sections as they finish, the output as safe Markdown, cancel and run-again. While the
// task is queued or running, its own event stream (/api/tasks/ID/events) appends as it happens,
// and an interactive task's answer shows as the model writes it ("delta" events).
import { clear, fill, duration, h, link, statusBadge, time } from "./dom.js";
import { get, post } from "./api.js";
import { renderMarkdown } from "./markdown.js";

export function render(main, params, [id]) {
  const head = h("div", { id: "task-head" });
  const actions = h("div", { class: "actions" });
  const timeline = h("ol", { class: "timeline", id: "timeline" });
  const sections = h("div", { id: "sections" });
  const output = h("section", { class: "panel", id: "output" });
  const message = h("p", { class: "muted", id: "task-message" });
  main.append(h("h1", {}, `Task #${id}`), head, actions, message,
    h("div", { class: "grid" }, h("section", { class: "panel" }, h("h2", {}, "Timeline"), timeline), h("div", {}, sections, output)));

  let source = null;
  let lastEvent = 0;  // the id of the newest event drawn: the stream and a reload overlap, by id
  let task = null;

  function draw(ev) {
    if (ev.id <= lastEvent) return;
    lastEvent = ev.id;
    timeline.append(event(ev));
  }

  async function load() {
    task = await get(`/api/tasks/${id}`);
    drawHead();
    for (const ev of task.events) draw(ev);
    drawSections(task.sections);
    drawOutput();
    const live = task.status === "queued" || task.status === "running";
    if (live && !source) follow();
  }

  function follow() {
    source = new EventSource(`/api/tasks/${id}/events`);
    const onEvent = (e) => {
      const ev = JSON.parse(e.data);
      draw(ev);
      if (ev.kind === "section" || ev.kind === "started") load();
    };
    // Every kind a timeline holds (an SSE event reaches only the listeners of its name).
    for (const kind of ["queued", "started", "llm_call", "section", "section_attempt", "memory_write", "emitted", "log", "read", "wrote",
      "would_write", "blocking_call", "finished", "failed", "cancelled", "interrupted", "resumed", "message"]) {
      source.addEventListener(kind, onEvent);
    }
    // An interactive task's answer as the model writes it, until the output replaces it.
    let call = 0;
    let text = "";
    source.addEventListener("delta", (e) => {
      const d = JSON.parse(e.data);
      if (d.call !== call) { call = d.call; text = ""; }
      text += d.text;
      fill(output, h("h2", {}, "Output (being written)"), h("pre", { class: "streaming", id: "output-live" }, text));
    });
    source.addEventListener("error", () => { call = 0; });  // a reconnected stream starts again
    source.addEventListener("end", () => { source.close(); source = null; load(); });
  }

  function drawHead() {
    const t = task;
    const dur = t.started_at && t.finished_at ? duration(t.finished_at - t.started_at) : "";
    fill(head, h("dl", { class: "facts" },
      h("dt", {}, "agent"), h("dd", {}, link(`#/agents/${encodeURIComponent(t.agent)}`, t.agent)),
      h("dt", {}, "status"), h("dd", { id: "task-status" }, statusBadge(t.status)),
      h("dt", {}, "class"), h("dd", {}, t.priority),
      h("dt", {}, "trigger"), h("dd", {}, t.trigger, t.dry_run ? " (dry run)" : ""),
      h("dt", {}, "attempt"), h("dd", {}, t.attempt),
      h("dt", {}, "created"), h("dd", {}, time(t.created_at)),
      h("dt", {}, "duration"), h("dd", {}, dur || "—"),
      t.parent_id ? [h("dt", {}, "parent"), h("dd", {}, link(`#/tasks/${t.parent_id}`, `#${t.parent_id}`))] : [],
      h("dt", {}, "input"), h("dd", {}, h("pre", { class: "input" }, t.input || "(none)"))));
    const live = t.status === "queued" || t.status === "running";
    fill(actions, 
      live ? h("button", { id: "cancel", onclick: cancel }, "Cancel") : null,
      h("button", { id: "run-again", onclick: runAgain }, "Run again"));
  }

  function drawSections(list) {
    clear(sections);
    if (!list || list.length === 0) return;
    sections.append(h("section", { class: "panel" }, h("h2", {}, "Sections"),
      list.map((s) => h("details", { class: `section s-${s.status}`, open: s.status === "done" ? "open" : null },
        h("summary", {}, `${s.idx + 1}. ${s.title} `, statusBadge(s.status), s.tokens ? ` ${s.tokens} tokens` : ""),
        s.text ? renderMarkdown(s.text) : null))));
  }

  function drawOutput() {
    fill(output, h("h2", {}, "Output"));
    if (task.error) output.append(h("pre", { class: "error" }, task.error));
    if (task.output) output.append(renderMarkdown(task.output));
    else if (!task.error) output.append(h("p", { class: "muted" }, task.status === "finished" ? "(empty)" : "not yet"));
  }

  async function cancel() {
    try {
      await post(`/api/tasks/${id}/cancel`);
      message.textContent = "cancelled";
      await load();
    } catch (e) { message.textContent = e.message; }
  }

  async function runAgain() {
    try {
      const r = await post(`/api/agents/${encodeURIComponent(task.agent)}/run`, { input: task.input });
      location.hash = `#/tasks/${r.id}`;
    } catch (e) { message.textContent = e.message; }
  }

  load().catch((e) => { message.textContent = e.message; message.className = "error"; });
  return () => { if (source) source.close(); };
}

function event(e) {
  const d = e.data || {};
  const facts = [];
  if (e.kind === "llm_call") {
    for (const [k, label] of [["route", "route"], ["queue_wait_ms", "queue wait"], ["ttft_ms", "TTFT"], ["prompt_tokens", "prompt"], ["completion_tokens", "completion"], ["tokens", "tokens"], ["cost_usd", "cost $"]]) {
      if (d[k] !== undefined) facts.push(h("span", { class: "chip" }, `${label} ${k.endsWith("_ms") ? duration(d[k]) : d[k]}`));
    }
  }
  const rest = Object.entries(d).filter(([k]) => e.kind !== "llm_call" || !["route", "queue_wait_ms", "ttft_ms", "prompt_tokens", "completion_tokens", "tokens", "cost_usd", "request"].includes(k));
  return h("li", { class: `ev k-${e.kind}` },
    h("span", { class: "at" }, new Date(e.at).toLocaleTimeString(undefined, { hour12: false })), " ",
    h("strong", {}, e.kind), " ", facts,
    rest.length ? h("span", { class: "data" }, rest.map(([k, v]) => `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`).join(" · ")) : null,
    e.kind === "llm_call" && d.request ? asked(d.request) : null);
}

// What a model call asked, folded: each message as text (model input is never markup here).
function asked(request) {
  const messages = Array.isArray(request.messages) ? request.messages : [{ role: "prompt", content: request.prompt }];
  return h("details", { class: "request" },
    h("summary", {}, `request: ${messages.length} message${messages.length === 1 ? "" : "s"}, max ${request.max_tokens} tokens${request.cut ? " (cut)" : ""}`),
    messages.map((m) => h("div", { class: "message" }, h("strong", {}, `${m.role}: `),
      typeof m.content === "string" ? m.content : "",
      Array.isArray(m.tool_calls) ? m.tool_calls.map((c) => ` [calls ${c.function?.name}(${c.function?.arguments})]`) : null)));
}
