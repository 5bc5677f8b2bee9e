// The OpenAI chat-completions wire format, both ways: a request body checked field by field
// into an engine::Request (or an OpenAI-style error naming the field), and responses, stream
// chunks and error bodies built the way OpenAI clients expect.
//
// Supported: model, messages (string content or text parts; system, developer, user, assistant
// with tool_calls, tool with tool_call_id), tools (functions), tool_choice (auto, none, required,
// a named function), parallel_tool_calls, max_tokens / max_completion_tokens, temperature,
// top_p, seed, stop (string or up to 4), stream, stream_options.include_usage, response_format
// (text, json_object, json_schema), reasoning_effort ("none" turns thinking off), n = 1, user,
// and three extras: "priority" (interactive — the default —, tool, background), "agent" (a label
// for accounting) and "thinking" (false: a reasoning model does not think). Answers carry
// reasoning_content apart from content, and tool_calls (finish_reason "tool_calls"); streamed,
// as deltas of each. Refused with 400: functions / function_call (the legacy form), logprobs,
// n > 1, penalties other than 0, unknown fields; a body nested deeper than kMaxNesting (before
// it is parsed: every walk of a parsed document recurses) or with more than kMaxMessages
// messages or kMaxTools tools.
//
// Every response and event is written with storage::json_text: text that is not valid UTF-8 (a
// lone byte token, a stored input) gets U+FFFD instead of an exception in a streaming handler.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include <nlohmann/json.hpp>

#include "engine/engine.hpp"

namespace agentd::runtime {

inline constexpr int kMaxNesting = 64;
inline constexpr size_t kMaxMessages = 1024;
inline constexpr size_t kMaxTools = 128;

struct ApiError {
  int status = 400;
  std::string message;
  std::string type = "invalid_request_error";
  std::string param;  // the offending field, if any
  std::string code;
};

nlohmann::json error_body(const ApiError& e);

// The /v1/models entry of the model served.
nlohmann::json model_object(const std::string& model);
// 404 model_not_found unless `asked` is the served model's id or "default".
std::optional<ApiError> unknown_model(const std::string& asked, const std::string& model_id);

struct ChatCompletionRequest {
  engine::Request request;
  std::string model;
  std::string agent;  // accounting label ("" = none)
  bool stream = false;
  bool include_usage = false;
};

// A /v1 call is history too, as an ended task of agent "v1", or "v1:LABEL" for a request whose
// "agent" is LABEL (never a loaded agent's name, so no dispatcher takes it). v1_label reads such a
// task's agent back: its LABEL ("" for plain "v1"), or nullopt for any other task's agent.
std::string v1_task_agent(const std::string& label);
std::optional<std::string> v1_label(const std::string& task_agent);

// `model_id` is the one model served; "default" is accepted as an alias. An unknown model is a
// 404. `max_tokens_cap` bounds max_tokens (the context decides the rest at submit time).
std::variant<ChatCompletionRequest, ApiError> parse_chat_completion(const std::string& body, const std::string& model_id,
                                                                    int default_max_tokens, int max_tokens_cap);

// OpenAI's finish_reason for ours ("stop", "length"; cancelled and deadline end as "stop"), and
// for a whole result ("tool_calls" when the model called tools).
const char* openai_finish_reason(engine::FinishReason reason);
const char* openai_finish_reason(const engine::Result& result);
// A streamed delta in OpenAI's shape: content, reasoning_content, or one tool_calls entry.
nlohmann::json delta_json(const engine::MessageDelta& delta);

nlohmann::json completion_body(const std::string& id, const std::string& model, int64_t created,
                               const engine::Result& result);
// One server-sent event "data: {chunk}\n\n": a role, a piece of content, or the finish reason.
std::string chunk_event(const std::string& id, const std::string& model, int64_t created, const nlohmann::json& delta,
                        const char* finish_reason = nullptr);
std::string usage_event(const std::string& id, const std::string& model, int64_t created, const engine::Result& result);

// A GBNF grammar accepting any JSON object (response_format json_object).
const std::string& json_object_grammar();

}  // namespace agentd::runtime
