// The Agent plugin interface. A plugin is a class with one method: run a task, given the narrow
// TaskContext (its input, the shared engine, its memory, its folders, events, the timeline),
// and return the task's output text. Everything else (claiming the task, timeouts, recording the
// result, retries after a crash) is the runtime's job.
//
// Contract
// - run() is called on the agent thread, in the task's own fiber; it may block only through the
//   context (ctx.generate() suspends the fiber, not the thread). CPU work should be short.
// - Expected failures throw (any std::exception): the task is recorded failed with what(); the
//   daemon and the other agents go on. A cancelled task (timeout, shutdown, `agentd cancel`)
//   surfaces as TaskCancelled from the context; let it propagate.
// - One Agent object serves every task of its agent, possibly several at once (limits.
//   max_concurrent): keep per-task state on the stack, not in members.
// - The constructor (through the registry's factory) validates the agent's plugin settings and
//   throws ConfigError naming the file and JSON path; a bad file disables that agent only.
//   The AgentConfig it is given does not outlive the call: copy what you need, and read the
//   config at run time through ctx.config().
#pragma once

#include <string>

namespace agentd::agents {

class TaskContext;

class Agent {
 public:
  virtual ~Agent() = default;
  virtual std::string run(TaskContext& ctx) = 0;
};

}  // namespace agentd::agents
