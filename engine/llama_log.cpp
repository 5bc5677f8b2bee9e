#include "engine/llama_log.hpp"

#include <atomic>
#include <cstdio>
#include <mutex>
#include <string>
#include <vector>

#include "llama.h"

namespace agentd::engine {

namespace {

std::atomic<int> g_print_level{static_cast<int>(LogLevel::error)};

// Per thread: the error lines logged since clear_llama_error() (the root cause usually comes
// first, a generic "failed to ..." last), the last one possibly still being assembled (llama.cpp
// may log one line in several calls).
constexpr size_t kKeptErrorLines = 3;
thread_local std::vector<std::string> t_errors;
thread_local bool t_error_open = false;  // the last error line may still get a continuation
thread_local int t_last_level = GGML_LOG_LEVEL_NONE;
thread_local bool t_holding = false;  // a HeldLlamaLog exists on this thread
thread_local std::string t_held;      // what it held back

int to_agentd_level(ggml_log_level level) {
  switch (level) {
    case GGML_LOG_LEVEL_ERROR: return static_cast<int>(LogLevel::error);
    case GGML_LOG_LEVEL_WARN: return static_cast<int>(LogLevel::warn);
    case GGML_LOG_LEVEL_INFO: return static_cast<int>(LogLevel::info);
    default: return static_cast<int>(LogLevel::debug);
  }
}

void trim_newlines(std::string& s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
}

void on_llama_log(ggml_log_level level, const char* text, void* /*user_data*/) {
  if (text == nullptr) return;
  const bool continuation = level == GGML_LOG_LEVEL_CONT;
  if (continuation) {
    level = static_cast<ggml_log_level>(t_last_level);
  } else {
    t_last_level = level;
  }
  if (level == GGML_LOG_LEVEL_ERROR) {
    if (!(continuation && t_error_open) && t_errors.size() < kKeptErrorLines) t_errors.emplace_back();
    if (!t_errors.empty()) t_errors.back() += text;
    t_error_open = true;
  } else {
    t_error_open = false;
  }
  const int agentd_level = to_agentd_level(level);
  const int print_level = g_print_level.load(std::memory_order_relaxed);
  if (print_level != static_cast<int>(LogLevel::none) && agentd_level <= print_level) {
    if (t_holding) {
      t_held += text;
    } else {
      std::fputs(text, stderr);
    }
  }
}

}  // namespace

void install_llama_log(LogLevel level) {
  static std::once_flag once;
  std::call_once(once, [] { llama_log_set(&on_llama_log, nullptr); });
  g_print_level.store(static_cast<int>(level), std::memory_order_relaxed);
}

void clear_llama_error() {
  t_errors.clear();
  t_error_open = false;
}

std::string last_llama_error() {
  std::string out;
  for (std::string line : t_errors) {
    trim_newlines(line);
    if (line.empty()) continue;
    if (!out.empty()) out += "; ";
    out += line;
  }
  return out;
}

HeldLlamaLog::HeldLlamaLog() {
  t_holding = true;
  t_held.clear();
}

HeldLlamaLog::~HeldLlamaLog() {
  t_holding = false;
  if (print_ && !t_held.empty()) std::fputs(t_held.c_str(), stderr);
  t_held.clear();
}

}  // namespace agentd::engine
