#include "engine/llama_modes.hpp"

namespace agentd::engine {

const char* to_string(Policy p) { return p == Policy::serial ? "serial" : "batched"; }

std::optional<Policy> parse_policy(std::string_view s) {
  if (s == "serial") return Policy::serial;
  if (s == "batched") return Policy::batched;
  return std::nullopt;
}

const char* to_string(FlashAttn f) {
  switch (f) {
    case FlashAttn::automatic: return "auto";
    case FlashAttn::on: return "on";
    case FlashAttn::off: return "off";
  }
  return "?";
}

std::optional<FlashAttn> parse_flash_attn(std::string_view s) {
  for (const FlashAttn f : {FlashAttn::automatic, FlashAttn::on, FlashAttn::off}) {
    if (s == to_string(f)) return f;
  }
  return std::nullopt;
}

const char* to_string(KvType t) {
  switch (t) {
    case KvType::f16: return "f16";
    case KvType::q8_0: return "q8_0";
    case KvType::q4_0: return "q4_0";
  }
  return "?";
}

std::optional<KvType> parse_kv_type(std::string_view s) {
  for (const KvType t : {KvType::f16, KvType::q8_0, KvType::q4_0}) {
    if (s == to_string(t)) return t;
  }
  return std::nullopt;
}

}  // namespace agentd::engine
