// agents.d/*.json: reading and validating agent definitions. Every problem is a ConfigError
// naming the file, the JSON path and the reason (with the nearest known key for a typo). A bad
// file disables that agent only: load_agents_dir() returns it with its error, and the daemon
// runs the rest.
//
// Paths in an agent file ("folders", a watch trigger's folder) may start with "~/" (the home
// folder) or be relative to the agent file's folder. Each must lie inside one of the allowed
// roots (agentd.json "agents": {"roots": [...]}; by default the home folder, the data directory
// and the folder that holds agents.d), so a typo cannot hand an agent /etc.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agents/agent.hpp"
#include "agents/agent_config.hpp"
#include "agents/config_reader.hpp"
#include "agents/registry.hpp"

namespace agentd::runtime {

using agents::ConfigError;

struct AgentsOptions {
  std::filesystem::path dir;                 // agents.d; empty = <data dir>/agents.d
  std::vector<std::filesystem::path> roots;  // folders agents may name; empty = the defaults above
  int max_tokens = 256;                      // default of "generation": {"max_tokens"}
  std::chrono::milliseconds timeout{10 * 60'000};  // default of "limits": {"timeout"}
};

// `options` with dir and roots filled in from the data directory and $HOME when empty.
AgentsOptions with_defaults(AgentsOptions options, const std::filesystem::path& data_dir);

// Parses and validates one agent file (plugin settings included, by creating the plugin).
// Throws ConfigError.
struct LoadedAgent {
  agents::AgentConfig config;
  std::shared_ptr<agents::Agent> agent;
};
LoadedAgent read_agent_file(const std::filesystem::path& file, const AgentsOptions& options,
                            const agents::Registry& registry);

struct AgentEntry {
  std::filesystem::path file;          // with bad bytes escaped (\xFF) if its name is not UTF-8
  std::string name;                    // from the file, or its file name when unreadable
  std::optional<LoadedAgent> loaded;   // empty when the file has an error
  std::string error;
  bool usable() const { return loaded && loaded->config.enabled; }
};

// Every *.json in options.dir, by file name. A name defined twice: the later file gets an error.
// Throws ConfigError only when the folder itself cannot be read.
std::vector<AgentEntry> load_agents_dir(const AgentsOptions& options, const agents::Registry& registry);

}  // namespace agentd::runtime
