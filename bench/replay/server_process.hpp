// The servers compared, each started as a child process on 127.0.0.1 with the same model,
// threads, context per sequence and parallel sequences: agentd (batched with and without the
// prefix cache, serial) and llama.cpp's llama-server. Their logs go to a file in the work dir.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>

#include "thread_cpu.hpp"

namespace agentd::bench::replay {

struct ServerSetup {
  std::string model;
  int threads = 2;
  int slots = 4;     // parallel sequences
  int ctx = 2048;    // context per sequence
  std::filesystem::path work_dir;
  std::string agentd_engine = "{}";  // more "engine" keys of agentd.json, a JSON object (--agentd-engine)
};

enum class ServerKind { agentd_batched, agentd_no_cache, agentd_serial, llama_server };
const char* name_of(ServerKind k);

class ServerProcess {
 public:
  // Starts it and waits until it answers; throws std::runtime_error (naming its log) if it does not.
  ServerProcess(ServerKind kind, const std::string& program, const ServerSetup& s);
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  double peak_rss_mib() const;  // VmHWM of the process, read while it lives
  CpuSplit cpu_split() const;   // user + system time so far: compute threads and the rest (thread_cpu.hpp)
  void stop();                  // SIGTERM, then SIGKILL after 20 s; idempotent

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::filesystem::path log_;
};

int free_port();

}  // namespace agentd::bench::replay
