#include "runtime/time_spec.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <sstream>

#include <date/date.h>

#include "core/time_text.hpp"

namespace agentd::runtime {

namespace {

// The local date-time `text` names, read by date::parse: "YYYY-MM-DD" or
// "YYYY-MM-DD[T ]HH:MM[:SS]", all of it; nullopt for anything else or a date that does not exist.
//
// The shape is checked first: date.h's %S reads an uninitialised long double when no digits
// follow (UB that UBSan reports), so date::parse only ever sees digits where it expects them.
bool has_local_shape(std::string_view text) {
  static constexpr std::string_view kShape = "dddd-dd-dd_dd:dd:dd";
  if (text.size() != 10 && text.size() != 16 && text.size() != 19) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    switch (kShape[i]) {
      case 'd':
        if (c < '0' || c > '9') return false;
        break;
      case '_':
        if (c != 'T' && c != ' ') return false;
        break;
      default:
        if (c != kShape[i]) return false;
    }
  }
  return true;
}

std::optional<date::local_seconds> parse_local(std::string_view text) {
  if (!has_local_shape(text)) return std::nullopt;
  static constexpr const char* kFormats[] = {"%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S",
                                             "%Y-%m-%d %H:%M:%S"};
  for (const char* format : kFormats) {
    std::istringstream in{std::string(text)};
    date::local_seconds t;
    in >> date::parse(format, t);
    if (!in.fail() && in.peek() == std::char_traits<char>::eof()) return t;
  }
  return std::nullopt;
}

}  // namespace

std::optional<int64_t> parse_time_spec(std::string_view text, int64_t now_ms) {
  if (auto d = parse_duration_ms(text)) return now_ms - *d;
  auto local = parse_local(text);
  if (!local) return std::nullopt;
  // The process's zone (TZ, /etc/localtime) decides the instant, as it does for every time the
  // CLI prints (format_local_time): mktime, with DST left for it to determine.
  const auto day = std::chrono::floor<date::days>(*local);
  const date::year_month_day ymd{day};
  const date::hh_mm_ss<std::chrono::seconds> hms{*local - day};
  std::tm tm{};
  tm.tm_year = int(ymd.year()) - 1900;
  tm.tm_mon = int(unsigned(ymd.month())) - 1;
  tm.tm_mday = int(unsigned(ymd.day()));
  tm.tm_hour = int(hms.hours().count());
  tm.tm_min = int(hms.minutes().count());
  tm.tm_sec = int(hms.seconds().count());
  tm.tm_isdst = -1;
  std::time_t t = std::mktime(&tm);
  if (t == -1) return std::nullopt;
  return static_cast<int64_t>(t) * 1000;
}

std::string format_local_time(int64_t ms) { return core::format_time(ms, "%Y-%m-%d %H:%M:%S", core::TimeBase::local); }

std::string format_duration(int64_t ms) {
  char buf[32];
  if (ms < 1000) std::snprintf(buf, sizeof buf, "%lldms", static_cast<long long>(ms));
  else if (ms < 60'000) std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(ms) / 1000.0);
  else if (ms < 3'600'000) std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(ms / 60'000),
                                         static_cast<long long>(ms / 1000 % 60));
  else std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(ms / 3'600'000),
                     static_cast<long long>(ms / 60'000 % 60));
  return buf;
}

}  // namespace agentd::runtime
