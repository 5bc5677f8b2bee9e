#include "runtime/status.hpp"

#include "runtime/agent_json.hpp"

#include <unistd.h>

#include <fstream>
#include <sstream>

#include "scheduler/priority.hpp"
#include "storage/database.hpp"
#include "storage/schedule_store.hpp"
#include "storage/task_store.hpp"

namespace agentd::runtime {

std::filesystem::path status_file(const std::filesystem::path& db_path) {
  return (db_path.has_parent_path() ? db_path.parent_path() : ".") / "status.json";
}

double ThroughputMeter::update(int64_t tokens, int64_t now_ms) {
  if (last_ms_ > 0 && now_ms > last_ms_) {
    rate_ = static_cast<double>(tokens - last_tokens_) * 1000.0 / static_cast<double>(now_ms - last_ms_);
  }
  last_tokens_ = tokens;
  last_ms_ = now_ms;
  return rate_;
}

namespace {

// Prompt tokens reused vs prefilled, and what the prefix store holds.
nlohmann::json prefix_cache_json(const engine::EngineStats& s) {
  const int64_t sent = s.prompt_tokens + s.prompt_tokens_cached;
  return {{"hit_tokens", s.prompt_tokens_cached},
          {"miss_tokens", s.prompt_tokens},
          {"hit_rate", sent > 0 ? static_cast<double>(s.prompt_tokens_cached) / static_cast<double>(sent) : 0.0},
          {"hits", s.prefix_hits},
          {"entries", s.prefix_cache.entries},
          {"ram_bytes", s.prefix_cache.ram_bytes},
          {"disk_bytes", s.prefix_cache.disk_bytes},
          {"spare_bytes", s.state_spare_bytes},
          {"evictions", s.prefix_cache.evictions}};
}

// What the process's memory is made of (engine/memory_use.hpp).
nlohmann::json memory_json(const engine::EngineStats& s) {
  auto m = engine::split_resident(s.memory, s.prefix_cache.ram_bytes + s.state_spare_bytes, engine::resident_bytes());
  return {{"model_bytes", m.model},   {"kv_bytes", m.kv},         {"compute_bytes", m.compute},
          {"prefix_cache_bytes", m.prefix_cache}, {"other_bytes", m.other}, {"resident_bytes", m.resident},
          {"locked_bytes", m.locked}};
}

}  // namespace

nlohmann::json status_json(int64_t started_at, const engine::LlamaEngine& engine, double tokens_per_s,
                           const scheduler::DispatcherSnapshot& dispatcher, const AgentCatalog& catalog,
                           const TriggerRunner& triggers, bool stopping) {
  using nlohmann::json;
  auto info = engine.info();
  auto stats = engine.stats();
  json classes = json::object();
  for (auto p : {scheduler::Priority::interactive, scheduler::Priority::tool, scheduler::Priority::background}) {
    const auto& c = stats.by_class[static_cast<size_t>(scheduler::index(p))];
    classes[std::string(scheduler::to_string(p))] = {{"running", c.running}, {"paused", c.paused}, {"queued", c.queued}};
  }
  json agents = json::array();
  for (const AgentEntry& e : catalog.entries()) {
    std::string state = !e.loaded ? "broken" : e.loaded->config.enabled ? "enabled" : "disabled";
    json a = {{"name", e.name}, {"file", e.file.string()}, {"state", state}};
    if (e.loaded) {
      a["plugin"] = e.loaded->config.plugin;
      a["priority"] = scheduler::to_string(e.loaded->config.priority);
      a["description"] = e.loaded->config.description;
      a["definition"] = config_json(e.loaded->config);  // as loaded (the dashboard's Agents page)
    }
    if (!e.error.empty()) a["error"] = e.error;
    a["running"] = dispatcher.by_group.count(e.name) ? dispatcher.by_group.at(e.name) : 0;
    agents.push_back(a);
  }
  json trigger_list = json::array();
  for (const TriggerState& t : triggers.states()) {
    json j = {{"agent", t.agent}, {"trigger", t.trigger}};
    if (t.last_fire) j["last_fire"] = *t.last_fire;
    if (t.next_fire) j["next_fire"] = *t.next_fire;
    trigger_list.push_back(j);
  }
  return {{"pid", static_cast<long>(::getpid())},
          {"started_at", started_at},
          {"updated_at", storage::now_ms()},
          {"stopping", stopping},
          {"engine",
           {{"backend", info.backend}, {"model", info.model}, {"policy", info.policy}, {"slots", info.slots},
            {"context", info.context}, {"cpu_backend", stats.cpu_backend}, {"tokens_per_s", tokens_per_s}, {"tokens_generated", stats.tokens_generated},
            {"prompt_tokens", stats.prompt_tokens}, {"decode_steps", stats.decode_steps},
            {"preemptions", stats.preemptions}, {"steps_cut", stats.steps_cut}, {"classes", classes},
            {"time",
             {{"step_seconds", stats.step_seconds}, {"cut_step_seconds", stats.cut_step_seconds},
              {"state_copy_seconds", stats.state_copy_seconds}, {"idle_seconds", stats.idle_seconds}}},
            {"prefix_cache", prefix_cache_json(stats)}, {"memory", memory_json(stats)}}},
          {"tasks_running", dispatcher.running},
          {"tasks_stuck", dispatcher.stuck},
          {"agents", agents},
          {"triggers", trigger_list}};
}

using nlohmann::json;

json database_status(storage::Database& db) {
  storage::TaskStore tasks(db);
  json out;
  auto queued = tasks.queued_by_priority();
  out["queue"] = {{"interactive", queued[0]}, {"tool", queued[1]}, {"background", queued[2]}};
  json counts = json::object();
  auto by_status = tasks.count_by_status();
  for (size_t i = 0; i < by_status.size(); ++i) counts[std::string(storage::to_string(storage::TaskStatus(i)))] = by_status[i];
  json agents = json::object();
  for (const auto& s : tasks.agent_stats()) {
    json a = {{"tasks", s.total}, {"finished", s.finished}, {"failed", s.failed}};
    if (s.last_created_at) a["last_run"] = *s.last_created_at;
    agents[s.agent] = a;
  }
  for (const auto& s : storage::ScheduleStore(db).list()) {
    json& a = agents[s.agent];
    if (s.next_fire_at && (!a.contains("next_run") || *s.next_fire_at < a["next_run"].get<int64_t>())) {
      a["next_run"] = *s.next_fire_at;
    }
  }
  // Model calls: local/cloud split and estimated cost, per agent and per day (last 30 days).
  json routes = json::object(), days = json::object();
  auto add = [](json& j, const char* key, auto v) {  // j may still be null: operator[] just made it
    j[key] = (j.is_object() && j.contains(key) ? j[key].get<decltype(v)>() : decltype(v){}) + v;
  };
  for (const auto& c : tasks.call_stats(storage::now_ms() - 30LL * 86'400'000)) {
    json& r = routes[c.agent][c.route];
    add(r, "calls", c.calls);
    add(r, "tokens", c.prompt_tokens + c.completion_tokens);
    add(r, "cost_usd", c.cost_usd);
    json& d = days[c.day][c.route];
    add(d, "calls", c.calls);
    add(d, "cost_usd", c.cost_usd);
  }
  out["tasks"] = counts;
  out["agents"] = agents;
  out["model_calls"] = {{"by_agent", routes}, {"by_day", days}};
  out["decode_last_hour"] = decode_last_hour(db, storage::now_ms());
  return out;
}

json decode_last_hour(storage::Database& db, int64_t now_ms) {
  constexpr int64_t kWindowMs = 3'600'000, kBucketMs = 300'000;
  auto rate = storage::TaskStore(db).decode_rate(now_ms - kWindowMs, kBucketMs);
  auto per_s = [](int64_t tokens, double seconds) { return seconds > 0 ? json(tokens / seconds) : json(nullptr); };
  json buckets = json::array();
  for (const auto& b : rate.buckets) {
    buckets.push_back({{"start", b.start_ms}, {"tokens", b.tokens}, {"tokens_per_s", per_s(b.tokens, b.seconds)}});
  }
  return {{"since", now_ms - kWindowMs}, {"window_ms", kWindowMs}, {"bucket_ms", kBucketMs}, {"tokens", rate.tokens},
          {"tokens_per_s", per_s(rate.tokens, rate.seconds)}, {"buckets", buckets}};
}

void write_status_file(const std::filesystem::path& path, const nlohmann::json& status) {
  std::filesystem::path temp = path;
  temp += ".tmp";
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out << status.dump(2) << '\n';
    if (!out) return;  // status is a convenience; never a reason to stop
  }
  std::error_code ec;
  std::filesystem::rename(temp, path, ec);
}

std::optional<nlohmann::json> read_status_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  auto j = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

}  // namespace agentd::runtime
