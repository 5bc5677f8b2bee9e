// http_load_bench: an interactive chat's time to first token through the daemon's own HTTP path,
// with 12 and with 50 background completions in flight (half streamed, half not), against the same
// chat on the idle daemon, in one run. Prints, last:
//   http_chat_ttft_loaded_vs_idle{background="12"} R    median loaded TTFT / median idle TTFT
//   http_chat_ttft_loaded_vs_idle{background="50"} R
//
//   http_load_bench --agentd build/runtime/agentd [--model M.gguf] [--threads 1] [--chats 15]
//                   [--max-per-client 64]
//
// The daemon is the real executable in a fresh data directory (agentd.json raises max_queued and
// max_per_client so that 50 requests from one address are all admitted). TTFT is wall-clock from
// sending the request to reading the first content piece of its stream, on a new connection.
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <thread>
#include <vector>

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

struct Daemon {
  pid_t pid = -1;
  int port = 0;
  std::filesystem::path dir;
};

// Starts `agentd run` and reads its log until it says where it listens.
Daemon start_daemon(const std::string& agentd, const std::string& model, int threads, int max_per_client) {
  Daemon d;
  char tmpl[] = "/tmp/agentd-http-bench-XXXXXX";
  d.dir = ::mkdtemp(tmpl);
  std::filesystem::create_directories(d.dir / "agents.d");
  std::ofstream(d.dir / "agentd.json") << R"({"http": {"max_queued": 64)"
                                        << (max_per_client > 0 ? ", \"max_per_client\": " + std::to_string(max_per_client) : "")
                                        << "}}";
  int out[2];
  if (::pipe(out) != 0) throw std::runtime_error("pipe");
  d.pid = ::fork();
  if (d.pid == 0) {
    ::dup2(out[1], 2);
    ::dup2(out[1], 1);
    ::close(out[0]);
    std::string db = (d.dir / "agentd.db").string(), t = std::to_string(threads);
    ::execl(agentd.c_str(), agentd.c_str(), "--db", db.c_str(), "run", "--model", model.c_str(), "--listen", "127.0.0.1:0",
            "--slots", "4", "--ctx", "2048", "--threads", t.c_str(), "--log-file-level", "off", static_cast<char*>(nullptr));
    std::perror("exec agentd");
    std::_Exit(127);
  }
  ::close(out[1]);
  FILE* log = ::fdopen(out[0], "r");
  char line[4096];
  std::regex listening("http: listening on 127\\.0\\.0\\.1:(\\d+)");
  std::cmatch m;
  while (std::fgets(line, sizeof line, log)) {
    if (std::regex_search(line, m, listening)) d.port = std::stoi(m[1]);
    if (std::strstr(line, "serving:")) break;
  }
  if (d.port == 0) throw std::runtime_error("the daemon did not start (see its log above)");
  std::thread([log] {  // keep draining its log so it never blocks on a full pipe
    char buf[4096];
    while (std::fgets(buf, sizeof buf, log)) {
    }
    std::fclose(log);
  }).detach();
  return d;
}

json chat_body(const std::string& content, int max_tokens, const char* priority, bool stream) {
  json b = {{"model", "default"},
            {"messages", json::array({{{"role", "user"}, {"content", content}}})},
            {"max_tokens", max_tokens},
            {"temperature", 0},
            {"priority", priority}};
  if (stream) b["stream"] = true;
  return b;
}

// Wall time from sending a streamed interactive chat to its first content piece, in ms. Every chat
// opens differently, so none finds its whole prompt in the prefix cache: a repeated "Hello" was
// served from the idle engine's free KV streams (34 of 35 tokens) but not under load, where every
// stream is busy, and the ratio compared a cache hit with a full prefill.
double chat_ttft_ms(int port) {
  static int chat_number = 0;
  const std::string content = "Question " + std::to_string(++chat_number) + ": hello, how are you today?";
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(120, 0);
  httplib::Request req;
  req.method = "POST";
  req.path = "/v1/chat/completions";
  req.body = chat_body(content, 8, "interactive", true).dump();
  req.set_header("Content-Type", "application/json");
  double first = -1;
  const auto start = Clock::now();
  req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
    // The first chunk is the role with empty content; the first with text is the first token.
    if (first < 0 && std::string_view(data, n).find(R"("content":"")") == std::string_view::npos &&
        std::string_view(data, n).find(R"("content":")") != std::string_view::npos) {
      first = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    }
    return true;
  };
  auto res = c.send(req);
  if (!res || res->status != 200 || first < 0) throw std::runtime_error("the chat was not answered with a stream");
  return first;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::string metrics(int port) {
  httplib::Client c("127.0.0.1", port);
  auto r = c.Get("/metrics");
  return r ? r->body : "";
}

int64_t metric(const std::string& text, const std::string& name) {
  std::smatch m;
  std::regex re(std::regex_replace(name, std::regex(R"([{}\\"])"), R"(\$&)") + " (\\d+)");
  return std::regex_search(text, m, re) ? std::stoll(m[1]) : 0;
}

// `n` long background completions in flight (every other one streamed); returns once the engine
// holds all of them (running or queued). The threads end when the daemon stops.
std::vector<std::thread> put_background(int port, int n, std::atomic<int>& refused) {
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([port, stream = i % 2 == 1, &refused] {
      httplib::Client c("127.0.0.1", port);
      c.set_read_timeout(600, 0);
      auto r = c.Post("/v1/chat/completions", chat_body("Once upon a time", 1900, "background", stream).dump(), "application/json");
      if (r && r->status == 429) ++refused;
    });
  }
  for (int look = 0; refused == 0; ++look) {
    std::string m = metrics(port);
    if (metric(m, R"(agentd_queue_depth{class="background"})") + metric(m, R"(agentd_slots_busy{class="background"})") >= n) break;
    if (look == 6000) throw std::runtime_error("the background requests did not all reach the engine in 30 s");
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // a benchmark may poll; tests may not
  }
  return threads;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"http_load_bench: chat TTFT through the daemon's HTTP path, loaded vs idle"};
  std::string agentd, model;
  int threads = 1, chats = 15, max_per_client = 64;
  const char* env_model = std::getenv("AGENTD_TEST_MODEL");
  model = env_model ? env_model : "";
  app.add_option("--agentd", agentd, "the agentd executable")->required();
  app.add_option("--model", model, "GGUF model (default: $AGENTD_TEST_MODEL)");
  app.add_option("--threads", threads, "llama.cpp compute threads of the daemon");
  app.add_option("--chats", chats, "chats measured per condition (the median is taken)");
  app.add_option("--max-per-client", max_per_client, "http.max_per_client (0: leave the key out, for a daemon before it)");
  CLI11_PARSE(app, argc, argv);
  if (model.empty()) {
    std::cerr << "http_load_bench: no model (--model or AGENTD_TEST_MODEL)\n";
    return 2;
  }
  std::vector<std::string> lines;
  for (int background : {12, 50}) {
    Daemon d = start_daemon(agentd, model, threads, max_per_client);
    std::vector<double> idle, loaded;
    chat_ttft_ms(d.port);  // warm-up: first-touch of weights and code paths
    for (int i = 0; i < chats; ++i) idle.push_back(chat_ttft_ms(d.port));
    std::atomic<int> refused{0};
    auto holders = put_background(d.port, background, refused);
    if (refused > 0) {
      std::cerr << "http_load_bench: " << refused << " background requests were refused (429): raise --max-per-client\n";
      ::kill(d.pid, SIGTERM);
      ::kill(d.pid, SIGTERM);
      ::waitpid(d.pid, nullptr, 0);
      for (auto& t : holders) t.join();
      return 1;
    }
    for (int i = 0; i < chats; ++i) loaded.push_back(chat_ttft_ms(d.port));
    std::string m = metrics(d.port);
    const bool held = m.find(R"(agentd_requests_total{class="background")") == std::string::npos;
    ::kill(d.pid, SIGTERM);
    ::kill(d.pid, SIGTERM);  // the second one: don't wait out the background generations
    ::waitpid(d.pid, nullptr, 0);
    for (auto& t : holders) t.join();
    std::filesystem::remove_all(d.dir);
    char buf[256];
    std::snprintf(buf, sizeof buf, "%d background in flight (%s): idle TTFT median %.2f ms, loaded %.2f ms", background,
                  held ? "none finished while measuring" : "SOME FINISHED while measuring", median(idle), median(loaded));
    std::cout << buf << std::endl;
    std::snprintf(buf, sizeof buf, "http_chat_ttft_loaded_vs_idle{background=\"%d\"} %.2f", background,
                  median(loaded) / median(idle));
    lines.push_back(buf);
  }
  for (const auto& l : lines) std::cout << l << "\n";
  return 0;
}
