// `agentd chat`: an interactive chat with the shared model through the daemon's HTTP API
// (/v1/chat/completions, streamed), at the interactive class. Keeps the conversation; slash
// commands: /reset, /history, /priority CLASS, /max N, /help, /quit. Works on a pipe too (one
// message per line), which is how it is tested.
#include <httplib.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <sstream>

#include "engine/sse_stream.hpp"
#include "runtime/cli.hpp"
#include "runtime/lock_file.hpp"
#include "runtime/status.hpp"

namespace agentd::runtime {

namespace {

using nlohmann::json;

struct ChatArgs {
  ConfigArgs config;
  std::string url, system, priority = "interactive";
  int max_tokens = 256;
};

// The daemon's address: --url, else what the running daemon reports, else agentd.json's.
std::string daemon_address(const CliGlobals& g, const ChatArgs& a) {
  if (!a.url.empty()) return a.url;
  std::filesystem::path db = g.db_path();
  if (LockFile::holder(db.string() + ".lock")) {
    if (auto live = read_status_file(status_file(db)); live && live->contains("http")) {
      return "http://" + (*live)["http"].get<std::string>();
    }
  }
  return "http://" + load_daemon_options(g, a.config).http.listen;
}

void print_help() {
  std::printf("/reset  forget the conversation   /history  show it   /priority interactive|tool|background\n"
              "/max N  tokens per answer          /quit     leave (or Ctrl-D)\n");
}

// Streams one answer to stdout; returns its text, or throws CliError.
std::string ask(httplib::Client& client, const std::string& url, const json& body, const std::string& token) {
  std::string answer, error_body;
  engine::SseEvents events;
  int status = 0;
  httplib::Request req;
  req.method = "POST";
  req.path = "/v1/chat/completions";
  req.body = body.dump();
  req.set_header("Content-Type", "application/json");
  if (!token.empty()) req.set_header("Authorization", "Bearer " + token);
  req.response_handler = [&](const httplib::Response& res) {
    status = res.status;
    return true;
  };
  req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
    if (status != 200) {
      error_body.append(data, n);
      return true;
    }
    return events.feed(data, n, [&](const std::string& event_data) {
      if (auto piece = engine::chunk_content(json::parse(event_data, nullptr, false))) {
        answer += *piece;
        std::fputs(piece->c_str(), stdout);
        std::fflush(stdout);
      }
      return true;  // "[DONE]" is not JSON: no content; the server then ends the response
    });
  };
  auto result = client.send(req);
  if (!result) {
    throw CliError("cannot reach the daemon at " + url + " (" + httplib::to_string(result.error()) + "); is `agentd run` up?");
  }
  if (status != 200) {
    throw CliError("the daemon answered " + std::to_string(status) + ": " + engine::error_message(error_body));
  }
  std::printf("\n");
  return answer;
}

}  // namespace

void add_chat_command(CLI::App& app, CliGlobals& g) {
  auto* chat = app.add_subcommand("chat", "Chat with the shared model through the running daemon (streamed, interactive class)");
  auto a = std::make_shared<ChatArgs>();
  add_config_args(chat, a->config);
  chat->add_option("--url", a->url, "The daemon's HTTP address (default: the running daemon's, else agentd.json's)");
  chat->add_option("--system", a->system, "A system prompt");
  chat->add_option("--priority", a->priority, "interactive, tool or background")
      ->check(CLI::IsMember({"interactive", "tool", "background"}))->capture_default_str();
  chat->add_option("--max-tokens", a->max_tokens, "Tokens per answer")->check(CLI::PositiveNumber)->capture_default_str();
  chat->callback([&g, a] {
    std::string url = daemon_address(g, *a);
    httplib::Client client(url);
    client.set_read_timeout(600, 0);
    DaemonOptions o = load_daemon_options(g, a->config);
    const char* token = o.http.token_env.empty() ? nullptr : std::getenv(o.http.token_env.c_str());
    bool terminal = ::isatty(STDIN_FILENO) == 1;
    json history = json::array();
    if (!a->system.empty()) history.push_back({{"role", "system"}, {"content", a->system}});
    if (terminal) std::printf("agentd chat on %s (/help for commands, Ctrl-D to leave)\n", url.c_str());
    for (std::string line;;) {
      if (terminal) {
        std::printf("> ");
        std::fflush(stdout);
      }
      if (!std::getline(std::cin, line)) break;
      if (line.empty()) continue;
      if (line == "/quit" || line == "/exit") break;
      if (line == "/help") { print_help(); continue; }
      if (line == "/reset") {
        history = json::array();
        if (!a->system.empty()) history.push_back({{"role", "system"}, {"content", a->system}});
        std::printf("(conversation cleared)\n");
        continue;
      }
      if (line == "/history") {
        for (const auto& m : history) std::printf("%s: %s\n", m["role"].get<std::string>().c_str(), m["content"].get<std::string>().c_str());
        continue;
      }
      if (line.starts_with("/priority ")) {
        std::string p = line.substr(10);
        if (!scheduler::parse_priority(p)) { std::printf("(priority: interactive, tool or background)\n"); continue; }
        a->priority = p;
        continue;
      }
      if (line.starts_with("/max ")) {
        try { a->max_tokens = std::max(1, std::stoi(line.substr(5))); } catch (const std::exception&) { std::printf("(/max N)\n"); }
        continue;
      }
      if (line.starts_with("/")) { std::printf("(unknown command; /help)\n"); continue; }
      history.push_back({{"role", "user"}, {"content", line}});
      json body = {{"model", "default"}, {"messages", history}, {"stream", true},
                   {"max_tokens", a->max_tokens}, {"priority", a->priority}};
      std::string answer = ask(client, url, body, token ? token : "");
      history.push_back({{"role", "assistant"}, {"content", answer}});
    }
  });
}

}  // namespace agentd::runtime
