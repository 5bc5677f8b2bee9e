#include "runtime/openai_api.hpp"

#include <algorithm>
#include <cmath>

#include "engine/json_schema_grammar.hpp"
#include "engine/request_json.hpp"
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
    "parallel_tool_calls", "metadata", "store", "reasoning_effort", "thinking", "reasoning_budget_tokens",
    "logit_bias", "modalities", "audio", "web_search_options", "prediction",
    // Hints to OpenAI's service with no effect on a local model's answer: accepted, unused.
    "service_tier", "prompt_cache_key", "safety_identifier", "verbosity"};
constexpr size_t kMaxLogitBias = 4096;  // entries of logit_bias

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
    if (!part.is_object() || part.value("type", json()) != "text" || !part.contains("text") || !part["text"].is_string()) {
      return bad(where, where + ": only text parts ({\"type\": \"text\", \"text\": ...}) are supported");
    }
    out += part["text"].get<std::string>();
  }
  return std::nullopt;
}

// An assistant's tool_calls: [{"id", "type": "function", "function": {"name", "arguments": "<JSON>"}}].
std::optional<ApiError> read_tool_calls(const json& calls, const std::string& at, std::vector<engine::ToolCall>& out) {
  if (!calls.is_array()) return bad(at, at + " must be an array");
  for (size_t i = 0; i < calls.size(); ++i) {
    const json& c = calls[i];
    const std::string where = at + "[" + std::to_string(i) + "]";
    if (!c.is_object() || !c.contains("function") || !c["function"].is_object()) {
      return bad(where, where + " must be an object with a 'function'");
    }
    const json& f = c["function"];
    if (!f.contains("name") || !f["name"].is_string()) return bad(where + ".function.name", where + ".function.name must be a string");
    engine::ToolCall call;
    call.id = c.contains("id") && c["id"].is_string() ? c["id"].get<std::string>() : "call_" + std::to_string(i);
    call.name = f["name"];
    if (f.contains("arguments") && f["arguments"].is_string()) {
      call.arguments = f["arguments"];
    } else if (f.contains("arguments") && f["arguments"].is_object()) {
      call.arguments = f["arguments"].dump();
    } else {
      return bad(where + ".function.arguments", where + ".function.arguments must be a JSON string");
    }
    out.push_back(std::move(call));
  }
  return std::nullopt;
}

std::optional<ApiError> read_message(const json& m, const std::string& at, engine::ChatMessage& out) {
  if (!m.is_object()) return bad(at, at + " must be an object");
  if (!m.contains("role") || !m["role"].is_string()) return bad(at + ".role", at + ".role must be a string");
  out.role = m["role"];
  if (out.role == "developer") out.role = "system";
  if (out.role != "system" && out.role != "user" && out.role != "assistant" && out.role != "tool") {
    return bad(at + ".role", at + ".role '" + out.role + "' is not supported (system, developer, user, assistant, tool)");
  }
  if (m.contains("tool_calls") && !m["tool_calls"].is_null()) {
    if (out.role != "assistant") return bad(at + ".tool_calls", "only assistant messages have tool_calls");
    if (auto e = read_tool_calls(m["tool_calls"], at + ".tool_calls", out.tool_calls)) return e;
  }
  if (out.role == "tool") {
    if (!m.contains("tool_call_id") || !m["tool_call_id"].is_string()) {
      return bad(at + ".tool_call_id", at + ".tool_call_id is required for a tool message");
    }
    out.tool_call_id = m["tool_call_id"];
  }
  const bool may_be_empty = out.role == "assistant" && !out.tool_calls.empty();
  if (!m.contains("content") || m["content"].is_null()) {
    if (may_be_empty) return std::nullopt;
    return bad(at + ".content", at + ".content is required");
  }
  return read_content(m["content"], at + ".content", out.content);
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
    engine::ChatMessage m;
    if (auto e = read_message(messages[i], "messages[" + std::to_string(i) + "]", m)) return e;
    r.messages.push_back(std::move(m));
  }
  return std::nullopt;
}

// tools: [{"type": "function", "function": {"name", "description", "parameters"}}].
std::optional<ApiError> read_tools(const json& body, engine::Request& r) {
  if (!body.contains("tools") || body["tools"].is_null()) return std::nullopt;
  const json& tools = body["tools"];
  if (!tools.is_array()) return bad("tools", "'tools' must be an array");
  if (tools.empty()) return bad("tools", "'tools' must not be empty (leave it out instead)");  // as OpenAI
  if (tools.size() > kMaxTools) return bad("tools", "at most " + std::to_string(kMaxTools) + " tools are accepted");
  for (size_t i = 0; i < tools.size(); ++i) {
    const json& t = tools[i];
    const std::string at = "tools[" + std::to_string(i) + "]";
    if (!t.is_object() || t.value("type", json()) != "function" || !t.contains("function") || !t["function"].is_object()) {
      return bad(at, at + " must be {\"type\": \"function\", \"function\": {...}}");
    }
    const json& f = t["function"];
    if (!f.contains("name") || !f["name"].is_string() || f["name"].get<std::string>().empty()) {
      return bad(at + ".function.name", at + ".function.name must be a non-empty string");
    }
    engine::Tool tool;
    tool.name = f["name"];
    if (f.contains("description") && f["description"].is_string()) tool.description = f["description"];
    if (f.contains("parameters") && !f["parameters"].is_null()) {
      if (!f["parameters"].is_object()) return bad(at + ".function.parameters", at + ".function.parameters must be a JSON schema object");
      tool.parameters = f["parameters"].empty() ? R"({"type": "object", "properties": {}})" : f["parameters"].dump();
    } else {
      tool.parameters = R"({"type": "object", "properties": {}})";
    }
    r.tools.push_back(std::move(tool));
  }
  return std::nullopt;
}

// tool_choice: "auto", "none", "required", or {"type": "function", "function": {"name": ...}}.
std::optional<ApiError> read_tool_choice(const json& body, engine::Request& r) {
  if (body.contains("parallel_tool_calls") && !body["parallel_tool_calls"].is_null()) {
    if (!body["parallel_tool_calls"].is_boolean()) return bad("parallel_tool_calls", "'parallel_tool_calls' must be a boolean");
    r.parallel_tool_calls = body["parallel_tool_calls"];
  } else {
    r.parallel_tool_calls = true;  // OpenAI's default
  }
  if (!body.contains("tool_choice") || body["tool_choice"].is_null()) return std::nullopt;
  const json& c = body["tool_choice"];
  if (r.tools.empty()) return bad("tool_choice", "'tool_choice' is only allowed when 'tools' are given");
  if (c == "auto") r.tool_choice = engine::ToolChoice::automatic;
  else if (c == "none") r.tool_choice = engine::ToolChoice::none;
  else if (c == "required") r.tool_choice = engine::ToolChoice::required;
  else if (c.is_object() && c.contains("function") && c["function"].is_object() && c["function"].contains("name") &&
           c["function"]["name"].is_string()) {
    r.tool_choice = engine::ToolChoice::named;
    r.tool_name = c["function"]["name"];
    bool known = false;
    for (const auto& t : r.tools) known = known || t.name == r.tool_name;
    if (!known) return bad("tool_choice", "'tool_choice' names function '" + r.tool_name + "', which is not among 'tools'");
  } else {
    return bad("tool_choice", "'tool_choice' must be auto, none, required or {\"type\": \"function\", \"function\": {\"name\": ...}}");
  }
  return std::nullopt;
}

// Thinking off: "reasoning_effort": "none", or agentd's "thinking": false. Thinking bounded:
// "reasoning_budget_tokens": N (llama-server's name; -1 = no bound, 0 = answer at once).
std::optional<ApiError> read_reasoning(const json& body, engine::Request& r) {
  if (body.contains("reasoning_budget_tokens") && !body["reasoning_budget_tokens"].is_null()) {
    const json& b = body["reasoning_budget_tokens"];
    if (!b.is_number_integer() || b.get<int64_t>() < -1 || b.get<int64_t>() > 1'000'000) {
      return bad("reasoning_budget_tokens", "'reasoning_budget_tokens' must be an integer from -1 (no bound) to 1000000");
    }
    r.reasoning_budget = b.get<int>();
  }
  if (body.contains("reasoning_effort") && !body["reasoning_effort"].is_null()) {
    const json& e = body["reasoning_effort"];
    if (!e.is_string()) return bad("reasoning_effort", "'reasoning_effort' must be a string");
    if (e == "none") r.thinking = false;
  }
  if (body.contains("thinking") && !body["thinking"].is_null()) {
    if (!body["thinking"].is_boolean()) return bad("thinking", "'thinking' must be a boolean");
    r.thinking = body["thinking"];
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

// {"<token id>": bias in [-100, 100], ...}; the engine checks the ids against its vocabulary.
std::optional<ApiError> read_logit_bias(const json& body, engine::Sampling& out) {
  if (!body.contains("logit_bias") || body["logit_bias"].is_null()) return std::nullopt;
  const json& biases = body["logit_bias"];
  if (!biases.is_object()) return bad("logit_bias", "'logit_bias' must be an object of token ids to biases");
  if (biases.size() > kMaxLogitBias) {
    return bad("logit_bias", "'logit_bias' has " + std::to_string(biases.size()) + " entries; at most " +
                                 std::to_string(kMaxLogitBias));
  }
  for (const auto& [key, value] : biases.items()) {
    const bool id = !key.empty() && key.size() <= 9 && std::all_of(key.begin(), key.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!id) return bad("logit_bias", "'logit_bias' keys must be token ids, strings of digits such as \"50256\"");
    if (!value.is_number() || !(value.get<double>() >= -100 && value.get<double>() <= 100)) {
      return bad("logit_bias", "'logit_bias' of token " + key + " must be a number from -100 to 100");
    }
    out.logit_bias.emplace_back(std::stoi(key), value.get<float>());
  }
  return std::nullopt;
}

}  // namespace

json model_object(const std::string& model) {
  return {{"id", model}, {"object", "model"}, {"created", 0}, {"owned_by", "agentd"}};
}

std::optional<ApiError> unknown_model(const std::string& asked, const std::string& model_id) {
  if (asked == model_id || asked == "default") return std::nullopt;
  return ApiError{404, "the model '" + asked + "' does not exist (this server has '" + model_id + "')",
                  "invalid_request_error", "model", "model_not_found"};
}

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
  if (auto e = unknown_model(body["model"], model_id)) return *e;
  c.model = model_id;
  if (auto e = read_messages(body, r)) return *e;
  if (auto e = read_tools(body, r)) return *e;
  if (auto e = read_tool_choice(body, r)) return *e;
  if (auto e = read_reasoning(body, r)) return *e;
  for (const char* unsupported : {"functions", "function_call", "audio", "web_search_options"}) {
    if (body.contains(unsupported) && !body[unsupported].is_null()) {
      return bad(unsupported, std::string("'") + unsupported + "' is not supported by this server");
    }
  }
  if (body.contains("logprobs") && !body["logprobs"].is_null()) {
    if (!body["logprobs"].is_boolean()) return bad("logprobs", "'logprobs' must be a boolean");
    if (body["logprobs"] == true) return bad("logprobs", "'logprobs' is not supported");
  }
  if (body.contains("top_logprobs") && !body["top_logprobs"].is_null() &&
      (!body["top_logprobs"].is_number_integer() || body["top_logprobs"] != 0)) {
    return bad("top_logprobs", "'top_logprobs' needs 'logprobs', which is not supported (only 0)");
  }
  if (body.contains("modalities") && !body["modalities"].is_null() && body["modalities"] != json::array({"text"})) {
    return bad("modalities", "this server answers in text only: 'modalities' may only be [\"text\"]");
  }
  for (const char* hint : {"service_tier", "prompt_cache_key", "safety_identifier", "verbosity"}) {
    if (body.contains(hint) && !body[hint].is_null() && !body[hint].is_string()) {
      return bad(hint, std::string("'") + hint + "' must be a string");
    }
  }
  if (auto e = read_logit_bias(body, r.sampling)) return *e;
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
  if (body.contains("stream_options") && !body["stream_options"].is_null()) {
    const json& options = body["stream_options"];
    if (!options.is_object()) return bad("stream_options", "'stream_options' must be an object");
    const json usage = options.value("include_usage", json(false));
    if (!usage.is_boolean()) return bad("stream_options.include_usage", "'stream_options.include_usage' must be a boolean");
    c.include_usage = usage.get<bool>();
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

std::string v1_task_agent(const std::string& label) {
  std::string agent = "v1";  // appended, not `"v1:" + label`: GCC 12 warns (-Wrestrict) on that form
  if (!label.empty()) agent.append(":").append(label);
  return agent;
}

std::optional<std::string> v1_label(const std::string& task_agent) {
  if (task_agent == "v1") return "";
  if (task_agent.starts_with("v1:")) return task_agent.substr(3);
  return std::nullopt;
}

const char* openai_finish_reason(const engine::Result& result) {
  if (!result.tool_calls.empty() && result.finish != engine::FinishReason::length) return "tool_calls";
  return openai_finish_reason(result.finish);
}

json message_json(const engine::Result& result) {
  json m = {{"role", "assistant"}};
  m["content"] = result.text.empty() && !result.tool_calls.empty() ? json(nullptr) : json(result.text);
  m["refusal"] = nullptr;  // OpenAI's field; a local model's refusal is plain text
  if (!result.reasoning.empty()) m["reasoning_content"] = result.reasoning;
  if (!result.tool_calls.empty()) m["tool_calls"] = engine::tool_calls_json(result.tool_calls);
  return m;
}

json delta_json(const engine::MessageDelta& d) {
  json out = json::object();
  if (!d.content.empty()) out["content"] = d.content;
  if (!d.reasoning.empty()) out["reasoning_content"] = d.reasoning;
  if (d.tool_index >= 0) {
    json call = {{"index", d.tool_index}};
    if (!d.tool_call.id.empty()) call["id"] = d.tool_call.id;
    if (!d.tool_call.id.empty() || !d.tool_call.name.empty()) call["type"] = "function";
    json f = json::object();
    if (!d.tool_call.name.empty()) f["name"] = d.tool_call.name;
    f["arguments"] = d.tool_call.arguments;
    call["function"] = f;
    out["tool_calls"] = json::array({call});
  }
  return out;
}

// OpenAI's usage block; cached_tokens are prompt tokens the prefix cache spared prefilling.
json usage_json(const engine::Result& result) {
  return {{"prompt_tokens", result.prompt_tokens},
          {"completion_tokens", result.completion_tokens},
          {"total_tokens", result.prompt_tokens + result.completion_tokens},
          {"prompt_tokens_details", {{"cached_tokens", result.cached_tokens}}}};
}

// agentd's own figures (OpenAI clients ignore unknown fields): how the scheduler treated a request.
json scheduling_json(const engine::Result& result) {
  return {{"queue_wait_ms", result.queue_wait_ms},
          {"ttft_ms", result.ttft_ms},
          {"times_preempted", result.times_preempted},
          {"submitted_step", result.submitted_step},
          {"first_token_step", result.first_token_step}};
}

json completion_body(const std::string& id, const std::string& model, int64_t created, const engine::Result& result) {
  return {{"id", id},
          {"object", "chat.completion"},
          {"created", created},
          {"model", model},
          {"choices",
           json::array({{{"index", 0},
                         {"message", message_json(result)},
                         {"logprobs", nullptr},
                         {"finish_reason", openai_finish_reason(result)}}})},
          {"usage", usage_json(result)},
          {"agentd", scheduling_json(result)}};
}

std::string chunk_event(const std::string& id, const std::string& model, int64_t created, const json& delta,
                        const char* finish_reason) {
  json chunk = {{"id", id},
                {"object", "chat.completion.chunk"},
                {"created", created},
                {"model", model},
                {"choices", json::array({{{"index", 0},
                                          {"delta", delta},
                                          {"logprobs", nullptr},
                                          {"finish_reason", finish_reason ? json(finish_reason) : json(nullptr)}}})}};
  return "data: " + storage::json_text(chunk) + "\n\n";
}

std::string usage_event(const std::string& id, const std::string& model, int64_t created, const engine::Result& result) {
  json chunk = {{"id", id},
                {"object", "chat.completion.chunk"},
                {"created", created},
                {"model", model},
                {"choices", json::array()},
                {"usage", usage_json(result)},
                {"agentd", scheduling_json(result)}};
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
