// TaskContext: everything an agent may touch while it runs one task, and nothing more.
//
//   input()        the task's input text (for an event trigger, the event's JSON)
//   generate()     a call on the shared engine at the task's priority (the agent's unless the
//                  task was submitted with another), with the agent's generation
//                  settings; the fiber waits, the thread does not. Recorded in the timeline
//                  (llm_call: route, queue wait, time to first token, tokens). An interactive
//                  task's calls also write their text as it comes to TaskServices::live.
//   generate_with_tools() a model call that may call the agent's own C++ functions (AgentTool):
//                  each call is parsed, run, answered as a tool message, for at most max_rounds
//                  rounds; then the model answers without tools. Every call and result goes to the
//                  timeline ("tool_call"); a tool that throws answers the model with the error.
//   generate_long() long text as an outline plus sections (engine/sectional), each section
//                  stored in the task's sections as soon as it is done; a task run again after
//                  a crash continues at the first unfinished section.
//   recall/remember/note/search_notes   the agent's own memory and notes (never another's)
//   emit(name)     raises "<agent>.<name>"; agents subscribed with {"on": ...} get a task. Events
//                  are published when this task finishes, in the same transaction as its result:
//                  a task that fails or crashes publishes nothing, a retried one publishes once.
//   read_file() / list_files() / write_file() / append_file()
//                  the agent's files, confined to its folders (FileAccess) and recorded in the
//                  timeline ("read" / "wrote" with path and bytes); files() for path checks only
//   activity_since() what every agent finished and noted since a time, read-only (for reports)
//   call_blocking() a call that blocks its thread (a network transfer), run on the runtime's
//                  pool of blocking-call threads while the task's fiber waits: cancelled with
//                  the task, bounded in time, recorded in the timeline ("blocking_call")
//   log()          a line in the task's timeline
//   cancelled()    whether the task should stop (timeout, shutdown, cancel)
//   dry_run()      a dry run: remember, note, emit, write_file and append_file write nothing and
//                  record "would_write" (what, and the value or text) in the timeline instead
//
// Cancellation is cooperative: generate() returns early when the task is cancelled and then
// throws TaskCancelled, as does check_cancelled(). Agents let it propagate.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agents/activity.hpp"
#include "agents/agent_config.hpp"
#include "agents/file_access.hpp"
#include "agents/live_output.hpp"
#include "engine/engine.hpp"
#include "engine/router.hpp"
#include "engine/sectional.hpp"
#include "scheduler/blocking_pool.hpp"

// Storage is named, never included: plugins see this header and must not see storage's
// (agentd_agent_api links storage privately).
namespace agentd::storage {
struct Task;
class TaskStore;
class MemoryStore;
}  // namespace agentd::storage

namespace agentd::agents {

class TaskCancelled : public std::runtime_error {
 public:
  TaskCancelled() : std::runtime_error("cancelled") {}
};

// call_blocking() gave up waiting: the limit passed first.
class BlockingTimeout : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What the runtime lends a task. References outlive the task.
struct TaskServices {
  engine::Engine& engine;      // local; used directly when there is no router
  storage::TaskStore& tasks;
  storage::MemoryStore& memory;
  // Wall clock, ms since the epoch (tests inject it).
  std::function<int64_t()> now_ms;
  // Routes by the agent's "route" and "complexity" (local / cloud / auto); null = local only.
  engine::Router* router = nullptr;
  // Threads for call_blocking(), shared by every task; null = call_blocking() is refused.
  scheduler::BlockingPool* blocking = nullptr;
  // Where an interactive task's model calls show their text as it is written; null = nowhere.
  LiveOutput* live = nullptr;
};

struct GenerateOptions {
  std::string prompt;                         // the user message...
  std::vector<engine::ChatMessage> messages;  // ...or a whole conversation (then prompt is unused)
  bool raw = false;                           // prompt verbatim, no chat template, no system prompt
  std::optional<int> max_tokens;              // defaults: the agent's "generation" settings
  std::optional<float> temperature;
  std::optional<uint32_t> seed;
  std::optional<float> repeat_penalty;
  std::vector<std::string> stop;
  std::string grammar;                        // GBNF
  std::string json_schema;                    // JSON schema (grammar-constrained output)
};

// A C++ function an agent lets the model call. `run` gets the arguments (a JSON object checked
// against nothing but JSON syntax: validate what you use) and returns what the model reads.
struct AgentTool {
  std::string name;
  std::string description;
  nlohmann::json parameters = {{"type", "object"}, {"properties", nlohmann::json::object()}};
  std::function<nlohmann::json(const nlohmann::json& arguments)> run;
};

struct ToolRounds {
  int max_rounds = 3;  // model answers that may call tools; the one after them may not
  engine::ToolChoice first = engine::ToolChoice::automatic;  // e.g. required: call before answering
};

class TaskContext {
 public:
  TaskContext(const AgentConfig& config, const storage::Task& task, TaskServices services, std::stop_token stop);

  int64_t task_id() const { return task_.id; }
  const std::string& agent() const { return config_.name; }
  const std::string& input() const { return task_.input; }
  const std::string& trigger() const { return task_.trigger; }
  int attempt() const { return task_.attempt; }
  bool dry_run() const { return task_.dry_run; }
  const AgentConfig& config() const { return config_; }
  int64_t now_ms() const { return services_.now_ms(); }

  // Throws TaskCancelled when cancelled, std::runtime_error when the engine fails or refuses.
  engine::Result generate(const GenerateOptions& options);
  std::string ask(const std::string& user_message);
  // The final answer; Result::tool_calls is empty. Throws like generate().
  engine::Result generate_with_tools(const GenerateOptions& options, const std::vector<AgentTool>& tools,
                                     ToolRounds rounds = {});
  // Defaults from the agent's config: sampling, priority, system prompt, and per section
  // max_tokens = generation.section_tokens, min_tokens = 5/8 of it. Throws like generate().
  std::string generate_long(const std::string& brief, engine::LongFormOptions options);
  std::string generate_long(const std::string& brief) { return generate_long(brief, long_form_defaults()); }
  engine::LongFormOptions long_form_defaults() const;

  std::optional<nlohmann::json> recall(const std::string& key) const;
  void remember(const std::string& key, const nlohmann::json& value);
  int64_t note(const std::string& text);
  std::vector<Note> search_notes(const std::string& query, int limit = 5) const;
  std::vector<Note> recent_notes(int limit = 5) const;

  void emit(const std::string& name, const nlohmann::json& data = nlohmann::json::object());
  struct Event {
    std::string name;  // "<agent>.<name>"
    nlohmann::json data;
  };
  const std::vector<Event>& emitted() const { return emitted_; }
  const FileAccess& files() const { return files_; }
  // FileAccess calls that also record the path and size in the timeline. Throw FileAccessError.
  std::string read_file(const std::filesystem::path& path);
  std::vector<std::filesystem::path> list_files(const std::filesystem::path& folder, const std::string& glob = "*");
  std::filesystem::path write_file(const std::filesystem::path& path, std::string_view text);
  std::filesystem::path append_file(const std::filesystem::path& path, std::string_view text);

  // Finished tasks (every agent, newest first, at most `limit`) and every agent's notes (oldest
  // first) since `since_ms`. Read-only; the one window an agent has on the others' results.
  struct Activity {
    std::vector<FinishedTask> tasks;
    std::vector<Note> notes;
  };
  Activity activity_since(int64_t since_ms, int limit = 200) const;

  // Runs `work` on the runtime's blocking-call pool (scheduler/blocking_pool) while this fiber
  // waits, so the agent thread goes on with other tasks and the pool's size bounds how many
  // such calls run at once. `work` gets a token that is stopped when the task is cancelled or
  // `limit` passes, and should return soon after; it may outlive this call, so it must own
  // what it uses (capture by value). Recorded as a "blocking_call" event {what, outcome, ms,
  // error}. Returns what `work` returned; throws TaskCancelled, BlockingTimeout (naming `what`
  // and the limit), or what `work` threw.
  std::string call_blocking(const std::string& what, std::chrono::milliseconds limit,
                            std::function<std::string(std::stop_token)> work);
  void log(const std::string& message, nlohmann::json data = nlohmann::json::object());

  bool cancelled() const { return stop_.stop_requested(); }
  void check_cancelled() const;
  std::stop_token stop_token() const { return stop_; }

 private:
  engine::Request make_request(const GenerateOptions& options) const;
  void would_write(const std::string& what, nlohmann::json data);
  engine::Result run_request(engine::Request request);
  engine::Result wait_for(engine::Generation& generation);
  engine::ChatMessage run_tool_call(const engine::ToolCall& call, const std::vector<AgentTool>& tools);
  // The call's llm_call event: how it ended, and what it asked (engine::request_record).
  void record_call(nlohmann::json request, const engine::Result& result,
                   const engine::RouteInfo& route = {"local", "local", 0});

  // The parts of the task's row an agent reads.
  struct TaskInfo {
    int64_t id = 0;
    std::string input;
    std::string trigger;
    int attempt = 1;
    scheduler::Priority priority = scheduler::Priority::background;
    bool dry_run = false;
  };

  const AgentConfig& config_;
  TaskInfo task_;
  TaskServices services_;
  std::stop_token stop_;
  FileAccess files_;
  std::vector<Event> emitted_;
};

}  // namespace agentd::agents
