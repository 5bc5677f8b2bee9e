#include "runtime/time_spec.hpp"

#include <cstdio>
#include <ctime>

namespace agentd::runtime {

std::optional<int64_t> parse_time_spec(std::string_view text, int64_t now_ms) {
  if (auto d = parse_duration_ms(text)) return now_ms - *d;
  std::tm tm{};
  int consumed = 0;
  std::string s(text);
  if (std::sscanf(s.c_str(), "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &consumed) != 3) {
    return std::nullopt;
  }
  if (static_cast<size_t>(consumed) < s.size()) {
    char sep = s[static_cast<size_t>(consumed)];
    int more = 0;
    int fields = std::sscanf(s.c_str() + consumed + 1, "%2d:%2d%n:%2d%n", &tm.tm_hour, &tm.tm_min, &more,
                             &tm.tm_sec, &more);
    if ((sep != 'T' && sep != ' ') || fields < 2 ||
        static_cast<size_t>(consumed + 1 + more) != s.size()) {
      return std::nullopt;
    }
  }
  if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
      tm.tm_min > 59 || tm.tm_sec > 60) {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  tm.tm_isdst = -1;
  std::time_t t = std::mktime(&tm);
  if (t == -1) return std::nullopt;
  return static_cast<int64_t>(t) * 1000;
}

std::string format_local_time(int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

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
