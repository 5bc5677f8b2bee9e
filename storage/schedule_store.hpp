// Last and next fire time of each agent trigger, so the daemon knows after a restart which runs
// it missed while it was down.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "storage/database.hpp"

namespace agentd::storage {

struct ScheduleState {
  std::string agent;
  std::string trigger;  // the trigger's canonical text, e.g. "every 15m" or "cron 0 7 * * * Europe/Paris"
  std::optional<int64_t> last_fire_at;
  std::optional<int64_t> next_fire_at;
};

class ScheduleStore {
 public:
  explicit ScheduleStore(Database& db) : db_(db) {}

  std::optional<ScheduleState> get(std::string_view agent, std::string_view trigger);
  void record_fire(std::string_view agent, std::string_view trigger, int64_t fired_at,
                   std::optional<int64_t> next_fire_at);
  void set_next(std::string_view agent, std::string_view trigger, std::optional<int64_t> next_fire_at);
  std::vector<ScheduleState> list();
  // Forgets triggers no longer configured (agent removed or trigger changed).
  int forget_except(const std::vector<std::pair<std::string, std::string>>& keep);

 private:
  Database& db_;
};

}  // namespace agentd::storage
