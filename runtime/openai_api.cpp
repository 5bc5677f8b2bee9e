#include "runtime/openai_api.hpp"

#include <algorithm>
#include <cmath>

#include "engine/json_schema_grammar.hpp"
#include "scheduler/bounded_json.hpp"
#include "storage/database.hpp"

namespace agentd::runtime {

using nlohmann::json;

namespace {

ApiError bad(const std::string& param, const std::string& message) {
  return ApiError{400, message, "invalid_request_error", param, ""};
}

const std::vector<std::string> kKnown = {
    "model", "messages", "max_tokens", "max_completion_tokens", "temperature", "top_p", "seed", "stop",
    "stream", "stream_options", "response_format", "n", "user", "priority", "agent", "presence_penalty",
    "frequency_penalty", "tools", "tool_choice", "functions", "function_call", "logprobs", "top_logprobs",
    "parallel_tool_calls", "metadata", "store"};

// Reads message content: a string, or an array of {"type": "text", "text": ...} parts.
std::optional<ApiError> read_content(const json& content, const std::string& at, std::string& out) {
  if (content.is_string()) {
    out = content.get<std::string>();
    return std::nullopt;
  }
  if (!content.is_array()) return bad(at, at + " must be a string or an array of text parts");
  for (size_t i = 0; i < content.size(); ++i) {
    const json& part = content[i];
    std::string where = at + "[" + std::to_string(i) + "]";
    if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") || !part["text"].is_string()) {
      return bad(where, where + ": only text parts ({\"type\": \"text\", \"text\": ...}) are supported");
    }
    out += part["text"].get<std::string>();
  }
  return std::nullopt;
}

std::optional<ApiError> read_messages(const json& body, engine::Request& r) {
  if (!body.contains("messages")) return bad("messages", "missing required parameter: 'messages'");
  const json& messages = body["messages"];
  if (!messages.is_array()) return bad("messages", "'messages' must be an array");
  if (messages.empty()) return bad("messages", "'messages' must not be empty");
  if (messages.size() > kMaxMessages) {
    return bad("messages", "'messages' has " + std::to_string(messages.size()) + " messages; at most " +
                               std::to_string(kMaxMessages) + " are accepted");
  }
  for (size_t i = 0; i < messages.size(); ++i) {
    const json& m = messages[i];
    std::string at = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) return bad(at, at + " must be an object");
    if (!m.contains("role") || !m["role"].is_string()) return bad(at + ".role", at + ".role must be a string");
    std::string role = m["role"];
    if (role == "developer") role = "system";
    if (role != "system" && role != "user" && role != "assistant") {
      return bad(at + ".role", at + ".role '" + role + "' is not supported (system, developer, user, assistant)");
    }
    if (m.contains("tool_calls")) return bad(at + ".tool_calls", "tool calls are not supported");
    if (!m.contains("content") || m["content"].is_null()) return bad(at + ".content", at + ".content is required");
    std::string content;
    if (auto e = read_content(m["content"], at + ".content", content)) return e;
    r.messages.push_back({role, content});
  }
  return std::nullopt;
}

std::optional<ApiError> read_number(const json& body, const char* key, double min, double max, float& out) {
  if (!body.contains(key) || body[key].is_null()) return std::nullopt;
  if (!body[key].is_number()) return bad(key, std::string("'") + key + "' must be a number");
  double v = body[key].get<double>();
  if (!(v >= min && v <= max)) {
    return bad(key, std::string("'") + key + "' must be between " + std::to_string(min).substr(0, 3) + " and " +
                        std::to_string(max).substr(0, 3));
  }
  out = static_cast<float>(v);
  return std::nullopt;
}

std::optional<ApiError> read_response_format(const json& body, engine::Request& r) {
  if (!body.contains("response_format") || body["response_format"].is_null()) return std::nullopt;
  const json& f = body["response_format"];
  if (!f.is_object() || !f.contains("type") || !f["type"].is_string()) {
    return bad("response_format", "'response_format' must be an object with a 'type'");
  }
  std::string type = f["type"];
  if (type == "text") return std::nullopt;
  if (type == "json_object") {
    r.grammar = json_object_grammar();
    return std::nullopt;
  }
  if (type == "json_schema") {
    if (!f.contains("json_schema") || !f["json_schema"].is_object() || !f["json_schema"].contains("schema") ||
        !f["json_schema"]["schema"].is_object()) {
      return bad("response_format.json_schema.schema", "'response_format.json_schema.schema' must be an object");
    }
    r.json_schema = f["json_schema"]["schema"].dump();
    return std::nullopt;
  }
  return bad("response_format.type", "'response_format.type' must be text, json_object or json_schema");
}

}  // namespace

json error_body(const ApiError& e) {
  return {{"error",
           {{"message", e.message},
            {"type", e.type},
            {"param", e.param.empty() ? json(nullptr) : json(e.param)},
            {"code", e.code.empty() ? json(nullptr) : json(e.code)}}}};
}

std::variant<ChatCompletionRequest, ApiError> parse_chat_completion(const std::string& text, const std::string& model_id,
                                                                    int default_max_tokens, int max_tokens_cap) {
  if (auto problem = scheduler::json_bounds_problem(text, {text.size(), kMaxNesting})) {
    return bad("", "the request body is refused: " + *problem);
  }
  json body = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return bad("", "the request body is not valid JSON");
  if (!body.is_object()) return bad("", "the request body must be a JSON object");
  for (const auto& [key, value] : body.items()) {
    if (std::find(kKnown.begin(), kKnown.end(), key) == kKnown.end()) {
      return bad(key, "unrecognized request argument supplied: " + key);
    }
  }
  ChatCompletionRequest c;
  engine::Request& r = c.request;
  if (!body.contains("model") || !body["model"].is_string()) return bad("model", "'model' must be a string");
  c.model = body["model"];
  if (c.model != model_id && c.model != "default") {
    return ApiError{404, "the model '" + c.model + "' does not exist (this server has '" + model_id + "')",
                    "invalid_request_error", "model", "model_not_found"};
  }
  c.model = model_id;
  if (auto e = read_messages(body, r)) return *e;
  for (const char* unsupported : {"tools", "functions", "tool_choice", "function_call"}) {
    if (body.contains(unsupported) && !body[unsupported].is_null()) {
      return bad(unsupported, std::string("'") + unsupported + "' is not supported by this server");
    }
  }
  if (body.contains("logprobs") && body["logprobs"] == true) return bad("logprobs", "'logprobs' is not supported");
  if (body.contains("n") && !body["n"].is_null()) {
    if (!body["n"].is_number_integer()) return bad("n", "'n' must be an integer");
    if (body["n"] != 1) return bad("n", "only n = 1 is supported");
  }
  for (const char* penalty : {"presence_penalty", "frequency_penalty"}) {
    if (body.contains(penalty) && !body[penalty].is_null() && (!body[penalty].is_number() || body[penalty] != 0)) {
      return bad(penalty, std::string("'") + penalty + "' is not supported (only 0)");
    }
  }
  r.max_tokens = default_max_tokens;
  for (const char* key : {"max_tokens", "max_completion_tokens"}) {
    if (!body.contains(key) || body[key].is_null()) continue;
    if (!body[key].is_number_integer() || body[key].get<int64_t>() < 1) {
      return bad(key, std::string("'") + key + "' must be a positive integer");
    }
    r.max_tokens = static_cast<int>(std::min<int64_t>(body[key].get<int64_t>(), max_tokens_cap));
  }
  r.sampling.temperature = 1.0f;  // OpenAI's defaults
  r.sampling.top_p = 1.0f;
  r.sampling.top_k = 0;
  r.sampling.min_p = 0.0f;
  if (auto e = read_number(body, "temperature", 0, 2, r.sampling.temperature)) return *e;
  if (auto e = read_number(body, "top_p", 0, 1, r.sampling.top_p)) return *e;
  if (body.contains("seed") && !body["seed"].is_null()) {
    if (!body["seed"].is_number_integer()) return bad("seed", "'seed' must be an integer");
    r.sampling.seed = static_cast<uint32_t>(body["seed"].get<int64_t>());
  }
  if (body.contains("stop") && !body["stop"].is_null()) {
    const json& stop = body["stop"];
    if (stop.is_string()) {
      r.stop = {stop.get<std::string>()};
    } else if (stop.is_array() && stop.size() <= 4 &&
               std::all_of(stop.begin(), stop.end(), [](const json& s) { return s.is_string(); })) {
      for (const auto& s : stop) r.stop.push_back(s.get<std::string>());
    } else {
      return bad("stop", "'stop' must be a string or an array of up to 4 strings");
    }
  }
  if (body.contains("stream") && !body["stream"].is_null()) {
    if (!body["stream"].is_boolean()) return bad("stream", "'stream' must be a boolean");
    c.stream = body["stream"];
  }
  if (body.contains("stream_options") && body["stream_options"].is_object()) {
    c.include_usage = body["stream_options"].value("include_usage", false);
  }
  if (auto e = read_response_format(body, r)) return *e;
  r.priority = scheduler::Priority::interactive;
  if (body.contains("priority") && !body["priority"].is_null()) {
    auto p = body["priority"].is_string() ? scheduler::parse_priority(body["priority"].get<std::string>()) : std::nullopt;
    if (!p) return bad("priority", "'priority' must be interactive, tool or background");
    r.priority = *p;
  }
  if (body.contains("agent") && !body["agent"].is_null()) {
    if (!body["agent"].is_string()) return bad("agent", "'agent' must be a string");
    c.agent = body["agent"];
  }
  if (body.contains("user") && !body["user"].is_null() && !body["user"].is_string()) {
    return bad("user", "'user' must be a string");
  }
  return c;
}

const char* openai_finish_reason(engine::FinishReason reason) {
  return reason == engine::FinishReason::length ? "length" : "stop";
}

// OpenAI's usage block; cached_tokens are prompt tokens the prefix cache spared prefilling.
json usage_json(const engine::Result& result) {
  return {{"prompt_tokens", result.prompt_tokens},
          {"completion_tokens", result.completion_tokens},
          {"total_tokens", result.prompt_tokens + result.completion_tokens},
          {"prompt_tokens_details", {{"cached_tokens", result.cached_tokens}}}};
}

json completion_body(const std::string& id, const std::string& model, int64_t created, const engine::Result& result) {
  return {{"id", id},
          {"object", "chat.completion"},
          {"created", created},
          {"model", model},
          {"choices",
           json::array({{{"index", 0},
                         {"message", {{"role", "assistant"}, {"content", result.text}}},
                         {"finish_reason", openai_finish_reason(result.finish)}}})},
          {"usage", usage_json(result)},
          // agentd's own figures (OpenAI clients ignore unknown fields): how the scheduler treated it.
          {"agentd",
           {{"queue_wait_ms", result.queue_wait_ms},
            {"ttft_ms", result.ttft_ms},
            {"times_preempted", result.times_preempted},
            {"submitted_step", result.submitted_step},
            {"first_token_step", result.first_token_step}}}};
}

std::string chunk_event(const std::string& id, const std::string& model, int64_t created, const json& delta,
                        const char* finish_reason) {
  json chunk = {{"id", id},
                {"object", "chat.completion.chunk"},
                {"created", created},
                {"model", model},
                {"choices", json::array({{{"index", 0},
                                          {"delta", delta},
                                          {"finish_reason", finish_reason ? json(finish_reason) : json(nullptr)}}})}};
  return "data: " + storage::json_text(chunk) + "\n\n";
}

std::string usage_event(const std::string& id, const std::string& model, int64_t created, const engine::Result& result) {
  json chunk = {{"id", id},
                {"object", "chat.completion.chunk"},
                {"created", created},
                {"model", model},
                {"choices", json::array()},
                {"usage", usage_json(result)}};
  return "data: " + storage::json_text(chunk) + "\n\n";
}

const std::string& json_object_grammar() {
  // llama.cpp's grammars/json.gbnf, with an object at the root.
  static const std::string grammar = R"(root   ::= object
value  ::= object | array | string | number | ("true" | "false" | "null") ws
object ::= "{" ws ( string ":" ws value ("," ws string ":" ws value)* )? "}" ws
array  ::= "[" ws ( value ("," ws value)* )? "]" ws
string ::= "\"" ( [^"\\\x7F\x00-\x1F] | "\\" (["\\bfnrt] | "u" [0-9a-fA-F]{4}) )* "\"" ws
number ::= ("-"? ([0-9] | [1-9] [0-9]{0,15})) ("." [0-9]+)? ([eE] [-+]? [0-9] [1-9]{0,15})? ws
ws     ::= | " " | "\n" [ \t]{0,20}
)";
  return grammar;
}

}  // namespace agentd::runtime
