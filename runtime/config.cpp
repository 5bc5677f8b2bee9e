#include "runtime/config.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/time_spec.hpp"

namespace agentd::runtime {

namespace {

using nlohmann::json;

// Reads one JSON object, checking keys and types, and naming the file and path in every error.
class Reader {
 public:
  Reader(std::string file, const json& object, std::string path, std::initializer_list<const char*> known)
      : file_(std::move(file)), object_(object), path_(std::move(path)) {
    if (!object_.is_object()) fail(path_.empty() ? "/" : path_, "expected an object, got " + type(object_));
    for (const auto& [key, value] : object_.items()) {
      if (std::none_of(known.begin(), known.end(), [&](const char* k) { return key == k; })) {
        std::string hint = nearest_key(key, known);
        fail(path_ + "/" + key, "unknown key" + (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
      }
    }
  }

  void string(const char* key, std::string& out) const {
    if (const json* v = find(key)) {
      if (!v->is_string()) fail(at(key), "expected a string, got " + type(*v));
      out = v->get<std::string>();
    }
  }

  void integer(const char* key, int& out, int min, int max) const {
    if (const json* v = find(key)) {
      if (!v->is_number_integer()) fail(at(key), "expected an integer, got " + type(*v));
      auto n = v->get<int64_t>();
      if (n < min || n > max) fail(at(key), std::to_string(n) + " is outside " + std::to_string(min) + ".." + std::to_string(max));
      out = static_cast<int>(n);
    }
  }

  void one_of(const char* key, std::string& out, std::initializer_list<const char*> allowed) const {
    std::string value = out;
    string(key, value);
    if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return value == a; })) {
      std::string list;
      for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      fail(at(key), "'" + value + "' is not one of " + list);
    }
    out = value;
  }

  void duration(const char* key, std::chrono::milliseconds& out) const {
    std::string text;
    string(key, text);
    if (text.empty()) return;
    auto ms = parse_duration_ms(text);
    if (!ms) fail(at(key), "'" + text + "' is not a duration (e.g. 30s, 5m)");
    out = std::chrono::milliseconds(*ms);
  }

  // A nested object, if present.
  std::optional<Reader> object(const char* key, std::initializer_list<const char*> known) const {
    if (const json* v = find(key)) return Reader(file_, *v, at(key), known);
    return std::nullopt;
  }

  [[noreturn]] void fail(const std::string& where, const std::string& why) const {
    throw ConfigError(file_ + ": " + where + ": " + why);
  }

 private:
  const json* find(const char* key) const {
    auto it = object_.find(key);
    return it == object_.end() ? nullptr : &*it;
  }
  std::string at(const char* key) const { return path_ + "/" + key; }
  static std::string type(const json& v) { return v.type_name(); }

  std::string file_;
  const json& object_;
  std::string path_;
};

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

}  // namespace

std::string nearest_key(const std::string& key, std::initializer_list<const char*> known) {
  std::string best;
  size_t best_distance = std::max<size_t>(2, key.size() / 3) + 1;  // a typo, not another word
  for (const char* k : known) {
    size_t d = edit_distance(key, k);
    if (d < best_distance) {
      best_distance = d;
      best = k;
    }
  }
  return best;
}

void apply_config_file(const std::filesystem::path& path, DaemonOptions& o) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path.string() + ": cannot read the file");
  std::stringstream text;
  text << in.rdbuf();
  json root;
  try {
    root = json::parse(text.str(), nullptr, /*allow_exceptions=*/true, /*ignore_comments=*/true);
  } catch (const json::parse_error& e) {
    // nlohmann's message carries the line and column: "[json.exception.parse_error.101] parse error at line 3, column 5: ..."
    std::string what = e.what();
    auto pos = what.find("] ");
    throw ConfigError(path.string() + ": " + (pos == std::string::npos ? what : what.substr(pos + 2)));
  }
  const std::string file = path.string();
  Reader top(file, root, "", {"model", "engine", "daemon", "log"});
  top.string("model", o.engine.model_path);
  if (auto engine = top.object("engine", {"policy", "slots", "context", "threads", "prefill_chunk", "chat_template"})) {
    std::string policy = engine::to_string(o.engine.policy);
    engine->one_of("policy", policy, {"batched", "serial"});
    o.engine.policy = *engine::parse_policy(policy);
    engine->integer("slots", o.engine.slots, 1, 64);
    engine->integer("context", o.engine.n_ctx_per_seq, 64, 1 << 20);
    engine->integer("threads", o.engine.threads, 0, 1024);
    engine->integer("prefill_chunk", o.engine.prefill_chunk, 1, 1 << 16);
    engine->string("chat_template", o.engine.chat_template);
  }
  if (auto daemon = top.object("daemon", {"concurrency", "max_tokens", "grace", "max_attempts"})) {
    daemon->integer("concurrency", o.concurrency, 1, 1024);
    daemon->integer("max_tokens", o.max_tokens, 1, 1 << 20);
    daemon->duration("grace", o.grace);
    daemon->integer("max_attempts", o.max_attempts, 1, 100);
  }
  if (auto log = top.object("log", {"level", "file_level", "max_file_mb", "max_files"})) {
    const auto levels = {"trace", "debug", "info", "warn", "error", "critical", "off"};
    log->one_of("level", o.log.console_level, levels);
    log->one_of("file_level", o.log.file_level, levels);
    int mb = static_cast<int>(o.log.max_file_bytes >> 20), files = static_cast<int>(o.log.max_files);
    log->integer("max_file_mb", mb, 1, 4096);
    log->integer("max_files", files, 1, 100);
    o.log.max_file_bytes = static_cast<size_t>(mb) << 20;
    o.log.max_files = static_cast<size_t>(files);
  }
}

}  // namespace agentd::runtime
