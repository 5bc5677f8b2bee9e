// A child process whose output the test reads line by line through a pipe. Tests synchronise on
// those lines (a child prints a line only after what it reports has happened), never on sleeps.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace agentd::testing {

class ChildProcess {
 public:
  // Starts argv[0] (a path) with `argv`. Its stderr stays the test's stderr, unless
  // `merge_stderr`, when read_line() reads both (a daemon logs to stderr).
  explicit ChildProcess(const std::vector<std::string>& argv, bool merge_stderr = false);
  // Kills (SIGKILL) and reaps the child if the test did not.
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // The next line without its newline; nullopt once the child closed its stdout (exited).
  std::optional<std::string> read_line();
  void signal(int sig);
  void kill();  // SIGKILL
  // Waits for the child to end; returns its wait status (see WIFSIGNALED etc.).
  int wait();

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  std::string buffer_;
  bool reaped_ = false;
};

}  // namespace agentd::testing
