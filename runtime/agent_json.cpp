#include "runtime/agent_json.hpp"

#include <cmath>

#include "runtime/time_spec.hpp"

namespace agentd::runtime {

using nlohmann::json;

namespace {

// 0.05f prints as 0.05, not 0.05000000074505806.
double tidy(float x) { return std::round(static_cast<double>(x) * 1e6) / 1e6; }

}  // namespace

json config_json(const agents::AgentConfig& c) {
  json triggers = json::array();
  for (const auto& t : c.triggers) triggers.push_back(t.text());
  auto paths = [](const std::vector<std::filesystem::path>& list) {
    json out = json::array();
    for (const auto& p : list) out.push_back(p.string());
    return out;
  };
  const auto& g = c.generation;
  json generation = {{"max_tokens", g.max_tokens}, {"temperature", tidy(g.temperature)}, {"top_p", tidy(g.top_p)},
                     {"top_k", g.top_k}, {"min_p", tidy(g.min_p)}, {"repeat_penalty", tidy(g.repeat_penalty)},
                     {"section_tokens", g.section_tokens},
                     {"reasoning_budget", g.reasoning_budget}};
  if (g.seed) generation["seed"] = *g.seed;
  return {{"name", c.name}, {"plugin", c.plugin}, {"description", c.description}, {"enabled", c.enabled},
          {"priority", scheduler::to_string(c.priority)}, {"triggers", triggers}, {"route", c.route},
          {"generation", generation}, {"system_prompt", c.system_prompt}, {"prompt", c.prompt},
          {"folders", {{"read", paths(c.read_folders)}, {"write", paths(c.write_folders)}}},
          {"limits", {{"timeout", format_duration(c.limits.timeout.count())}, {"max_concurrent", c.limits.max_concurrent},
                      {"max_input_bytes", c.limits.max_input_bytes}}},
          {"settings", c.settings}, {"file", c.file.string()}};
}

}  // namespace agentd::runtime
