// LlamaEngine's two modes a user picks by name (agentd.json "engine", the CLI, the benchmarks):
// the scheduling policy and flash attention, with their text forms. Apart from llama_engine.cpp
// so that reading a configuration does not need llama.cpp linked (the fuzz targets, tests/fuzz).
#pragma once

#include <optional>
#include <string_view>

namespace agentd::engine {

// serial: one generation holds the engine at a time; batched: `slots` decode together
// (llama_engine.hpp says more).
enum class Policy { serial, batched };
const char* to_string(Policy p);
std::optional<Policy> parse_policy(std::string_view s);

// Flash attention: llama.cpp's choice (auto: on where the backend supports it, as on CPU), or
// forced. Which is faster depends on CPU and model (bench/README.md; engine_bench --flash-attn).
enum class FlashAttn { automatic, on, off };
const char* to_string(FlashAttn f);
std::optional<FlashAttn> parse_flash_attn(std::string_view s);  // "auto", "on", "off"

// The KV cache's element type, keys and values alike: f16 (llama.cpp's default), or quantized to
// hold about 1.9x (q8_0) or 3.6x (q4_0) the cells in the same memory. Quantized values need
// flash attention (llama.cpp stores V quantized only on that path).
enum class KvType { f16, q8_0, q4_0 };
const char* to_string(KvType t);
std::optional<KvType> parse_kv_type(std::string_view s);  // "f16", "q8_0", "q4_0"

}  // namespace agentd::engine
