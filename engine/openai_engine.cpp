#include "engine/openai_engine.hpp"

#include <arpa/inet.h>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <regex>
#include <thread>

#include "core/thread_name.hpp"
#include "engine/generation_stream.hpp"
#include "engine/request_json.hpp"
#include "engine/sse_stream.hpp"

namespace agentd::engine {

using nlohmann::json;

namespace {

json request_body(const Request& r, const std::string& model) {
  json body = {{"model", model},
               {"messages", messages_json(r.messages)},
               {"max_tokens", r.max_tokens},
               {"temperature", r.sampling.temperature},
               {"top_p", r.sampling.top_p},
               {"stream", true},
               {"stream_options", {{"include_usage", true}}}};
  if (r.sampling.seed != 0xFFFFFFFF) body["seed"] = r.sampling.seed;
  if (!r.sampling.logit_bias.empty()) {
    json& biases = body["logit_bias"] = json::object();
    for (const auto& [token, bias] : r.sampling.logit_bias) biases[std::to_string(token)] = bias;
  }
  if (!r.stop.empty()) body["stop"] = r.stop;
  if (!r.json_schema.empty()) {
    body["response_format"] = {{"type", "json_schema"},
                               {"json_schema", {{"name", "output"}, {"schema", json::parse(r.json_schema)}}}};
  }
  if (!r.grammar.empty()) body["grammar"] = r.grammar;
  if (!r.tools.empty()) {
    body["tools"] = tools_json(r.tools);
    body["parallel_tool_calls"] = r.parallel_tool_calls;
    switch (r.tool_choice) {
      case ToolChoice::automatic: body["tool_choice"] = "auto"; break;
      case ToolChoice::none: body["tool_choice"] = "none"; break;
      case ToolChoice::required: body["tool_choice"] = "required"; break;
      case ToolChoice::named: body["tool_choice"] = {{"type", "function"}, {"function", {{"name", r.tool_name}}}}; break;
    }
  }
  return body;
}

// What one HTTP attempt ended with.
struct Attempt {
  bool connected = false;
  int status = 0;
  bool got_tokens = false;
  std::string error;
  std::string retry_after;
};

class Worker {
 public:
  Worker(std::shared_ptr<GenerationStream> stream, OpenAIEngineOptions options, std::string origin, std::string path,
         std::string key, std::string body, std::optional<Clock::time_point> deadline)
      : stream_(std::move(stream)),
        options_(std::move(options)),
        origin_(std::move(origin)),
        path_(std::move(path)),
        key_(std::move(key)),
        body_(std::move(body)),
        deadline_(deadline) {}

  void run() {
    for (int attempt = 0;; ++attempt) {
      Attempt a = once();
      if (finished_) return;
      bool retryable = !a.got_tokens && (!a.connected || a.status == 429 || a.status >= 500);
      if (!retryable || attempt >= options_.max_retries || stream_->cancel_requested()) {
        return end(stream_->cancel_requested() ? FinishReason::cancelled : FinishReason::error, a.error);
      }
      auto wait = options_.backoff * (1 << attempt);
      if (!a.retry_after.empty()) {
        try {
          wait = std::chrono::milliseconds(std::min(30, std::stoi(a.retry_after)) * 1000);
        } catch (const std::exception&) {
        }
      }
      if (deadline_ && Clock::now() + wait > *deadline_) return end(FinishReason::deadline, "");
      std::this_thread::sleep_for(wait);  // backoff between attempts, on this generation's own thread
    }
  }

 private:
  Attempt once() {
    Attempt a;
    httplib::Client client(origin_);
    client.set_connection_timeout(options_.connect_timeout);
    client.set_read_timeout(options_.read_timeout);
    if (!key_.empty()) client.set_bearer_token_auth(key_);
    std::string error_body;
    SseEvents events;
    httplib::Request req;
    req.method = "POST";
    req.path = path_;
    req.body = body_;
    req.set_header("Content-Type", "application/json");
    req.set_header("Accept", "text/event-stream");
    req.response_handler = [&](const httplib::Response& res) {
      a.connected = true;
      a.status = res.status;
      a.retry_after = res.get_header_value("Retry-After");
      return true;
    };
    req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
      if (stream_->cancel_requested() || (deadline_ && Clock::now() > *deadline_)) return false;
      if (a.status != 200) {
        error_body.append(data, n);
        return error_body.size() < 65536;
      }
      return events.feed(data, n, [&](const std::string& event_data) { return on_data(event_data, a); });
    };
    auto result = client.send(req);
    if (finished_) return a;
    if (!result && !a.connected) {
      a.error = "cannot reach " + origin_ + ": " + httplib::to_string(result.error());
    } else if (a.status != 200) {
      a.error = origin_ + " answered " + std::to_string(a.status) + ": " + error_message(error_body);
    } else if (!finished_) {
      if (stream_->cancel_requested()) end(FinishReason::cancelled, "");
      else if (deadline_ && Clock::now() > *deadline_) end(FinishReason::deadline, "");
      else a.error = "the stream from " + origin_ + " ended without [DONE]" + (result ? "" : ": " + httplib::to_string(result.error()));
    }
    return a;
  }

  // The data of one server-sent event; false stops the transfer.
  bool on_data(const std::string& data, Attempt& a) {
    if (data == "[DONE]") {
      end(finish_, "");
      return false;
    }
    json chunk = json::parse(data, nullptr, false);
    if (!chunk.is_object()) return true;
    if (chunk.contains("error")) {
      a.error = chunk["error"].is_object() ? chunk["error"].value("message", "error") : chunk["error"].dump();
      a.got_tokens = true;  // a stream that failed midway is not retried
      return false;
    }
    if (chunk.contains("usage") && chunk["usage"].is_object()) {
      stream_->set_prompt_tokens(chunk["usage"].value("prompt_tokens", 0));
      completion_tokens_ = chunk["usage"].value("completion_tokens", completion_tokens_);
    }
    if (chunk.contains("choices") && chunk["choices"].is_array() && !chunk["choices"].empty()) {
      const json& choice = chunk["choices"][0];
      if (std::optional<std::string> content = chunk_content(chunk)) {
        std::string piece = std::move(*content);
        if (!piece.empty()) {
          note_first_token(a);
          ++pieces_;
          stream_->push(std::move(piece));
        }
      }
      if (choice.contains("delta") && choice["delta"].is_object()) {
        const json& delta = choice["delta"];
        if (delta.contains("tool_calls") && delta["tool_calls"].is_array()) {
          note_first_token(a);
          add_tool_call_deltas(delta["tool_calls"]);
        }
        for (const char* key : {"reasoning_content", "reasoning"}) {
          if (!delta.contains(key) || !delta[key].is_string()) continue;
          const auto& piece = delta[key].get_ref<const std::string&>();
          if (piece.empty()) continue;
          note_first_token(a);
          reasoning_ += piece;
          stream_->push_delta(MessageDelta{.reasoning = piece});
        }
      }
      if (choice.contains("finish_reason") && choice["finish_reason"].is_string()) {
        finish_ = choice["finish_reason"] == "length" ? FinishReason::length : FinishReason::stop;
      }
    }
    return true;
  }

  // One streamed delta's tool_calls ([{"index", "id"?, "function": {"name"?, "arguments"?}}]) added
  // to the calls so far: the id and name come once, the arguments text in pieces. A call is
  // streamed on from the delta that names it (its arguments so far with it), numbered in the
  // order calls got their names, with "call_N" when the server gave no id; the Result lists the
  // same calls in the same order with the same ids. Entries that are not objects, or whose index
  // is not a small number, are skipped (the server is not trusted).
  void add_tool_call_deltas(const json& deltas) {
    constexpr int kMaxCalls = 64;
    for (const json& d : deltas) {
      if (!d.is_object()) continue;
      const int index = d.contains("index") && d["index"].is_number_integer() ? d["index"].get<int>() : static_cast<int>(calls_.size());
      if (index < 0 || index >= kMaxCalls) continue;
      if (calls_.size() <= static_cast<size_t>(index)) calls_.resize(static_cast<size_t>(index) + 1);
      RemoteCall& call = calls_[static_cast<size_t>(index)];
      if (d.contains("id") && d["id"].is_string() && call.shown < 0) call.call.id = d["id"];
      std::string piece;
      if (d.contains("function") && d["function"].is_object()) {
        const json& f = d["function"];
        if (f.contains("name") && f["name"].is_string() && call.shown < 0) call.call.name = f["name"];
        if (f.contains("arguments") && f["arguments"].is_string()) piece = f["arguments"].get<std::string>();
      }
      call.call.arguments += piece;
      MessageDelta out;
      if (call.shown >= 0) {
        if (piece.empty()) continue;
        out.tool_call.arguments = std::move(piece);
      } else if (!call.call.name.empty()) {
        call.shown = shown_calls_++;
        if (call.call.id.empty()) call.call.id = "call_" + std::to_string(call.shown);  // the tool message answers by id
        out.tool_call = call.call;
      } else {
        continue;  // shown once named
      }
      out.tool_index = call.shown;
      stream_->push_delta(std::move(out));
    }
  }

  // Tokens have come (text or a tool call): a failure from now on is not retried.
  void note_first_token(Attempt& a) {
    if (!a.got_tokens) {
      stream_->mark_admitted(0);
      stream_->mark_first_token(0);
    }
    a.got_tokens = true;
  }

  void end(FinishReason why, const std::string& error) {
    if (finished_) return;
    finished_ = true;
    std::vector<ToolCall> calls(static_cast<size_t>(shown_calls_));  // the named ones, as streamed
    for (RemoteCall& c : calls_) {
      if (c.shown >= 0) calls[static_cast<size_t>(c.shown)] = std::move(c.call);
    }
    stream_->set_message_parts(std::move(calls), std::move(reasoning_));
    stream_->finish(why, error, completion_tokens_ > 0 ? completion_tokens_ : pieces_, 0, 0);
  }

  std::shared_ptr<GenerationStream> stream_;
  OpenAIEngineOptions options_;
  std::string origin_, path_, key_, body_;
  std::optional<Clock::time_point> deadline_;
  FinishReason finish_ = FinishReason::stop;
  int completion_tokens_ = 0;
  int pieces_ = 0;
  struct RemoteCall {
    ToolCall call;
    int shown = -1;  // its index in the deltas and the Result once named
  };
  std::vector<RemoteCall> calls_;  // by the server's index
  int shown_calls_ = 0;
  std::string reasoning_;
  bool finished_ = false;
};

// http://HOST[:PORT] where HOST is this machine: 127.0.0.0/8, localhost or [::1].
bool is_loopback_origin(const std::string& origin) {
  std::string host = origin.substr(origin.find("://") + 3);
  if (host.starts_with("[")) return host.starts_with("[::1]");
  host = host.substr(0, host.find(':'));
  in_addr ip{};
  return host == "localhost" || (inet_pton(AF_INET, host.c_str(), &ip) == 1 && (ntohl(ip.s_addr) >> 24) == 127);
}

}  // namespace

OpenAIEngine::OpenAIEngine(OpenAIEngineOptions options) : options_(std::move(options)) {
  std::smatch m;
  if (!std::regex_match(options_.base_url, m, std::regex(R"((https?://[^/]+)(/.*)?)"))) {
    throw EngineError("OpenAI engine: '" + options_.base_url + "' is not a base URL such as http://127.0.0.1:8080/v1");
  }
  origin_ = m[1];
  prefix_ = m[2];
  while (!prefix_.empty() && prefix_.back() == '/') prefix_.pop_back();
  if (!options_.api_key_env.empty()) {
    const char* key = std::getenv(options_.api_key_env.c_str());
    if (!key || !*key) throw EngineError("OpenAI engine: the environment variable " + options_.api_key_env + " (the API key) is not set");
    // Plain http would show the key to everyone on the path; only this machine may see it.
    if (origin_.starts_with("http://") && !is_loopback_origin(origin_)) {
      throw EngineError("OpenAI engine: refusing to send the API key (" + options_.api_key_env + ") over plain http to " +
                        origin_ + "; use https, or a server on this machine (127.0.0.1, localhost, [::1])");
    }
    api_key_ = key;
  }
}

std::unique_ptr<Generation> OpenAIEngine::submit(Request request) {
  if (request.messages.empty()) throw RequestError("the OpenAI-compatible engine needs chat messages, not a raw prompt");
  if (request.max_tokens < 1) throw RequestError("max_tokens must be at least 1");
  if (!request.json_schema.empty() && json::parse(request.json_schema, nullptr, false).is_discarded()) {
    throw RequestError("json_schema is not valid JSON");
  }
  auto stream = std::make_shared<GenerationStream>(0, 0);
  std::string body = request_body(request, options_.model).dump();
  std::thread([w = std::make_shared<Worker>(stream, options_, origin_, prefix_ + "/chat/completions", api_key_,
                                            std::move(body), request.deadline)] {
    core::name_this_thread(core::thread_names::cloud);
    w->run();
  })
      .detach();
  return std::make_unique<LlamaGeneration>(stream);
}

EngineInfo OpenAIEngine::info() const {
  return EngineInfo{"openai", options_.model, "remote", 0, 0};
}

}  // namespace agentd::engine
