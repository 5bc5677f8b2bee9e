// Agents: every agent with its state and triggers, a 24-hour strip of upcoming runs for all of
// them, and, for one agent (#/agents/NAME), its definition as loaded, schedule, a run-now form,
// its memory keys and a full-text search of its notes.
import { ago, clear, fill, h, link, statusBadge, time } from "./dom.js";
import { get, onState, post } from "./api.js";

const DAY = 86400e3;

export function render(main, params, [name]) {
  return name ? detail(main, name) : list(main);
}

function list(main) {
  const strip = h("section", { class: "panel", id: "strip" }, h("h2", {}, "Next 24 hours"));
  const table = h("tbody", { id: "agent-rows" });
  main.append(h("h1", {}, "Agents"), strip,
    h("table", {}, h("thead", {}, h("tr", {}, ["agent", "state", "plugin", "class", "running", "triggers", "description"].map((t) => h("th", {}, t)))), table));
  let drawn = "";
  return onState((s) => {
    const agents = s.daemon?.agents || [];
    const triggers = s.daemon?.triggers || [];
    const key = JSON.stringify([agents, triggers]);
    if (key === drawn) return;
    drawn = key;
    fill(table, agents.map((a) => h("tr", {},
      h("td", {}, link(`#/agents/${encodeURIComponent(a.name)}`, a.name)), h("td", {}, statusBadge(a.state)),
      h("td", {}, a.plugin ?? ""), h("td", {}, a.priority ?? ""), h("td", { class: "num" }, a.running ?? 0),
      h("td", {}, triggers.filter((t) => t.agent === a.name).map((t) => h("div", {}, t.trigger, t.next_fire ? h("span", { class: "muted" }, ` · next ${ago(t.next_fire, s.now)}`) : ""))),
      h("td", { class: a.error ? "error" : "" }, a.error || a.description || ""))));
    drawStrip(strip, agents, triggers, s.now || Date.now());
  });
}

// Fire times within 24 h: an interval repeats from its next fire; other triggers show their next.
function upcoming(t, now) {
  if (!t.next_fire) return [];
  const out = [t.next_fire];
  const m = /^every (\d+)(s|m|h|d)$/.exec(t.trigger);
  if (m) {
    const step = Number(m[1]) * { s: 1e3, m: 60e3, h: 3600e3, d: DAY }[m[2]];
    for (let at = t.next_fire + step; at < now + DAY && out.length < 500; at += step) out.push(at);
  }
  return out.filter((at) => at < now + DAY);
}

function drawStrip(el, agents, triggers, now) {
  const rows = agents.filter((a) => triggers.some((t) => t.agent === a.name)).map((a) => {
    const bar = h("div", { class: "bar" });
    for (const t of triggers.filter((x) => x.agent === a.name)) {
      for (const at of upcoming(t, now)) {
        const tick = h("span", { class: "tick", title: `${a.name}: ${t.trigger} at ${time(at)}` });
        tick.style.left = `${Math.max(0, Math.min(100, (100 * (at - now)) / DAY))}%`;
        bar.append(tick);
      }
    }
    return h("div", { class: "strip-row" }, h("span", { class: "strip-name" }, a.name), bar);
  });
  const hours = h("div", { class: "strip-row hours" }, h("span", { class: "strip-name" }, ""),
    h("div", { class: "bar scale" }, [0, 6, 12, 18, 24].map((hr) => {
      const lbl = h("span", { class: "hour" }, hr === 0 ? "now" : `+${hr}h`);
      lbl.style.left = `${(100 * hr) / 24}%`;
      return lbl;
    })));
  fill(el, h("h2", {}, "Next 24 hours"), rows.length ? [rows, hours] : h("p", { class: "muted" }, "no scheduled trigger"));
}

function detail(main, name) {
  const message = h("p", { class: "muted", id: "run-message" });
  const input = h("textarea", { name: "input", rows: 3, placeholder: "input (optional)", id: "run-input" });
  const dry = h("input", { type: "checkbox", name: "dry_run", id: "run-dry" });
  const form = h("form", { class: "run", id: "run-form" }, input,
    h("label", {}, dry, " dry run (model calls run; nothing is written)"), h("button", { type: "submit", id: "run-now" }, "Run now"), message);
  const def = h("pre", { class: "definition", id: "definition" }, "loading…");
  const schedule = h("ul", { id: "schedule" });
  const memory = h("tbody", { id: "memory" });
  const notesQ = h("input", { type: "search", name: "q", placeholder: "search notes", id: "notes-q" });
  const notes = h("ul", { class: "notes", id: "notes" });
  main.append(h("h1", {}, link("#/agents", "Agents"), ` / ${name}`),
    h("div", { class: "grid" },
      h("section", { class: "panel" }, h("h2", {}, "Run now"), form, h("h2", {}, "Schedule"), schedule,
        h("h2", {}, "Memory"), h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "key"), h("th", {}, "value"), h("th", {}, "updated"))), memory),
        h("h2", {}, "Notes"), h("form", { id: "notes-form" }, notesQ), notes),
      h("section", { class: "panel" }, h("h2", {}, "Definition as loaded"), def)));

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const body = { input: input.value };
      if (dry.checked) body.dry_run = true;
      const r = await post(`/api/agents/${encodeURIComponent(name)}/run`, body);
      message.textContent = "";
      message.append("queued ", link(`#/tasks/${r.id}`, `task #${r.id}`));
    } catch (err) { message.textContent = err.message; }
  });
  const searchNotes = async () => {
    const list = await get(`/api/agents/${encodeURIComponent(name)}/notes?q=${encodeURIComponent(notesQ.value)}`);
    fill(notes, list.length ? list.map((n) => h("li", {}, h("span", { class: "muted" }, time(n.at)), " ", n.text)) : h("li", { class: "muted" }, "no note"));
  };
  notesQ.form.addEventListener("submit", (e) => { e.preventDefault(); searchNotes(); });
  notesQ.addEventListener("input", () => searchNotes().catch(() => {}));

  get(`/api/agents/${encodeURIComponent(name)}`).then((a) => {
    def.textContent = a.definition ? JSON.stringify(a.definition, null, 2) : a.error || "(not loaded)";
    fill(schedule, a.schedule.length ? a.schedule.map((s) => h("li", {}, s.trigger, " — next ", s.next_fire ? `${time(s.next_fire)} (${ago(s.next_fire)})` : "—",
      s.last_fire ? h("span", { class: "muted" }, ` · last ${time(s.last_fire)}`) : "")) : h("li", { class: "muted" }, "manual only"));
    fill(memory, a.memory.length ? a.memory.map((m) => h("tr", {}, h("td", {}, h("code", {}, m.key)), h("td", { class: "preview" }, m.value), h("td", {}, ago(m.updated_at))))
      : h("tr", {}, h("td", { colspan: 3, class: "muted" }, "no key")));
  }).catch((e) => { def.textContent = e.message; });
  searchNotes().catch(() => {});
}
