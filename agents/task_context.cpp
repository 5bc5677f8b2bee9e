#include "agents/task_context.hpp"

#include <spdlog/spdlog.h>

#include <regex>

namespace agentd::agents {

TaskContext::TaskContext(const AgentConfig& config, storage::Task task, TaskServices services, std::stop_token stop)
    : config_(config),
      task_(std::move(task)),
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
  r.stop = o.stop;
  r.grammar = o.grammar;
  r.json_schema = o.json_schema;
  r.priority = config_.priority;
  r.task_id = task_.id;
  return r;
}

engine::Result TaskContext::generate(const GenerateOptions& options) {
  check_cancelled();
  engine::Request request = make_request(options);
  std::unique_ptr<engine::Generation> generation;
  try {
    generation = services_.engine.submit(std::move(request));
  } catch (const engine::RequestError& e) {
    log("model call refused", {{"error", e.what()}});
    throw std::runtime_error(std::string("model call refused: ") + e.what());
  }
  engine::Result result;
  {
    std::stop_callback cancel_on_stop(stop_, [&] { generation->cancel(); });  // any thread may stop us
    result = generation->wait();
  }
  services_.tasks.add_event(task_.id, storage::event::llm_call,
                            {{"route", "local"},
                             {"queue_wait_ms", result.queue_wait_ms},
                             {"ttft_ms", result.ttft_ms},
                             {"prompt_tokens", result.prompt_tokens},
                             {"completion_tokens", result.completion_tokens},
                             {"decode_tokens_per_s", result.decode_tokens_per_s},
                             {"times_preempted", result.times_preempted},
                             {"finish", engine::to_string(result.finish)}});
  if (result.finish == engine::FinishReason::cancelled && cancelled()) throw TaskCancelled();
  if (result.finish == engine::FinishReason::error) throw std::runtime_error("model call failed: " + result.error);
  if (result.finish == engine::FinishReason::cancelled || result.finish == engine::FinishReason::deadline) {
    throw std::runtime_error(std::string("model call ended early: ") + engine::to_string(result.finish));
  }
  return result;
}

std::string TaskContext::ask(const std::string& user_message) {
  GenerateOptions options;
  options.prompt = user_message;
  return generate(options).text;
}

std::optional<nlohmann::json> TaskContext::recall(const std::string& key) const {
  return services_.memory.get(config_.name, key);
}

void TaskContext::remember(const std::string& key, const nlohmann::json& value) {
  services_.memory.set(config_.name, key, value);
  services_.tasks.add_event(task_.id, storage::event::memory_write, {{"key", key}});
}

int64_t TaskContext::note(const std::string& text) {
  int64_t id = services_.memory.add_note(config_.name, text);
  services_.tasks.add_event(task_.id, storage::event::memory_write, {{"note", id}, {"bytes", text.size()}});
  return id;
}

std::vector<storage::Note> TaskContext::search_notes(const std::string& query, int limit) const {
  return services_.memory.search_notes(config_.name, query, limit);
}

std::vector<storage::Note> TaskContext::recent_notes(int limit) const {
  return services_.memory.recent_notes(config_.name, limit);
}

void TaskContext::emit(const std::string& name, const nlohmann::json& data) {
  static const std::regex valid("[a-z0-9][a-z0-9_.-]*");
  if (!std::regex_match(name, valid)) throw std::invalid_argument("event name '" + name + "' is not [a-z0-9_.-]");
  emitted_.push_back({config_.name + "." + name, data});
  log("emits " + config_.name + "." + name);
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
