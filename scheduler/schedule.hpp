// When a time-based trigger fires: an interval ("every 15m") or a 5-field cron expression in an
// IANA time zone, plus the policy for runs missed while the daemon was down. Pure functions of
// the times they are given (milliseconds since the Unix epoch): no clock is read here, so tests
// never sleep and DST transitions are tested exactly.
//
// Cron: "minute hour day-of-month month day-of-week", each field `*`, a number, a range `a-b`, a
// list `a,b`, a step `*/n` or `a-b/n`; month and weekday names (jan..dec, sun..sat); weekday 0 and
// 7 are Sunday. As in Vixie cron, when both day-of-month and day-of-week are restricted a day
// matching either fires. Daylight saving time:
//  - a local time that does not exist (skipped by a spring-forward gap) fires at the end of the
//    gap, i.e. at the first instant that exists (02:30 on a 02:00->03:00 night fires at 03:00);
//  - a local time that happens twice (fall back) fires once, at its first occurrence.
#pragma once

#include <array>
#include <bitset>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>

namespace date {
class time_zone;
}

namespace agentd::scheduler {

// A trigger expression that cannot be used; what() names the field and the reason.
class ScheduleError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

class CronSchedule {
 public:
  // Throws ScheduleError for a bad expression or an unknown time zone.
  CronSchedule(std::string_view expression, std::string_view time_zone);
  // The first fire time strictly after `after_ms`; nullopt if none within 8 years (e.g. Feb 30).
  std::optional<int64_t> next_after(int64_t after_ms) const;
  const std::string& text() const { return text_; }

 private:
  bool day_matches(int year, unsigned month, unsigned day) const;

  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_;     // 1..31
  std::bitset<13> months_;   // 1..12
  std::bitset<7> weekdays_;  // 0 = Sunday
  bool days_restricted_ = false;
  bool weekdays_restricted_ = false;
  const date::time_zone* zone_ = nullptr;
  std::string text_;
};

class IntervalSchedule {
 public:
  // Throws ScheduleError unless `every_ms` > 0.
  explicit IntervalSchedule(int64_t every_ms);
  std::optional<int64_t> next_after(int64_t after_ms) const { return after_ms + every_ms_; }
  int64_t every_ms() const { return every_ms_; }

 private:
  int64_t every_ms_;
};

using Schedule = std::variant<IntervalSchedule, CronSchedule>;
std::optional<int64_t> next_after(const Schedule& schedule, int64_t after_ms);

// What to do with runs that fell due while the daemon was down.
enum class MissedRuns { skip, run_once, run_each };
std::optional<MissedRuns> parse_missed_runs(std::string_view text);  // "skip", "run_once", "run_each"

struct CatchUp {
  int runs_now = 0;                  // how many runs to start at once
  int missed = 0;                    // runs that fell due in (last, now], capped at max_runs + 1
  std::optional<int64_t> next_fire;  // the first fire time after now
};

// `last_fire_ms` is the last time this trigger fired (nullopt: never, so nothing was missed).
// run_each starts at most `max_runs` of the missed runs.
CatchUp catch_up(const Schedule& schedule, std::optional<int64_t> last_fire_ms, int64_t now_ms, MissedRuns policy,
                 int max_runs = 10);

}  // namespace agentd::scheduler
