// TriggerRunner: turns the agents' triggers into queued tasks. Timers ("every", "cron") and file
// watches live here; events are published with a task's result (runtime/events) and manual runs
// come from `agentd submit`.
//
// - Each fire is one transaction: the task is queued and the trigger's last/next fire time is
//   recorded (storage::ScheduleStore) together, so a crash neither loses nor doubles a run.
// - sync() takes the current agent set (start-up, SIGHUP). A trigger seen for the first time:
//   an interval fires at once, then every period; a cron fires at its next time; a watch takes
//   the present files as seen. A trigger known from an earlier run of the daemon applies its
//   missed-run policy (skip, run once, run each up to 10), and a watch queues the files that
//   appeared in its folder meanwhile (up to 100). Triggers kept across a reload keep their state;
//   triggers no longer configured are forgotten.
// - tick(now) queues what is due: timers whose time has come and file changes quiet for their
//   debounce interval. Time is passed in (wall clock ms), so tests drive it.
// - A task's input: "" for a timer, the file's absolute path for a watch.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/agent_catalog.hpp"
#include "scheduler/file_watch.hpp"
#include "scheduler/schedule.hpp"
#include "storage/database.hpp"
#include "storage/schedule_store.hpp"
#include "storage/task_store.hpp"

namespace agentd::runtime {

struct TriggerState {
  std::string agent;
  std::string trigger;  // canonical text
  std::optional<int64_t> last_fire;
  std::optional<int64_t> next_fire;  // timers only
};

class TriggerRunner {
 public:
  explicit TriggerRunner(storage::Database& db);

  // Replaces the trigger set with the triggers of `catalog`'s usable agents. Returns the number
  // of tasks queued by missed-run catch-up. A watch whose folder cannot be watched is logged and
  // skipped (the agent's other triggers still work).
  int sync(const AgentCatalog& catalog, int64_t now_ms);
  // Waits up to `wait` for file events, then queues everything due at `now_ms`. Returns the
  // number of tasks queued.
  int tick(int64_t now_ms, std::chrono::milliseconds wait = std::chrono::milliseconds(0));
  // The earliest time something may become due (a timer, a debounced file), if any.
  std::optional<int64_t> next_due() const;
  std::vector<TriggerState> states() const;

 private:
  struct Timer {
    std::shared_ptr<const LoadedAgent> agent;
    std::string text;
    scheduler::Schedule schedule;
    std::optional<int64_t> last_fire;
    std::optional<int64_t> next_fire;
  };
  struct Watch {
    std::shared_ptr<const LoadedAgent> agent;
    std::string text;
    std::optional<int64_t> last_fire;
  };

  // Queues one task for `agent` and records the fire, in one transaction.
  void fire(const LoadedAgent& agent, const std::string& trigger, const std::string& input, int64_t now_ms,
            std::optional<int64_t> next_fire);
  void add_timer(std::shared_ptr<const LoadedAgent> agent, const agents::TriggerConfig& t, int64_t now_ms, int& queued);
  void add_watch(std::shared_ptr<const LoadedAgent> agent, const agents::TriggerConfig& t, int64_t now_ms, int& queued);

  storage::Database& db_;
  storage::TaskStore tasks_;
  storage::ScheduleStore schedules_;
  std::map<std::string, Timer> timers_;   // key: agent + '\n' + trigger text
  std::map<std::string, Watch> watches_;  // same key, also the FileWatcher's watch id
  std::unique_ptr<scheduler::FileWatcher> files_;
};

}  // namespace agentd::runtime
