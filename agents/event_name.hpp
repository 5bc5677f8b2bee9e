// Event names ("drafter.done") and agent names ("morning-digest"), checked by a loop over the
// characters with a length limit first. Not std::regex: libstdc++'s matcher recurses once per
// character, so a name of a few hundred thousand characters in an agent file overflowed the stack
// of `agentd agents` and of the daemon at start-up (issue #14).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace agentd::agents {

inline constexpr size_t kMaxEventNameLength = 128;

// Why `name` is not an event name an agent may emit ("done", "report.ready": [a-z0-9][a-z0-9_.-]*,
// at most 128 characters), or nullopt.
std::optional<std::string> emitted_event_problem(std::string_view name);

// Why `name` is not an event a trigger may name ("drafter.done": the emitting agent, a dot, the
// emitted name; [a-z][a-z0-9_-]*\.[a-z0-9][a-z0-9_.-]*, at most 128 characters), or nullopt.
std::optional<std::string> trigger_event_problem(std::string_view name);

// Whether `name` is an agent name: [a-z][a-z0-9_-]{0,63}.
bool valid_agent_name(std::string_view name);

}  // namespace agentd::agents
