// Tasks and their append-only timeline. A task row is written (queued) before anything runs, and
// every state change is one transaction together with its timeline event, so a crash at any
// moment leaves a task in exactly one recorded state.
//
//   queued ──claim──▶ running ──▶ finished | failed | cancelled
//     │                  └──(daemon died)──▶ interrupted ──requeue──▶ queued (attempt + 1)
//     └──cancel──▶ cancelled                              └──fail──▶ failed (given up)
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/priority.hpp"
#include "storage/database.hpp"

namespace agentd::storage {

enum class TaskStatus { queued, running, finished, failed, cancelled, interrupted };
inline constexpr size_t kTaskStatuses = 6;
std::string_view to_string(TaskStatus s);
std::optional<TaskStatus> parse_task_status(std::string_view s);

// Timeline event kinds used across agentd (data is free-form JSON per kind).
namespace event {
inline constexpr std::string_view queued = "queued";
inline constexpr std::string_view started = "started";
inline constexpr std::string_view llm_call = "llm_call";  // route, queue_wait_ms, ttft_ms, tokens
inline constexpr std::string_view section = "section";
inline constexpr std::string_view memory_write = "memory_write";
inline constexpr std::string_view emitted = "emitted";
inline constexpr std::string_view log = "log";
inline constexpr std::string_view finished = "finished";
inline constexpr std::string_view failed = "failed";
inline constexpr std::string_view cancelled = "cancelled";
inline constexpr std::string_view interrupted = "interrupted";
inline constexpr std::string_view resumed = "resumed";
}  // namespace event

struct NewTask {
  std::string agent;
  std::string plugin;
  core::Priority priority = core::Priority::background;
  std::string trigger = "manual";
  std::string input;
  std::optional<int64_t> parent_id;
  bool dry_run = false;  // model calls run; files, memory, notes and events are not written
};

struct Task {
  int64_t id = 0;
  std::string agent;
  std::string plugin;
  core::Priority priority = core::Priority::background;
  TaskStatus status = TaskStatus::queued;
  std::string trigger;
  std::string input;
  std::optional<std::string> output;
  std::optional<std::string> error;
  std::optional<int64_t> parent_id;
  int attempt = 1;
  int64_t created_at = 0;
  std::optional<int64_t> started_at;
  std::optional<int64_t> finished_at;
  bool dry_run = false;
};

struct TaskEvent {
  int64_t id = 0;
  int64_t task_id = 0;
  int64_t at = 0;
  std::string kind;
  nlohmann::json data;
};

struct TaskFilter {
  std::optional<std::string> agent;
  std::optional<TaskStatus> status;
  std::optional<int64_t> since_ms;   // created_at >= since
  std::optional<int64_t> until_ms;   // created_at < until
  std::optional<std::string> text;   // substring of input, output or error, ASCII case folded
  std::optional<core::Priority> priority;  // the task's class
  std::optional<int64_t> before_id;  // paging: only ids below this
  std::optional<int64_t> finished_since_ms;  // finished_at >= this
  int limit = 20;
};

struct AgentStats {
  std::string agent;
  int64_t total = 0;
  int64_t queued = 0, running = 0, finished = 0, failed = 0, cancelled = 0, interrupted = 0;
  std::optional<int64_t> last_created_at;
  double mean_duration_ms = 0;  // over finished tasks
};

// A model call made outside any task (POST /v1/chat/completions by another program), recorded as
// an ended task so that history shows it beside the agents' own.
struct EndedCall {
  TaskStatus status = TaskStatus::finished;  // finished, failed or cancelled
  std::optional<std::string> output, error;
  int64_t started_at = 0, finished_at = 0;
  nlohmann::json llm_call;  // the llm_call event's data (tokens, TTFT, queue wait, finish)
};

class TaskStore {
 public:
  explicit TaskStore(Database& db) : db_(db) {}
  Database& database() { return db_; }

  int64_t enqueue(const NewTask& task);
  // Inserts a task that has already ended (never queued: no dispatcher can claim it) with its
  // started, llm_call and end events, in one transaction.
  int64_t record_call(const NewTask& task, const EndedCall& call);
  // queued -> running. False if the task was not queued (someone else took or cancelled it).
  bool claim(int64_t id);
  // Claims the most urgent queued task (class, then age), if any.
  std::optional<Task> claim_next();
  // The same among the tasks of `agents` only (the agents that are loaded and have room).
  std::optional<Task> claim_next(const std::vector<std::string>& agents);
  // Whether any task is queued (one index probe): the daemon asks before listing its agents.
  bool any_queued();
  // running -> finished. False if the task was no longer running (e.g. cancelled).
  bool finish(int64_t id, std::string_view output);
  // running or interrupted (given up on) -> failed.
  bool fail(int64_t id, std::string_view error);
  // queued or running -> cancelled.
  bool cancel(int64_t id, std::string_view reason);
  // running -> interrupted (the daemon stopped before the task ended).
  bool interrupt(int64_t id, std::string_view reason);
  // Crash recovery, run by the daemon at start-up: every task left running becomes interrupted.
  int recover_interrupted();
  // interrupted -> queued with attempt + 1 and a `resumed` event.
  bool requeue(int64_t id);

  void add_event(int64_t task_id, std::string_view kind, const nlohmann::json& data = nlohmann::json::object());

  std::optional<Task> get(int64_t id);
  std::vector<TaskEvent> events(int64_t task_id);
  std::vector<Task> list(const TaskFilter& filter);
  std::vector<Task> with_status(TaskStatus status, int limit = 1000);
  // Per agent, from the counts the schema keeps (agent_counts): no scan of the tasks. Its
  // last_created_at is its newest task's (highest id's) creation time.
  std::vector<AgentStats> agent_stats();
  // The newest task's id (0 when there is none): a change says "a task was added".
  int64_t latest_id();
  // Model calls recorded in timelines (llm_call events) by agent, route and local day
  // ("YYYY-MM-DD"), with their estimated cost.
  struct CallStats {
    std::string agent, route, day;
    int64_t calls = 0, prompt_tokens = 0, completion_tokens = 0;
    double cost_usd = 0;
  };
  std::vector<CallStats> call_stats(int64_t since_ms = 0);
  // Decode speed of the model calls recorded since `since_ms` (llm_call events with a
  // decode_tokens_per_s): completion tokens over decode seconds, in all and per bucket of
  // `bucket_ms` from `since_ms` (only buckets with calls). An index range (task_events_llm_calls).
  struct DecodeBucket {
    int64_t start_ms = 0;
    int64_t tokens = 0;
    double seconds = 0;
  };
  struct DecodeRate {
    int64_t tokens = 0;
    double seconds = 0;
    std::vector<DecodeBucket> buckets;
  };
  DecodeRate decode_rate(int64_t since_ms, int64_t bucket_ms);
  // Each model call recorded (llm_call event) that ended at or after `since_ms` and before
  // `until_ms`, in the order they were sent, with its task's agent and class: what `agentd tasks
  // --export-trace` writes out. An index range (task_events_llm_calls), handed over one at a time.
  struct RecordedCall {
    int64_t task_id = 0;
    std::string agent;
    core::Priority priority = core::Priority::background;
    int64_t at = 0;       // when the call ended
    nlohmann::json data;  // the event: tokens, times and, since schema 6's daemons, "request"
  };
  void each_call(int64_t since_ms, std::optional<int64_t> until_ms, const std::function<void(const RecordedCall&)>& fn);
  // Tasks per status, indexed by TaskStatus: the counts the schema's triggers keep up to date in
  // every transaction that changes a task (six rows read; the tasks table is not scanned).
  std::array<int64_t, kTaskStatuses> count_by_status();
  // Queued tasks per priority class, indexed by core::index(Priority).
  std::array<int64_t, core::kPriorityClasses> queued_by_priority();

 private:
  // Moves `id` from any of `from` to `to` and records `kind`; false if it was in no such state.
  bool transition(int64_t id, std::initializer_list<TaskStatus> from, TaskStatus to,
                  std::string_view kind, const nlohmann::json& data,
                  std::optional<std::string_view> output = {}, std::optional<std::string_view> error = {});
  void insert_event(int64_t task_id, int64_t at, std::string_view kind, const nlohmann::json& data);
  std::optional<Task> claim_and_read(int64_t id);

  Database& db_;
};

}  // namespace agentd::storage
