// A full tool-calling round trip with the official `openai` client against a running daemon:
// usage: node tool_roundtrip.mjs <base URL, e.g. http://127.0.0.1:8377/v1>
// 1. tool_choice "required": the answer must be a valid call of get_weather (grammar-constrained),
//    not streamed and streamed (the call assembled from tool_calls deltas);
// 2. the call and the tool's result go back in the history; the model answers with text.
// Exits non-zero with a message naming what did not hold.
import OpenAI from "openai";

const baseURL = process.argv[2];
const client = new OpenAI({ baseURL, apiKey: "not-needed", maxRetries: 0 });

const tools = [{
  type: "function",
  function: {
    name: "get_weather",
    description: "Current weather of a city",
    parameters: {
      type: "object",
      properties: { city: { type: "string", maxLength: 12 } },
      required: ["city"],
    },
  },
}];
const question = [{ role: "user", content: "What is the weather in Paris?" }];
// stories260K spells JSON nearly a character per token, spaces included: room for a whole call.
const settings = { model: "default", temperature: 0, max_tokens: 400, parallel_tool_calls: false };

function fail(what, detail) {
  console.error(`FAIL: ${what}\n${JSON.stringify(detail, null, 2)}`);
  process.exit(1);
}

function checkCall(call, where) {
  if (!call || call.type !== "function") fail(`${where}: no function call`, call);
  if (call.function.name !== "get_weather") fail(`${where}: wrong function`, call);
  if (!call.id) fail(`${where}: the call has no id`, call);
  let args;
  try {
    args = JSON.parse(call.function.arguments);
  } catch (e) {
    fail(`${where}: arguments are not JSON`, call);
  }
  if (typeof args.city !== "string") fail(`${where}: arguments lack the required string "city"`, args);
}

// Not streamed.
const first = await client.chat.completions.create({ ...settings, messages: question, tools, tool_choice: "required" });
const choice = first.choices[0];
if (choice.finish_reason !== "tool_calls") fail("finish_reason is not tool_calls", choice);
checkCall(choice.message.tool_calls?.[0], "non-streamed");

// Streamed: the call assembled from its deltas.
const stream = await client.chat.completions.create({ ...settings, messages: question, tools, tool_choice: "required", stream: true });
const assembled = [];
let finish = null;
for await (const chunk of stream) {
  const c = chunk.choices[0];
  if (!c) continue;
  for (const d of c.delta.tool_calls ?? []) {
    assembled[d.index] ??= { id: "", type: "function", function: { name: "", arguments: "" } };
    const call = assembled[d.index];
    if (d.id) call.id = d.id;
    if (d.function?.name) call.function.name += d.function.name;
    if (d.function?.arguments) call.function.arguments += d.function.arguments;
  }
  if (c.finish_reason) finish = c.finish_reason;
}
if (finish !== "tool_calls") fail("streamed finish_reason is not tool_calls", { finish, assembled });
checkCall(assembled[0], "streamed");

// The round trip: the call and its result in the history, then an answer in text.
const call = choice.message.tool_calls[0];
const history = [
  ...question,
  { role: "assistant", content: null, tool_calls: [call] },
  { role: "tool", tool_call_id: call.id, content: JSON.stringify({ temperature: 18, sky: "cloudy" }) },
];
const answer = await client.chat.completions.create({ ...settings, messages: history, tools, tool_choice: "none" });
const text = answer.choices[0].message;
if (typeof text.content !== "string" || text.tool_calls?.length) fail("the answer after the tool result is not text", text);

console.log(`ok: called ${call.function.name}(${call.function.arguments}), streamed ${assembled[0].function.arguments}`);
