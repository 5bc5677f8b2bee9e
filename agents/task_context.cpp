#include "agents/task_context.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "agents/event_name.hpp"
#include "engine/request_json.hpp"
#include "storage/memory_store.hpp"
#include "storage/section_store.hpp"
#include "storage/task_store.hpp"

namespace agentd::agents {

namespace {

Note agent_note(const storage::Note& n) { return {n.id, n.agent, n.at, n.text}; }

std::vector<Note> agent_notes(const std::vector<storage::Note>& stored) {
  std::vector<Note> notes;
  notes.reserve(stored.size());
  for (const storage::Note& n : stored) notes.push_back(agent_note(n));
  return notes;
}

FinishedTask finished_task(const storage::Task& t) {
  return {t.id, t.agent, t.plugin, t.trigger, t.output, t.finished_at};
}

}  // namespace

TaskContext::TaskContext(const AgentConfig& config, const storage::Task& task, TaskServices services, std::stop_token stop)
    : config_(config),
      task_{task.id, task.input, task.trigger, task.attempt, task.priority, task.dry_run},
      services_(std::move(services)),
      stop_(std::move(stop)),
      files_(config.read_folders, config.write_folders, config.limits.max_input_bytes) {}

engine::Request TaskContext::make_request(const GenerateOptions& o) const {
  const GenerationSettings& g = config_.generation;
  engine::Request r;
  if (o.raw) {
    r.prompt = o.prompt;
  } else {
    if (!config_.system_prompt.empty()) r.messages.push_back({"system", config_.system_prompt});
    if (o.messages.empty()) {
      r.messages.push_back({"user", o.prompt});
    } else {
      r.messages.insert(r.messages.end(), o.messages.begin(), o.messages.end());
    }
  }
  r.sampling.temperature = o.temperature.value_or(g.temperature);
  r.sampling.top_k = g.top_k;
  r.sampling.top_p = g.top_p;
  r.sampling.min_p = g.min_p;
  r.sampling.repeat_penalty = o.repeat_penalty.value_or(g.repeat_penalty);
  if (auto seed = o.seed ? o.seed : g.seed) r.sampling.seed = *seed;
  r.max_tokens = o.max_tokens.value_or(g.max_tokens);
  r.reasoning_budget = g.reasoning_budget;
  r.stop = o.stop;
  r.grammar = o.grammar;
  r.json_schema = o.json_schema;
  r.priority = task_.priority;
  r.task_id = task_.id;
  return r;
}

engine::Result TaskContext::generate(const GenerateOptions& options) { return run_request(make_request(options)); }

engine::Result TaskContext::run_request(engine::Request request) {
  check_cancelled();
  std::unique_ptr<engine::Generation> generation;
  engine::RoutedGeneration* routed = nullptr;
  nlohmann::json asked = engine::request_record(request, storage::now_ms());
  try {
    if (services_.router) {
      auto g = services_.router->submit_routed(std::move(request),
                                               engine::parse_route_mode(config_.route).value_or(engine::RouteMode::local),
                                               config_.complexity);
      routed = g.get();
      generation = std::move(g);
    } else {
      generation = services_.engine.submit(std::move(request));
    }
  } catch (const engine::RequestError& e) {
    log("model call refused", {{"error", e.what()}});
    throw std::runtime_error(std::string("model call refused: ") + e.what());
  }
  engine::Result result;
  {
    std::stop_callback cancel_on_stop(stop_, [&] { generation->cancel(); });  // any thread may stop us
    result = wait_for(*generation);
  }
  record_call(std::move(asked), result, routed ? routed->route() : engine::RouteInfo{"local", "local", 0});
  if (result.finish == engine::FinishReason::cancelled && cancelled()) throw TaskCancelled();
  if (result.finish == engine::FinishReason::error) throw std::runtime_error("model call failed: " + result.error);
  if (result.finish == engine::FinishReason::cancelled || result.finish == engine::FinishReason::deadline) {
    throw std::runtime_error(std::string("model call ended early: ") + engine::to_string(result.finish));
  }
  return result;
}

// The call's end; an interactive task's text goes to the live output piece by piece on the way
// (a person is waiting for it: the Chat page).
engine::Result TaskContext::wait_for(engine::Generation& generation) {
  if (!services_.live || task_.priority != scheduler::Priority::interactive) return generation.wait();
  services_.live->begin_call(task_.id);
  while (auto delta = generation.next_delta()) services_.live->append(task_.id, delta->content);
  return generation.wait();
}

// Runs one call of the model's; the answer is a tool message (an error text when the tool throws,
// is unknown or gets arguments that are not a JSON object: the model may try again).
engine::ChatMessage TaskContext::run_tool_call(const engine::ToolCall& call, const std::vector<AgentTool>& tools) {
  engine::ChatMessage answer{"tool", ""};
  answer.tool_call_id = call.id;
  nlohmann::json outcome;
  try {
    auto tool = std::find_if(tools.begin(), tools.end(), [&](const AgentTool& t) { return t.name == call.name; });
    if (tool == tools.end()) throw std::runtime_error("there is no tool named '" + call.name + "'");
    nlohmann::json args = nlohmann::json::parse(call.arguments.empty() ? "{}" : call.arguments);
    if (!args.is_object()) throw std::runtime_error("the arguments must be a JSON object");
    outcome = tool->run(args);
    answer.content = outcome.is_string() ? outcome.get<std::string>() : outcome.dump();
  } catch (const TaskCancelled&) {
    throw;
  } catch (const std::exception& e) {
    outcome = {{"error", e.what()}};
    answer.content = outcome.dump();
  }
  log("tool_call", {{"tool", call.name}, {"arguments", call.arguments}, {"result", answer.content.substr(0, 2000)}});
  return answer;
}

engine::Result TaskContext::generate_with_tools(const GenerateOptions& options, const std::vector<AgentTool>& tools,
                                                ToolRounds rounds) {
  GenerateOptions o = options;
  if (o.messages.empty() && !o.raw) o.messages.push_back({"user", o.prompt});
  std::vector<engine::Tool> offered;
  for (const auto& t : tools) offered.push_back({t.name, t.description, t.parameters.dump()});
  for (int round = 0;; ++round) {
    engine::Request request = make_request(o);
    const bool may_call = round < rounds.max_rounds;
    request.tools = offered;
    request.tool_choice = !may_call ? engine::ToolChoice::none : round == 0 ? rounds.first : engine::ToolChoice::automatic;
    engine::Result result = run_request(std::move(request));
    if (result.tool_calls.empty() || !may_call) {
      result.tool_calls.clear();
      return result;
    }
    engine::ChatMessage asked{"assistant", result.text};
    asked.tool_calls = result.tool_calls;
    o.messages.push_back(std::move(asked));
    for (const auto& call : result.tool_calls) o.messages.push_back(run_tool_call(call, tools));
  }
}

void TaskContext::record_call(nlohmann::json request, const engine::Result& result, const engine::RouteInfo& route) {
  services_.tasks.add_event(task_.id, storage::event::llm_call,
                            {{"route", route.route},
                             {"route_reason", route.reason},
                             {"cost_usd", route.cost_usd},
                             {"queue_wait_ms", result.queue_wait_ms},
                             {"ttft_ms", result.ttft_ms},
                             {"prompt_tokens", result.prompt_tokens},
                             {"cached_tokens", result.cached_tokens},
                             {"completion_tokens", result.completion_tokens},
                             {"decode_tokens_per_s", result.decode_tokens_per_s},
                             {"times_preempted", result.times_preempted},
                             {"finish", engine::to_string(result.finish)},
                             {"request", std::move(request)}});
  // A reasoning model's thinking is kept in the timeline; the answer (result.text) never holds it.
  if (!result.reasoning.empty()) log("reasoning", {{"text", result.reasoning}});
}

namespace {

// The task's sections and timeline as the sectional generator's journal.
class TaskJournal : public engine::SectionJournal {
 public:
  TaskJournal(storage::Database& db, storage::TaskStore& tasks, int64_t task_id, const std::string& agent,
              std::function<void(const nlohmann::json&, const engine::Result&)> record_call)
      : sections_(db), tasks_(tasks), task_id_(task_id), agent_(agent), record_call_(std::move(record_call)) {}

  std::vector<std::string> outline() override {
    std::vector<std::string> titles;
    for (const auto& s : sections_.list(task_id_)) titles.push_back(s.title);
    return titles;
  }
  void save_outline(const std::vector<std::string>& titles) override {
    sections_.plan(task_id_, titles);
    tasks_.add_event(task_id_, storage::event::section, {{"outline", titles}});
  }
  std::vector<engine::SectionText> finished() override {
    std::vector<engine::SectionText> done;
    for (const auto& s : sections_.list(task_id_)) {
      if (s.status == storage::SectionStatus::done) done.push_back({s.idx, s.title, s.text, s.tokens});
    }
    if (!done.empty()) {
      tasks_.add_event(task_id_, storage::event::log,
                       {{"message", "resuming: " + std::to_string(done.size()) + " section(s) already done"}});
    }
    return done;
  }
  void section_started(int idx, const std::string& title) override {
    sections_.set_status(task_id_, idx, storage::SectionStatus::running);
    spdlog::info("task {} ({}): section {} started: {}", task_id_, agent_, idx + 1, title);
  }
  void save(const engine::SectionText& s, int attempts) override {
    storage::Transaction tx(sections_db());
    sections_.put({task_id_, s.idx, s.title, s.text, s.tokens, storage::SectionStatus::done, 0});
    tasks_.add_event(task_id_, storage::event::section,
                     {{"idx", s.idx}, {"title", s.title}, {"tokens", s.tokens}, {"attempts", attempts}, {"status", "done"}});
    tx.commit();
    spdlog::info("task {} ({}): section {} done: {} tokens", task_id_, agent_, s.idx + 1, s.tokens);
  }
  void attempt(const engine::SectionAttempt& a) override {
    tasks_.add_event(task_id_, "section_attempt",
                     {{"idx", a.idx}, {"attempt", a.attempt}, {"distinct4", a.distinct4}, {"seed", a.seed},
                      {"repeat_penalty", a.repeat_penalty}, {"accepted", a.accepted}, {"tokens", a.tokens}});
  }
  void call(const nlohmann::json& request, const engine::Result& result) override { record_call_(request, result); }

 private:
  storage::Database& sections_db() { return tasks_.database(); }

  storage::SectionStore sections_;
  storage::TaskStore& tasks_;
  int64_t task_id_;
  const std::string& agent_;
  std::function<void(const nlohmann::json&, const engine::Result&)> record_call_;
};

}  // namespace

engine::LongFormOptions TaskContext::long_form_defaults() const {
  const GenerationSettings& g = config_.generation;
  engine::LongFormOptions o;
  o.max_tokens = g.section_tokens;
  o.min_tokens = g.section_tokens * 5 / 8;
  o.system_prompt = config_.system_prompt;
  o.sampling.temperature = g.temperature;
  o.sampling.top_k = g.top_k;
  o.sampling.top_p = g.top_p;
  o.sampling.min_p = g.min_p;
  o.sampling.repeat_penalty = g.repeat_penalty;
  if (g.seed) o.sampling.seed = *g.seed;
  o.reasoning_budget = g.reasoning_budget;
  o.priority = task_.priority;
  o.task_id = task_.id;
  return o;
}

std::string TaskContext::generate_long(const std::string& brief, engine::LongFormOptions options) {
  check_cancelled();
  options.priority = task_.priority;
  options.task_id = task_.id;
  TaskJournal journal(services_.tasks.database(), services_.tasks, task_.id, config_.name,
                      [this](const nlohmann::json& asked, const engine::Result& r) { record_call(asked, r); });
  try {
    return engine::SectionalGenerator(services_.engine, std::move(options)).generate(brief, journal, stop_);
  } catch (const engine::RequestError& e) {
    throw std::runtime_error(std::string("model call refused: ") + e.what());
  } catch (const std::runtime_error&) {
    check_cancelled();  // a stop during a section surfaces as TaskCancelled
    throw;
  }
}

std::string TaskContext::ask(const std::string& user_message) {
  GenerateOptions options;
  options.prompt = user_message;
  return generate(options).text;
}

std::optional<nlohmann::json> TaskContext::recall(const std::string& key) const {
  return services_.memory.get(config_.name, key);
}

namespace {

// What a dry run shows instead of writing: the text itself up to this many bytes.
constexpr size_t kDryRunPreviewBytes = 4096;

std::string dry_run_preview(std::string_view text) {
  return std::string(text.substr(0, kDryRunPreviewBytes)) + (text.size() > kDryRunPreviewBytes ? "…" : "");
}

}  // namespace

// A dry run writes nothing but its own timeline: each write below is recorded as "would_write"
// with what it would have written, and the model calls run as usual.
void TaskContext::would_write(const std::string& what, nlohmann::json data) {
  data["what"] = what;
  services_.tasks.add_event(task_.id, "would_write", data);
}

void TaskContext::remember(const std::string& key, const nlohmann::json& value) {
  if (task_.dry_run) return would_write("memory", {{"key", key}, {"value", value}});
  services_.memory.set(config_.name, key, value);
  services_.tasks.add_event(task_.id, storage::event::memory_write, {{"key", key}});
}

int64_t TaskContext::note(const std::string& text) {
  if (task_.dry_run) {
    would_write("note", {{"text", dry_run_preview(text)}, {"bytes", text.size()}});
    return 0;
  }
  int64_t id = services_.memory.add_note(config_.name, text);
  services_.tasks.add_event(task_.id, storage::event::memory_write, {{"note", id}, {"bytes", text.size()}});
  return id;
}

std::vector<Note> TaskContext::search_notes(const std::string& query, int limit) const {
  return agent_notes(services_.memory.search_notes(config_.name, query, limit));
}

std::vector<Note> TaskContext::recent_notes(int limit) const {
  return agent_notes(services_.memory.recent_notes(config_.name, limit));
}

void TaskContext::emit(const std::string& name, const nlohmann::json& data) {
  if (auto problem = emitted_event_problem(name)) throw std::invalid_argument("emit: " + *problem);
  if (task_.dry_run) return would_write("event", {{"event", config_.name + "." + name}, {"data", data}});
  emitted_.push_back({config_.name + "." + name, data});
  log("emits " + config_.name + "." + name);
}

std::string TaskContext::read_file(const std::filesystem::path& path) {
  std::string text = files_.read_text(path);
  services_.tasks.add_event(task_.id, "read", {{"path", files_.resolve_read(path).string()}, {"bytes", text.size()}});
  return text;
}

std::vector<std::filesystem::path> TaskContext::list_files(const std::filesystem::path& folder, const std::string& glob) {
  auto found = files_.list(folder, glob);
  services_.tasks.add_event(task_.id, "read",
                            {{"path", files_.resolve_read(folder).string()}, {"glob", glob}, {"files", found.size()}});
  return found;
}

std::filesystem::path TaskContext::write_file(const std::filesystem::path& path, std::string_view text) {
  if (task_.dry_run) {
    auto target = files_.resolve_write(path);  // refused as it would be (outside the folders)
    would_write("file", {{"path", target.string()}, {"bytes", text.size()}, {"text", dry_run_preview(text)}});
    return target;
  }
  auto written = files_.write_text(path, text);
  services_.tasks.add_event(task_.id, "wrote", {{"path", written.string()}, {"bytes", text.size()}});
  return written;
}

std::filesystem::path TaskContext::append_file(const std::filesystem::path& path, std::string_view text) {
  if (task_.dry_run) {
    auto target = files_.resolve_write(path);
    would_write("file", {{"path", target.string()}, {"bytes", text.size()}, {"append", true}, {"text", dry_run_preview(text)}});
    return target;
  }
  auto written = files_.append_text(path, text);
  services_.tasks.add_event(task_.id, "wrote", {{"path", written.string()}, {"bytes", text.size()}, {"append", true}});
  return written;
}

TaskContext::Activity TaskContext::activity_since(int64_t since_ms, int limit) const {
  storage::TaskFilter f;
  f.status = storage::TaskStatus::finished;
  f.finished_since_ms = since_ms;
  f.limit = limit;
  Activity activity;
  for (const storage::Task& t : services_.tasks.list(f)) activity.tasks.push_back(finished_task(t));
  activity.notes = agent_notes(services_.memory.notes_since(since_ms));
  return activity;
}

std::string TaskContext::call_blocking(const std::string& what, std::chrono::milliseconds limit,
                                       std::function<std::string(std::stop_token)> work) {
  check_cancelled();
  if (!services_.blocking) throw std::logic_error("call_blocking(" + what + "): this task has no blocking-call pool");
  auto result = std::make_shared<std::string>();  // shared: the job may outlive this call
  auto job = [result, work = std::move(work)](std::stop_token stop) { *result = work(std::move(stop)); };
  const auto started = std::chrono::steady_clock::now();
  auto record = [&](std::string_view outcome, const std::string& error) {
    nlohmann::json data = {{"what", what}, {"outcome", outcome},
                           {"ms", std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count()}};
    if (!error.empty()) data["error"] = error;
    services_.tasks.add_event(task_.id, "blocking_call", data);
  };
  scheduler::BlockingStatus status;
  try {
    status = services_.blocking->run(std::move(job), stop_, started + limit);
  } catch (const std::exception& e) {
    record("error", e.what());
    throw;
  }
  const std::string timeout_error = what + ": gave up after " + std::to_string(limit.count()) + " ms";
  record(scheduler::to_string(status), status == scheduler::BlockingStatus::timeout ? timeout_error : "");
  if (status == scheduler::BlockingStatus::cancelled) throw TaskCancelled();
  if (status == scheduler::BlockingStatus::timeout) throw BlockingTimeout(timeout_error);
  return std::move(*result);
}

void TaskContext::log(const std::string& message, nlohmann::json data) {
  data["message"] = message;
  services_.tasks.add_event(task_.id, storage::event::log, data);
  spdlog::debug("task {} ({}): {}", task_.id, config_.name, message);
}

void TaskContext::check_cancelled() const {
  if (cancelled()) throw TaskCancelled();
}

}  // namespace agentd::agents
