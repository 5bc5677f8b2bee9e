#include "engine/request_json.hpp"

#include "engine/stop_matcher.hpp"

namespace agentd::engine {

using nlohmann::json;

namespace {

// `text` cut to the record's limit, never inside a character; `cut` is set when it was.
std::string recorded(const std::string& text, bool& cut) {
  if (text.size() <= kRecordedTextChars) return text;
  cut = true;
  std::string kept = text.substr(0, kRecordedTextChars);
  kept.resize(kept.size() - incomplete_utf8_tail(kept));
  return kept;
}

json messages_json(const std::vector<ChatMessage>& messages, bool* cut) {
  json out = json::array();
  for (const auto& m : messages) {
    json j = {{"role", m.role}, {"content", cut ? recorded(m.content, *cut) : m.content}};
    if (!m.tool_calls.empty()) j["tool_calls"] = tool_calls_json(m.tool_calls);
    if (!m.tool_call_id.empty()) j["tool_call_id"] = m.tool_call_id;
    out.push_back(std::move(j));
  }
  return out;
}

}  // namespace

json tool_calls_json(const std::vector<ToolCall>& calls) {
  json out = json::array();
  for (const auto& c : calls) {
    out.push_back({{"id", c.id}, {"type", "function"}, {"function", {{"name", c.name}, {"arguments", c.arguments}}}});
  }
  return out;
}

json messages_json(const std::vector<ChatMessage>& messages) { return messages_json(messages, nullptr); }

json tools_json(const std::vector<Tool>& tools) {
  json out = json::array();
  for (const auto& t : tools) {
    json parameters = json::parse(t.parameters, nullptr, false);
    out.push_back({{"type", "function"},
                   {"function", {{"name", t.name}, {"description", t.description},
                                 {"parameters", parameters.is_discarded() ? json::object() : parameters}}}});
  }
  return out;
}

json request_record(const Request& r, int64_t sent_at_ms) {
  bool cut = false;
  json out = {{"sent_at", sent_at_ms}, {"priority", std::string(scheduler::to_string(r.priority))}, {"max_tokens", r.max_tokens}};
  if (r.messages.empty()) out["prompt"] = recorded(r.prompt, cut);
  else out["messages"] = messages_json(r.messages, &cut);
  if (!r.json_schema.empty()) {
    json schema = json::parse(r.json_schema, nullptr, false);
    if (!schema.is_discarded()) out["schema"] = std::move(schema);
  }
  if (!r.grammar.empty()) out["grammar"] = true;  // a GBNF grammar: its text is the caller's, not kept
  if (!r.tools.empty()) out["tools"] = tools_json(r.tools);
  if (cut) out["cut"] = true;
  return out;
}

}  // namespace agentd::engine
