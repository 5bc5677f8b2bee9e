#include "runtime/agent_catalog.hpp"

#include <spdlog/spdlog.h>

namespace agentd::runtime {

AgentCatalog::Report AgentCatalog::load() {
  std::vector<AgentEntry> entries = load_agents_dir(options_, registry_);
  Report report;
  std::map<std::string, std::shared_ptr<const LoadedAgent>> usable;
  for (const AgentEntry& e : entries) {
    if (!e.loaded) {
      ++report.broken;
      report.errors.push_back(e.error);
      spdlog::error("agent {} disabled: {}", e.name, e.error);
    } else if (!e.loaded->config.enabled) {
      ++report.disabled;
      spdlog::info("agent {} is disabled in {}", e.name, e.file.string());
    } else {
      ++report.usable;
      usable[e.name] = std::make_shared<const LoadedAgent>(*e.loaded);
    }
  }
  entries_ = std::move(entries);
  usable_ = std::move(usable);
  return report;
}

std::shared_ptr<const LoadedAgent> AgentCatalog::find(const std::string& name) const {
  auto it = usable_.find(name);
  return it == usable_.end() ? nullptr : it->second;
}

std::vector<std::string> AgentCatalog::usable_names() const {
  std::vector<std::string> names;
  for (const auto& [name, agent] : usable_) names.push_back(name);
  return names;
}

std::vector<std::shared_ptr<const LoadedAgent>> AgentCatalog::subscribers(const std::string& event) const {
  std::vector<std::shared_ptr<const LoadedAgent>> out;
  for (const auto& [name, agent] : usable_) {
    for (const auto& t : agent->config.triggers) {
      if (t.kind == agents::TriggerConfig::Kind::event && t.event == event) {
        out.push_back(agent);
        break;
      }
    }
  }
  return out;
}

}  // namespace agentd::runtime
