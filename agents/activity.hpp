// What an agent sees of stored notes and finished tasks: plain values copied out of storage by
// TaskContext, so a plugin never includes a storage header (the build refuses it; see
// docs/design.md, "Modules and who may use whom").
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace agentd::agents {

struct Note {
  int64_t id = 0;
  std::string agent;
  int64_t at = 0;  // ms since the epoch
  std::string text;
};

// A finished task as TaskContext::activity_since() reports it.
struct FinishedTask {
  int64_t id = 0;
  std::string agent;
  std::string plugin;
  std::string trigger;
  std::optional<std::string> output;
  std::optional<int64_t> finished_at;  // ms since the epoch
};

}  // namespace agentd::agents
