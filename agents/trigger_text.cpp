// TriggerConfig::text(): the canonical text of a trigger, the key of its state in storage.
#include "agents/agent_config.hpp"

namespace agentd::agents {

namespace {

std::string interval_text(int64_t ms) {
  struct Unit {
    int64_t ms;
    const char* name;
  };
  static constexpr Unit units[] = {{604'800'000, "w"}, {86'400'000, "d"}, {3'600'000, "h"}, {60'000, "m"}, {1000, "s"}, {1, "ms"}};
  std::string text;
  for (const Unit& u : units) {
    if (ms >= u.ms) {
      text += std::to_string(ms / u.ms) + u.name;
      ms %= u.ms;
    }
  }
  return text.empty() ? "0s" : text;
}

}  // namespace

std::string TriggerConfig::text() const {
  switch (kind) {
    case Kind::interval: return "every " + interval_text(every_ms);
    case Kind::cron: return "cron " + cron + " " + time_zone;
    case Kind::watch: return "watch " + folder.string() + " " + glob;
    case Kind::event: return "on " + event;
  }
  return "?";
}

}  // namespace agentd::agents
