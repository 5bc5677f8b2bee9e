// Chat: a conversation with the chat agent, kept in its session (the agent's memory
// "session:NAME"; the session is in the URL, #/chat?session=web). Each message is a chat-agent
// task at the interactive class (POST /api/agents/chat/run), so `agentd tasks` lists the turns;
// the answer streams from the task's own event stream ("delta" events, while the model writes)
// and is rendered as safe Markdown from the task's output once it ended. A reload reads the
// session back from the agent's memory.
import { fill, h, link } from "./dom.js";
import { get, post } from "./api.js";
import { setParams } from "./route.js";
import { renderMarkdown } from "./markdown.js";

const AGENT = "chat";

export function render(main, params) {
  let session = validSession(params.get("session")) || "web";
  const title = h("p", { class: "muted", id: "chat-session" });
  const log = h("div", { class: "chat-log", id: "chat-log" });
  const input = h("textarea", { rows: 2, id: "chat-input", placeholder: "Say something (Enter sends, Shift+Enter: new line)" });
  const send = h("button", { type: "submit", id: "chat-send" }, "Send");
  const reset = h("button", { type: "button", id: "chat-reset" }, "New conversation");
  const form = h("form", { class: "chat-form", id: "chat-form" }, input, send, reset);
  main.append(h("h1", {}, "Chat"), title, log, form);

  let source = null;
  let busy = false;
  const bubble = (role, text, attrs = {}) => h("div", { class: `msg ${role}`, ...attrs }, h("div", { class: "who" }, role),
    role === "assistant" ? renderMarkdown(text) : h("div", { class: "text" }, text));

  async function load() {
    fill(title, `session “${session}” of the chat agent`);
    // null for a session not started yet
    const turns = (await get(`/api/agents/${AGENT}/memory/session:${encodeURIComponent(session)}`)).value?.turns || [];
    fill(log, turns.map((t) => [bubble("user", t.user, { dataset: { turn: "stored" } }), bubble("assistant", t.assistant, { dataset: { turn: "stored" } })]));
    log.scrollTop = log.scrollHeight;
  }

  reset.addEventListener("click", () => {
    if (busy) return;
    session = `web-${new Date().toISOString().replace(/[-:]/g, "").replace(/\..*/, "").replace("T", "-")}`;
    setParams(new URLSearchParams({ session }));
    load().catch(showError);
  });
  input.addEventListener("keydown", (e) => { if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); } });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text || busy) return;
    busy = send.disabled = true;
    input.value = "";
    log.append(bubble("user", text));
    const live = h("div", { class: "text streaming", id: "chat-streaming" });
    const answer = h("div", { class: "msg assistant" }, h("div", { class: "who" }, "assistant"), live);
    log.append(answer);
    try {
      const task = await post(`/api/agents/${AGENT}/run`, { input: JSON.stringify({ session, message: text }), priority: "interactive" });
      const ended = await follow(task.id, (shown) => { live.textContent = shown; answer.dataset.streamed = "true"; log.scrollTop = log.scrollHeight; });
      const done = bubble("assistant", ended.output || "", { dataset: { task: task.id, streamed: answer.dataset.streamed || "false" } });
      done.querySelector(".who").append(" · ", link(`#/tasks/${task.id}`, `task #${task.id}`));
      if (ended.status !== "finished") done.append(h("div", { class: "error" }, `${ended.status}: ${ended.error || ""}`));
      answer.replaceWith(done);
    } catch (err) {
      answer.append(h("div", { class: "error" }, err.message));
    } finally {
      busy = send.disabled = false;
    }
  });

  // The task's answer as the model writes it; resolves with the task once it ended.
  function follow(id, onText) {
    return new Promise((resolve, reject) => {
      source = new EventSource(`/api/tasks/${id}/events`);
      let call = 0;
      let text = "";
      source.addEventListener("delta", (e) => {
        const d = JSON.parse(e.data);
        if (d.call !== call) { call = d.call; text = ""; }  // a new model call (a tool round) starts afresh
        text += d.text;
        onText(text);
      });
      source.addEventListener("end", (e) => { source.close(); source = null; resolve(JSON.parse(e.data)); });
      source.addEventListener("error", () => {
        if (!source) return;
        if (source.readyState === EventSource.CLOSED) { source = null; reject(new Error("the task's event stream closed")); }
        else call = 0;  // reconnecting: the stream starts again from the beginning, the text with it
      });
    });
  }

  function showError(e) { log.append(h("p", { class: "error" }, e.message)); }

  load().catch(showError);
  return () => { if (source) source.close(); };
}

// Session names as the chat agent takes them: 1-64 of [A-Za-z0-9_.-].
function validSession(name) {
  return name && /^[A-Za-z0-9_.-]{1,64}$/.test(name) ? name : null;
}
