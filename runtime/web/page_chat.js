// Chat: the model at the interactive class, streamed token by token from /v1/chat/completions
// (labelled agent "chat", so it is counted with the chat agent). The conversation is kept for the
// tab's life in sessionStorage; answers are rendered as safe Markdown once complete.
import { clear, fill, h } from "./dom.js";
import { get } from "./api.js";
import { renderMarkdown } from "./markdown.js";

const KEY = "agentd.chat";

export function render(main) {
  const log = h("div", { class: "chat-log", id: "chat-log" });
  const input = h("textarea", { rows: 2, id: "chat-input", placeholder: "Say something (Enter sends, Shift+Enter: new line)" });
  const send = h("button", { type: "submit", id: "chat-send" }, "Send");
  const reset = h("button", { type: "button", id: "chat-reset" }, "New conversation");
  const form = h("form", { class: "chat-form", id: "chat-form" }, input, send, reset);
  main.append(h("h1", {}, "Chat"), log, form);

  let messages = JSON.parse(sessionStorage.getItem(KEY) || "[]");
  let system = null;
  let controller = null;
  get("/api/agents/chat").then((a) => { system = a.definition?.system_prompt || null; }).catch(() => {});

  const bubble = (role, text) => h("div", { class: `msg ${role}` }, h("div", { class: "who" }, role), role === "assistant" ? renderMarkdown(text) : h("div", { class: "text" }, text));
  const redraw = () => { fill(log, messages.map((m) => bubble(m.role, m.content))); log.scrollTop = log.scrollHeight; };
  redraw();

  reset.addEventListener("click", () => { messages = []; sessionStorage.removeItem(KEY); redraw(); });
  input.addEventListener("keydown", (e) => { if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); } });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text || controller) return;
    input.value = "";
    messages.push({ role: "user", content: text });
    log.append(bubble("user", text));
    const live = h("div", { class: "text streaming", id: "chat-streaming" });
    const answer = h("div", { class: "msg assistant" }, h("div", { class: "who" }, "assistant"), live);
    log.append(answer);
    send.disabled = true;
    controller = new AbortController();
    let reply = "";
    try {
      const res = await fetch("/v1/chat/completions", {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-Agentd-Request": "1" },
        body: JSON.stringify({ model: "default", stream: true, priority: "interactive", agent: "chat",
          messages: [...(system ? [{ role: "system", content: system }] : []), ...messages] }),
        signal: controller.signal,
      });
      if (!res.ok) throw new Error((await res.json().catch(() => null))?.error?.message || `HTTP ${res.status}`);
      for await (const piece of sseData(res.body)) {
        if (piece === "[DONE]") break;
        const chunk = JSON.parse(piece);
        if (chunk.error) throw new Error(chunk.error.message);
        const delta = chunk.choices?.[0]?.delta?.content;
        if (delta) { reply += delta; live.textContent = reply; log.scrollTop = log.scrollHeight; }
      }
      messages.push({ role: "assistant", content: reply });
      sessionStorage.setItem(KEY, JSON.stringify(messages));
      answer.replaceWith(bubble("assistant", reply));
    } catch (err) {
      live.textContent = reply;
      answer.append(h("div", { class: "error" }, err.name === "AbortError" ? "stopped" : err.message));
    } finally {
      controller = null;
      send.disabled = false;
    }
  });
  return () => { if (controller) controller.abort(); };
}

// The "data:" payloads of a server-sent event stream read from a fetch body.
async function* sseData(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      for (const line of block.split("\n")) if (line.startsWith("data: ")) yield line.slice(6);
    }
  }
}
