// Events between agents: a task's emitted events ("drafter.done") become queued tasks of every
// agent subscribed with {"on": "drafter.done"}. Called inside the transaction that records the
// emitting task's result, so the result and the follow-up tasks commit together.
//
// Each follow-up task has the emitting task as parent, trigger "on <event>", and as input the
// event's data as JSON (with "event" and "from_task" added). Chains are cut at kMaxEventDepth
// ancestors, so two agents triggering each other cannot loop forever: the cut is recorded in the
// emitting task's timeline.
#pragma once

#include <vector>

#include "agents/task_context.hpp"
#include "runtime/agent_catalog.hpp"
#include "storage/task_store.hpp"

namespace agentd::runtime {

inline constexpr int kMaxEventDepth = 8;

// Returns the number of tasks queued.
int publish_events(storage::TaskStore& tasks, const AgentCatalog& catalog, const storage::Task& from,
                   const std::vector<agents::TaskContext::Event>& events);

}  // namespace agentd::runtime
