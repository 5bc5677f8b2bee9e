// LiveOutput: the text an interactive task's model calls are producing, while they produce it,
// for whoever watches the task (GET /api/tasks/ID/events sends it as "delta" events; the
// dashboard's Chat page shows the chat agent's answer from them as it is written).
//
// Written by TaskContext on the agent thread (a fiber: the lock is held for an append, never
// across a switch), read by HTTP workers (plain threads, which may wait for a change). Only
// interactive tasks write here: reading a generation piece by piece wakes the task's fiber per
// token, which is worth it only where a person waits for the answer.
//
// Bounded: the last kTasks tasks are kept (a watcher that arrives after the task ended still
// reads its text), each up to kMaxBytes; past that the text stops growing. The stored task
// output stays the authority: the stream is a preview of it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace agentd::agents {

class LiveOutput {
 public:
  static constexpr size_t kTasks = 16;
  static constexpr size_t kMaxBytes = 64 * 1024;

  struct Snapshot {
    uint64_t version = 0;  // grows with every change of this task's text
    int call = 0;          // the task's model calls so far (1 = the first); the text is the last one's
    std::string text;
  };

  // A new model call of `task`: its text starts empty.
  void begin_call(int64_t task);
  void append(int64_t task, std::string_view piece);

  // The task's text once its version differs from `seen` (at once if it already does), or
  // nullopt when `timeout` passes first or nothing was written for the task.
  std::optional<Snapshot> wait_change(int64_t task, uint64_t seen, std::chrono::milliseconds timeout);

 private:
  struct Entry {
    Snapshot snapshot;
    uint64_t begun = 0;  // order of first call, for dropping the oldest
  };

  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<int64_t, Entry> tasks_;  // guarded by mutex_
  uint64_t next_begun_ = 0;         // guarded by mutex_
};

}  // namespace agentd::agents
