#include "server_process.hpp"

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fcntl.h>
#include <fstream>
#include <stdexcept>
#include <thread>
#include <vector>

namespace agentd::bench::replay {

namespace fs = std::filesystem;

const char* name_of(ServerKind k) {
  switch (k) {
    case ServerKind::agentd_batched: return "agentd_batched";
    case ServerKind::agentd_no_cache: return "agentd_no_cache";
    case ServerKind::agentd_serial: return "agentd_serial";
    case ServerKind::llama_server: return "llama_server";
  }
  return "?";
}

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  const bool ok = fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0;
  if (fd >= 0) ::close(fd);  // also when bind fails
  if (!ok) throw std::runtime_error("replay: cannot find a free port on 127.0.0.1");
  return ntohs(a.sin_port);
}

namespace {

std::vector<std::string> agentd_args(ServerKind kind, const std::string& program, const ServerSetup& s, const fs::path& dir,
                                     int port) {
  fs::create_directories(dir / "agents.d");  // no agents: the replay is the only load
  nlohmann::json engine = nlohmann::json::parse(s.agentd_engine);
  engine["prefix_cache"] = kind != ServerKind::agentd_no_cache;
  std::ofstream(dir / "agentd.json")
      << nlohmann::json{{"http", {{"max_queued", 100000}, {"max_per_client", 100000}}}, {"engine", engine}}.dump();
  return {program, "--db", (dir / "agentd.db").string(), "run", "--model", s.model, "--listen",
          "127.0.0.1:" + std::to_string(port), "--policy", kind == ServerKind::agentd_serial ? "serial" : "batched",
          "--slots", std::to_string(s.slots), "--ctx", std::to_string(s.ctx), "--threads", std::to_string(s.threads),
          "--log-file-level", "off", "--log-level", "warn"};
}

// What a user would run: --parallel = slots, the context split among them, continuous batching
// and the prompt cache at their defaults. The chat template is llama.cpp's built-in chatml, as
// agentd's for a model without one: with its Jinja default, llama-server puts the template's
// "<|im_start|>assistant" into a schema's grammar, which fails on a vocabulary without that
// token ("Failed to initialize samplers"), so every tool-class request would fail.
std::vector<std::string> llama_server_args(const std::string& program, const ServerSetup& s, int port) {
  return {program, "-m", s.model, "--host", "127.0.0.1", "--port", std::to_string(port), "-np", std::to_string(s.slots),
          "-c", std::to_string(s.slots * s.ctx), "-t", std::to_string(s.threads), "--no-webui", "--no-jinja", "--chat-template", "chatml"};
}

// llama-server answers /health once its model is loaded; agentd listens only after it loaded.
bool answers(int port, ServerKind kind) {
  httplib::Client c("127.0.0.1", port);
  c.set_connection_timeout(1, 0);
  auto r = c.Get(kind == ServerKind::llama_server ? "/health" : "/v1/models");
  return r && r->status == 200;
}

}  // namespace

ServerProcess::ServerProcess(ServerKind kind, const std::string& program, const ServerSetup& s) {
  port_ = free_port();
  // Every start is a cold one: what an earlier start of this system left in its folder (the
  // database, the prefix cache on disk) would let a later round or size start warm.
  const fs::path dir = s.work_dir / name_of(kind);
  fs::remove_all(dir);
  fs::create_directories(dir);
  log_ = dir / "server.log";
  std::vector<std::string> args = kind == ServerKind::llama_server ? llama_server_args(program, s, port_)
                                                                   : agentd_args(kind, program, s, dir, port_);
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("replay: fork failed");
  if (pid_ == 0) {
    int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    std::perror("exec");
    std::_Exit(127);
  }
  // Loading the model takes seconds; a benchmark may poll (a test would wait on a signal).
  for (int i = 0; i < 1200; ++i) {
    if (answers(port_, kind)) return;
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error(std::string("replay: ") + name_of(kind) + " exited at start; see " + log_.string());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  stop();
  throw std::runtime_error(std::string("replay: ") + name_of(kind) + " did not answer in 120 s; see " + log_.string());
}

ServerProcess::~ServerProcess() { stop(); }

double ServerProcess::peak_rss_mib() const {
  std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;  // kB
  }
  return -1;
}

CpuSplit ServerProcess::cpu_split() const { return replay::cpu_split(pid_); }

void ServerProcess::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  for (int i = 0; i < 200; ++i) {
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    if (i == 20) ::kill(pid_, SIGTERM);  // agentd: a second SIGTERM does not wait for running work
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

}  // namespace agentd::bench::replay
