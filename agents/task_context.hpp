// TaskContext: everything an agent may touch while it runs one task, and nothing more.
//
//   input()        the task's input text (for an event trigger, the event's JSON)
//   generate()     a call on the shared engine at the task's priority (the agent's unless the
//                  task was submitted with another), with the agent's generation
//                  settings; the fiber waits, the thread does not. Recorded in the timeline
//                  (llm_call: route, queue wait, time to first token, tokens).
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
//   log()          a line in the task's timeline
//   cancelled()    whether the task should stop (timeout, shutdown, cancel)
//
// Cancellation is cooperative: generate() returns early when the task is cancelled and then
// throws TaskCancelled, as does check_cancelled(). Agents let it propagate.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agents/agent_config.hpp"
#include "agents/file_access.hpp"
#include "engine/engine.hpp"
#include "engine/router.hpp"
#include "engine/sectional.hpp"
#include "storage/memory_store.hpp"
#include "storage/task_store.hpp"

namespace agentd::agents {

class TaskCancelled : public std::runtime_error {
 public:
  TaskCancelled() : std::runtime_error("cancelled") {}
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
  TaskContext(const AgentConfig& config, storage::Task task, TaskServices services, std::stop_token stop);

  int64_t task_id() const { return task_.id; }
  const std::string& agent() const { return config_.name; }
  const std::string& input() const { return task_.input; }
  const std::string& trigger() const { return task_.trigger; }
  int attempt() const { return task_.attempt; }
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
  std::vector<storage::Note> search_notes(const std::string& query, int limit = 5) const;
  std::vector<storage::Note> recent_notes(int limit = 5) const;

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
    std::vector<storage::Task> tasks;
    std::vector<storage::Note> notes;
  };
  Activity activity_since(int64_t since_ms, int limit = 200) const;
  void log(const std::string& message, nlohmann::json data = nlohmann::json::object());

  bool cancelled() const { return stop_.stop_requested(); }
  void check_cancelled() const;
  std::stop_token stop_token() const { return stop_; }

 private:
  engine::Request make_request(const GenerateOptions& options) const;
  engine::Result run_request(engine::Request request);
  engine::ChatMessage run_tool_call(const engine::ToolCall& call, const std::vector<AgentTool>& tools);
  void record_call(const engine::Result& result, const engine::RouteInfo& route = {"local", "local", 0});

  const AgentConfig& config_;
  storage::Task task_;
  TaskServices services_;
  std::stop_token stop_;
  FileAccess files_;
  std::vector<Event> emitted_;
};

}  // namespace agentd::agents
