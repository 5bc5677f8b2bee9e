// The daemon's HTTP server (cpp-httplib, a pool of threads): an OpenAI-compatible endpoint on the
// shared engine, the control API, and Prometheus metrics.
//
//   POST /v1/chat/completions   OpenAI schema (runtime/openai_api), streaming with SSE ending in
//                               "data: [DONE]"; "priority" and "agent" extras
//   GET  /v1/models             the one model served
//   GET  /api/status            the daemon's status (as `agentd status --json`)
//   GET  /api/agents            agents and their state
//   POST /api/agents/NAME/run   queue a task now ({"input": "..."}); 202 {"id": N}
//   GET  /api/tasks             ?agent= &status= &limit= &before=
//   GET  /api/tasks/ID          one task with its timeline and sections
//   GET  /api/tasks/ID/events   the task's timeline as server-sent events, live until it ends
//   POST /api/tasks/ID/cancel
//   GET  /metrics               Prometheus text format
//
// Loopback by default. Listening on any other address requires a bearer token, read from the
// environment variable named in the config; the daemon refuses to start without it. When a
// token is set, every request must carry "Authorization: Bearer <token>".
// Queues are bounded per class: a chat completion arriving while `max_queued` requests of its
// class already wait gets 429 with Retry-After. Errors are OpenAI-style JSON objects: malformed
// JSON, wrong types, missing fields, unsupported options → 400 naming the field; an oversized
// body → 413; an unknown model → 404. One bad request never stops the server.
// Handlers never touch the agent thread's state: they read a status snapshot (StatusBoard),
// open their own database connections (WAL readers), and submit to the thread-safe engine.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "engine/llama_engine.hpp"
#include "runtime/metrics.hpp"
#include "runtime/status.hpp"

namespace httplib {
class Server;
}

namespace agentd::runtime {

struct HttpOptions {
  bool enabled = true;
  std::string listen = "127.0.0.1:8377";  // host:port; port 0 = any free port
  std::string token_env;                  // name of the environment variable holding the token
  int max_queued = 16;                    // per priority class, waiting for the engine
  size_t max_body_bytes = 1 << 20;
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
};

// "127.0.0.1:8377" → host and port; throws std::invalid_argument.
std::pair<std::string, int> parse_listen_address(const std::string& listen);
bool is_loopback(const std::string& host);

class HttpServer {
 public:
  // Binds at once (throws std::runtime_error naming the address, or when a token is required
  // and missing) and serves on its own threads until stop() or destruction.
  HttpServer(HttpOptions options, HttpContext context);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const { return port_; }
  const std::string& host() const { return host_; }
  void stop();

 private:
  void routes();

  HttpOptions options_;
  HttpContext context_;
  std::string token_;
  std::string host_;
  int port_ = 0;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
};

}  // namespace agentd::runtime
