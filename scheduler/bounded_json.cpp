#include "scheduler/bounded_json.hpp"

#include <cstdio>
#include <set>
#include <vector>

#include <nlohmann/json.hpp>

namespace agentd::scheduler {

namespace {

// The length of the well-formed UTF-8 sequence at `text[i]`, or 0 (RFC 3629, table 3-7 of the
// Unicode standard: no overlong forms, no surrogates, nothing past U+10FFFF).
size_t utf8_sequence_length(std::string_view text, size_t i) {
  auto byte = [&](size_t k) { return k < text.size() ? static_cast<unsigned char>(text[k]) : 0u; };
  unsigned b0 = byte(i);
  if (b0 < 0x80) return 1;
  auto tail = [&](size_t k) { return (byte(k) & 0xC0u) == 0x80u; };
  unsigned b1 = byte(i + 1);
  if (b0 >= 0xC2 && b0 <= 0xDF) return tail(i + 1) ? 2 : 0;
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    bool second_ok = b0 == 0xE0 ? (b1 >= 0xA0 && b1 <= 0xBF) : b0 == 0xED ? (b1 >= 0x80 && b1 <= 0x9F) : tail(i + 1);
    return second_ok && tail(i + 2) ? 3 : 0;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    bool second_ok = b0 == 0xF0 ? (b1 >= 0x90 && b1 <= 0xBF) : b0 == 0xF4 ? (b1 >= 0x80 && b1 <= 0x8F) : tail(i + 1);
    return second_ok && tail(i + 2) && tail(i + 3) ? 4 : 0;
  }
  return 0;
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
  for (size_t i = 0; i < text.size();) {
    size_t n = utf8_sequence_length(text, i);
    if (n == 0) return i;
    i += n;
  }
  return std::nullopt;
}

std::string escape_invalid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    size_t n = utf8_sequence_length(text, i);
    if (n == 0) {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02X", static_cast<unsigned char>(text[i]));
      out += hex;
      ++i;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
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
