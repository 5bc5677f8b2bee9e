// ConfigReader: reads one JSON object of a configuration file strictly. Every key must be known;
// a wrong type or a bad value is refused; every error names the file, the JSON path and the
// reason, and an unknown key that looks like a typo gets the nearest known key:
//   agents.d/mail.json: /triggers/0/evrey: unknown key (did you mean 'every'?)
// Used for agentd.json, agents.d/*.json and each plugin's "settings" object.
#pragma once

#include <chrono>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace agentd::agents {

// A configuration that cannot be used. what() = "<file>: <json path>: <reason>".
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Parses a JSON file; comments are allowed. Only a regular file is read (opened without blocking,
// so a FIFO cannot hang the reader), within scheduler::JsonBounds (4 MiB, nested at most 64
// levels), UTF-8, no NUL byte, nothing after the value. Throws ConfigError naming the file, with
// the line and column.
nlohmann::json read_json_file(const std::filesystem::path& path);

// The longest duration a configuration may give (ten years).
inline constexpr std::chrono::milliseconds kMaxDuration{3650LL * 86'400'000};

class ConfigReader {
 public:
  // `object` must outlive the reader. Throws ConfigError if it is not an object or has a key
  // outside `known`.
  ConfigReader(std::string file, const nlohmann::json& object, std::string path, std::vector<std::string> known);

  bool has(const char* key) const { return find(key) != nullptr; }
  void string(const char* key, std::string& out) const;
  void boolean(const char* key, bool& out) const;
  void integer(const char* key, int& out, int min, int max) const;
  void number(const char* key, double& out, double min, double max) const;
  void number(const char* key, float& out, float min, float max) const;
  void one_of(const char* key, std::string& out, std::initializer_list<const char*> allowed) const;
  // "30s", "5m", "1h30m", "250ms"; at most kMaxDuration.
  void duration(const char* key, std::chrono::milliseconds& out) const;
  void strings(const char* key, std::vector<std::string>& out) const;
  // A nested object, if present.
  std::optional<ConfigReader> object(const char* key, std::vector<std::string> known) const;
  // The elements of an array of objects, each read with `known` keys.
  std::vector<ConfigReader> objects(const char* key, std::vector<std::string> known) const;
  // The raw value, if present (for values a plugin reads itself).
  const nlohmann::json* raw(const char* key) const { return find(key); }

  const std::string& file() const { return file_; }
  // This object's JSON path ("" for the root).
  const std::string& path() const { return path_; }
  // The JSON path of `key` in this object, e.g. "/triggers/0/every".
  std::string at(const char* key) const { return path_ + "/" + key; }
  [[noreturn]] void fail(const std::string& where, const std::string& why) const;

 private:
  const nlohmann::json* find(const char* key) const;

  std::string file_;
  const nlohmann::json* object_;
  std::string path_;
};

// The known key closest to `key` by edit distance, if it is close enough to be a typo.
std::string nearest_key(const std::string& key, const std::vector<std::string>& known);

}  // namespace agentd::agents
