#include "runtime/http_server.hpp"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <arpa/inet.h>

#include <atomic>
#include <cstdlib>
#include <random>

#include "runtime/openai_api.hpp"
#include "runtime/task_json.hpp"
#include "storage/schema.hpp"
#include "storage/section_store.hpp"
#include "storage/task_store.hpp"

namespace agentd::runtime {

using nlohmann::json;

namespace {

void send_error(httplib::Response& res, const ApiError& e) {
  res.status = e.status;
  res.set_content(error_body(e).dump(), "application/json");
}

void send_json(httplib::Response& res, const json& body, int status = 200) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
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

// Streams a generation as chat.completion.chunk events. State shared with the provider calls.
struct Stream {
  std::unique_ptr<engine::Generation> generation;
  std::string id, model;
  int64_t created = 0;
  bool include_usage = false;
  bool started = false;
};

void stream_chat(httplib::Response& res, std::shared_ptr<Stream> s) {
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "text/event-stream",
      [s](size_t, httplib::DataSink& sink) {
        auto write = [&](const std::string& text) { return sink.write(text.data(), text.size()); };
        if (!s->started) {
          s->started = true;
          if (!write(chunk_event(s->id, s->model, s->created, {{"role", "assistant"}, {"content", ""}}))) {
            s->generation->cancel();
            return false;
          }
        }
        if (auto piece = s->generation->next_piece()) {
          if (!write(chunk_event(s->id, s->model, s->created, {{"content", *piece}}))) {
            s->generation->cancel();  // the client went away
            return false;
          }
          return true;
        }
        engine::Result r = s->generation->wait();
        std::string tail;
        if (r.finish == engine::FinishReason::error) {
          tail = "data: " + error_body({500, r.error, "server_error", "", ""}).dump() + "\n\n";
        } else {
          tail = chunk_event(s->id, s->model, s->created, json::object(), openai_finish_reason(r.finish));
          if (s->include_usage) tail += usage_event(s->id, s->model, s->created, r);
        }
        tail += "data: [DONE]\n\n";
        write(tail);
        sink.done();
        return true;
      },
      [s](bool) {
        // The client went away (or the stream ended): stop the generation and wait for its end, so
        // it is counted (cancelled) like any other call. Both are no-ops if it already ended.
        s->generation->cancel();
        s->generation->wait();
      });
}

}  // namespace

std::pair<std::string, int> parse_listen_address(const std::string& listen) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    throw std::invalid_argument("'" + listen + "' is not host:port (e.g. 127.0.0.1:8377)");
  }
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  int port = -1;
  try {
    size_t used = 0;
    port = std::stoi(listen.substr(colon + 1), &used);
    if (used != listen.size() - colon - 1) port = -1;
  } catch (const std::exception&) {
  }
  if (port < 0 || port > 65535) throw std::invalid_argument("'" + listen + "': the port must be 0..65535");
  return {host, port};
}

bool is_loopback(const std::string& host) {
  if (host == "localhost" || host == "::1") return true;
  in_addr v4{};
  return inet_pton(AF_INET, host.c_str(), &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127;
}

HttpServer::HttpServer(HttpOptions options, HttpContext context)
    : options_(std::move(options)), context_(std::move(context)), server_(std::make_unique<httplib::Server>()) {
  auto [host, port] = parse_listen_address(options_.listen);
  host_ = host;
  if (!options_.token_env.empty()) {
    const char* token = std::getenv(options_.token_env.c_str());
    if (token) token_ = token;
  }
  if (!is_loopback(host_) && token_.empty()) {
    throw std::runtime_error("http: listening on " + options_.listen + " (not loopback) needs a bearer token: set \"http\": " +
                             "{\"token_env\": \"NAME\"} in agentd.json and the environment variable NAME" +
                             (options_.token_env.empty() ? "" : " (" + options_.token_env + " is unset or empty)"));
  }
  routes();
  port_ = port == 0 ? server_->bind_to_any_port(host_) : (server_->bind_to_port(host_, port) ? port : -1);
  if (port_ < 0) {
    throw std::runtime_error("http: cannot listen on " + options_.listen +
                             " (address in use, or not an address here); choose another with --listen HOST:PORT "
                             "(port 0: any free one) or \"http\": {\"listen\"} in agentd.json, or run with --no-http");
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
}

HttpServer::~HttpServer() { stop(); }

void HttpServer::stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

void HttpServer::routes() {
  httplib::Server& s = *server_;
  s.set_payload_max_length(options_.max_body_bytes);
  s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (token_.empty() || req.get_header_value("Authorization") == "Bearer " + token_) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    send_error(res, {401, "missing or wrong bearer token (Authorization: Bearer ...)", "invalid_request_error", "",
                     "invalid_api_key"});
    return httplib::Server::HandlerResponse::Handled;
  });
  s.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    if (res.status == 413) {
      send_error(res, {413, "the request body is too large", "invalid_request_error", "", "request_too_large"});
    } else if (res.status == 404) {
      send_error(res, {404, "no route " + req.method + " " + req.path, "invalid_request_error", "", "not_found"});
    } else {
      send_error(res, {res.status, "HTTP status " + std::to_string(res.status), "invalid_request_error", "", ""});
    }
  });
  s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "internal error";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    spdlog::error("http: {}", what);
    send_error(res, {500, what, "server_error", "", ""});
  });

  s.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
    send_json(res, {{"object", "list"},
                    {"data", json::array({{{"id", context_.info.model}, {"object", "model"}, {"created", 0},
                                           {"owned_by", "agentd"}}})}});
  });

  s.Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
    auto parsed = parse_chat_completion(req.body, context_.info.model, context_.default_max_tokens, context_.info.context);
    if (auto* e = std::get_if<ApiError>(&parsed)) return send_error(res, *e);
    auto& c = std::get<ChatCompletionRequest>(parsed);
    auto cls = static_cast<size_t>(scheduler::index(c.request.priority));
    if (context_.engine_stats().by_class[cls].queued >= options_.max_queued) {
      res.set_header("Retry-After", "1");
      return send_error(res, {429,
                              "too many " + std::string(scheduler::to_string(c.request.priority)) +
                                  " requests are waiting for the model (limit " + std::to_string(options_.max_queued) +
                                  "); retry shortly",
                              "rate_limit_error", "", "queue_full"});
    }
    std::unique_ptr<engine::Generation> generation;
    try {
      generation = context_.engine.submit(c.request);
    } catch (const engine::RequestError& e) {
      return send_error(res, {400, e.what(), "invalid_request_error", "messages", ""});
    }
    if (!c.agent.empty()) spdlog::debug("http: chat completion for agent label '{}'", c.agent);
    if (!c.stream) {
      engine::Result r = generation->wait();
      if (r.finish == engine::FinishReason::error) return send_error(res, {500, r.error, "server_error", "", ""});
      return send_json(res, completion_body(completion_id(), c.model, unix_seconds(), r));
    }
    auto stream = std::make_shared<Stream>();
    stream->generation = std::move(generation);
    stream->id = completion_id();
    stream->model = c.model;
    stream->created = unix_seconds();
    stream->include_usage = c.include_usage;
    stream_chat(res, stream);
  });

  s.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    std::map<std::string, int64_t> by_status;
    json status = database_status(*storage::open_database(context_.db_path, storage::OpenMode::read_only));
    for (const auto& [k, v] : status["tasks"].items()) by_status[k] = v.get<int64_t>();
    res.set_content(context_.metrics.render(context_.engine_stats(), context_.info.slots, by_status),
                    "text/plain; version=0.0.4");
  });

  s.Get("/api/status", [this](const httplib::Request&, httplib::Response& res) {
    json out = database_status(*storage::open_database(context_.db_path, storage::OpenMode::read_only));
    json live = context_.status.get();
    out["daemon"] = live;
    for (const auto& a : live.value("agents", json::array())) {
      json& entry = out["agents"][a["name"].get<std::string>()];
      entry["state"] = a["state"];
      if (a.contains("error")) entry["error"] = a["error"];
    }
    send_json(res, out);
  });

  s.Get("/api/agents", [this](const httplib::Request&, httplib::Response& res) {
    send_json(res, context_.status.get().value("agents", json::array()));
  });

  s.Post(R"(/api/agents/([a-z][a-z0-9_-]*)/run)", [this](const httplib::Request& req, httplib::Response& res) {
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
    json body = req.body.empty() ? json::object() : json::parse(req.body, nullptr, false);
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
    if (body.contains("priority")) {
      auto p = body["priority"].is_string() ? scheduler::parse_priority(body["priority"].get<std::string>()) : std::nullopt;
      if (!p) return send_error(res, {400, "'priority' must be interactive, tool or background", "invalid_request_error", "priority", ""});
      task.priority = *p;
    }
    int64_t id = storage::TaskStore(*storage::open_database(context_.db_path)).enqueue(task);
    context_.poke();
    send_json(res, {{"id", id}, {"agent", name}, {"status", "queued"}}, 202);
  });

  s.Get("/api/tasks", [this](const httplib::Request& req, httplib::Response& res) {
    storage::TaskFilter f;
    if (req.has_param("agent")) f.agent = req.get_param_value("agent");
    if (req.has_param("status")) {
      f.status = storage::parse_task_status(req.get_param_value("status"));
      if (!f.status) return send_error(res, {400, "unknown status", "invalid_request_error", "status", ""});
    }
    if (auto limit = int_param(req, "limit")) f.limit = static_cast<int>(std::clamp<int64_t>(*limit, 1, 1000));
    f.before_id = int_param(req, "before");
    auto db = storage::open_database(context_.db_path, storage::OpenMode::read_only);
    json out = json::array();
    for (const auto& t : storage::TaskStore(*db).list(f)) out.push_back(to_json(t));
    send_json(res, out);
  });

  s.Get(R"(/api/tasks/(\d+))", [this](const httplib::Request& req, httplib::Response& res) {
    int64_t id = std::stoll(req.matches[1]);
    auto db = storage::open_database(context_.db_path, storage::OpenMode::read_only);
    storage::TaskStore tasks(*db);
    auto t = tasks.get(id);
    if (!t) return send_error(res, {404, "no task " + std::to_string(id), "invalid_request_error", "", "not_found"});
    json out = to_json(*t);
    out["events"] = json::array();
    for (const auto& e : tasks.events(id)) out["events"].push_back(to_json(e));
    out["sections"] = json::array();
    for (const auto& s : storage::SectionStore(*db).list(id)) out["sections"].push_back(to_json(s));
    send_json(res, out);
  });

  s.Post(R"(/api/tasks/(\d+)/cancel)", [this](const httplib::Request& req, httplib::Response& res) {
    int64_t id = std::stoll(req.matches[1]);
    auto db = storage::open_database(context_.db_path);
    storage::TaskStore tasks(*db);
    auto t = tasks.get(id);
    if (!t) return send_error(res, {404, "no task " + std::to_string(id), "invalid_request_error", "", "not_found"});
    if (!tasks.cancel(id, "cancelled through the HTTP API")) {
      return send_error(res, {409, "task " + std::to_string(id) + " is already " + std::string(storage::to_string(t->status)),
                              "invalid_request_error", "", "task_ended"});
    }
    context_.poke();
    send_json(res, {{"id", id}, {"status", "cancelled"}});
  });

  s.Get(R"(/api/tasks/(\d+)/events)", [this](const httplib::Request& req, httplib::Response& res) {
    int64_t id = std::stoll(req.matches[1]);
    auto db = std::shared_ptr<storage::Database>(storage::open_database(context_.db_path, storage::OpenMode::read_only));
    if (!storage::TaskStore(*db).get(id)) {
      return send_error(res, {404, "no task " + std::to_string(id), "invalid_request_error", "", "not_found"});
    }
    auto sent = std::make_shared<size_t>(0);
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider("text/event-stream", [db, id, sent](size_t, httplib::DataSink& sink) {
      storage::TaskStore tasks(*db);
      auto events = tasks.events(id);
      for (; *sent < events.size(); ++*sent) {
        std::string text = "event: " + events[*sent].kind + "\ndata: " + to_json(events[*sent]).dump() + "\n\n";
        if (!sink.write(text.data(), text.size())) return false;
      }
      auto t = tasks.get(id);
      bool ended = !t || (t->status != storage::TaskStatus::queued && t->status != storage::TaskStatus::running);
      if (ended) {
        std::string end = "event: end\ndata: " + (t ? to_json(*t).dump() : "{}") + "\n\n";
        sink.write(end.data(), end.size());
        sink.done();
        return true;
      }
      // The task's writes come from the agent thread (or another process): look again shortly.
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      return true;
    });
  });
}

}  // namespace agentd::runtime
