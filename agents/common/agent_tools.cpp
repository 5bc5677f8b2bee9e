#include "agents/common/agent_tools.hpp"

#include <algorithm>

namespace agentd::agents {

namespace {

using nlohmann::json;

constexpr size_t kMaxResultChars = 400;  // per item: the model's context is small

std::string bounded(const std::string& text) {
  return text.size() <= kMaxResultChars ? text : text.substr(0, kMaxResultChars) + "...";
}

AgentTool search_notes_tool(TaskContext& ctx) {
  AgentTool t;
  t.name = "search_notes";
  t.description = "Search the user's saved notes by words; returns the best matches.";
  t.parameters = {{"type", "object"},
                  {"properties", {{"query", {{"type", "string"}, {"description", "words to look for"}, {"maxLength", 200}}}}},
                  {"required", {"query"}}};
  t.run = [&ctx](const json& args) {
    if (!args.contains("query") || !args["query"].is_string()) throw std::invalid_argument("'query' must be a string");
    json found = json::array();
    for (const auto& n : ctx.search_notes(args["query"].get<std::string>(), 5)) found.push_back(bounded(n.text));
    return json{{"notes", found}};
  };
  return t;
}

AgentTool recent_activity_tool(TaskContext& ctx) {
  AgentTool t;
  t.name = "recent_activity";
  t.description = "What the assistant's agents finished in the last hours (agent, status, start of the output).";
  t.parameters = {{"type", "object"},
                  {"properties", {{"hours", {{"type", "integer"}, {"minimum", 1}, {"maximum", 168}}}}}};
  t.run = [&ctx](const json& args) {
    const int64_t hours = args.contains("hours") && args["hours"].is_number_integer() ? args["hours"].get<int64_t>() : 24;
    if (hours < 1 || hours > 168) throw std::invalid_argument("'hours' must be between 1 and 168");
    json tasks = json::array();
    for (const auto& task : ctx.activity_since(ctx.now_ms() - hours * 3'600'000, 10).tasks) {
      tasks.push_back({{"id", task.id}, {"agent", task.agent}, {"output", bounded(task.output.value_or(""))}});
    }
    return json{{"tasks", tasks}};
  };
  return t;
}

}  // namespace

std::vector<AgentTool> agent_tools(TaskContext& ctx) { return {search_notes_tool(ctx), recent_activity_tool(ctx)}; }

const std::vector<std::string>& agent_tool_names() {
  static const std::vector<std::string> kNames = {"search_notes", "recent_activity"};
  return kNames;
}

std::vector<AgentTool> agent_tools(TaskContext& ctx, const std::vector<std::string>& names) {
  std::vector<AgentTool> all = agent_tools(ctx), chosen;
  for (const auto& name : names) {
    auto it = std::find_if(all.begin(), all.end(), [&](const AgentTool& t) { return t.name == name; });
    if (it != all.end()) chosen.push_back(*it);
  }
  return chosen;
}

}  // namespace agentd::agents
