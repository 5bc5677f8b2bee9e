#include "replay_client.hpp"

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "engine/sse_stream.hpp"

namespace agentd::bench::replay {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

std::vector<int> chains_of(const std::vector<ReplayRequest>& day) {
  std::vector<int> chains(day.size());
  int next = 0;
  for (const auto& r : day) next = std::max(next, r.chain + 1);
  std::map<std::string, int> by_agent;
  for (size_t i = 0; i < day.size(); ++i) {
    if (day[i].chain >= 0) chains[i] = day[i].chain;
    else if (day[i].klass == "interactive") chains[i] = next++;
    else chains[i] = by_agent.emplace(day[i].agent, next).second ? next++ : by_agent[day[i].agent];
  }
  return chains;
}

std::string request_body(const ReplayRequest& r, bool send_priority) {
  json b = {{"model", "default"},          {"messages", r.messages}, {"max_tokens", r.max_tokens},
            {"stream", true},              {"stream_options", {{"include_usage", true}}},
            {"temperature", 0}};
  if (r.schema) b["response_format"] = {{"type", "json_schema"}, {"json_schema", {{"name", "answer"}, {"schema", *r.schema}}}};
  if (r.tools) b["tools"] = *r.tools;
  if (send_priority) {
    b["priority"] = r.klass;
    b["agent"] = r.agent;
  }
  return b.dump();
}

namespace {

// What every chain thread shares: the clock, the end of the window, the open connections (to
// cut them at the end) and the count of requests waiting for their first token.
struct Shared {
  Clock::time_point start;
  Clock::time_point end;
  std::mutex mu;
  std::condition_variable cv;
  bool over = false;
  std::set<httplib::Client*> open;
  std::atomic<int> waiting{0};
  size_t chains_left = 0;  // the window also ends when every chain has sent all it had

  double now_s() const { return std::chrono::duration<double>(Clock::now() - start).count(); }
};

void read_usage(const json& chunk, Outcome& o) {
  if (chunk.contains("usage") && chunk["usage"].is_object()) {
    const json& u = chunk["usage"];
    o.completion_tokens = u.value("completion_tokens", o.completion_tokens);
    o.prompt_tokens = u.value("prompt_tokens", o.prompt_tokens);
    if (u.contains("prompt_tokens_details") && u["prompt_tokens_details"].is_object()) {
      o.cached_tokens = u["prompt_tokens_details"].value("cached_tokens", o.cached_tokens);
    }
  }
  if (chunk.contains("agentd") && chunk["agentd"].is_object()) {
    o.server_queue_ms = chunk["agentd"].value("queue_wait_ms", o.server_queue_ms);
    o.server_ttft_ms = chunk["agentd"].value("ttft_ms", o.server_ttft_ms);
  }
  if (o.cached_tokens < 0 && chunk.contains("timings") && chunk["timings"].is_object()) {  // llama-server
    o.cached_tokens = chunk["timings"].value("cache_n", -1);
  }
}

void send_one(const ReplayRequest& r, const Target& t, Shared& sh, httplib::Client& client, Outcome& o, std::string& answer) {
  httplib::Request req;
  req.method = "POST";
  req.path = "/v1/chat/completions";
  req.body = request_body(r, t.send_priority);
  req.set_header("Content-Type", "application/json");
  std::string error_body;
  bool counted_waiting = true;
  ++sh.waiting;
  engine::SseEvents events;
  bool done = false;  // "data: [DONE]" was read
  auto on_event = [&](const std::string& data) {
    if (data == "[DONE]") {
      done = true;
      return true;
    }
    const json chunk = json::parse(data, nullptr, false);
    if (!chunk.is_object()) return true;  // not a chunk: skipped
    if (auto piece = engine::chunk_content(chunk); piece && !piece->empty()) {
      if (o.first_s < 0) {
        o.first_s = sh.now_s();
        --sh.waiting;
        counted_waiting = false;
      }
      ++o.pieces;
      answer += *piece;
    }
    read_usage(chunk, o);
    return true;
  };
  req.response_handler = [&](const httplib::Response& res) {
    o.status = res.status;
    return true;
  };
  req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
    if (Clock::now() >= sh.end) return false;  // the window is over: cut it (stop() may have come too early)
    if (o.status != 200) error_body.append(data, n);
    else events.feed(data, n, on_event);
    return true;
  };
  o.sent_s = sh.now_s();
  auto res = client.send(req);
  if (counted_waiting) --sh.waiting;
  const bool over = Clock::now() >= sh.end;
  if (res && o.status == 200 && done) {
    o.done_s = sh.now_s();
  } else if (over) {
    o.cut = true;
  } else {
    o.failed = true;
    o.error = !res ? httplib::to_string(res.error()) : std::to_string(o.status) + " " + error_body.substr(0, 200);
  }
}

}  // namespace

ReplayRequest with_answers(const ReplayRequest& r, const std::vector<std::string>& answers) {
  ReplayRequest sent = r;
  size_t k = 0;
  for (json& m : sent.messages) {
    if (m.value("role", "") != "assistant") continue;
    if (k < answers.size() && !answers[k].empty()) m["content"] = answers[k];
    ++k;
  }
  return sent;
}

namespace {

void run_chain(const std::vector<ReplayRequest>& day, const std::vector<size_t>& mine, const Target& t, Shared& sh,
               std::vector<Outcome>& out) {
  httplib::Client client(t.host, t.port);
  client.set_read_timeout(3600, 0);
  client.set_keep_alive(false);  // a new connection per request: a server closing idle ones cannot fail a request
  {
    std::lock_guard lock(sh.mu);
    sh.open.insert(&client);
  }
  double prev_done = 0;
  std::vector<std::string> answers;  // what this chain got so far, one per request ("" if none)
  for (size_t i : mine) {
    const double at = std::max(day[i].time_s, prev_done + day[i].after_s);
    {
      std::unique_lock lock(sh.mu);
      sh.cv.wait_until(lock, sh.start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(at)),
                       [&] { return sh.over; });
      if (sh.over) break;
    }
    std::string answer;
    if (day[i].resend_answers) {
      const ReplayRequest sent = with_answers(day[i], answers);
      out[i].sent_messages = sent.messages;
      send_one(sent, t, sh, client, out[i], answer);
    } else {
      send_one(day[i], t, sh, client, out[i], answer);
    }
    answers.push_back(out[i].done_s >= 0 ? std::move(answer) : std::string());
    if (out[i].done_s < 0) {
      if (out[i].cut) break;
      prev_done = sh.now_s();  // a failed request: the chain goes on, as an agent would
    } else {
      prev_done = out[i].done_s;
    }
  }
  std::lock_guard lock(sh.mu);
  sh.open.erase(&client);
  if (--sh.chains_left == 0) sh.cv.notify_all();
}

}  // namespace

DayRun run_day(const std::vector<ReplayRequest>& day, const Target& target, double window_s) {
  DayRun run;
  run.window_s = window_s;
  run.outcomes.resize(day.size());
  std::map<int, std::vector<size_t>> chains;
  const std::vector<int> chain_of = chains_of(day);
  for (size_t i = 0; i < day.size(); ++i) chains[chain_of[i]].push_back(i);
  Shared sh;
  sh.start = Clock::now();
  sh.end = sh.start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(window_s));
  std::vector<std::thread> threads;
  sh.chains_left = chains.size();
  for (auto& [id, mine] : chains) {
    threads.emplace_back([&, m = &mine] { run_chain(day, *m, target, sh, run.outcomes); });
  }
  // Sample the requests waiting for a first token until the window ends; then cut what is open.
  {
    std::unique_lock lock(sh.mu);
    for (auto next = sh.start; !sh.over;) {
      next += std::chrono::milliseconds(250);
      run.waiting.emplace_back(sh.now_s(), sh.waiting.load());
      sh.cv.wait_until(lock, std::min(next, sh.end), [&] { return Clock::now() >= sh.end || sh.chains_left == 0; });
      if (Clock::now() >= sh.end || sh.chains_left == 0) sh.over = true;
    }
    for (httplib::Client* c : sh.open) c->stop();
  }
  sh.cv.notify_all();
  for (auto& th : threads) th.join();
  return run;
}

}  // namespace agentd::bench::replay
