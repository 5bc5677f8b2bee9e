// The dashboard's routes of HttpServer (runtime/web_ui for its files and headers): the page, its
// files, one live stream of the daemon's state for every page, and the agent detail reads.
#include <httplib.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <thread>

#include "runtime/http_server.hpp"
#include "runtime/task_json.hpp"
#include "runtime/web_ui.hpp"
#include "storage/memory_store.hpp"
#include "storage/schedule_store.hpp"
#include "storage/schema.hpp"
#include "storage/task_store.hpp"

namespace agentd::runtime {

using nlohmann::json;
using storage::json_text;

namespace {

// How often a live stream looks at the daemon's state, and how often at most it reads what costs
// a range scan (24 h window per agent, each agent's last task, recent failures).
constexpr auto kLiveTick = std::chrono::milliseconds(1000);
constexpr int64_t kSlowEveryMs = 3000;

void answer_json(httplib::Response& res, const json& body, int status = 200) {
  res.status = status;
  res.set_content(json_text(body), "application/json");
}

void answer_error(httplib::Response& res, int status, const std::string& message, const std::string& code) {
  answer_json(res, error_body({status, message, "invalid_request_error", "", code}), status);
}

// A task without its input and output (they may be megabytes; the stream repeats every change).
json summary_json(const storage::Task& t) {
  json j = to_json(t);
  j.erase("input");
  j.erase("output");
  if (j["error"].is_string() && j["error"].get<std::string>().size() > 300) j["error"] = j["error"].get<std::string>().substr(0, 300) + "…";
  return j;
}

// What changes often and costs a few rows: counts, queues, newest id, and the daemon's snapshot
// (without the agents' definitions, which the Agents page reads once).
json live_fast(storage::TaskStore& tasks, const json& daemon, const Metrics& metrics) {
  json out;
  json counts = json::object();
  auto by_status = tasks.count_by_status();
  for (size_t i = 0; i < by_status.size(); ++i) counts[std::string(storage::to_string(storage::TaskStatus(i)))] = by_status[i];
  out["tasks"] = counts;
  auto queued = tasks.queued_by_priority();
  auto ttft = metrics.ttft_summary();
  json classes = json::object();
  for (scheduler::Priority p : {scheduler::Priority::interactive, scheduler::Priority::tool, scheduler::Priority::background}) {
    auto i = static_cast<size_t>(scheduler::index(p));
    classes[std::string(scheduler::to_string(p))] = {
        {"queued_tasks", queued[i]}, {"calls", ttft[i].calls}, {"ttft_p50_ms", ttft[i].p50_ms}, {"ttft_p95_ms", ttft[i].p95_ms}};
  }
  out["classes"] = classes;
  out["latest_id"] = tasks.latest_id();
  out["daemon"] = daemon;
  for (auto& a : out["daemon"]["agents"]) a.erase("definition");
  return out;
}

// Per agent: the last task, the 24 h window, the next run; and the latest failures.
json live_slow(storage::Database& db, storage::TaskWindow& day) {
  storage::TaskStore tasks(db);
  json agents = json::object();
  for (const auto& w : day.refresh(db, storage::now_ms())) {
    agents[w.agent]["day"] = {{"tasks", w.total}, {"finished", w.finished}, {"failed", w.failed},
                              {"p95_duration_ms", w.p95_duration_ms}};
  }
  for (const auto& s : storage::ScheduleStore(db).list()) {
    json& a = agents[s.agent];
    if (s.next_fire_at && (!a.contains("next_run") || *s.next_fire_at < a["next_run"].get<int64_t>())) a["next_run"] = *s.next_fire_at;
  }
  json failures = json::array();
  storage::TaskFilter f;
  f.status = storage::TaskStatus::failed;
  f.limit = 8;
  for (const auto& t : tasks.list(f)) failures.push_back(summary_json(t));
  return {{"agents", agents}, {"failures", failures}, {"decode", decode_last_hour(db, storage::now_ms())}};
}

// The last task of each named agent (one indexed row each).
void add_last_runs(storage::TaskStore& tasks, json& slow, const json& daemon_agents) {
  for (const auto& a : daemon_agents) {
    storage::TaskFilter f;
    f.agent = a.value("name", "");
    f.limit = 1;
    for (const auto& t : tasks.list(f)) slow["agents"][*f.agent]["last"] = summary_json(t);
  }
}

struct LiveStream {
  std::shared_ptr<storage::Database> db;
  std::string last_fast;
  int64_t slow_at = 0;  // when the slow part it last sent was computed
};

// The slow part, shared by every stream: computed again only when the fast part changed since it
// was computed, and at most once per kSlowEveryMs. Each page load opens a stream; the 24 h window
// (SlowLiveState::day) reads only the tasks added or not ended since its last refresh, where a
// full read at 1M tasks was ~86k rows and a few hundred ms of CPU. Streams that ask while it is
// computed wait for it rather than compute it again. Returns the value and when it was computed.
std::pair<json, int64_t> shared_slow(SlowLiveState& shared, storage::Database& db, const std::string& fast_text,
                                     const json& daemon_agents, int64_t now) {
  std::lock_guard lock(shared.mutex);
  if (shared.at == 0 || (shared.for_fast != fast_text && now - shared.at >= kSlowEveryMs)) {
    storage::TaskStore tasks(db);
    shared.value = live_slow(db, shared.day);
    add_last_runs(tasks, shared.value, daemon_agents);
    shared.at = now;
    shared.for_fast = fast_text;
  }
  return {shared.value, shared.at};
}

bool live_next(LiveStream& s, SlowLiveState& shared, const StatusBoard& board, const Metrics& metrics, httplib::DataSink& sink) {
  storage::TaskStore tasks(*s.db);
  json daemon = board.get();
  json fast = live_fast(tasks, daemon, metrics);
  std::string fast_text = json_text(fast);
  const int64_t now = storage::now_ms();
  auto [slow, slow_at] = shared_slow(shared, *s.db, fast_text, daemon.value("agents", json::array()), now);
  if (fast_text != s.last_fast || slow_at != s.slow_at) {
    s.slow_at = slow_at;
    fast["agents"] = slow["agents"];
    fast["failures"] = slow["failures"];
    fast["decode"] = slow["decode"];
    fast["now"] = now;
    std::string text = "event: state\ndata: " + json_text(fast) + "\n\n";
    if (!sink.write(text.data(), text.size())) return false;
    s.last_fast = std::move(fast_text);
  } else if (!sink.write(": idle\n\n", 8)) {  // notices a closed tab within a tick
    return false;
  }
  std::this_thread::sleep_for(kLiveTick);
  return true;
}

}  // namespace

void HttpServer::web_page(const httplib::Request&, httplib::Response& res) { serve_web_file("index.html", res); }

void HttpServer::web_file(const httplib::Request& req, httplib::Response& res) {
  if (!serve_web_file(std::string(req.matches[1]), res)) {
    answer_error(res, 404, "no file " + req.path + " in the dashboard", "not_found");
  }
}

void HttpServer::live_events(const httplib::Request&, httplib::Response& res) {
  auto ticket = event_streams_.enter();
  if (!ticket) {
    res.set_header("Retry-After", "1");
    return answer_error(res, 429, std::to_string(event_streams_.limit()) + " event streams are open; retry shortly", "too_many_streams");
  }
  auto held = std::make_shared<HttpGate::Ticket>(std::move(*ticket));
  auto stream = std::make_shared<LiveStream>();
  stream->db = std::shared_ptr<storage::Database>(storage::open_database(context_.db_path, storage::OpenMode::read_only));
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider("text/event-stream", [this, stream, held](size_t, httplib::DataSink& sink) {
    try {
      return live_next(*stream, slow_live_, context_.status, context_.metrics, sink);
    } catch (const std::exception& e) {
      spdlog::error("http: /api/events: stream ended by: {}", e.what());
      sink.done();
      return true;
    }
  });
}

void HttpServer::agent_detail(const httplib::Request& req, httplib::Response& res) {
  std::string name = req.matches[1];
  json agent;
  for (const auto& a : context_.status.get().value("agents", json::array())) {
    if (a["name"] == name) agent = a;
  }
  if (agent.is_null()) return answer_error(res, 404, "no agent '" + name + "'", "not_found");
  auto db = storage::open_database(context_.db_path, storage::OpenMode::read_only);
  json schedule = json::array();
  for (const auto& s : storage::ScheduleStore(*db).list()) {
    if (s.agent != name) continue;
    json j = {{"trigger", s.trigger}};
    if (s.last_fire_at) j["last_fire"] = *s.last_fire_at;
    if (s.next_fire_at) j["next_fire"] = *s.next_fire_at;
    schedule.push_back(j);
  }
  json memory = json::array();
  for (const auto& m : storage::MemoryStore(*db).list(name)) {
    std::string value = json_text(m.value);
    if (value.size() > 400) value = value.substr(0, 400) + "…";
    memory.push_back({{"key", m.key}, {"value", value}, {"updated_at", m.updated_at}});
  }
  agent["schedule"] = schedule;
  agent["memory"] = memory;
  answer_json(res, agent);
}

void HttpServer::agent_notes(const httplib::Request& req, httplib::Response& res) {
  std::string name = req.matches[1];
  auto db = storage::open_database(context_.db_path, storage::OpenMode::read_only);
  storage::MemoryStore memory(*db);
  std::string q = req.has_param("q") ? req.get_param_value("q") : "";
  json out = json::array();
  // search_notes quotes every word (fts_query): no user text is read as FTS5 syntax.
  for (const auto& n : q.empty() ? memory.recent_notes(name, 50) : memory.search_notes(name, q, 50)) out.push_back(to_json(n));
  answer_json(res, out);
}

// One memory value in full (agent_detail shows each cut at 400 characters): the Chat page reads
// its session's conversation ("session:NAME") here. A key never written is null (a new session is
// no error); an agent that is not loaded is 404.
void HttpServer::agent_memory(const httplib::Request& req, httplib::Response& res) {
  std::string name = req.matches[1], key = req.matches[2];
  bool loaded = false;
  for (const auto& a : context_.status.get().value("agents", json::array())) loaded = loaded || a["name"] == name;
  if (!loaded) return answer_error(res, 404, "no agent '" + name + "'", "not_found");
  auto db = storage::open_database(context_.db_path, storage::OpenMode::read_only);
  auto value = storage::MemoryStore(*db).get(name, key);
  answer_json(res, {{"key", key}, {"value", value ? *value : json(nullptr)}});
}

}  // namespace agentd::runtime
