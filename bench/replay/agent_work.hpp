// The twelve shipped agents' model calls, as the replay issues them: each agent's standing
// instructions (agents.d/ system prompts and answer budgets, the plugins' prompt wording), its
// inputs from the shipped samples, and its triggers over a compressed day. One agent is one
// chain: its runs go one after another, as the daemon's task runner runs them.
#pragma once

#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "replay_trace.hpp"
#include "workload.hpp"

namespace agentd::bench::replay {

// agents.d/*.json and the samples under agents/, read once.
class AgentSources {
 public:
  explicit AgentSources(const std::filesystem::path& root);
  std::string system_prompt(const std::string& agent) const;   // "" when it has none
  int max_tokens(const std::string& agent, int fallback) const;  // generation.max_tokens (or section_tokens)
  // The shipped sample files of an agent (relative to agents/<agent>/samples), their text.
  const std::vector<std::string>& samples(const std::string& agent) const;
  // Plausible text of about `chars` characters, words drawn from the samples.
  std::string filler(std::mt19937_64& rng, size_t chars) const;

 private:
  std::map<std::string, nlohmann::json> config_;
  std::map<std::string, std::vector<std::string>> samples_;
  std::vector<std::string> words_;
};

struct AgentWork {
  std::string name;
  std::vector<double> every_h;  // "every" triggers, hours (each also fires at start: run_once)
  std::vector<double> cron_h;   // daily cron triggers, hour of the day
};
const std::vector<AgentWork>& twelve_agents();

// Appends the agent's day (every trigger's run, as a task of one or more requests) to `day`.
void add_agent_day(const AgentWork& work, const AgentSources& src, const WorkloadOptions& o, std::mt19937_64& rng,
                   const std::string& suffix, int chain, int& task, std::vector<ReplayRequest>& day);

}  // namespace agentd::bench::replay
