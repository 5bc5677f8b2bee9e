// agentd.json: the daemon's settings. Comments are allowed. Every key is known: an unknown key, a
// wrong type or a bad value is refused with the file, the JSON path and the reason (and, for a
// typo, the nearest known key). Precedence: built-in defaults < agentd.json < command-line flags.
//
//   {
//     "model": "/models/qwen3-8b-q4_k_m.gguf",
//     "engine": { "policy": "batched", "slots": 4, "context": 2048, "threads": 0,
//                 "prefill_chunk": 256, "chat_template": "chatml" },
//     "daemon": { "concurrency": 4, "max_tokens": 256, "grace": "30s", "max_attempts": 3 },
//     "log":    { "level": "info", "file_level": "debug", "max_file_mb": 10, "max_files": 5 }
//   }
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>

#include "runtime/daemon.hpp"

namespace agentd::runtime {

// A configuration file that cannot be used. what() = "<file>: <json path>: <reason>".
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Applies the settings of `path` on top of `options`. Throws ConfigError.
void apply_config_file(const std::filesystem::path& path, DaemonOptions& options);

// The known key closest to `key` by edit distance, if it is close enough to be a typo.
std::string nearest_key(const std::string& key, std::initializer_list<const char*> known);

}  // namespace agentd::runtime
