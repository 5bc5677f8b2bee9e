#include "runtime/task_runner.hpp"

#include <spdlog/spdlog.h>

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

void TaskRunner::run(const storage::Task& task, const LoadedAgent& agent, std::stop_token stop) {
  spdlog::info("task {} ({}) started{}", task.id, task.agent, task.attempt > 1 ? " (attempt " + std::to_string(task.attempt) + ")" : "");
  agents::TaskContext ctx(agent.config, task, agents::TaskServices{engine_, tasks_, memory_, now_ms_, router_, &blocking_, live_}, stop);
  try {
    std::string output = agent.agent->run(ctx);
    storage::Transaction tx(db_);
    if (tasks_.finish(task.id, output)) {
      int queued = publish_events(tasks_, catalog_, task, ctx.emitted());
      tx.commit();
      spdlog::info("task {} finished: {} bytes{}", task.id, output.size(),
                   queued ? ", " + std::to_string(queued) + " follow-up task(s)" : "");
    } else {
      spdlog::info("task {} returned after it had already ended (timed out or cancelled); result dropped", task.id);
    }
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
  } catch (const std::exception& e) {  // the agent's failure is this task's only
    tasks_.fail(task.id, e.what());
    spdlog::error("task {} ({}) failed: {}", task.id, task.agent, e.what());
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
