#include "agents/config_reader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <sstream>

#include "scheduler/bounded_json.hpp"
#include "scheduler/duration.hpp"

namespace agentd::agents {

using nlohmann::json;

namespace {

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

std::string type_of(const json& v) { return v.type_name(); }

// The bytes of a regular file, read without blocking: a FIFO or a device named *.json would
// otherwise hang the reader in open() or feed it without end. The size is checked on the open
// file (fstat), so a file swapped between the check and the read cannot slip past it.
std::string read_regular_file(const std::filesystem::path& path, size_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) throw ConfigError(path.string() + ": cannot read the file: " + std::strerror(errno));
  std::string text;
  struct stat st {};
  bool regular = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  if (regular && static_cast<size_t>(st.st_size) <= max_bytes) {
    text.resize(static_cast<size_t>(st.st_size));
    size_t got = 0;
    while (got < text.size()) {
      ssize_t n = ::read(fd, text.data() + got, text.size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // shrunk while read: parse what is there
      got += static_cast<size_t>(n);
    }
    text.resize(got);
  }
  ::close(fd);
  if (!regular) throw ConfigError(path.string() + ": not a regular file (only regular files are read)");
  if (static_cast<size_t>(st.st_size) > max_bytes) {
    throw ConfigError(path.string() + ": " + std::to_string(st.st_size) + " bytes is more than the limit of " +
                      std::to_string(max_bytes));
  }
  return text;
}

}  // namespace

std::string nearest_key(const std::string& key, const std::vector<std::string>& known) {
  std::string best;
  size_t best_distance = std::max<size_t>(2, key.size() / 3) + 1;  // a typo, not another word
  for (const std::string& k : known) {
    size_t d = edit_distance(key, k);
    if (d < best_distance) {
      best_distance = d;
      best = k;
    }
  }
  return best;
}

json read_json_file(const std::filesystem::path& path) {
  const scheduler::JsonBounds bounds;  // a configuration file: 4 MiB, 64 levels
  std::string text = read_regular_file(path, bounds.max_bytes);
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
    throw ConfigError(path.string() + ": the file is empty (expected a JSON object)");
  }
  try {
    return scheduler::parse_bounded_json(text, bounds, /*allow_comments=*/true);
  } catch (const scheduler::BoundedJsonError& e) {
    throw ConfigError(path.string() + ": " + e.what());
  }
}

ConfigReader::ConfigReader(std::string file, const json& object, std::string path, std::vector<std::string> known)
    : file_(std::move(file)), object_(&object), path_(std::move(path)) {
  if (!object_->is_object()) fail(path_.empty() ? "/" : path_, "expected an object, got " + type_of(*object_));
  for (const auto& [key, value] : object_->items()) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      if (key.size() > 64) fail(path_ + "/" + key.substr(0, 64) + "...", "unknown key");  // a message, not a copy of the file
      std::string hint = nearest_key(key, known);
      fail(path_ + "/" + key, "unknown key" + (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
    }
  }
}

const json* ConfigReader::find(const char* key) const {
  auto it = object_->find(key);
  return it == object_->end() ? nullptr : &*it;
}

void ConfigReader::fail(const std::string& where, const std::string& why) const {
  throw ConfigError(file_ + ": " + where + ": " + why);
}

void ConfigReader::string(const char* key, std::string& out) const {
  if (const json* v = find(key)) {
    if (!v->is_string()) fail(at(key), "expected a string, got " + type_of(*v));
    out = v->get<std::string>();
  }
}

void ConfigReader::boolean(const char* key, bool& out) const {
  if (const json* v = find(key)) {
    if (!v->is_boolean()) fail(at(key), "expected true or false, got " + type_of(*v));
    out = v->get<bool>();
  }
}

void ConfigReader::integer(const char* key, int& out, int min, int max) const {
  if (const json* v = find(key)) {
    if (!v->is_number_integer()) fail(at(key), "expected an integer, got " + type_of(*v));
    // Past INT64_MAX nlohmann keeps an unsigned value, which get<int64_t>() would wrap negative.
    if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(max)) {
      fail(at(key), std::to_string(v->get<uint64_t>()) + " is outside " + std::to_string(min) + ".." + std::to_string(max));
    }
    auto n = v->get<int64_t>();
    if (n < min || n > max) fail(at(key), std::to_string(n) + " is outside " + std::to_string(min) + ".." + std::to_string(max));
    out = static_cast<int>(n);
  }
}

void ConfigReader::number(const char* key, double& out, double min, double max) const {
  if (const json* v = find(key)) {
    if (!v->is_number()) fail(at(key), "expected a number, got " + type_of(*v));
    double n = v->get<double>();
    if (!(n >= min && n <= max)) {
      std::ostringstream range;
      range << n << " is outside " << min << ".." << max;
      fail(at(key), range.str());
    }
    out = n;
  }
}

void ConfigReader::number(const char* key, float& out, float min, float max) const {
  double n = out;
  number(key, n, min, max);
  out = static_cast<float>(n);
}

void ConfigReader::one_of(const char* key, std::string& out, std::initializer_list<const char*> allowed) const {
  std::string value = out;
  string(key, value);
  if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return value == a; })) {
    std::string list;
    for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
    fail(at(key), "'" + value + "' is not one of " + list);
  }
  out = value;
}

void ConfigReader::duration(const char* key, std::chrono::milliseconds& out) const {
  if (!find(key)) return;
  std::string text;
  string(key, text);
  auto ms = scheduler::parse_duration_ms(text);
  if (!ms) fail(at(key), "'" + text + "' is not a duration (e.g. 250ms, 30s, 5m, 1h30m)");
  // Durations are added to clocks in milliseconds (next fire time, task deadline); ten years keeps
  // every such sum far from int64 overflow, which would fire an interval over and over.
  if (*ms > kMaxDuration.count()) fail(at(key), "at most 3650d (ten years), got '" + text + "'");
  out = std::chrono::milliseconds(*ms);
}

void ConfigReader::strings(const char* key, std::vector<std::string>& out) const {
  const json* v = find(key);
  if (!v) return;
  if (v->is_string()) {  // a single string is a list of one
    out = {v->get<std::string>()};
    return;
  }
  if (!v->is_array()) fail(at(key), "expected a list of strings, got " + type_of(*v));
  std::vector<std::string> list;
  for (size_t i = 0; i < v->size(); ++i) {
    if (!(*v)[i].is_string()) fail(at(key) + "/" + std::to_string(i), "expected a string, got " + type_of((*v)[i]));
    list.push_back((*v)[i].get<std::string>());
  }
  out = std::move(list);
}

std::optional<ConfigReader> ConfigReader::object(const char* key, std::vector<std::string> known) const {
  if (const json* v = find(key)) return ConfigReader(file_, *v, at(key), std::move(known));
  return std::nullopt;
}

std::vector<ConfigReader> ConfigReader::objects(const char* key, std::vector<std::string> known) const {
  std::vector<ConfigReader> out;
  const json* v = find(key);
  if (!v) return out;
  if (!v->is_array()) fail(at(key), "expected a list of objects, got " + type_of(*v));
  for (size_t i = 0; i < v->size(); ++i) out.emplace_back(file_, (*v)[i], at(key) + "/" + std::to_string(i), known);
  return out;
}

}  // namespace agentd::agents
