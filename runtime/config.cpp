#include "runtime/config.hpp"

#include <cstdlib>

#include "runtime/listen_address.hpp"

namespace agentd::runtime {

namespace {

using agents::ConfigReader;
namespace fs = std::filesystem;

fs::path from_config_folder(const fs::path& config, const std::string& text) {
  const char* home = std::getenv("HOME");
  if (text == "~" && home) return home;
  if (text.starts_with("~/") && home) return fs::path(home) / text.substr(2);
  fs::path p(text);
  return p.is_relative() ? fs::absolute(config).parent_path() / p : p;
}

void read_engine(const ConfigReader& e, engine::LlamaEngineOptions& o) {
  std::string policy = engine::to_string(o.policy);
  e.one_of("policy", policy, {"batched", "serial"});
  o.policy = *engine::parse_policy(policy);
  e.integer("slots", o.slots, 1, 64);
  e.integer("context", o.n_ctx_per_seq, 64, 1 << 20);
  e.integer("threads", o.threads, 0, 1024);
  e.integer("prefill_chunk", o.prefill_chunk, 1, 1 << 16);
  e.integer("paused_kv_streams", o.paused_kv_streams, 0, 64);
  std::string flash_attn = engine::to_string(o.flash_attn);
  e.one_of("flash_attn", flash_attn, {"auto", "on", "off"});
  o.flash_attn = *engine::parse_flash_attn(flash_attn);
  std::string kv_type = engine::to_string(o.kv_type);
  e.one_of("kv_type", kv_type, {"f16", "q8_0", "q4_0"});
  o.kv_type = *engine::parse_kv_type(kv_type);
  if (o.kv_type != engine::KvType::f16 && o.flash_attn == engine::FlashAttn::off) {
    e.fail(e.at("kv_type"), "'" + kv_type + "' needs flash attention: set \"flash_attn\" to \"auto\" or \"on\"");
  }
  e.boolean("mlock", o.mlock);
  e.string("cpu_variant", o.cpu_variant);  // "auto" or a variant's name; the engine says which exist
  e.string("chat_template", o.chat_template);
  e.boolean("prefix_cache", o.prefix_cache);
  e.integer("prefix_cache_mb", o.prefix_cache_mb, -1, 1 << 20);
  e.integer("prefix_cache_disk_mb", o.prefix_cache_disk_mb, 0, 1 << 24);
}

void read_agents(const ConfigReader& a, const fs::path& config, AgentsOptions& o) {
  std::string dir;
  a.string("dir", dir);
  if (!dir.empty()) o.dir = from_config_folder(config, dir);
  std::vector<std::string> roots;
  a.strings("roots", roots);
  for (const auto& root : roots) o.roots.push_back(from_config_folder(config, root));
  a.integer("max_tokens", o.max_tokens, 1, 1 << 20);
  a.duration("timeout", o.timeout);
}

void read_http(const ConfigReader& h, HttpOptions& o) {
  h.boolean("enabled", o.enabled);
  h.string("listen", o.listen);
  try {
    parse_listen_address(o.listen);
  } catch (const std::invalid_argument& e) {
    h.fail(h.at("listen"), e.what());
  }
  h.string("token_env", o.token_env);
  h.integer("max_queued", o.max_queued, 1, 100000);
  h.integer("max_per_client", o.max_per_client, 1, 100000);
  int kb = static_cast<int>(o.max_body_bytes >> 10);
  h.integer("max_body_kb", kb, 1, 1 << 20);
  o.max_body_bytes = static_cast<size_t>(kb) << 10;
  h.integer("request_timeout_s", o.request_timeout_s, 1, 3600);
}

void read_cloud(const ConfigReader& c, std::optional<CloudOptions>& out) {
  CloudOptions o;
  if (!c.has("base_url") || !c.has("model")) c.fail(c.path(), "needs \"base_url\" and \"model\"");
  c.string("base_url", o.engine.base_url);
  if (!o.engine.base_url.starts_with("http://") && !o.engine.base_url.starts_with("https://")) {
    c.fail(c.at("base_url"), "'" + o.engine.base_url + "' is not an http(s) URL such as https://api.openai.com/v1");
  }
  c.string("model", o.engine.model);
  c.string("api_key_env", o.engine.api_key_env);
  c.number("input_price_per_mtok", o.prices.input_per_mtok, 0.0, 1e6);
  c.number("output_price_per_mtok", o.prices.output_per_mtok, 0.0, 1e6);
  std::string escalate = "high";
  c.one_of("escalate", escalate, {"medium", "high"});
  o.escalate_complexity = escalate == "medium" ? 2 : 3;
  std::chrono::milliseconds timeout = o.engine.read_timeout;
  c.duration("timeout", timeout);
  o.engine.read_timeout = timeout;
  c.integer("max_retries", o.engine.max_retries, 0, 10);
  out = o;
}

void read_daemon(const ConfigReader& d, DaemonOptions& o) {
  d.integer("concurrency", o.concurrency, 1, 1024);
  d.duration("grace", o.grace);
  d.duration("stuck_after", o.stuck_after);
  d.integer("max_attempts", o.max_attempts, 1, 100);
}

void read_log(const ConfigReader& l, LogOptions& o) {
  const auto levels = {"trace", "debug", "info", "warn", "error", "critical", "off"};
  l.one_of("level", o.console_level, levels);
  l.one_of("file_level", o.file_level, levels);
  int mb = static_cast<int>(o.max_file_bytes >> 20), files = static_cast<int>(o.max_files);
  l.integer("max_file_mb", mb, 1, 4096);
  l.integer("max_files", files, 1, 100);
  o.max_file_bytes = static_cast<size_t>(mb) << 20;
  o.max_files = static_cast<size_t>(files);
}

}  // namespace

void apply_config_file(const fs::path& path, DaemonOptions& o) {
  nlohmann::json root = agents::read_json_file(path);
  ConfigReader top(path.string(), root, "", {"model", "engine", "agents", "http", "cloud", "daemon", "log"});
  std::string model;
  top.string("model", model);
  if (!model.empty()) o.engine.model_path = from_config_folder(path, model).string();
  if (auto e = top.object("engine", {"policy", "slots", "context", "threads", "prefill_chunk",
                                       "paused_kv_streams", "flash_attn", "kv_type", "mlock", "cpu_variant", "chat_template", "prefix_cache",
                                       "prefix_cache_mb", "prefix_cache_disk_mb"})) {
    read_engine(*e, o.engine);
  }
  if (auto a = top.object("agents", {"dir", "roots", "max_tokens", "timeout"})) read_agents(*a, path, o.agents);
  if (auto h = top.object("http", {"enabled", "listen", "token_env", "max_queued", "max_per_client", "max_body_kb", "request_timeout_s"})) read_http(*h, o.http);
  if (auto c = top.object("cloud", {"base_url", "model", "api_key_env", "input_price_per_mtok", "output_price_per_mtok",
                                     "escalate", "timeout", "max_retries"})) {
    read_cloud(*c, o.cloud);
  }
  if (auto d = top.object("daemon", {"concurrency", "grace", "stuck_after", "max_attempts"})) read_daemon(*d, o);
  if (auto l = top.object("log", {"level", "file_level", "max_file_mb", "max_files"})) read_log(*l, o.log);
}

}  // namespace agentd::runtime
