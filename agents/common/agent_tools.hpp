// The functions a model may call through TaskContext::generate_with_tools, shared by the agents
// that offer them (chat; any prompt agent whose file lists them in "tools"): search the agent's
// notes, and look up what the agents finished lately. Read-only; each answer is bounded.
#pragma once

#include <string>
#include <vector>

#include "agents/task_context.hpp"

namespace agentd::agents {

// Every tool, bound to `ctx` (which must outlive them).
std::vector<AgentTool> agent_tools(TaskContext& ctx);

// The names agent_tools() offers, for checking an agent file.
const std::vector<std::string>& agent_tool_names();

// The tools named, in that order (names from agent_tool_names()).
std::vector<AgentTool> agent_tools(TaskContext& ctx, const std::vector<std::string>& names);

}  // namespace agentd::agents
