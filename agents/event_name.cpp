#include "agents/event_name.hpp"

#include <algorithm>

namespace agentd::agents {

namespace {

bool lower_or_digit(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// [a-z0-9][a-z0-9_<extra>]* where `extra` lists the punctuation allowed after the first character.
bool word(std::string_view s, std::string_view extra) {
  return !s.empty() && lower_or_digit(s[0]) &&
         std::all_of(s.begin() + 1, s.end(), [&](char c) { return lower_or_digit(c) || c == '_' || extra.find(c) != std::string_view::npos; });
}

std::optional<std::string> too_long(std::string_view name) {
  if (name.size() <= kMaxEventNameLength) return std::nullopt;
  return "an event name is at most " + std::to_string(kMaxEventNameLength) + " characters, this one has " +
         std::to_string(name.size());
}

}  // namespace

std::optional<std::string> emitted_event_problem(std::string_view name) {
  if (auto problem = too_long(name)) return problem;
  if (!word(name, ".-")) return "'" + std::string(name) + "' is not an event name (lower-case letters, digits, _ . -)";
  return std::nullopt;
}

std::optional<std::string> trigger_event_problem(std::string_view name) {
  if (auto problem = too_long(name)) return problem;
  size_t dot = name.find('.');
  bool ok = dot != std::string_view::npos && valid_agent_name(name.substr(0, dot)) && word(name.substr(dot + 1), ".-");
  if (!ok) return "'" + std::string(name) + "' is not an event name like \"drafter.done\"";
  return std::nullopt;
}

bool valid_agent_name(std::string_view name) {
  return !name.empty() && name.size() <= 64 && name[0] >= 'a' && name[0] <= 'z' && word(name, "-");
}

}  // namespace agentd::agents
