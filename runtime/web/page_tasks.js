// Tasks: newest first, filtered by agent, status, class, time range and text; the filters live
// in the URL (#/tasks?agent=news&status=failed), so they survive a reload. Paging is keyset
// (before=<last id>): each page is an index range, as fast at 1M tasks as at ten. On the first
// page, tasks arriving or changing state appear live (the shared /api/events stream says when).
import { ago, clear, fill, duration, h, link, preview, statusBadge } from "./dom.js";
import { get, onState } from "./api.js";
import { setParams } from "./route.js";
import { PAGE, takeEarly, tasksQuery } from "./tasks_query.js";

const STATUSES = ["", "queued", "running", "finished", "failed", "cancelled", "interrupted"];
const CLASSES = ["", "interactive", "tool", "background"];
const RANGES = { "": "any time", "1h": "last hour", "24h": "last 24 h", "7d": "last 7 days" };

export function render(main, params) {
  const state = { params, pages: [], agents: [], lastSeen: null, loading: false };
  const form = h("form", { class: "filters", id: "task-filters" });
  const table = h("tbody", { id: "task-rows" });
  const more = h("button", { type: "button", id: "older" }, "Older");
  const newer = h("button", { type: "button", id: "newest" }, "Newest");
  const note = h("span", { class: "muted", id: "task-note" });
  main.append(h("h1", {}, "Tasks"), form,
    h("table", { class: "tasks" }, h("thead", {}, h("tr", {}, ["id", "agent", "class", "status", "trigger", "created", "duration", "input / output"].map((t) => h("th", {}, t)))), table),
    h("div", { class: "pager" }, newer, more, note));

  const field = (name, options) => h("label", {}, name, " ",
    options ? h("select", { name }, Object.entries(options).map(([v, t]) => h("option", { value: v, selected: params.get(name) === v ? "selected" : null }, t)))
      : h("input", { name, type: "search", value: params.get(name) || "", placeholder: name === "text" ? "in input, output, error" : "" }));
  const asOptions = (list) => Object.fromEntries(list.map((v) => [v, v || "any"]));
  const agentSelect = field("agent", { "": "any", ...(params.get("agent") ? { [params.get("agent")]: params.get("agent") } : {}) });
  form.append(agentSelect, field("status", asOptions(STATUSES)), field("class", asOptions(CLASSES)), field("range", RANGES), field("text"),
    h("button", { type: "submit" }, "Filter"));

  const apply = () => {
    const p = new URLSearchParams();
    for (const el of form.elements) if (el.name && el.value) p.set(el.name, el.value);
    setParams(p);
    state.params = p;
    state.pages = [];
    load();
  };
  form.addEventListener("change", apply);
  form.addEventListener("submit", (e) => { e.preventDefault(); apply(); });
  more.addEventListener("click", () => { const last = state.pages.at(-1)?.at(-1); if (last) { state.pages.push(null); load(last.id); } });
  newer.addEventListener("click", () => { state.pages = []; load(); });

  async function load(before) {
    state.loading = true;
    const q = tasksQuery(state.params, before);
    try {
      const rows = (await takeEarly(q)) ?? (await get(`/api/tasks?${q}`));
      if (before) state.pages[state.pages.length - 1] = rows;
      else state.pages = [rows];
      draw();
      main.dataset.loadedAt = String(performance.now());
    } catch (e) {
      fill(table, h("tr", {}, h("td", { colspan: 8, class: "error" }, e.message)));
    } finally {
      state.loading = false;
    }
  }

  function draw() {
    const rows = state.pages.at(-1) || [];
    fill(table, rows.map(row));
    if (rows.length === 0) table.append(h("tr", {}, h("td", { colspan: 8, class: "muted" }, "no task matches")));
    more.disabled = rows.length < PAGE;
    newer.disabled = state.pages.length <= 1;
    note.textContent = state.pages.length > 1 ? `page ${state.pages.length}` : "live";
  }

  load();
  return onState((s) => {
    // The agents known to the daemon, for the filter.
    const sel = agentSelect.querySelector("select");
    const names = (s.daemon?.agents || []).map((a) => a.name);
    if (names.join() !== state.agents.join()) {
      state.agents = names;
      const cur = sel.value;
      fill(sel, h("option", { value: "" }, "any"), names.map((n) => h("option", { value: n }, n)));
      sel.value = cur;
    }
    // New or changed tasks: the first page is read again (one request per change, not a poll).
    const seen = JSON.stringify([s.latest_id, s.tasks]);
    if (state.lastSeen !== null && seen !== state.lastSeen && state.pages.length <= 1 && !state.loading) load();
    state.lastSeen = seen;
  });
}

function row(t) {
  const dur = t.started_at && t.finished_at ? duration(t.finished_at - t.started_at) : t.started_at ? "running" : "";
  return h("tr", { dataset: { id: t.id, status: t.status } },
    h("td", {}, link(`#/tasks/${t.id}`, `#${t.id}`)),
    h("td", {}, t.agent),
    h("td", {}, t.priority),
    h("td", {}, statusBadge(t.status)),
    h("td", {}, t.trigger),
    h("td", { title: new Date(t.created_at).toISOString() }, ago(t.created_at)),
    h("td", { class: "num" }, dur),
    h("td", { class: "preview" }, preview(t.input, 60), t.output || t.error ? h("div", { class: t.error ? "error" : "muted" }, preview(t.error || t.output, 100)) : ""));
}

