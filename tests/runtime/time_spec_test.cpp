#include <gtest/gtest.h>

#include "runtime/time_spec.hpp"

namespace agentd::runtime {
namespace {

TEST(TimeSpec, Durations) {
  EXPECT_EQ(parse_duration_ms("90s"), 90'000);
  EXPECT_EQ(parse_duration_ms("15m"), 900'000);
  EXPECT_EQ(parse_duration_ms("2h"), 7'200'000);
  EXPECT_EQ(parse_duration_ms("30d"), 2'592'000'000);
  EXPECT_EQ(parse_duration_ms("1w"), 604'800'000);
  EXPECT_EQ(parse_duration_ms("250ms"), 250);
  EXPECT_EQ(parse_duration_ms("1h30m"), 5'400'000);
  EXPECT_EQ(parse_duration_ms("0s"), 0);
  for (auto bad : {"", "h", "2", "2x", "-2h", "2.5h", " 2h", "2h ", "5m2h", "5m5m", "ms", "2msx", "+2h",
                   "99999999999999999w"}) {
    EXPECT_FALSE(parse_duration_ms(bad)) << bad;
  }
}

TEST(TimeSpec, DatesAreLocalAndDurationsCountBack) {
  const int64_t now = 1'800'000'000'000;
  EXPECT_EQ(parse_time_spec("2h", now), now - 7'200'000);
  auto day = parse_time_spec("2026-11-01", now);
  auto morning = parse_time_spec("2026-11-01T08:30", now);
  auto with_seconds = parse_time_spec("2026-11-01 08:30:15", now);
  ASSERT_TRUE(day && morning && with_seconds);
  EXPECT_EQ(*morning - *day, (8 * 60 + 30) * 60'000);
  EXPECT_EQ(*with_seconds - *morning, 15'000);
  EXPECT_EQ(format_local_time(*morning), "2026-11-01 08:30:00");
  for (auto bad : {"2026-13-01", "2026-02-30", "2026-11-01X", "2026-11-01T8", "yesterday", "2026-11-01T08:30junk",
                   "202-11-01T08:30:Europe/Rome1 ", "2026-11-01T08:30:", "2026-11-01T08:30:x5"}) {
    EXPECT_FALSE(parse_time_spec(bad, now)) << bad;
  }
}

TEST(TimeSpec, FormatDuration) {
  EXPECT_EQ(format_duration(850), "850ms");
  EXPECT_EQ(format_duration(12'300), "12.3s");
  EXPECT_EQ(format_duration(245'000), "4m05s");
  EXPECT_EQ(format_duration(7'800'000), "2h10m");
}

}  // namespace
}  // namespace agentd::runtime
