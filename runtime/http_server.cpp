#include "runtime/http_server.hpp"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <arpa/inet.h>
#include <sys/socket.h>

#include <atomic>
#include <cstdlib>
#include <random>

#include "core/thread_name.hpp"
#include "engine/json_schema_grammar.hpp"
#include "engine/request_json.hpp"
#include "engine/stop_matcher.hpp"
#include "scheduler/bounded_json.hpp"
#include "runtime/http_connections.hpp"
#include "runtime/http_workers.hpp"
#include "runtime/openai_api.hpp"
#include "runtime/task_json.hpp"
#include "runtime/web_ui.hpp"
#include "storage/schema.hpp"
#include "storage/section_store.hpp"
#include "storage/task_store.hpp"

namespace agentd::runtime {

using nlohmann::json;
using storage::json_text;  // the one writer: bytes that are not UTF-8 become U+FFFD, never an exception

namespace {

// Each class may have `slots` requests generating and `max_queued` waiting; beyond that 429.
// Capped so that the worker pool below stays a sane size whatever max_queued says.
constexpr int kMaxPerClass = 256;
// Threads for everything that is not a chat completion: control API, metrics, event streams, and
// requests still being read. (Connections idle between requests hold none: they are parked.)
constexpr size_t kOtherWorkers = 512;
constexpr int kMaxEventStreams = 64;
constexpr int kListenBacklog = 512;

// How long a connection may wait for its next request (parked, holding no thread) before it is closed.
constexpr int kKeepAliveSeconds = 5;
// Idle connections one client may keep; past that its oldest is closed (they cost a descriptor each).
constexpr size_t kMaxIdlePerClient = 256;

// Set by close_after() while this thread handles a request; Listener::serve then closes the
// connection. httplib decides whether to keep a connection from the request's Connection header
// as it reads the head, before any handler runs, so a header set later only changes the answer.
thread_local bool t_close_connection = false;

// httplib::Server with what 0.11 does not expose: a listen backlog above its fixed 5 (a burst of
// connections was refused by the kernel; listen() again on the bound socket sets it on Linux), and
// our own connection loop (http_connections.hpp): a worker serves a connection only while it has
// a request to read, and parks it in `idle` in between.
class Listener : public httplib::Server {
 public:
  bool set_backlog(int backlog) { return ::listen(svr_sock_, backlog) == 0; }

  // Set before serving: where idle connections wait, and who counts a client's active ones.
  void serve_through(IdleConnections& idle, ClientLimit& clients, std::chrono::seconds request_timeout) {
    idle_ = &idle;
    clients_ = &clients;
    request_timeout_ = request_timeout;
  }
  httplib::TaskQueue* make_workers(size_t threads) {
    std::atomic_store(&workers_, std::make_shared<HttpWorkers>(threads));
    return new HttpWorkers::Handle(std::atomic_load(&workers_));  // httplib deletes the handle, not the pool
  }
  size_t worker_threads() const {
    auto w = std::atomic_load(&workers_);
    return w ? w->threads() : 0;
  }
  // A parked connection with a request to read: back to a worker.
  void resume(std::unique_ptr<Connection> c) {
    auto held = std::make_shared<std::unique_ptr<Connection>>(std::move(c));
    if (auto w = std::atomic_load(&workers_)) w->enqueue([this, held] { serve(std::move(*held)); });
  }

 private:
  // httplib calls this on a worker for each accepted connection (it is virtual in 0.11; its own
  // version holds the worker until the connection closes).
  bool process_and_close_socket(socket_t sock) override {
    serve(std::make_unique<Connection>(sock, SocketTimeouts{std::chrono::seconds(read_timeout_sec_) +
                                                                std::chrono::microseconds(read_timeout_usec_),
                                                            std::chrono::seconds(write_timeout_sec_) +
                                                                std::chrono::microseconds(write_timeout_usec_),
                                                            request_timeout_}));
    return true;
  }

  // Requests while bytes are there; then parked, or closed (the last request of keep-alive, an
  // error, "Connection: close", or the server stopping).
  void serve(std::unique_ptr<Connection> c) {
    while (svr_sock_ != INVALID_SOCKET) {
      if (!c->stream.has_input_now()) return idle_->park(std::move(c));
      ClientLimit::Active active = clients_->activate(c->peer);
      const bool last = ++c->requests >= keep_alive_max_count_;
      bool closed = false;
      t_close_connection = false;
      c->stream.start_request();
      if (!process_request(c->stream, last, closed, nullptr) || closed || last || t_close_connection) return;
    }
  }

  IdleConnections* idle_ = nullptr;
  ClientLimit* clients_ = nullptr;
  std::chrono::seconds request_timeout_{};  // set by serve_through (http.request_timeout_s)
  std::shared_ptr<HttpWorkers> workers_;  // set once, before any connection; read with atomic_load
};

// SO_REUSEADDR only: a restarted daemon binds despite connections in TIME_WAIT. httplib's default
// also sets SO_REUSEPORT, with which a second daemon bound the same port and the kernel split
// connections between the two.
void listener_socket_options(socket_t sock) {
  int yes = 1;
  ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
}

void send_error(httplib::Response& res, const ApiError& e) {
  res.status = e.status;
  res.set_content(json_text(error_body(e)), "application/json");
}

void send_json(httplib::Response& res, const json& body, int status = 200) {
  res.status = status;
  res.set_content(json_text(body), "application/json");
}

// The request's connection is closed after this answer (which says so): what is left of its body
// is never read as a next request.
void close_after(const httplib::Request& req) {
  const_cast<httplib::Request&>(req).set_header("Connection", "close");
  t_close_connection = true;
}

std::string what_of(std::exception_ptr ep) {
  try {
    if (ep) std::rethrow_exception(ep);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
  }
  return "unknown exception";
}

// Runs a handler; an exception becomes a logged 500 naming the route, never an escape into httplib.
void guarded(const httplib::Request& req, httplib::Response& res, const std::function<void()>& handler) {
  try {
    handler();
  } catch (...) {
    std::string what = what_of(std::current_exception());
    spdlog::error("http: {} {}: {}", req.method, req.path, what);
    send_error(res, {500, "internal error in " + req.method + " " + req.path + ": " + what, "server_error", "", ""});
  }
}

// A streaming provider behind a catch: an exception ends the stream with an error event and is
// logged. httplib 0.11 calls providers outside any try, so one escaping would end the process.
httplib::ContentProviderWithoutLength guarded_stream(std::string route, httplib::ContentProviderWithoutLength provider) {
  return [route = std::move(route), provider = std::move(provider)](size_t offset, httplib::DataSink& sink) {
    try {
      return provider(offset, sink);
    } catch (...) {
      std::string what = what_of(std::current_exception());
      spdlog::error("http: {}: stream ended by: {}", route, what);
      std::string tail = "event: error\ndata: " + json_text(error_body({500, what, "server_error", "", ""})) + "\n\n";
      sink.write(tail.data(), tail.size());
      sink.done();
      return true;
    }
  };
}

// The body, read through httplib's content reader so that its size is counted whatever the
// framing: httplib 0.11 checks the limit against Content-Length only and took any chunked body.
std::optional<std::string> read_body(const httplib::Request& req, httplib::Response& res,
                                     const httplib::ContentReader& reader, size_t max_bytes) {
  std::string body;
  bool too_large = false;
  bool read = reader([&](const char* data, size_t n) {
    if (body.size() + n > max_bytes) {
      too_large = true;
      return false;
    }
    body.append(data, n);
    return true;
  });
  if (read) return body;
  close_after(req);
  if (too_large || res.status == 413) {
    send_error(res, {413, "the request body is larger than " + std::to_string(max_bytes >> 10) + " KB (http.max_body_kb)",
                     "invalid_request_error", "", "request_too_large"});
  } else {
    send_error(res, {400, "the request body could not be read (malformed chunks, or the client stopped sending)",
                     "invalid_request_error", "", ""});
  }
  return std::nullopt;
}

std::string completion_id() {
  static std::atomic<uint64_t> counter{0};
  thread_local std::mt19937_64 random{std::random_device{}()};
  char buf[48];
  std::snprintf(buf, sizeof buf, "chatcmpl-%08llx%06llx", static_cast<unsigned long long>(random() & 0xffffffff),
                static_cast<unsigned long long>(++counter));
  return buf;
}

int64_t unix_seconds() { return storage::now_ms() / 1000; }

std::optional<int64_t> int_param(const httplib::Request& req, const char* key) {
  if (!req.has_param(key)) return std::nullopt;
  try {
    return std::stoll(req.get_param_value(key));
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// A task id from the route's (\d+): digits, but maybe too many for int64.
std::optional<int64_t> task_id(const httplib::Request& req, httplib::Response& res) {
  try {
    return std::stoll(req.matches[1]);
  } catch (const std::exception&) {
    send_error(res, {404, "no task " + std::string(req.matches[1]), "invalid_request_error", "", "not_found"});
    return std::nullopt;
  }
}

// Streams a generation as chat.completion.chunk events. State shared with the provider calls;
// the class's ticket is held until the stream is released.
struct Stream {
  std::unique_ptr<engine::Generation> generation;
  std::optional<LiveGenerations::Registration> live;  // after `generation`: ends before it
  std::optional<HttpGate::Ticket> ticket;
  std::string id, model;
  int64_t created = 0;
  bool include_usage = false;
  bool started = false;
  std::function<void(const engine::Result&)> record;  // the call into history, once it ended
};

bool stream_next(Stream& s, httplib::DataSink& sink) {
  auto write = [&](const std::string& text) { return sink.write(text.data(), text.size()); };
  if (!s.started) {
    s.started = true;
    if (!write(chunk_event(s.id, s.model, s.created, {{"role", "assistant"}, {"content", ""}}))) {
      s.generation->cancel();
      return false;
    }
  }
  if (auto delta = s.generation->next_delta()) {
    if (!write(chunk_event(s.id, s.model, s.created, delta_json(*delta)))) {
      s.generation->cancel();  // the client went away
      return false;
    }
    return true;
  }
  engine::Result r = s.generation->wait();
  if (s.record) s.record(r);  // before [DONE]: a client that then reads history finds the call
  s.record = nullptr;
  std::string tail;
  if (r.finish == engine::FinishReason::error) {
    tail = "data: " + json_text(error_body({500, r.error, "server_error", "", ""})) + "\n\n";
  } else {
    tail = chunk_event(s.id, s.model, s.created, json::object(), openai_finish_reason(r));
    if (s.include_usage) tail += usage_event(s.id, s.model, s.created, r);
  }
  tail += "data: [DONE]\n\n";
  write(tail);
  sink.done();
  return true;
}

void stream_chat(httplib::Response& res, std::shared_ptr<Stream> s) {
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "text/event-stream", guarded_stream("chat completion stream", [s](size_t, httplib::DataSink& sink) { return stream_next(*s, sink); }),
      [s](bool) {
        // The client went away (or the stream ended): stop the generation and wait for its end, so
        // it is counted (cancelled) like any other call. Both are no-ops if it already ended.
        s->generation->cancel();
        engine::Result r = s->generation->wait();
        if (s->record) s->record(r);  // the client went away before the end
        s->record = nullptr;
      });
}

// What one task-events stream has sent: timeline events, and of the live text the call and bytes.
struct TaskEventsSent {
  size_t events = 0;
  int call = 0;
  size_t text_bytes = 0;
  uint64_t version = 0;
};

// The live text written since the last delta (whole UTF-8 characters only), as a "delta" event
// {"call": N, "text": "..."}; a new call starts its text afresh.
bool send_delta(const agents::LiveOutput::Snapshot& s, TaskEventsSent& sent, httplib::DataSink& sink) {
  sent.version = s.version;
  if (s.call != sent.call) {
    sent.call = s.call;
    sent.text_bytes = 0;
  }
  size_t upto = s.text.size() - engine::incomplete_utf8_tail(s.text);  // a token may end mid-character
  if (upto <= sent.text_bytes) return true;
  json delta = {{"call", s.call}, {"text", s.text.substr(sent.text_bytes, upto - sent.text_bytes)}};
  sent.text_bytes = upto;
  std::string text = "event: delta\ndata: " + json_text(delta) + "\n\n";
  return sink.write(text.data(), text.size());
}

// One look at a task: the timeline events not sent yet; then, if it ended, the rest of its live
// text and "end"; else its live text as it comes for up to kLook (the task's other writes come
// from the agent thread or another process: the timeline is read again after that).
bool task_events_next(storage::Database& db, agents::LiveOutput* live, int64_t id, TaskEventsSent& sent,
                      httplib::DataSink& sink) {
  constexpr auto kLook = std::chrono::milliseconds(200);
  storage::TaskStore tasks(db);
  auto t = tasks.get(id);  // before the events and the text: all of both were written before it ended
  bool ended = !t || (t->status != storage::TaskStatus::queued && t->status != storage::TaskStatus::running);
  auto events = tasks.events(id);
  for (; sent.events < events.size(); ++sent.events) {
    std::string text = "event: " + events[sent.events].kind + "\ndata: " + json_text(to_json(events[sent.events])) + "\n\n";
    if (!sink.write(text.data(), text.size())) return false;
  }
  if (ended) {
    if (auto s = live ? live->wait_change(id, sent.version, std::chrono::milliseconds(0)) : std::nullopt) {
      if (!send_delta(*s, sent, sink)) return false;
    }
    std::string end = "event: end\ndata: " + (t ? json_text(to_json(*t)) : "{}") + "\n\n";
    sink.write(end.data(), end.size());
    sink.done();
    return true;
  }
  if (!live) {
    std::this_thread::sleep_for(kLook);
    return true;
  }
  const auto until = std::chrono::steady_clock::now() + kLook;
  for (auto left = kLook; left.count() > 0;
       left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now())) {
    auto s = live->wait_change(id, sent.version, left);
    if (!s) break;
    if (!send_delta(*s, sent, sink)) return false;
  }
  return true;
}

}  // namespace

bool is_loopback(const std::string& host) {
  if (host == "localhost" || host == "::1") return true;
  in_addr v4{};
  return inet_pton(AF_INET, host.c_str(), &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127;
}

HttpServer::HttpServer(HttpOptions options, HttpContext context)
    : options_(std::move(options)),
      context_(std::move(context)),
      event_streams_(kMaxEventStreams),
      clients_(options_.max_per_client, kInteractiveReserve),
      server_(std::make_unique<Listener>()) {
  auto [host, port] = parse_listen_address(options_.listen);
  host_ = host;
  access_.listen_host = host;
  access_.max_body_bytes = options_.max_body_bytes;
  if (!options_.token_env.empty()) {
    const char* token = std::getenv(options_.token_env.c_str());
    if (token) access_.token = token;
  }
  if (!is_loopback(host_) && access_.token.empty()) {
    throw std::runtime_error("http: listening on " + options_.listen + " (not loopback) needs a bearer token: set \"http\": " +
                             "{\"token_env\": \"NAME\"} in agentd.json and the environment variable NAME" +
                             (options_.token_env.empty() ? "" : " (" + options_.token_env + " is unset or empty)"));
  }
  configure();
  routes();
  port_ = port == 0 ? server_->bind_to_any_port(host_) : (server_->bind_to_port(host_, port) ? port : -1);
  if (port_ < 0) {
    throw std::runtime_error("http: cannot listen on " + options_.listen +
                             " (address in use — another agentd? — or not an address here); choose another with "
                             "--listen HOST:PORT (port 0: any free one) or \"http\": {\"listen\"} in agentd.json, or run with --no-http");
  }
  if (!static_cast<Listener&>(*server_).set_backlog(kListenBacklog)) {
    spdlog::warn("http: could not raise the listen backlog to {}; httplib's 5 applies", kListenBacklog);
  }
  thread_ = std::thread([this] {
    core::name_this_thread(core::thread_names::http_accept);
    server_->listen_after_bind();
  });
}

LiveGenerations::Registration::Registration(LiveGenerations& live, engine::Generation& g) : live_(live), generation_(g) {
  std::lock_guard lock(live_.mutex_);
  live_.live_.insert(&generation_);
  if (live_.stopping_) generation_.cancel();
}

LiveGenerations::Registration::~Registration() {
  std::lock_guard lock(live_.mutex_);
  live_.live_.erase(&generation_);
}

void LiveGenerations::cancel_all() {
  std::lock_guard lock(mutex_);
  stopping_ = true;
  for (engine::Generation* g : live_) g->cancel();
}

HttpServer::~HttpServer() { stop(); }

size_t HttpServer::idle_connections() const { return idle_ ? idle_->parked() : 0; }
size_t HttpServer::worker_threads() const { return static_cast<const Listener&>(*server_).worker_threads(); }

void HttpServer::stop() {
  generations_.cancel_all();  // else stopping waits for every client's generation to run out
  if (idle_) idle_->stop();   // before the workers go: nothing is handed to them any more
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

// Limits, worker threads, and what runs around every route.
void HttpServer::configure() {
  httplib::Server& s = *server_;
  const int per_class = std::min(kMaxPerClass, options_.max_queued + std::max(context_.info.slots, 1));
  for (auto& gate : classes_) gate = std::make_unique<HttpGate>(per_class);
  const size_t workers = static_cast<size_t>(scheduler::kPriorityClasses * per_class) + kOtherWorkers;
  auto& listener = static_cast<Listener&>(s);
  idle_ = std::make_unique<IdleConnections>([&listener](std::unique_ptr<Connection> c) { listener.resume(std::move(c)); },
                                            std::chrono::seconds(kKeepAliveSeconds), kMaxIdlePerClient);
  listener.serve_through(*idle_, clients_, std::chrono::seconds(options_.request_timeout_s));
  s.new_task_queue = [&listener, workers] { return listener.make_workers(workers); };
  s.set_socket_options(listener_socket_options);
  // No Nagle: httplib writes a response's head and body separately, and on a kept-alive connection
  // the body then waited for the client's delayed ACK of the head (up to 40 ms on Linux): the
  // dashboard's module files and its /api/tasks read took 30-150 ms each. Accepted sockets inherit it.
  s.set_tcp_nodelay(true);
  s.set_payload_max_length(options_.max_body_bytes);
  s.set_keep_alive_timeout(kKeepAliveSeconds);
  s.set_read_timeout(5, 0);  // per read: a client that stops sending mid-request
  s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    set_security_headers(res);
    auto e = refusal(req);
    if (!e) return httplib::Server::HandlerResponse::Unhandled;
    close_after(req);  // the body, if any, is never read: it must not be taken for a next request
    if (e->status == 429) res.set_header("Retry-After", "1");
    if (e->status == 405) res.set_header("Allow", allowed_methods(req.method, req.path));
    send_error(res, *e);
    return httplib::Server::HandlerResponse::Handled;
  });
  s.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    // httplib's own refusals (a request line or head it cannot parse, 413, 414) end the
    // connection: the bytes after a head it could not read are not requests.
    if (!res.body.empty()) return;
    if (res.status != 404) t_close_connection = true;
    if (res.status == 413) {
      send_error(res, {413, "the request body is too large", "invalid_request_error", "", "request_too_large"});
    } else if (res.status == 404) {
      send_error(res, {404, "no route " + req.method + " " + req.path, "invalid_request_error", "", "not_found"});
    } else {
      send_error(res, {res.status, "HTTP status " + std::to_string(res.status), "invalid_request_error", "", ""});
    }
  });
  s.set_exception_handler([](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
    std::string what = what_of(ep);
    spdlog::error("http: {} {}: {}", req.method, req.path, what);
    send_error(res, {500, what, "server_error", "", ""});
  });
}

// In order: the head (header count, framing, token or Host), the method (405 on a known route),
// what a state-changing request must be, then the client's bound. A chat completion is checked
// against the client's bound in its handler, once its class is known (interactive has a reserve).
std::optional<ApiError> HttpServer::refusal(const httplib::Request& req) const {
  if (auto e = check_request(req, access_)) return e;
  if (std::string allow = allowed_methods(req.method, req.path); !allow.empty()) {
    return ApiError{405, req.method + " is not a method of " + req.path + " (it takes " + allow + ")", "invalid_request_error",
                    "", "method_not_allowed"};
  }
  if (auto e = check_state_change(req, access_)) return e;
  const bool chat = req.method == "POST" && req.path == "/v1/chat/completions";
  if (!chat && !clients_.allows(req.remote_addr, false)) {
    return ApiError{429, "this client (" + req.remote_addr + ") already has " + std::to_string(clients_.limit()) +
                             " requests in flight (http.max_per_client); retry shortly",
                    "rate_limit_error", "", "client_limit"};
  }
  return std::nullopt;
}

std::string HttpServer::allowed_methods(const std::string& method, const std::string& path) const {
  std::string allow;
  bool served = false;
  for (const Route& r : routes_) {
    if (!std::regex_match(path, r.pattern)) continue;
    served = served || r.method == method || (method == "HEAD" && r.method == "GET");
    if (allow.find(r.method) == std::string::npos) allow += (allow.empty() ? "" : ", ") + r.method + (r.method == "GET" ? ", HEAD" : "");
  }
  return served ? "" : allow;
}

void HttpServer::get(const std::string& pattern, Handler handler) {
  routes_.push_back({std::regex(pattern), "GET"});
  server_->Get(pattern, [this, handler](const httplib::Request& req, httplib::Response& res) {
    guarded(req, res, [&] { (this->*handler)(req, res); });
  });
}

void HttpServer::post(const std::string& pattern, BodyHandler handler) {
  routes_.push_back({std::regex(pattern), "POST"});
  server_->Post(pattern, [this, handler](const httplib::Request& req, httplib::Response& res,
                                         const httplib::ContentReader& reader) {
    guarded(req, res, [&] {
      if (auto body = read_body(req, res, reader, options_.max_body_bytes)) (this->*handler)(req, res, *body);
    });
  });
}

void HttpServer::routes() {
  get("/v1/models", &HttpServer::models);
  get(R"(/v1/models/(.+))", &HttpServer::model);
  post("/v1/chat/completions", &HttpServer::chat_completions);
  get("/metrics", &HttpServer::metrics);
  get("/api/status", &HttpServer::status);
  get("/api/agents", &HttpServer::agents);
  post(R"(/api/agents/([a-z][a-z0-9_-]*)/run)", &HttpServer::run_agent);
  get("/api/tasks", &HttpServer::tasks);
  get(R"(/api/tasks/(\d+))", &HttpServer::task);
  post(R"(/api/tasks/(\d+)/cancel)", &HttpServer::cancel_task);
  get(R"(/api/tasks/(\d+)/events)", &HttpServer::task_events);
  get("/", &HttpServer::web_page);
  get(R"(/web/([A-Za-z0-9_-]+\.(?:js|css|html|svg|png)))", &HttpServer::web_file);
  get("/api/events", &HttpServer::live_events);
  get(R"(/api/agents/([a-z][a-z0-9_-]*))", &HttpServer::agent_detail);
  get(R"(/api/agents/([a-z][a-z0-9_-]*)/notes)", &HttpServer::agent_notes);
  get(R"(/api/agents/([a-z][a-z0-9_-]*)/memory/([A-Za-z0-9_.:-]{1,128}))", &HttpServer::agent_memory);
}

void HttpServer::models(const httplib::Request&, httplib::Response& res) {
  send_json(res, {{"object", "list"}, {"data", json::array({model_object(context_.info.model)})}});
}

void HttpServer::model(const httplib::Request& req, httplib::Response& res) {
  if (auto e = unknown_model(req.matches[1], context_.info.model)) return send_error(res, *e);
  send_json(res, model_object(context_.info.model));
}

std::optional<HttpGate::Ticket> HttpServer::admit(const httplib::Request& req, scheduler::Priority priority,
                                                  httplib::Response& res) {
  if (!clients_.allows(req.remote_addr, priority == scheduler::Priority::interactive)) {
    res.set_header("Retry-After", "1");
    send_error(res, {429,
                     "this client (" + req.remote_addr + ") already has " + std::to_string(clients_.active(req.remote_addr) - 1) +
                         " requests in flight (http.max_per_client " + std::to_string(clients_.limit()) +
                         ", interactive chat completions " + std::to_string(clients_.reserve()) + " more); retry shortly",
                     "rate_limit_error", "", "client_limit"});
    return std::nullopt;
  }
  auto cls = static_cast<size_t>(scheduler::index(priority));
  std::optional<HttpGate::Ticket> ticket;
  if (context_.engine_stats().by_class[cls].queued < options_.max_queued) ticket = classes_[cls]->enter();
  if (ticket) return ticket;
  res.set_header("Retry-After", "1");
  send_error(res, {429,
                   "too many " + std::string(scheduler::to_string(priority)) + " requests are waiting for the model (limit " +
                       std::to_string(options_.max_queued) + "); retry shortly",
                   "rate_limit_error", "", "queue_full"});
  return std::nullopt;
}

void HttpServer::chat_completions(const httplib::Request& req, httplib::Response& res, const std::string& body) {
  auto parsed = parse_chat_completion(body, context_.info.model, context_.default_max_tokens, context_.info.context);
  if (auto* e = std::get_if<ApiError>(&parsed)) return send_error(res, *e);
  auto& c = std::get<ChatCompletionRequest>(parsed);
  auto ticket = admit(req, c.request.priority, res);
  if (!ticket) return;
  std::unique_ptr<engine::Generation> generation;
  try {
    generation = context_.engine.submit(c.request);
  } catch (const engine::RequestError& e) {
    return send_error(res, {400, e.what(), "invalid_request_error", e.field().empty() ? "messages" : e.field(), ""});
  }
  if (!c.agent.empty()) spdlog::debug("http: chat completion for agent label '{}'", c.agent);
  const std::string id = completion_id();
  res.set_header("x-request-id", id);  // as OpenAI's: clients show it with errors and in logs
  auto record = [this, call = c, started = storage::now_ms()](const engine::Result& r) { record_v1_call(call, started, r); };
  if (!c.stream) {
    LiveGenerations::Registration live(generations_, *generation);
    engine::Result r = generation->wait();
    record(r);
    if (r.finish == engine::FinishReason::error) return send_error(res, {500, r.error, "server_error", "", ""});
    return send_json(res, completion_body(id, c.model, unix_seconds(), r));
  }
  auto stream = std::make_shared<Stream>();
  stream->generation = std::move(generation);
  stream->live.emplace(generations_, *stream->generation);
  stream->ticket = std::move(ticket);
  stream->id = id;
  stream->model = c.model;
  stream->created = unix_seconds();
  stream->include_usage = c.include_usage;
  stream->record = record;
  stream_chat(res, stream);
}

// A /v1 call is history too: one ended task (agent v1_task_agent(label)) with its llm_call event.
// A database that refuses the write costs the record, never the answer (logged).
void HttpServer::record_v1_call(const ChatCompletionRequest& c, int64_t started_at, const engine::Result& r) {
  constexpr size_t kKeptChars = 4000;
  storage::NewTask task;
  task.agent = v1_task_agent(c.agent);
  task.plugin = "v1";
  task.priority = c.request.priority;
  task.trigger = "http /v1";
  if (!c.request.messages.empty()) task.input = c.request.messages.back().content.substr(0, kKeptChars);
  else task.input = c.request.prompt.substr(0, kKeptChars);
  storage::EndedCall call;
  call.status = r.finish == engine::FinishReason::error ? storage::TaskStatus::failed
                : r.finish == engine::FinishReason::cancelled ? storage::TaskStatus::cancelled
                                                              : storage::TaskStatus::finished;
  if (r.finish == engine::FinishReason::error) call.error = r.error;
  else call.output = r.text.substr(0, kKeptChars);
  call.started_at = started_at;
  call.finished_at = storage::now_ms();
  call.llm_call = {{"route", "local"},  {"label", c.agent},
                   {"queue_wait_ms", r.queue_wait_ms}, {"ttft_ms", r.ttft_ms},
                   {"prompt_tokens", r.prompt_tokens}, {"cached_tokens", r.cached_tokens},
                   {"completion_tokens", r.completion_tokens}, {"decode_tokens_per_s", r.decode_tokens_per_s},
                   {"finish", engine::to_string(r.finish)},
                   {"request", engine::request_record(c.request, started_at)}};
  try {
    storage::TaskStore(*storage::open_database(context_.db_path)).record_call(task, call);
  } catch (const std::exception& e) {
    spdlog::warn("http: the /v1 call was answered but not recorded in history: {}", e.what());
  }
}

void HttpServer::metrics(const httplib::Request&, httplib::Response& res) {
  // Counts kept by the schema's triggers: a scrape reads six rows, never the tasks table.
  std::map<std::string, int64_t> by_status;
  auto db = storage::open_database(context_.db_path, storage::OpenMode::read_only);
  auto counts = storage::TaskStore(*db).count_by_status();
  for (size_t i = 0; i < counts.size(); ++i) by_status[std::string(storage::to_string(storage::TaskStatus(i)))] = counts[i];
  std::string text = context_.metrics.render(context_.engine_stats(), context_.info.slots, by_status);
  text += "# HELP agentd_http_idle_connections Connections waiting for their next request (they hold no thread).\n"
          "# TYPE agentd_http_idle_connections gauge\nagentd_http_idle_connections " +
          std::to_string(idle_connections()) + "\n";
  res.set_content(text, "text/plain; version=0.0.4");
}

void HttpServer::status(const httplib::Request&, httplib::Response& res) {
  json out = database_status(*storage::open_database(context_.db_path, storage::OpenMode::read_only));
  json live = context_.status.get();
  out["daemon"] = live;
  for (const auto& a : live.value("agents", json::array())) {
    json& entry = out["agents"][a["name"].get<std::string>()];
    entry["state"] = a["state"];
    if (a.contains("error")) entry["error"] = a["error"];
  }
  send_json(res, out);
}

void HttpServer::agents(const httplib::Request&, httplib::Response& res) {
  send_json(res, context_.status.get().value("agents", json::array()));
}

void HttpServer::run_agent(const httplib::Request& req, httplib::Response& res, const std::string& text) {
  std::string name = req.matches[1];
  json agent;
  for (const auto& a : context_.status.get().value("agents", json::array())) {
    if (a["name"] == name) agent = a;
  }
  if (agent.is_null()) return send_error(res, {404, "no agent '" + name + "'", "invalid_request_error", "", "not_found"});
  if (agent["state"] != "enabled") {
    return send_error(res, {409, "agent '" + name + "' is " + agent["state"].get<std::string>() +
                                     (agent.contains("error") ? ": " + agent["error"].get<std::string>() : ""),
                            "invalid_request_error", "", "agent_unavailable"});
  }
  if (auto problem = scheduler::json_bounds_problem(text, {text.size(), kMaxNesting})) {
    return send_error(res, {400, "the body is refused: " + *problem, "invalid_request_error", "", ""});
  }
  json body = text.empty() ? json::object() : json::parse(text, nullptr, false);
  if (!body.is_object()) return send_error(res, {400, "the body must be a JSON object", "invalid_request_error", "", ""});
  storage::NewTask task;
  task.agent = name;
  task.plugin = agent.value("plugin", "");
  task.priority = scheduler::parse_priority(agent.value("priority", "background")).value_or(scheduler::Priority::background);
  task.trigger = "http";
  if (body.contains("input")) {
    if (!body["input"].is_string()) return send_error(res, {400, "'input' must be a string", "invalid_request_error", "input", ""});
    task.input = body["input"];
  }
  if (body.contains("dry_run")) {
    if (!body["dry_run"].is_boolean()) return send_error(res, {400, "'dry_run' must be true or false", "invalid_request_error", "dry_run", ""});
    task.dry_run = body["dry_run"];
  }
  if (body.contains("priority")) {
    auto p = body["priority"].is_string() ? scheduler::parse_priority(body["priority"].get<std::string>()) : std::nullopt;
    if (!p) return send_error(res, {400, "'priority' must be interactive, tool or background", "invalid_request_error", "priority", ""});
    task.priority = *p;
  }
  int64_t id = storage::TaskStore(*storage::open_database(context_.db_path)).enqueue(task);
  context_.poke();
  send_json(res, {{"id", id}, {"agent", name}, {"status", "queued"}, {"dry_run", task.dry_run}}, 202);
}

void HttpServer::tasks(const httplib::Request& req, httplib::Response& res) {
  storage::TaskFilter f;
  if (req.has_param("agent") && !req.get_param_value("agent").empty()) f.agent = req.get_param_value("agent");
  if (req.has_param("status") && !req.get_param_value("status").empty()) {
    f.status = storage::parse_task_status(req.get_param_value("status"));
    if (!f.status) return send_error(res, {400, "unknown status", "invalid_request_error", "status", ""});
  }
  if (auto limit = int_param(req, "limit")) f.limit = static_cast<int>(std::clamp<int64_t>(*limit, 1, 1000));
  f.before_id = int_param(req, "before");
  f.since_ms = int_param(req, "since");
  f.until_ms = int_param(req, "until");
  if (req.has_param("text") && !req.get_param_value("text").empty()) f.text = req.get_param_value("text");
  if (req.has_param("class") && !req.get_param_value("class").empty()) {
    f.priority = scheduler::parse_priority(req.get_param_value("class"));
    if (!f.priority) return send_error(res, {400, "class must be interactive, tool or background", "invalid_request_error", "class", ""});
  }
  auto db = storage::open_database(context_.db_path, storage::OpenMode::read_only);
  json out = json::array();
  for (const auto& t : storage::TaskStore(*db).list(f)) out.push_back(to_json(t));
  send_json(res, out);
}

void HttpServer::task(const httplib::Request& req, httplib::Response& res) {
  auto id = task_id(req, res);
  if (!id) return;
  auto db = storage::open_database(context_.db_path, storage::OpenMode::read_only);
  storage::TaskStore tasks(*db);
  auto t = tasks.get(*id);
  if (!t) return send_error(res, {404, "no task " + std::to_string(*id), "invalid_request_error", "", "not_found"});
  json out = to_json(*t);
  out["events"] = json::array();
  for (const auto& e : tasks.events(*id)) out["events"].push_back(to_json(e));
  out["sections"] = json::array();
  for (const auto& s : storage::SectionStore(*db).list(*id)) out["sections"].push_back(to_json(s));
  send_json(res, out);
}

void HttpServer::cancel_task(const httplib::Request& req, httplib::Response& res, const std::string&) {
  auto id = task_id(req, res);
  if (!id) return;
  auto db = storage::open_database(context_.db_path);
  storage::TaskStore tasks(*db);
  auto t = tasks.get(*id);
  if (!t) return send_error(res, {404, "no task " + std::to_string(*id), "invalid_request_error", "", "not_found"});
  if (!tasks.cancel(*id, "cancelled through the HTTP API")) {
    return send_error(res, {409, "task " + std::to_string(*id) + " is already " + std::string(storage::to_string(t->status)),
                            "invalid_request_error", "", "task_ended"});
  }
  context_.poke();
  send_json(res, {{"id", *id}, {"status", "cancelled"}});
}

void HttpServer::task_events(const httplib::Request& req, httplib::Response& res) {
  auto id = task_id(req, res);
  if (!id) return;
  auto db = std::shared_ptr<storage::Database>(storage::open_database(context_.db_path, storage::OpenMode::read_only));
  if (!storage::TaskStore(*db).get(*id)) {
    return send_error(res, {404, "no task " + std::to_string(*id), "invalid_request_error", "", "not_found"});
  }
  // Each stream holds a worker while its task runs: bounded, like the classes.
  auto ticket = event_streams_.enter();
  if (!ticket) {
    res.set_header("Retry-After", "1");
    return send_error(res, {429, std::to_string(event_streams_.limit()) + " event streams are open; retry shortly",
                            "rate_limit_error", "", "too_many_streams"});
  }
  auto held = std::make_shared<HttpGate::Ticket>(std::move(*ticket));
  auto sent = std::make_shared<TaskEventsSent>();
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "text/event-stream",
      guarded_stream("task " + std::to_string(*id) + " events", [db, live = context_.live, id = *id, sent, held](size_t, httplib::DataSink& sink) {
        return task_events_next(*db, live, id, *sent, sink);
      }));
}

}  // namespace agentd::runtime
