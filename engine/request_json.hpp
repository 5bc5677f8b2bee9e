// A request as OpenAI-style chat JSON: the wire form a remote server gets (openai_engine) and the
// record history keeps of every model call (the llm_call event's "request", which
// `agentd tasks --export-trace` writes out as a day to replay).
#pragma once

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/engine.hpp"

namespace agentd::engine {

// [{"id", "type": "function", "function": {"name", "arguments": "<JSON text>"}}, ...]
nlohmann::json tool_calls_json(const std::vector<ToolCall>& calls);

// [{"role", "content"}, ...] with an assistant's "tool_calls" and a tool message's "tool_call_id".
nlohmann::json messages_json(const std::vector<ChatMessage>& messages);

// [{"type": "function", "function": {"name", "description", "parameters"}}, ...]
nlohmann::json tools_json(const std::vector<Tool>& tools);

// What a call asked, as history keeps it: {"sent_at", "priority", "max_tokens", "messages" (or
// "prompt" for a raw prompt), "schema"?, "tools"?, "cut"?}. A text longer than
// kRecordedTextChars is cut there (at a character boundary) and "cut" is true: a record, not a
// copy of any file an agent read. Sampling settings are not kept (they are the agent's).
inline constexpr size_t kRecordedTextChars = 64 * 1024;
nlohmann::json request_record(const Request& request, int64_t sent_at_ms);

}  // namespace agentd::engine
