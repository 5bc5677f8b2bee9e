#include "scheduler/schedule.hpp"

#include <date/tz.h>

#include <charconv>
#include <vector>

namespace agentd::scheduler {

namespace {

using namespace std::chrono;

constexpr std::array<std::string_view, 12> kMonthNames = {"jan", "feb", "mar", "apr", "may", "jun",
                                                          "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<std::string_view, 7> kDayNames = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

struct FieldSpec {
  const char* name;
  int min, max;
  const std::string_view* names;  // names[i] means min + i; nullptr if none
  size_t name_count;
};

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == sep) {
      parts.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  return parts;
}

int parse_value(std::string_view token, const FieldSpec& f) {
  for (size_t i = 0; f.names && i < f.name_count; ++i) {
    std::string lower(token);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == f.names[i]) return f.min + static_cast<int>(i);
  }
  int v = 0;
  auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), v);
  if (ec != std::errc() || end != token.data() + token.size()) {
    throw ScheduleError(std::string(f.name) + ": '" + std::string(token) + "' is not a number" +
                        (f.names ? " or a name" : ""));
  }
  // Day-of-week 7 is Sunday too.
  int max = std::string_view(f.name) == "day-of-week" ? 7 : f.max;
  if (v < f.min || v > max) {
    throw ScheduleError(std::string(f.name) + ": " + std::to_string(v) + " is outside " + std::to_string(f.min) +
                        "-" + std::to_string(max));
  }
  return v;
}

// Returns the set of values, and whether the field was restricted (anything but a bare `*`).
template <size_t N>
bool parse_field(std::string_view text, const FieldSpec& f, std::bitset<N>& out) {
  if (text.empty()) throw ScheduleError(std::string(f.name) + ": empty");
  for (std::string_view item : split(text, ',')) {
    auto slash = split(item, '/');
    if (slash.size() > 2) throw ScheduleError(std::string(f.name) + ": '" + std::string(item) + "' has two '/'");
    int step = 1;
    if (slash.size() == 2) {
      auto [end, ec] = std::from_chars(slash[1].data(), slash[1].data() + slash[1].size(), step);
      if (ec != std::errc() || end != slash[1].data() + slash[1].size() || step < 1) {
        throw ScheduleError(std::string(f.name) + ": step '" + std::string(slash[1]) + "' is not a positive number");
      }
    }
    int lo = f.min, hi = f.max;
    if (slash[0] != "*") {
      auto dash = split(slash[0], '-');
      if (dash.size() > 2) throw ScheduleError(std::string(f.name) + ": '" + std::string(item) + "' has two '-'");
      lo = parse_value(dash[0], f);
      hi = dash.size() == 2 ? parse_value(dash[1], f) : (slash.size() == 2 ? f.max : lo);
      if (hi < lo) throw ScheduleError(std::string(f.name) + ": range '" + std::string(slash[0]) + "' goes backwards");
    }
    for (int v = lo; v <= hi; v += step) out.set(static_cast<size_t>(N == 7 && v == 7 ? 0 : v));  // 7 = Sunday
  }
  return text != "*";
}

}  // namespace

CronSchedule::CronSchedule(std::string_view expression, std::string_view time_zone) {
  std::vector<std::string_view> fields;
  for (auto part : split(expression, ' ')) {
    if (!part.empty()) fields.push_back(part);
  }
  if (fields.size() != 5) {
    throw ScheduleError("cron '" + std::string(expression) + "': expected 5 fields (minute hour day-of-month month "
                        "day-of-week), found " + std::to_string(fields.size()));
  }
  try {
    parse_field(fields[0], {"minute", 0, 59, nullptr, 0}, minutes_);
    parse_field(fields[1], {"hour", 0, 23, nullptr, 0}, hours_);
    days_restricted_ = parse_field(fields[2], {"day-of-month", 1, 31, nullptr, 0}, days_);
    parse_field(fields[3], {"month", 1, 12, kMonthNames.data(), kMonthNames.size()}, months_);
    weekdays_restricted_ = parse_field(fields[4], {"day-of-week", 0, 6, kDayNames.data(), kDayNames.size()}, weekdays_);
  } catch (const ScheduleError& e) {
    throw ScheduleError("cron '" + std::string(expression) + "': " + e.what());
  }
  try {
    zone_ = date::locate_zone(std::string(time_zone));
  } catch (const std::exception&) {
    throw ScheduleError("time zone '" + std::string(time_zone) + "' is not an IANA time zone (e.g. Europe/Paris, UTC)");
  }
  text_ = std::string(expression) + " " + std::string(time_zone);
}

bool CronSchedule::day_matches(int year, unsigned month, unsigned day) const {
  if (!months_.test(month)) return false;
  date::year_month_day ymd{date::year{year}, date::month{month}, date::day{day}};
  unsigned weekday = date::weekday{date::sys_days{ymd}}.c_encoding();
  bool dom = days_.test(day), dow = weekdays_.test(weekday);
  if (days_restricted_ && weekdays_restricted_) return dom || dow;
  return dom && dow;
}

std::optional<int64_t> CronSchedule::next_after(int64_t after_ms) const {
  const date::sys_time<milliseconds> after{milliseconds(after_ms)};
  // Local wall-clock minute to start from: the minute after `after`'s local minute. Candidates
  // are checked against `after` in UTC, so the DST rules below cannot fire twice or in the past.
  auto local_after = zone_->to_local(after);
  auto start_day = date::floor<date::days>(local_after);
  auto last_day = start_day + date::days(366 * 8);
  for (auto day = start_day; day <= last_day; day += date::days(1)) {
    date::year_month_day ymd{day};
    if (!day_matches(static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                     static_cast<unsigned>(ymd.day()))) {
      continue;
    }
    for (int h = 0; h < 24; ++h) {
      if (!hours_.test(static_cast<size_t>(h))) continue;
      for (int m = 0; m < 60; ++m) {
        if (!minutes_.test(static_cast<size_t>(m))) continue;
        date::local_time<minutes> local = day + hours(h) + minutes(m);
        if (local <= date::floor<minutes>(local_after) - hours(3)) continue;  // far before: skip cheaply
        auto info = zone_->get_info(local);
        date::sys_time<milliseconds> fire;
        if (info.result == date::local_info::nonexistent) {
          fire = info.first.end;  // the end of the gap: the first instant that exists
        } else {
          // unique, or ambiguous: the first occurrence
          fire = date::sys_time<milliseconds>{local.time_since_epoch() - info.first.offset};
        }
        if (fire > after) return fire.time_since_epoch().count();
      }
    }
  }
  return std::nullopt;
}

IntervalSchedule::IntervalSchedule(int64_t every_ms) : every_ms_(every_ms) {
  if (every_ms <= 0) throw ScheduleError("every: the interval must be longer than zero");
}

std::optional<int64_t> next_after(const Schedule& schedule, int64_t after_ms) {
  return std::visit([after_ms](const auto& s) { return s.next_after(after_ms); }, schedule);
}

std::optional<MissedRuns> parse_missed_runs(std::string_view text) {
  if (text == "skip") return MissedRuns::skip;
  if (text == "run_once") return MissedRuns::run_once;
  if (text == "run_each") return MissedRuns::run_each;
  return std::nullopt;
}

CatchUp catch_up(const Schedule& schedule, std::optional<int64_t> last_fire_ms, int64_t now_ms, MissedRuns policy,
                 int max_runs) {
  CatchUp result;
  if (last_fire_ms) {
    // Count what fell due in (last, now], stopping once the count is past anything a policy uses.
    std::optional<int64_t> t = last_fire_ms;
    while ((t = next_after(schedule, *t)) && *t <= now_ms && result.missed <= max_runs) ++result.missed;
  }
  switch (policy) {
    case MissedRuns::skip: result.runs_now = 0; break;
    case MissedRuns::run_once: result.runs_now = result.missed > 0 ? 1 : 0; break;
    case MissedRuns::run_each: result.runs_now = std::min(result.missed, max_runs); break;
  }
  result.next_fire = next_after(schedule, now_ms);
  return result;
}

}  // namespace agentd::scheduler
