// The `digest` plugin: a daily briefing assembled from the other agents' results in storage.
//
// Each task reads ctx.activity_since(now - "lookback"): every agent's finished tasks and notes of
// the period. Grouping, skipping its own past digests and capping each agent's material are done
// in code (activity_digest). Then one short model call per agent section summarises that agent's
// material only; a section's items (task outputs and notes, as excerpts) are listed under the
// summary whatever the model writes, and an empty answer falls back to the counts.
//
// Why one ctx.generate per section rather than generate_long with the agent names as the
// outline: sectional generation gives every section the same brief, so each section's prompt
// would carry every agent's material; a call per agent keeps each prompt to one agent's capped
// material, which small local models (and small context windows) handle.
//
// Written as digest-YYYY-MM-DD.md in the first write folder (replaced by a later run the same
// day) and returned. A day with no activity from other agents gives a digest saying so, with no
// model call.
//
//   "settings": {
//     "lookback": "24h",
//     "max_tasks_per_agent": 5,
//     "max_notes_per_agent": 5,
//     "max_chars_per_agent": 1200,   // material per agent (prompt and listing)
//     "time_zone": "Europe/Paris"    // file date and times; default the system's zone
//   }
#pragma once

#include <chrono>
#include <string>

#include "agents/agent.hpp"
#include "agents/agent_config.hpp"
#include "agents/common/time_zone.hpp"
#include "agents/digest/activity_digest.hpp"

namespace agentd::agents {

class DigestAgent : public Agent {
 public:
  // Throws ConfigError naming the file and JSON path of a bad setting.
  explicit DigestAgent(const AgentConfig& config);
  std::string run(TaskContext& ctx) override;

 private:
  // `items` is section_items_markdown(section).
  std::string summarise(TaskContext& ctx, const AgentSection& section, const std::string& items) const;

  std::chrono::milliseconds lookback_{24 * 3600'000};
  DigestLimits limits_;
  TimeZone zone_;
};

}  // namespace agentd::agents
