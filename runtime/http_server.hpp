// The daemon's HTTP server (cpp-httplib, a pool of threads): an OpenAI-compatible endpoint on the
// shared engine, the control API, and Prometheus metrics.
//
//   POST /v1/chat/completions   OpenAI schema (runtime/openai_api), streaming with SSE ending in
//                               "data: [DONE]"; "priority" and "agent" extras
//   GET  /v1/models             the one model served
//   GET  /v1/models/ID          that model (ID: its name or "default"), else 404 model_not_found
//   GET  /api/status            the daemon's status (as `agentd status --json`)
//   GET  /api/agents            agents and their state
//   POST /api/agents/NAME/run   queue a task now ({"input": "...", "dry_run": false}); 202 {"id": N}
//   GET  /api/tasks             ?agent= &status= &class= &since= &until= (ms) &text= &limit= &before=
//   GET  /api/tasks/ID          one task with its timeline and sections
//   GET  /api/tasks/ID/events   the task's timeline as server-sent events, live until it ends; an
//                               interactive task's model text too, as "delta" events while written
//   POST /api/tasks/ID/cancel
//   GET  /metrics               Prometheus text format
//   GET  /  and /web/FILE       the dashboard (runtime/web, embedded; runtime/web_ui)
//   GET  /api/events            the daemon's live state as server-sent events (the dashboard's one stream)
//   GET  /api/agents/NAME       one agent: definition as loaded, schedule, memory keys
//   GET  /api/agents/NAME/notes ?q= full-text search of its notes (recent ones without q)
//   GET  /api/agents/NAME/memory/KEY  one memory value in full, null if never written (the chat
//                               agent's "session:web")
//
// Loopback by default. Listening on any other address requires a bearer token, read from the
// environment variable named in the config; the daemon refuses to start without it. When a
// token is set, every request must carry "Authorization: Bearer <token>". Without one, the Host
// must name this server, and a POST must be JSON from this origin (runtime/http_checks): a web
// page cannot start agents or cancel tasks; a POST under /api/ also carries X-Agentd-Request: 1.
// Every answer carries the dashboard's Content-Security-Policy and nosniff (runtime/web_ui).
// Queues are bounded per class: a chat completion arriving while `max_queued` requests of its
// class already wait gets 429 with Retry-After, counted both by the engine and by this server
// (runtime/http_admission), below the number of worker threads (runtime/http_workers), so an
// interactive request never waits behind lower classes for a thread. One client (peer address,
// loopback included) may have `max_per_client` requests in flight, interactive chat completions
// kInteractiveReserve more; past that 429 (runtime/http_admission, ClientLimit). A connection
// between requests holds no thread: it waits in an epoll set (runtime/http_connections). A
// known route asked with another method is 405 with Allow; more than kMaxHeaders header fields
// 431. Errors are OpenAI-style
// JSON objects: malformed JSON, wrong types, missing fields, unsupported options → 400 naming the
// field; ambiguous framing → 400; an oversized body, chunked or not → 413; an unknown model →
// 404. Every handler and streaming provider runs behind a catch: one bad request (or a stored
// string that is not UTF-8) never stops the server.
// Every /v1 chat completion is recorded in history as an ended task of agent "v1" or
// "v1:<label>" (class, tokens, TTFT, outcome), shown by `agentd tasks`, the dashboard and the
// task counts of /metrics.
// Handlers never touch the agent thread's state: they read a status snapshot (StatusBoard),
// open their own database connections (WAL readers), and submit to the thread-safe engine.
#pragma once

#include <array>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "agents/live_output.hpp"
#include "engine/llama_engine.hpp"
#include "runtime/http_admission.hpp"
#include "runtime/http_checks.hpp"
#include "runtime/listen_address.hpp"
#include "runtime/metrics.hpp"
#include "runtime/status.hpp"
#include "storage/task_window.hpp"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace agentd::runtime {

class IdleConnections;

// Places kept for interactive chat completions above a client's max_per_client.
inline constexpr int kInteractiveReserve = 4;

struct HttpOptions {
  bool enabled = true;
  std::string listen = "127.0.0.1:8377";  // host:port; port 0 = any free port
  std::string token_env;                  // name of the environment variable holding the token
  int max_queued = 16;                    // per priority class, waiting for the engine
  int max_per_client = 32;                // requests in flight per client address (+ the interactive reserve)
  size_t max_body_bytes = 1 << 20;
  int request_timeout_s = 30;             // a request's head and body, from its first byte
};

struct HttpContext {
  engine::Engine& engine;  // the metered engine
  std::function<engine::EngineStats()> engine_stats;
  engine::EngineInfo info;
  int default_max_tokens = 256;
  Metrics& metrics;
  StatusBoard& status;
  std::filesystem::path db_path;
  std::function<void()> poke;  // a task was queued or cancelled
  agents::LiveOutput* live = nullptr;  // interactive tasks' text as it comes; null = no "delta" events
};

bool is_loopback(const std::string& host);

// The generations HTTP clients are waiting on, so that stop() can end them: the server's threads
// are joined only once every handler has returned, and a handler waits for its generation.
class LiveGenerations {
 public:
  // Registered while alive; cancelled at once when the server is already stopping.
  class Registration {
   public:
    Registration(LiveGenerations& live, engine::Generation& g);
    ~Registration();
    Registration(const Registration&) = delete;
    Registration& operator=(const Registration&) = delete;

   private:
    LiveGenerations& live_;
    engine::Generation& generation_;
  };
  void cancel_all();

 private:
  std::mutex mutex_;
  std::set<engine::Generation*> live_;  // guarded by mutex_
  bool stopping_ = false;              // guarded by mutex_
};

// The slow part of the dashboard's live state (24 h window per agent, last runs, failures, decode
// rate), shared by every /api/events stream (runtime/http_dashboard.cpp).
struct SlowLiveState {
  std::mutex mutex;
  storage::TaskWindow day{24LL * 3600 * 1000};  // guarded by mutex
  nlohmann::json value;  // guarded by mutex
  int64_t at = 0;        // ms; 0 = never computed; guarded by mutex
  std::string for_fast;  // the fast part it was computed with; guarded by mutex
};

class HttpServer {
 public:
  // Binds at once (throws std::runtime_error naming the address — in use, by another daemon
  // too: the port is never shared —, or when a token is required and missing) and serves on
  // its own threads until stop() or destruction.
  HttpServer(HttpOptions options, HttpContext context);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const { return port_; }
  const std::string& host() const { return host_; }
  // Connections waiting for their next request (they hold no worker thread).
  size_t idle_connections() const;
  size_t worker_threads() const;  // started so far
  int requests_in_flight(const std::string& client) const { return clients_.active(client); }
  void stop();

 private:
  using Handler = void (HttpServer::*)(const httplib::Request&, httplib::Response&);
  using BodyHandler = void (HttpServer::*)(const httplib::Request&, httplib::Response&, const std::string& body);

  void configure();
  void routes();
  void get(const std::string& pattern, Handler handler);
  void post(const std::string& pattern, BodyHandler handler);
  // Pre-routing: what every request passes before its handler; the error it gets if not.
  std::optional<ApiError> refusal(const httplib::Request& req) const;
  // "GET, HEAD" / "POST" when `path` is a route of other methods than `method`; "" otherwise.
  std::string allowed_methods(const std::string& method, const std::string& path) const;

  // One handler per route.
  void models(const httplib::Request& req, httplib::Response& res);
  void model(const httplib::Request& req, httplib::Response& res);
  void chat_completions(const httplib::Request& req, httplib::Response& res, const std::string& body);
  void metrics(const httplib::Request& req, httplib::Response& res);
  void status(const httplib::Request& req, httplib::Response& res);
  void agents(const httplib::Request& req, httplib::Response& res);
  void run_agent(const httplib::Request& req, httplib::Response& res, const std::string& body);
  void tasks(const httplib::Request& req, httplib::Response& res);
  void task(const httplib::Request& req, httplib::Response& res);
  void cancel_task(const httplib::Request& req, httplib::Response& res, const std::string& body);
  void task_events(const httplib::Request& req, httplib::Response& res);
  // The dashboard (runtime/http_dashboard.cpp).
  void web_page(const httplib::Request& req, httplib::Response& res);
  void web_file(const httplib::Request& req, httplib::Response& res);
  void live_events(const httplib::Request& req, httplib::Response& res);
  void agent_detail(const httplib::Request& req, httplib::Response& res);
  void agent_notes(const httplib::Request& req, httplib::Response& res);
  void agent_memory(const httplib::Request& req, httplib::Response& res);

  void record_v1_call(const ChatCompletionRequest& c, int64_t started_at, const engine::Result& r);
  // The class's ticket, or nullopt after answering 429 (the class, or the client, is full).
  std::optional<HttpGate::Ticket> admit(const httplib::Request& req, scheduler::Priority priority, httplib::Response& res);

  HttpOptions options_;
  HttpContext context_;
  AccessPolicy access_;
  std::string host_;
  int port_ = 0;
  std::array<std::unique_ptr<HttpGate>, scheduler::kPriorityClasses> classes_;  // chat completions in flight
  HttpGate event_streams_;
  SlowLiveState slow_live_;
  LiveGenerations generations_;
  struct Route {
    std::regex pattern;
    std::string method;
  };
  std::vector<Route> routes_;  // written before serving, read-only after
  ClientLimit clients_;
  std::unique_ptr<IdleConnections> idle_;  // outlives the server's workers, which park into it
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
};

}  // namespace agentd::runtime
