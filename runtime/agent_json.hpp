// An agent's definition as JSON, every default filled in: `agentd agents show` prints it and the
// daemon's status carries it (the dashboard's Agents page shows the definition as loaded).
#pragma once

#include <nlohmann/json.hpp>

#include "agents/agent_config.hpp"

namespace agentd::runtime {

nlohmann::json config_json(const agents::AgentConfig& c);

}  // namespace agentd::runtime
