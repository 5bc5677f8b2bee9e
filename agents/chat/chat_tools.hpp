// The functions the chat model may call (TaskContext::generate_with_tools): search the agent's
// notes, and look up what the agents finished lately. Read-only; each answer is bounded.
#pragma once

#include <vector>

#include "agents/task_context.hpp"

namespace agentd::agents {

std::vector<AgentTool> chat_tools(TaskContext& ctx);

}  // namespace agentd::agents
