// Trigger timing: interval and cron next-fire times, DST transitions, missed-run policies. Expected
// instants were computed independently (Python's zoneinfo), not with the code under test.
#include <gtest/gtest.h>

#include "scheduler/schedule.hpp"

namespace agentd::scheduler {
namespace {

constexpr int64_t kMinute = 60'000;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;

TEST(CronSchedule, EveryMinuteFiresAtTheNextWholeMinute) {
  CronSchedule cron("* * * * *", "UTC");
  EXPECT_EQ(cron.next_after(1795255230000), 1795255260000);  // 10:00:30Z -> 10:01:00Z
  EXPECT_EQ(cron.next_after(1795255260000), 1795255260000 + kMinute);  // strictly after
}

TEST(CronSchedule, DailyInAZone) {
  CronSchedule cron("0 7 * * *", "Europe/Paris");
  const int64_t seven_paris = 1795240800000;  // 2026-11-21 07:00 CET = 06:00Z
  EXPECT_EQ(cron.next_after(seven_paris - 1), seven_paris);
  EXPECT_EQ(cron.next_after(seven_paris), seven_paris + kDay);
}

TEST(CronSchedule, SpringForwardGapFiresAtTheEndOfTheGap) {
  CronSchedule cron("30 2 * * *", "Europe/Paris");  // 02:30 does not exist on 2026-03-29
  const int64_t midnight_utc = 1774742400000;       // 2026-03-29 00:00Z
  EXPECT_EQ(cron.next_after(midnight_utc), 1774746000000);       // 03:00 CEST = 01:00Z
  EXPECT_EQ(cron.next_after(1774746000000), 1774830600000);      // next day 02:30 CEST = 00:30Z

  CronSchedule ny("30 2 * * *", "America/New_York");  // 2026-03-08 02:00 EST -> 03:00 EDT
  EXPECT_EQ(ny.next_after(1772884800000), 1772953200000);  // from Mar 7 12:00Z: 03:00 EDT Mar 8 = 07:00Z
}

TEST(CronSchedule, FallBackRepeatedHourFiresOnce) {
  CronSchedule cron("30 2 * * *", "Europe/Paris");  // 02:30 happens twice on 2026-10-25
  const int64_t first = 1792888200000;              // 02:30 CEST = 00:30Z
  EXPECT_EQ(cron.next_after(first - 1), first);
  EXPECT_EQ(cron.next_after(first), 1792978200000);  // not 01:30Z the same night: 2026-10-26 02:30 CET
}

TEST(CronSchedule, DayOfMonthOrDayOfWeekWhenBothAreRestricted) {
  CronSchedule cron("0 0 13 * fri", "UTC");  // the 13th, and every Friday
  const int64_t nov10 = 1794312000000;       // Tue 2026-11-10 12:00Z
  int64_t fri13 = 1794528000000;             // Fri 2026-11-13 00:00Z
  EXPECT_EQ(cron.next_after(nov10), fri13);
  EXPECT_EQ(cron.next_after(fri13), fri13 + 7 * kDay);  // Fri 20th
  CronSchedule only_dom("0 0 13 * *", "UTC");
  EXPECT_EQ(only_dom.next_after(fri13), 1797120000000);  // 2026-12-13 00:00Z
}

TEST(CronSchedule, MonthAndWeekdayNames) {
  CronSchedule weekdays("0 9 * JAN-mar mon-fri", "UTC");
  EXPECT_EQ(weekdays.next_after(1798761600000), 1798761600000 + 9 * kHour);  // Fri 2027-01-01 09:00Z
  EXPECT_EQ(weekdays.next_after(1798848000000), 1799053200000);  // from Sat 2 Jan: Mon 4 Jan 09:00Z
}

TEST(CronSchedule, StepsAndLists) {
  CronSchedule quarter("*/15 * * * *", "UTC");
  const int64_t t = 1795255230000;  // 10:00:30Z
  EXPECT_EQ(quarter.next_after(t), t - 30'000 + 15 * kMinute);
  CronSchedule list("5,10 * * * *", "UTC");
  EXPECT_EQ(list.next_after(t), t - 30'000 + 5 * kMinute);
  EXPECT_EQ(list.next_after(t - 30'000 + 5 * kMinute), t - 30'000 + 10 * kMinute);
  CronSchedule sunday7("0 0 * * 7", "UTC");  // 7 is Sunday
  CronSchedule sunday0("0 0 * * 0", "UTC");
  EXPECT_EQ(sunday7.next_after(t), sunday0.next_after(t));
}

TEST(CronSchedule, ImpossibleDateNeverFires) {
  CronSchedule cron("0 0 30 feb *", "UTC");
  EXPECT_FALSE(cron.next_after(1795255230000));
}

TEST(CronSchedule, BadExpressionsNameTheField) {
  auto message = [](const char* expr, const char* tz = "UTC") {
    try {
      CronSchedule c(expr, tz);
    } catch (const ScheduleError& e) {
      return std::string(e.what());
    }
    return std::string("(accepted)");
  };
  EXPECT_NE(message("* * * *").find("expected 5 fields"), std::string::npos);
  EXPECT_NE(message("60 * * * *").find("minute: 60 is outside 0-59"), std::string::npos);
  EXPECT_NE(message("* 24 * * *").find("hour"), std::string::npos);
  EXPECT_NE(message("* * 0 * *").find("day-of-month"), std::string::npos);
  EXPECT_NE(message("* * * foo *").find("month: 'foo'"), std::string::npos);
  EXPECT_NE(message("* * * * 8").find("day-of-week"), std::string::npos);
  EXPECT_NE(message("*/0 * * * *").find("step"), std::string::npos);
  EXPECT_NE(message("5-1 * * * *").find("backwards"), std::string::npos);
  EXPECT_NE(message("* * * * *", "Mars/Olympus").find("time zone 'Mars/Olympus'"), std::string::npos);
}

TEST(IntervalSchedule, RejectsZero) {
  EXPECT_THROW(IntervalSchedule(0), ScheduleError);
  EXPECT_EQ(IntervalSchedule(15 * kMinute).next_after(1000), 1000 + 15 * kMinute);
}

TEST(CatchUp, MissedRunPolicies) {
  Schedule every15{IntervalSchedule(15 * kMinute)};
  const int64_t now = 1795255230000;
  const int64_t last = now - kHour - 1;  // 4 runs fell due while down
  auto skip = catch_up(every15, last, now, MissedRuns::skip);
  EXPECT_EQ(skip.missed, 4);
  EXPECT_EQ(skip.runs_now, 0);
  EXPECT_EQ(skip.next_fire, now + 15 * kMinute);
  EXPECT_EQ(catch_up(every15, last, now, MissedRuns::run_once).runs_now, 1);
  EXPECT_EQ(catch_up(every15, last, now, MissedRuns::run_each).runs_now, 4);
  EXPECT_EQ(catch_up(every15, last, now, MissedRuns::run_each, 2).runs_now, 2);  // bounded
  EXPECT_EQ(catch_up(every15, now - kMinute, now, MissedRuns::run_each).runs_now, 0);  // nothing due yet
  EXPECT_EQ(catch_up(every15, std::nullopt, now, MissedRuns::run_once).runs_now, 0);  // never fired

  // A year down with a per-minute cron: counting stops early, the bound holds.
  Schedule minutely{CronSchedule("* * * * *", "UTC")};
  auto year = catch_up(minutely, now - 365 * kDay, now, MissedRuns::run_each, 3);
  EXPECT_EQ(year.runs_now, 3);
  EXPECT_EQ(year.missed, 4);
}

TEST(MissedRuns, Parse) {
  EXPECT_EQ(parse_missed_runs("skip"), MissedRuns::skip);
  EXPECT_EQ(parse_missed_runs("run_once"), MissedRuns::run_once);
  EXPECT_EQ(parse_missed_runs("run_each"), MissedRuns::run_each);
  EXPECT_FALSE(parse_missed_runs("sometimes"));
}

}  // namespace
}  // namespace agentd::scheduler
