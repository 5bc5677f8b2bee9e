// Routes llama.cpp's (process-wide) log into agentd: messages at or above the configured level go
// to stderr, and the last error line logged on the *calling thread* is kept so that an error
// raised right after a failed llama.cpp call (model load, context creation, grammar parse) can
// say what llama.cpp reported.
#pragma once

#include <string>

namespace agentd::engine {

enum class LogLevel { none, error, warn, info, debug };

// Installs the callback (once per process) and sets the level printed to stderr. The level is
// process-wide, like llama.cpp's logger: the last engine constructed sets it.
void install_llama_log(LogLevel level);

// Forgets the last error line of this thread; call before the llama.cpp call being diagnosed.
void clear_llama_error();

// The error lines llama.cpp logged on this thread since clear_llama_error() (at most the first
// three, joined by "; "; the root cause usually comes first), or "".
std::string last_llama_error();

// While one exists, what llama.cpp prints on this thread is held back; at its end it is printed,
// unless drop() was called. For a call whose failure can be the caller's own doing: a decode step
// the engine cuts for a chat logs three error lines ("failed to compute graph", "failed to
// decode, ret = 2") that would read as a fault.
class HeldLlamaLog {
 public:
  HeldLlamaLog();
  ~HeldLlamaLog();
  HeldLlamaLog(const HeldLlamaLog&) = delete;
  HeldLlamaLog& operator=(const HeldLlamaLog&) = delete;
  void drop() { print_ = false; }

 private:
  bool print_ = true;
};

}  // namespace agentd::engine
