// TaskRunner: runs one claimed task through its agent and records the outcome. It builds the
// Dispatcher job for a task and holds the dispatcher hooks, so every way a task can end is
// decided in one place:
//
//   the agent returns                → finished (its events published in the same transaction;
//                                      a storage error that may pass is retried for a minute,
//                                      the result held)
//   the agent throws                 → failed with the message
//   its timeout passes               → failed "timed out after ..." at once (a late result is
//                                      ignored), and the agent is cancelled
//   `agentd cancel` / HTTP cancel    → cancelled (recorded by whoever cancelled it)
//   the daemon stops (SIGTERM)       → interrupted, run again at the next start (up to
//                                      max_attempts)
//   still running `stuck_after` after any of the cancels above → failed "stuck"; its slot is
//                                      freed, the fiber is left to end on its own
// Used on the agent thread only.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <set>

#include "agents/live_output.hpp"
#include "agents/task_context.hpp"
#include "engine/engine.hpp"
#include "engine/router.hpp"
#include "runtime/agent_catalog.hpp"
#include "scheduler/blocking_pool.hpp"
#include "scheduler/dispatcher.hpp"
#include "storage/memory_store.hpp"
#include "storage/task_store.hpp"

namespace agentd::runtime {

class TaskRunner {
 public:
  TaskRunner(engine::Engine& engine, storage::Database& db, const AgentCatalog& catalog,
             std::function<int64_t()> now_ms = storage::now_ms);

  // Agents' model calls go through `router` when one is set (local / cloud / auto per agent).
  void set_router(engine::Router* router) { router_ = router; }
  // Interactive tasks write their model calls' text there as it comes (the Chat page's stream).
  void set_live_output(agents::LiveOutput* live) { live_ = live; }
  scheduler::Job job_for(storage::Task task, std::shared_ptr<const LoadedAgent> agent);
  scheduler::DispatcherHooks hooks();
  // From now on, a cancelled task is recorded as interrupted (the daemon is stopping).
  void shutting_down() { shutting_down_ = true; }
  // Ids of the tasks whose jobs are running (for noticing cancellations made by other processes).
  const std::set<int64_t>& running() const { return running_; }

 private:
  void run(const storage::Task& task, const LoadedAgent& agent, std::stop_token stop);
  void finish(const storage::Task& task, const std::vector<agents::TaskContext::Event>& emitted, const std::string& output,
              const std::stop_token& stop);
  static void recording(const scheduler::Job& job, const std::function<void()>& write);

  engine::Engine& engine_;
  storage::Database& db_;
  storage::TaskStore tasks_;
  storage::MemoryStore memory_;
  const AgentCatalog& catalog_;
  std::function<int64_t()> now_ms_;
  engine::Router* router_ = nullptr;
  agents::LiveOutput* live_ = nullptr;
  std::atomic<bool> shutting_down_{false};
  std::set<int64_t> timed_out_;
  std::set<int64_t> running_;
  // Threads for the agents' blocking calls (TaskContext::call_blocking: feed fetches): at most
  // this many run at once, the rest queue. Last, so it stops and joins first.
  scheduler::BlockingPool blocking_{kBlockingThreads};
  static constexpr std::size_t kBlockingThreads = 4;
};

}  // namespace agentd::runtime
