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
    run(task, *agent, std::move(stop));
    running_.erase(task.id);
    timed_out_.erase(task.id);
  };
  return job;
}

void TaskRunner::run(const storage::Task& task, const LoadedAgent& agent, std::stop_token stop) {
  spdlog::info("task {} ({}) started{}", task.id, task.agent, task.attempt > 1 ? " (attempt " + std::to_string(task.attempt) + ")" : "");
  agents::TaskContext ctx(agent.config, task, agents::TaskServices{engine_, tasks_, memory_, now_ms_, router_}, stop);
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

scheduler::DispatcherHooks TaskRunner::hooks() {
  scheduler::DispatcherHooks h;
  h.on_timeout = [this](const scheduler::Job& job) {
    timed_out_.insert(job.id);
    std::string limit = job.timeout ? format_duration(job.timeout->count()) : "?";
    tasks_.fail(job.id, "timed out after " + limit + " (limits.timeout)");
    spdlog::warn("task {} ({}) timed out after {}", job.id, job.group, limit);
  };
  h.on_stuck = [this](const scheduler::Job& job) {
    tasks_.add_event(job.id, storage::event::log, {{"message", "stuck: did not stop after being cancelled"}});
    if (tasks_.fail(job.id, "stuck: the agent did not stop after being cancelled; its slot was freed")) {
      spdlog::error("task {} ({}) is stuck; its slot was freed", job.id, job.group);
    }
  };
  h.on_exception = [this](const scheduler::Job& job, std::exception_ptr) {
    tasks_.fail(job.id, "unexpected error outside the agent");
    spdlog::error("task {} ({}): unexpected exception in its job", job.id, job.group);
  };
  return h;
}

}  // namespace agentd::runtime
