#include "runtime/task_runner.hpp"

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <algorithm>
#include <boost/fiber/operations.hpp>
#include <chrono>

#include "agents/task_context.hpp"
#include "runtime/events.hpp"
#include "runtime/time_spec.hpp"

namespace agentd::runtime {

TaskRunner::TaskRunner(engine::Engine& engine, storage::Database& db, const AgentCatalog& catalog,
                       std::function<int64_t()> now_ms)
    : engine_(engine), db_(db), tasks_(db), memory_(db), catalog_(catalog), now_ms_(std::move(now_ms)) {}

scheduler::Job TaskRunner::job_for(storage::Task task, std::shared_ptr<const LoadedAgent> agent) {
  scheduler::Job job;
  job.id = task.id;
  job.group = task.agent;
  job.priority = task.priority;
  job.timeout = agent->config.limits.timeout;
  job.run = [this, task = std::move(task), agent = std::move(agent)](std::stop_token stop) {
    running_.insert(task.id);
    try {
      run(task, *agent, std::move(stop));
    } catch (...) {  // recording the task's end failed (database busy or full): on_exception
      running_.erase(task.id);
      timed_out_.erase(task.id);
      throw;
    }
    running_.erase(task.id);
    timed_out_.erase(task.id);
  };
  return job;
}

namespace {

// Storage errors that pass on their own: another writer's lock, a full disk someone frees, an I/O
// hiccup. Others (a damaged or read-only file) would fail the same way again.
bool may_pass(int sqlite_code) {
  const int primary = sqlite_code & 0xff;
  return primary == SQLITE_BUSY || primary == SQLITE_LOCKED || primary == SQLITE_FULL || primary == SQLITE_IOERR;
}

constexpr std::chrono::seconds kFinishRetryFor{60};

}  // namespace

void TaskRunner::run(const storage::Task& task, const LoadedAgent& agent, std::stop_token stop) {
  spdlog::info("task {} ({}) started{}", task.id, task.agent, task.attempt > 1 ? " (attempt " + std::to_string(task.attempt) + ")" : "");
  agents::TaskContext ctx(agent.config, task, agents::TaskServices{engine_, tasks_, memory_, now_ms_, router_, &blocking_, live_}, stop);
  std::string output;
  try {
    output = agent.agent->run(ctx);
  } catch (const agents::TaskCancelled&) {
    if (timed_out_.erase(task.id)) {
      spdlog::warn("task {} stopped after its timeout", task.id);
    } else if (shutting_down_) {
      tasks_.interrupt(task.id, "the daemon stopped before the task ended");
      spdlog::warn("task {} interrupted by shutdown", task.id);
    } else {
      tasks_.cancel(task.id, "cancelled");
      spdlog::info("task {} cancelled", task.id);
    }
    return;
  } catch (const std::exception& e) {  // the agent's failure is this task's only
    tasks_.fail(task.id, e.what());
    spdlog::error("task {} ({}) failed: {}", task.id, task.agent, e.what());
    return;
  }
  finish(task, ctx.emitted(), output, stop);
}

// The result and the follow-up tasks its events start, in one transaction. A storage error that
// may pass is retried with the result held, for up to kFinishRetryFor (a result is the model's
// work: a full disk freed within the minute loses nothing); past that, or on another error, or
// when the daemon stops, it propagates and on_exception records the failure.
void TaskRunner::finish(const storage::Task& task, const std::vector<agents::TaskContext::Event>& emitted,
                        const std::string& output, const std::stop_token& stop) {
  const auto give_up_at = std::chrono::steady_clock::now() + kFinishRetryFor;
  for (auto delay = std::chrono::milliseconds(100);; delay = std::min(delay * 2, std::chrono::milliseconds(5000))) {
    try {
      storage::Transaction tx(db_);
      if (!tasks_.finish(task.id, output)) {
        spdlog::info("task {} returned after it had already ended (timed out or cancelled); result dropped", task.id);
        return;
      }
      int queued = publish_events(tasks_, catalog_, task, emitted);
      tx.commit();
      spdlog::info("task {} finished: {} bytes{}", task.id, output.size(),
                   queued ? ", " + std::to_string(queued) + " follow-up task(s)" : "");
      return;
    } catch (const storage::DatabaseError& e) {
      if (!may_pass(e.code()) || shutting_down_ || stop.stop_requested() ||
          std::chrono::steady_clock::now() + delay > give_up_at) {
        throw;
      }
      spdlog::warn("task {} ({}): could not record its result: {}; the result is kept, trying again in {} ms", task.id,
                   task.agent, e.what(), delay.count());
      boost::this_fiber::sleep_for(delay);
    }
  }
}

// A task's end recorded in the database; if the database refuses (busy, full, I/O), the task stays
// `running` there and the next start's recovery settles it (interrupted, then retried or failed).
void TaskRunner::recording(const scheduler::Job& job, const std::function<void()>& write) {
  try {
    write();
  } catch (const std::exception& e) {
    spdlog::error("task {} ({}): could not record its end: {}; the next start settles it", job.id, job.group, e.what());
  }
}

scheduler::DispatcherHooks TaskRunner::hooks() {
  scheduler::DispatcherHooks h;
  h.on_timeout = [this](const scheduler::Job& job) {
    timed_out_.insert(job.id);
    std::string limit = job.timeout ? format_duration(job.timeout->count()) : "?";
    spdlog::warn("task {} ({}) timed out after {}", job.id, job.group, limit);
    recording(job, [&] { tasks_.fail(job.id, "timed out after " + limit + " (limits.timeout)"); });
  };
  h.on_stuck = [this](const scheduler::Job& job) {
    spdlog::error("task {} ({}) is stuck; its slot was freed", job.id, job.group);
    recording(job, [&] {
      tasks_.add_event(job.id, storage::event::log, {{"message", "stuck: did not stop after being cancelled"}});
      tasks_.fail(job.id, "stuck: the agent did not stop after being cancelled; its slot was freed");
    });
  };
  h.on_exception = [this](const scheduler::Job& job, std::exception_ptr error) {
    std::string what = "unexpected error outside the agent";
    try {
      if (error) std::rethrow_exception(error);
    } catch (const std::exception& e) {
      what += std::string(": ") + e.what();
    } catch (...) {
    }
    spdlog::error("task {} ({}): {}", job.id, job.group, what);
    recording(job, [&] { tasks_.fail(job.id, what); });
  };
  return h;
}

}  // namespace agentd::runtime
