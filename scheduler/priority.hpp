// Priority classes shared by the scheduler, the engine and agents.
#pragma once

#include <optional>
#include <string_view>

namespace agentd::scheduler {

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

}  // namespace agentd::scheduler
