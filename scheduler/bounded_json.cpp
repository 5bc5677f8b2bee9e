#include "scheduler/bounded_json.hpp"

#include <cstdio>
#include <set>
#include <vector>

#include <glib.h>
#include <nlohmann/json.hpp>

namespace agentd::scheduler {

namespace {

// The length of the longest valid UTF-8 prefix of `text`. GLib's validator (strict: no overlong
// forms, no surrogates, nothing past U+10FFFF; a NUL byte also ends the valid prefix).
size_t valid_utf8_prefix(std::string_view text) {
  const gchar* end = nullptr;
  g_utf8_validate_len(text.data(), static_cast<gsize>(text.size()), &end);
  return static_cast<size_t>(end - text.data());
}

// "line 3, column 70" of byte `offset` (columns in bytes, from 1).
std::string place(std::string_view text, size_t offset) {
  size_t line = 1, line_start = 0;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(offset - line_start + 1);
}

// The offset just past the string, comment or single character that starts at `i`.
size_t skip_token(std::string_view text, size_t i) {
  if (text[i] == '"') {
    for (size_t k = i + 1; k < text.size(); ++k) {
      if (text[k] == '\\') ++k;
      else if (text[k] == '"') return k + 1;
    }
    return text.size();
  }
  if (text[i] == '/' && i + 1 < text.size() && text[i + 1] == '/') {
    size_t end = text.find('\n', i);
    return end == std::string_view::npos ? text.size() : end;
  }
  if (text[i] == '/' && i + 1 < text.size() && text[i + 1] == '*') {
    size_t end = text.find("*/", i + 2);
    return end == std::string_view::npos ? text.size() : end + 2;
  }
  return i + 1;
}

}  // namespace

std::optional<size_t> first_invalid_utf8(std::string_view text) {
  size_t valid = valid_utf8_prefix(text);
  if (valid == text.size()) return std::nullopt;
  return valid;
}

std::string escape_invalid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    size_t valid = valid_utf8_prefix(text);
    out.append(text.substr(0, valid));
    if (valid == text.size()) break;
    char hex[5];
    std::snprintf(hex, sizeof hex, "\\x%02X", static_cast<unsigned char>(text[valid]));
    out += hex;
    text.remove_prefix(valid + 1);
  }
  return out;
}

std::optional<std::string> json_bounds_problem(std::string_view text, const JsonBounds& bounds) {
  if (text.size() > bounds.max_bytes) {
    return std::to_string(text.size()) + " bytes is more than the limit of " + std::to_string(bounds.max_bytes);
  }
  if (size_t nul = text.find('\0'); nul != std::string_view::npos) return "a NUL byte at " + place(text, nul);
  if (auto bad = first_invalid_utf8(text)) return "not UTF-8: a bad byte at " + place(text, *bad);
  int depth = 0;
  for (size_t i = 0; i < text.size(); i = skip_token(text, i)) {
    char c = text[i];
    if ((c == '[' || c == '{') && ++depth > bounds.max_depth) {
      return "nested deeper than " + std::to_string(bounds.max_depth) + " levels at " + place(text, i);
    }
    if (c == ']' || c == '}') --depth;
  }
  return std::nullopt;
}

nlohmann::json parse_bounded_json(std::string_view text, const JsonBounds& bounds, bool allow_comments) {
  if (auto problem = json_bounds_problem(text, bounds)) throw BoundedJsonError(*problem);
  // nlohmann keeps the last of two equal keys; refusing them is the only way a reader and the
  // writer of the file (or another parser of the same request) cannot disagree on a value. One
  // key set per open object; arrays push an empty one so the stack follows the nesting.
  std::vector<std::set<std::string>> keys;
  auto no_duplicate_keys = [&](int, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    using Event = nlohmann::json::parse_event_t;
    if (event == Event::object_start || event == Event::array_start) keys.emplace_back();
    if ((event == Event::object_end || event == Event::array_end) && !keys.empty()) keys.pop_back();
    if (event == Event::key && !keys.empty() && !keys.back().insert(parsed.get<std::string>()).second) {
      throw BoundedJsonError("duplicate key \"" + parsed.get<std::string>() + "\" (a key may appear once in an object)");
    }
    return true;
  };
  try {
    return nlohmann::json::parse(text, no_duplicate_keys, /*allow_exceptions=*/true, allow_comments);
  } catch (const nlohmann::json::exception& e) {
    // nlohmann: "[json.exception.parse_error.101] parse error at line 3, column 5: ..."; a number
    // too large for a double is an out_of_range error (406) of the same shape.
    std::string what = e.what();
    auto pos = what.find("] ");
    throw BoundedJsonError(escape_invalid_utf8(pos == std::string::npos ? what : what.substr(pos + 2)));
  }
}

}  // namespace agentd::scheduler
