// agentd.json: the daemon's settings. Comments are allowed. Every key is known: an unknown key, a
// wrong type or a bad value is refused with the file, the JSON path and the reason (and, for a
// typo, the nearest known key). Precedence: built-in defaults < agentd.json < command-line flags.
//
//   {
//     "model": "/models/qwen3-8b-q4_k_m.gguf",
//     "engine": { "policy": "batched", "slots": 4, "context": 2048, "threads": 0,
//                 "prefill_chunk": 256, "paused_kv_streams": 0, "flash_attn": "auto",
//                 "kv_type": "f16", "mlock": false, "cpu_variant": "auto", "chat_template": "chatml" },
//     "agents": { "dir": "~/agentd/agents.d", "roots": ["~", "/srv/shared"],
//                 "max_tokens": 256, "timeout": "10m" },
//     "http":   { "enabled": true, "listen": "127.0.0.1:8377", "token_env": "AGENTD_TOKEN",
//                 "max_queued": 16, "max_per_client": 32, "max_body_kb": 1024, "request_timeout_s": 30 },
//     "cloud":  { "base_url": "https://api.openai.com/v1", "model": "gpt-4o-mini",
//                 "api_key_env": "OPENAI_API_KEY", "input_price_per_mtok": 0.15,
//                 "output_price_per_mtok": 0.6, "escalate": "high", "timeout": "2m", "max_retries": 3 },
//     "daemon": { "concurrency": 4, "grace": "30s", "stuck_after": "60s", "max_attempts": 3 },
//     "log":    { "level": "info", "file_level": "debug", "max_file_mb": 10, "max_files": 5 }
//   }
// Relative paths ("model", "agents.dir", "agents.roots") are taken from agentd.json's folder.
#pragma once

#include <filesystem>
#include <string>

#include "agents/config_reader.hpp"
#include "runtime/daemon.hpp"

namespace agentd::runtime {

using agents::ConfigError;
using agents::nearest_key;

// Applies the settings of `path` on top of `options`. Throws ConfigError.
void apply_config_file(const std::filesystem::path& path, DaemonOptions& options);

}  // namespace agentd::runtime
