// What a task is about, for plugins that take a text to work on (coder: the task, drafter: the
// brief): the task's input, else the agent's standing setting, trimmed, never empty, bounded.
#pragma once

#include <cstddef>
#include <string>

namespace agentd::agents {

class TaskContext;

struct TaskText {
  const char* noun;         // "task": "no task: give the task an input ..."
  const char* described;    // "the task description": "<described> is N bytes; at most M"
  const char* setting;      // the settings key of the standing text: "settings.<setting>"
  std::size_t max_bytes;
};

// ctx.input(), else `standing`, trimmed. Throws std::runtime_error saying how to give one when
// both are empty, and naming both sizes when it is longer than `what.max_bytes`.
std::string task_text(const TaskContext& ctx, const std::string& standing, const TaskText& what);

}  // namespace agentd::agents
