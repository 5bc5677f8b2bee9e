#include "storage/schedule_store.hpp"

#include <set>

namespace agentd::storage {

std::optional<ScheduleState> ScheduleStore::get(std::string_view agent, std::string_view trigger) {
  auto& s = db_.cached("SELECT agent, trigger, last_fire_at, next_fire_at FROM schedules WHERE agent = ? AND trigger = ?");
  s.bind_all(agent, trigger);
  if (!s.step()) return std::nullopt;
  ScheduleState st{s.text(0), s.text(1), s.optional_int64(2), s.optional_int64(3)};
  s.reset();
  return st;
}

void ScheduleStore::record_fire(std::string_view agent, std::string_view trigger, int64_t fired_at,
                                std::optional<int64_t> next_fire_at) {
  db_.cached("INSERT INTO schedules (agent, trigger, last_fire_at, next_fire_at) VALUES (?, ?, ?, ?) "
             "ON CONFLICT (agent, trigger) DO UPDATE SET last_fire_at = excluded.last_fire_at, "
             "next_fire_at = excluded.next_fire_at")
      .bind_all(agent, trigger, fired_at, next_fire_at)
      .run();
}

void ScheduleStore::set_next(std::string_view agent, std::string_view trigger, std::optional<int64_t> next_fire_at) {
  db_.cached("INSERT INTO schedules (agent, trigger, next_fire_at) VALUES (?, ?, ?) "
             "ON CONFLICT (agent, trigger) DO UPDATE SET next_fire_at = excluded.next_fire_at")
      .bind_all(agent, trigger, next_fire_at)
      .run();
}

std::vector<ScheduleState> ScheduleStore::list() {
  auto& s = db_.cached("SELECT agent, trigger, last_fire_at, next_fire_at FROM schedules ORDER BY agent, trigger");
  std::vector<ScheduleState> out;
  while (s.step()) out.push_back({s.text(0), s.text(1), s.optional_int64(2), s.optional_int64(3)});
  s.reset();
  return out;
}

int ScheduleStore::forget_except(const std::vector<std::pair<std::string, std::string>>& keep) {
  std::set<std::pair<std::string, std::string>> wanted(keep.begin(), keep.end());
  int removed = 0;
  Transaction tx(db_);
  for (const auto& st : list()) {
    if (wanted.count({st.agent, st.trigger})) continue;
    db_.cached("DELETE FROM schedules WHERE agent = ? AND trigger = ?").bind_all(st.agent, st.trigger).run();
    ++removed;
  }
  tx.commit();
  return removed;
}

}  // namespace agentd::storage
