// Priority classes: vocabulary every module shares (storage records a task's class, the scheduler
// grants by it, the engine and agents pass it on). In core/ so that storage can name it without
// depending on the scheduler; scheduler/priority.hpp re-exports it as scheduler::Priority.
#pragma once

#include <optional>
#include <string_view>

namespace agentd::core {

// Lower value = more urgent. User chat outranks agent tool calls, which outrank automation.
enum class Priority : int { interactive = 0, tool = 1, background = 2 };
inline constexpr int kPriorityClasses = 3;

constexpr std::string_view to_string(Priority p) {
  switch (p) {
    case Priority::interactive: return "interactive";
    case Priority::tool: return "tool";
    case Priority::background: return "background";
  }
  return "?";
}

constexpr std::optional<Priority> parse_priority(std::string_view s) {
  if (s == "interactive") return Priority::interactive;
  if (s == "tool") return Priority::tool;
  if (s == "background") return Priority::background;
  return std::nullopt;
}

constexpr int index(Priority p) { return static_cast<int>(p); }

}  // namespace agentd::core
