// TaskWindow: per agent, the tasks created in the last `span` (the dashboard's "last 24 h": how
// many, how many finished and failed, the p95 run time), kept in memory and brought up to date by
// reading only what changed: tasks added since the last refresh and the ones not ended then.
// A full read of the window (~86k rows and ~270 ms at 1M tasks, one a second) happens on the
// first refresh and when the window's row count says something else changed it (a prune, a task
// written with an older time). Not thread-safe: the caller serialises refreshes.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "storage/database.hpp"
#include "storage/task_store.hpp"

namespace agentd::storage {

// One agent's tasks created in a window.
struct AgentWindowStats {
  std::string agent;
  int64_t total = 0, finished = 0, failed = 0;  // failed counts failed and interrupted
  double p95_duration_ms = 0;                    // over the tasks with both times (they started and ended)
};

class TaskWindow {
 public:
  explicit TaskWindow(int64_t span_ms) : span_ms_(span_ms) {}

  // Brings the window to `now_ms` (tasks created at or after now - span) from one snapshot of
  // `db`, and returns each agent's figures, agents by name.
  std::vector<AgentWindowStats> refresh(Database& db, int64_t now_ms);

  // Rows read by the last refresh, and whether it read the whole window (for tests and benches).
  struct LastRefresh {
    int64_t rows_read = 0;
    bool full = false;
  };
  LastRefresh last_refresh() const { return last_; }

 private:
  struct Entry {  // one task in the window
    std::string agent;
    int64_t created_at = 0;
    TaskStatus status = TaskStatus::queued;
    std::optional<int64_t> duration_ms;
  };
  static Entry entry_of(const Statement& row);  // a row of the window's columns
  void read_all(Database& db, int64_t since);
  void read_new(Database& db, int64_t since);
  void read_open(Database& db);
  std::vector<AgentWindowStats> figures() const;

  int64_t span_ms_;
  std::map<int64_t, Entry> entries_;  // by task id
  int64_t max_id_ = 0;                // the highest id read so far
  bool loaded_ = false;               // the window was read whole once
  LastRefresh last_;
};

}  // namespace agentd::storage
