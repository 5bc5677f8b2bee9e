// Registry: agent plugins by name. The runtime creates one Agent per configured agent with
// create(); a plugin that is not registered is a configuration error naming the known ones.
// builtin_plugins() registers every plugin shipped with agentd.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "agents/agent.hpp"
#include "agents/agent_config.hpp"

namespace agentd::agents {

class Registry {
 public:
  using Factory = std::function<std::unique_ptr<Agent>(const AgentConfig&)>;

  // `description` is shown by `agentd agents plugins`. Registering a name twice replaces it.
  void add(const std::string& plugin, std::string description, Factory factory);
  bool has(const std::string& plugin) const { return plugins_.count(plugin) > 0; }
  std::vector<std::string> names() const;
  const std::string& description(const std::string& plugin) const;
  // Throws ConfigError "<file>: /plugin: unknown plugin 'x' (known: ...)" or the factory's own.
  std::unique_ptr<Agent> create(const AgentConfig& config) const;

 private:
  struct Plugin {
    std::string description;
    Factory factory;
  };
  std::map<std::string, Plugin> plugins_;
};

// A registry with every plugin shipped with agentd.
Registry builtin_plugins();

}  // namespace agentd::agents
