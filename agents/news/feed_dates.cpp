#include "agents/news/feed_dates.hpp"

#include <gmime/gmime.h>

#include <cctype>
#include <string>

#include "agents/common/gmime_init.hpp"

namespace agentd::agents {

namespace {

constexpr size_t kMaxDateChars = 256;  // a date is short; anything longer is not one

// Milliseconds of `t` (taking ownership of it), or nullopt for none.
std::optional<int64_t> take_millis(GDateTime* t) {
  if (!t) return std::nullopt;
  const int64_t ms = g_date_time_to_unix(t) * 1000 + g_date_time_get_microsecond(t) / 1000;
  g_date_time_unref(t);
  return ms;
}

// The text as a C string for the libraries, without outer blank space; empty if it cannot be a date
// (too long, or a NUL inside, which a C parser would stop at).
std::string c_text(std::string_view text) {
  const size_t b = text.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  text = text.substr(b, text.find_last_not_of(" \t\r\n") - b + 1);
  if (text.size() > kMaxDateChars || text.find('\0') != std::string_view::npos) return {};
  return std::string(text);
}

}  // namespace

std::optional<int64_t> parse_rfc822_date(std::string_view text) {
  const std::string s = c_text(text);
  if (s.empty()) return std::nullopt;
  init_gmime();
  return take_millis(g_mime_utils_header_decode_date(s.c_str()));
}

std::optional<int64_t> parse_rfc3339_date(std::string_view text) {
  std::string s = c_text(text);
  if (s.empty()) return std::nullopt;
  for (char& c : s) {
    if (c == 't' || c == 'z')
      c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));  // RFC 3339 allows them
  }
  return take_millis(g_date_time_new_from_iso8601(s.c_str(), nullptr));
}

std::optional<int64_t> parse_feed_date(std::string_view text) {
  const std::string s = c_text(text);
  const bool looks_3339 = s.size() > 5 && std::isdigit(static_cast<unsigned char>(s[0])) &&
                          std::isdigit(static_cast<unsigned char>(s[3])) && s[4] == '-';
  return looks_3339 ? parse_rfc3339_date(s) : parse_rfc822_date(s);
}

}  // namespace agentd::agents
