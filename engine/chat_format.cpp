#include "engine/chat_format.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "chat.h"
#include "engine/chat_output.hpp"
#include "json-schema-to-grammar.h"
#include "json.h"
#include "llama.h"

namespace agentd::engine {

namespace {

constexpr int kMaxGenericCalls = 8;  // calls in one answer in the generic format

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::vector<std::string> builtin_templates() {
  std::vector<const char*> names(256);
  const int32_t n = llama_chat_builtin_templates(names.data(), names.size());
  return {names.begin(), names.begin() + std::min<int32_t>(n, static_cast<int32_t>(names.size()))};
}

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

std::string read_template_file(const std::string& path, const std::string& model_path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw EngineError("cannot read chat_template file " + path + " (for model " + model_path + ")");
  std::stringstream text;
  text << f.rdbuf();
  return text.str();
}

common_chat_msg to_common(const ChatMessage& m) {
  common_chat_msg out;
  out.role = m.role;
  out.content = m.content;
  out.reasoning_content = m.reasoning;
  out.tool_call_id = m.tool_call_id;
  for (const auto& c : m.tool_calls) out.tool_calls.push_back({c.name, c.arguments.empty() ? "{}" : c.arguments, c.id});
  return out;
}

common_chat_tool_choice to_common(ToolChoice c) {
  switch (c) {
    case ToolChoice::none: return COMMON_CHAT_TOOL_CHOICE_NONE;
    case ToolChoice::required:
    case ToolChoice::named: return COMMON_CHAT_TOOL_CHOICE_REQUIRED;
    case ToolChoice::automatic: break;
  }
  return COMMON_CHAT_TOOL_CHOICE_AUTO;
}

// The tools a request offers the model: all of them, or the one a named tool_choice names.
std::vector<Tool> offered_tools(const Request& r) {
  if (r.tool_choice == ToolChoice::none) return {};
  if (r.tool_choice != ToolChoice::named) return r.tools;
  for (const auto& t : r.tools) {
    if (t.name == r.tool_name) return {t};
  }
  throw RequestError("tool_choice names function '" + r.tool_name + "', which is not among the tools");
}

common_json parse_schema(const std::string& text, const std::string& what) {
  try {
    return common_json::parse(text);
  } catch (const std::exception& e) {
    throw RequestError(what + " is not valid JSON: " + e.what());
  }
}

void string_leaves(const common_json& j, std::vector<std::string>& out, int depth = 0) {
  if (depth > 64) return;
  if (j.is_string()) {
    out.push_back(j.get<std::string>());
  } else if (j.is_array()) {
    for (size_t i = 0; i < j.size(); ++i) string_leaves(j.at(i), out, depth + 1);
  } else if (j.is_object()) {
    for (const auto& [key, value] : j.items()) {
      out.push_back(key);
      string_leaves(value, out, depth + 1);
    }
  }
}

// Every piece of caller text that ends up in the prompt.
std::vector<std::string> caller_texts(const std::vector<ChatMessage>& messages, const std::vector<Tool>& tools) {
  std::vector<std::string> out;
  for (const auto& m : messages) {
    out.push_back(m.reasoning);
    out.push_back(m.content);
    for (const auto& c : m.tool_calls) {  // templates re-serialize arguments: their strings are the text
      out.push_back(c.name);
      string_leaves(common_json::parse_no_throw(c.arguments), out);
    }
  }
  for (const auto& t : tools) {
    out.push_back(t.name);
    out.push_back(t.description);
    string_leaves(common_json::parse_no_throw(t.parameters), out);
  }
  out.erase(std::remove_if(out.begin(), out.end(), [](const std::string& s) { return s.empty(); }), out.end());
  return out;
}

// Finds each caller text in the prompt: in order where the template keeps the order, else every
// occurrence (a text moved by the template, e.g. a system prompt folded into the first user turn).
// Templates that write a text with `tojson` (Llama 3.1's tool results) hold it JSON-escaped.
void locate(const std::vector<std::string>& texts, FormattedChat& f) {
  size_t cursor = 0;
  for (const auto& text : texts) {
    std::string t = text;
    if (f.prompt.find(t) == std::string::npos) {
      const std::string quoted = common_json(text).dump();
      t = quoted.substr(1, quoted.size() - 2);
    }
    if (size_t at = f.prompt.find(t, cursor); at != std::string::npos) {
      f.plain.emplace_back(at, at + t.size());
      cursor = at + t.size();
      continue;
    }
    bool found = false;
    for (size_t at = f.prompt.find(t); at != std::string::npos; at = f.prompt.find(t, at + 1)) {
      f.plain.emplace_back(at, at + t.size());
      found = true;
    }
    if (!found) f.unlocated.push_back(text);
  }
  std::sort(f.plain.begin(), f.plain.end());
}

std::vector<std::string> trigger_patterns(const common_chat_params& p, std::vector<int32_t>& tokens) {
  std::vector<std::string> patterns;
  for (const auto& t : p.grammar_triggers) {
    switch (t.type) {
      case COMMON_GRAMMAR_TRIGGER_TYPE_WORD: patterns.push_back(regex_escape(t.value)); break;
      case COMMON_GRAMMAR_TRIGGER_TYPE_PATTERN: patterns.push_back(t.value); break;
      case COMMON_GRAMMAR_TRIGGER_TYPE_PATTERN_FULL: {
        const std::string& v = t.value;
        patterns.push_back(v.empty() ? "^$" : (v.front() != '^' ? "^" : "") + v + (v.back() != '$' ? "$" : ""));
        break;
      }
      case COMMON_GRAMMAR_TRIGGER_TYPE_TOKEN: tokens.push_back(t.token); break;
    }
  }
  return patterns;
}

// The generic tool format: what the tools are and how to answer, for the system message.
std::string describe_tools(const std::vector<Tool>& tools, ToolChoice choice) {
  std::string out = "You can call these tools (JSON schemas of their arguments):\n";
  for (const auto& t : tools) {
    common_json entry = common_json::object();
    entry["name"] = t.name;
    entry["description"] = t.description;
    entry["parameters"] = common_json::parse_no_throw(t.parameters);
    out += entry.dump() + "\n";
  }
  out += "To call tools, answer with a JSON object {\"tool_calls\": [{\"name\": <tool name>, \"arguments\": "
         "<arguments object>}]}";
  if (choice == ToolChoice::automatic) out += "; to answer directly, with {\"response\": <your answer>}";
  return out + ".";
}

common_json generic_schema(const std::vector<Tool>& tools, const Request& r) {
  common_json alternatives = common_json::array();
  for (const auto& t : tools) {
    common_json props = common_json::object();
    common_json name = common_json::object();
    name["const"] = t.name;
    props["name"] = name;
    props["arguments"] = parse_schema(t.parameters, "the parameters of tool '" + t.name + "'");
    common_json call = common_json::object();
    call["type"] = "object";
    call["properties"] = props;
    call["required"] = common_json::array({"name", "arguments"});
    call["additionalProperties"] = false;
    alternatives.push_back(call);
  }
  common_json items = common_json::object();
  items["anyOf"] = alternatives;
  common_json list = common_json::object();
  list["type"] = "array";
  list["items"] = items;
  list["minItems"] = 1;
  list["maxItems"] = r.parallel_tool_calls ? kMaxGenericCalls : 1;  // a looping model still ends its JSON
  common_json calls_props = common_json::object();
  calls_props["tool_calls"] = list;
  common_json calls = common_json::object();
  calls["type"] = "object";
  calls["properties"] = calls_props;
  calls["required"] = common_json::array({"tool_calls"});
  calls["additionalProperties"] = false;
  if (r.tool_choice != ToolChoice::automatic) return calls;
  common_json text = common_json::object();
  text["type"] = "string";
  common_json response_props = common_json::object();
  response_props["response"] = text;
  common_json response = common_json::object();
  response["type"] = "object";
  response["properties"] = response_props;
  response["required"] = common_json::array({"response"});
  response["additionalProperties"] = false;
  common_json either = common_json::object();
  either["anyOf"] = common_json::array({calls, response});
  return either;
}

// History in the generic format: calls as the JSON the model answered with, results as user turns.
std::vector<common_chat_msg> generic_history(const std::vector<ChatMessage>& messages, const std::string& tools_text) {
  std::vector<common_chat_msg> out;
  for (const auto& m : messages) {
    common_chat_msg c;
    c.role = m.role;
    c.content = m.content;
    if (!m.tool_calls.empty()) {
      common_json calls = common_json::array();
      for (const auto& t : m.tool_calls) {
        common_json call = common_json::object();
        call["name"] = t.name;
        call["arguments"] = common_json::parse_no_throw(t.arguments.empty() ? "{}" : t.arguments);
        calls.push_back(call);
      }
      common_json answer = common_json::object();
      answer["tool_calls"] = calls;
      c.content = answer.dump();
    }
    if (m.role == "tool") {
      c.role = "user";
      c.content = "Result of tool call " + m.tool_call_id + ":\n" + m.content;
    }
    out.push_back(std::move(c));
  }
  if (tools_text.empty()) return out;
  if (!out.empty() && out.front().role == "system") {
    out.front().content += "\n\n" + tools_text;
  } else {
    common_chat_msg system;
    system.role = "system";
    system.content = tools_text;
    out.insert(out.begin(), std::move(system));
  }
  return out;
}

// The template applied; its failure is the caller's request error, naming the template.
common_chat_params apply_template(const common_chat_templates* templates, const common_chat_templates_inputs& in,
                                  const std::string& name) {
  try {
    return common_chat_templates_apply(templates, in);
  } catch (const std::exception& e) {
    throw RequestError("chat template " + name + " could not format the request: " + e.what());
  }
}

}  // namespace

void ChatFormat::TemplatesDeleter::operator()(common_chat_templates* t) const { common_chat_templates_free(t); }

ChatFormat::ChatFormat(const llama_model* model, const std::string& model_path, const std::string& configured)
    : model_path_(model_path) {
  const char* own = llama_model_chat_template(model, nullptr);
  std::string source;  // "" = the model's own
  if (ends_with(configured, ".jinja")) {
    source = read_template_file(configured, model_path);
    name_ = "file " + configured;
    jinja_ = true;
  } else if (const auto names = builtin_templates();
             !configured.empty() && std::find(names.begin(), names.end(), configured) == names.end()) {
    throw EngineError("unknown chat_template \"" + configured + "\" for model " + model_path +
                      " (a .jinja file or one of llama.cpp's built-in templates: " + joined(names) + ")");
  } else if (own != nullptr) {
    name_ = "the model's own (GGUF tokenizer.chat_template)";
    jinja_ = true;
  } else if (configured.empty()) {
    return;  // no template: chat messages are refused, raw prompts work
  } else {
    source = configured;
    name_ = "built-in " + configured;
    jinja_ = configured == "chatml";  // common renders chatml itself, with Jinja; the rest are legacy C++
  }
  try {
    templates_.reset(common_chat_templates_init(model, source).release());
  } catch (const std::exception& e) {
    throw EngineError("chat template " + name_ + " of model " + model_path + " does not parse: " + e.what());
  }
  native_tools_ = jinja_ && common_chat_templates_get_caps(templates_.get())["supports_tool_calls"];
  probe();
}

ChatFormat::~ChatFormat() = default;

// A template is tried once at start-up, so one that cannot render fails there and not per request.
void ChatFormat::probe() const {
  Request r;
  r.messages = {{"system", "You are helpful."}, {"user", "hello"}};
  try {
    (void)apply(r);
  } catch (const std::exception& e) {
    throw EngineError("chat template " + name_ + " of model " + model_path_ + " cannot render a conversation: " +
                      e.what());
  }
}

FormattedChat ChatFormat::apply(const Request& r) const {
  if (!templates_) {
    throw RequestError("request has chat messages but model " + model_path_ +
                       " has no chat template; set the engine's chat_template (a llama.cpp built-in such as "
                       "\"chatml\", or a .jinja file) or send a raw prompt");
  }
  const std::vector<Tool> tools = offered_tools(r);
  const bool tool_history = std::any_of(r.messages.begin(), r.messages.end(), [](const ChatMessage& m) {
    return !m.tool_calls.empty() || m.role == "tool";
  });
  if (!native_tools_ && (!tools.empty() || tool_history)) return apply_generic_tools(r);
  common_chat_templates_inputs in;
  for (const auto& m : r.messages) in.messages.push_back(to_common(m));
  for (const auto& t : (r.tool_choice == ToolChoice::none ? r.tools : tools)) {
    in.tools.push_back({t.name, t.description, t.parameters});
  }
  in.tool_choice = to_common(r.tool_choice);
  in.parallel_tool_calls = r.parallel_tool_calls;
  in.enable_thinking = r.thinking;
  in.reasoning_format = COMMON_REASONING_FORMAT_DEEPSEEK;
  in.use_jinja = jinja_;
  common_chat_params p = apply_template(templates_.get(), in, name_);
  FormattedChat f;
  f.prompt = std::move(p.prompt);
  f.grammar = p.grammar;
  f.grammar_lazy = p.grammar_lazy;
  f.trigger_patterns = trigger_patterns(p, f.trigger_tokens);
  // Tool grammars start where the template's generation prompt starts. (A caller's grammar or
  // JSON schema is applied by the engine, from the output on, as for a raw prompt.)
  if (!p.grammar.empty() && !p.grammar_lazy) f.grammar_prefill = p.generation_prompt;
  f.stops = p.additional_stops;
  if (p.supports_thinking && r.thinking) {
    f.thinking_start = p.thinking_start_tag;
    f.thinking_ends = p.thinking_end_tags;
    f.generation_prompt = p.generation_prompt;
  }
  // Parsed only when there is something to split out: tool calls, or a model that thinks.
  const bool parse_tools = !in.tools.empty() && r.tool_choice != ToolChoice::none;
  if (jinja_ && (parse_tools || p.supports_thinking)) {
    auto syntax = std::make_shared<OutputSyntax>();
    syntax->params = common_chat_parser_params(p);
    syntax->params.reasoning_format = COMMON_REASONING_FORMAT_DEEPSEEK;
    syntax->params.parse_tool_calls = parse_tools;
    if (!p.parser.empty()) syntax->params.parser.load(p.parser);
    f.syntax = std::move(syntax);
  }
  locate(caller_texts(r.messages, tools), f);
  return f;
}

FormattedChat ChatFormat::apply_generic_tools(const Request& r) const {
  const std::vector<Tool> tools = offered_tools(r);
  common_chat_templates_inputs in;
  in.messages = generic_history(r.messages, tools.empty() ? "" : describe_tools(tools, r.tool_choice));
  in.use_jinja = jinja_;
  in.enable_thinking = r.thinking;
  common_chat_params p = apply_template(templates_.get(), in, name_);
  FormattedChat f;
  f.prompt = std::move(p.prompt);
  if (tools.empty()) {  // a history with tool calls, no tools offered now
    locate(caller_texts(r.messages, tools), f);
    return f;
  }
  try {
    f.grammar = json_schema_to_grammar(generic_schema(tools, r));
  } catch (const RequestError&) {
    throw;
  } catch (const std::exception& e) {
    throw RequestError(std::string("the tools' parameter schemas cannot be turned into a grammar: ") + e.what());
  }
  auto syntax = std::make_shared<OutputSyntax>();
  syntax->kind = OutputSyntax::Kind::generic_tools;
  f.syntax = std::move(syntax);
  locate(caller_texts(r.messages, tools), f);
  return f;
}

}  // namespace agentd::engine
