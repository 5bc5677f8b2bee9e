// AgentCatalog: the agents the daemon runs, loaded from agents.d, and the event subscriptions
// between them. load() replaces the whole set (start-up and SIGHUP); running tasks keep the
// shared_ptr of the definition they started with, so a reload never pulls an agent out from
// under a running task. Used on the agent thread only (fibers of one thread: no locking).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "agents/registry.hpp"
#include "runtime/agent_config_file.hpp"

namespace agentd::runtime {

class AgentCatalog {
 public:
  struct Report {
    int usable = 0, disabled = 0, broken = 0;
    std::vector<std::string> errors;  // one per broken file
  };

  AgentCatalog(AgentsOptions options, agents::Registry registry)
      : options_(std::move(options)), registry_(std::move(registry)) {}

  // Reads agents.d again. A folder that cannot be read keeps the previous set and throws
  // ConfigError; bad files are reported and skipped.
  Report load();

  std::shared_ptr<const LoadedAgent> find(const std::string& name) const;
  // Names of the enabled, valid agents.
  std::vector<std::string> usable_names() const;
  // Enabled agents with an {"on": event} trigger.
  std::vector<std::shared_ptr<const LoadedAgent>> subscribers(const std::string& event) const;
  const std::vector<AgentEntry>& entries() const { return entries_; }
  const AgentsOptions& options() const { return options_; }

 private:
  AgentsOptions options_;
  agents::Registry registry_;
  std::vector<AgentEntry> entries_;
  std::map<std::string, std::shared_ptr<const LoadedAgent>> usable_;
};

}  // namespace agentd::runtime
