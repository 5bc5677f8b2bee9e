// The market indicators on hand-computed series: returns, SMAs, breakouts and breakdowns (strict),
// volume spikes (strict), data gaps, and series too short for some of them.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agents/market/indicators.hpp"
#include "agents/market/market_report.hpp"

namespace agentd::agents {
namespace {

using namespace std::chrono;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

sys_days day(int y, unsigned m, unsigned d) { return sys_days(year(y) / month(m) / d); }

// Bars on consecutive weekdays from Monday 2024-01-01: open = low = close - 1, high = close + 1,
// volume 100 unless given.
std::vector<PriceBar> bars_of(const std::vector<double>& closes, const std::vector<double>& volumes = {}) {
  std::vector<PriceBar> bars;
  sys_days d = day(2024, 1, 1);
  for (size_t i = 0; i < closes.size(); ++i) {
    while (weekday(d) == Saturday || weekday(d) == Sunday) d += days(1);
    bars.push_back({d, closes[i] - 1, closes[i] + 1, closes[i] - 1, closes[i], volumes.empty() ? 100 : volumes[i], 0});
    d += days(1);
  }
  return bars;
}

std::vector<double> one_to(int n) {
  std::vector<double> v;
  for (int i = 1; i <= n; ++i) v.push_back(i);
  return v;
}

PriceSeries series_of(std::vector<PriceBar> bars) { return PriceSeries{"TEST", std::move(bars), {}}; }

TEST(MarketIndicatorsTest, ReturnsOverSessions) {
  auto bars = bars_of({100, 102, 99, 101, 104, 105, 110});
  EXPECT_DOUBLE_EQ(*period_return(bars, 1), 110.0 / 105 - 1);
  EXPECT_DOUBLE_EQ(*period_return(bars, 5), 110.0 / 102 - 1);
  EXPECT_NEAR(*period_return(bars, 6), 0.1, 1e-12);
  EXPECT_EQ(period_return(bars, 7), std::nullopt);  // needs 8 bars
  EXPECT_EQ(period_return(bars, 0), std::nullopt);
}

TEST(MarketIndicatorsTest, SimpleMovingAverages) {
  auto bars = bars_of(one_to(50));
  EXPECT_DOUBLE_EQ(*simple_moving_average(bars, 20), 40.5);  // 31..50
  EXPECT_DOUBLE_EQ(*simple_moving_average(bars, 50), 25.5);  // 1..50
  EXPECT_EQ(simple_moving_average(bars, 51), std::nullopt);
}

TEST(MarketIndicatorsTest, TooShortSeriesLeaveIndicatorsUnset) {
  SymbolScan one = scan_symbol(series_of(bars_of({10})), ScanSettings{});
  EXPECT_EQ(one.sessions, 1u);
  EXPECT_EQ(one.close, 10);
  EXPECT_EQ(one.return_1, std::nullopt);
  EXPECT_EQ(one.sma_20, std::nullopt);
  EXPECT_EQ(one.prior_high, std::nullopt);
  EXPECT_FALSE(one.breakout);
  EXPECT_FALSE(one.breakdown);
  EXPECT_EQ(one.volume_average, std::nullopt);
  EXPECT_FALSE(one.volume_spike);

  SymbolScan twenty = scan_symbol(series_of(bars_of(one_to(20))), ScanSettings{});
  EXPECT_DOUBLE_EQ(*twenty.return_5, 20.0 / 15 - 1);
  EXPECT_EQ(twenty.return_20, std::nullopt);  // needs 21
  EXPECT_DOUBLE_EQ(*twenty.sma_20, 10.5);
  EXPECT_EQ(twenty.sma_50, std::nullopt);
  EXPECT_EQ(twenty.prior_high, std::nullopt);  // 20 sessions before the last: needs 21
  EXPECT_EQ(twenty.volume_average, std::nullopt);

  EXPECT_THROW(scan_symbol(series_of({}), ScanSettings{}), std::invalid_argument);
}

TEST(MarketIndicatorsTest, BreakoutAboveThePriorHighIsStrict) {
  ScanSettings s;
  s.breakout_sessions = 3;
  // Highs of the three sessions before the last: 13, 12, 11 (close + 1); the first bar is outside.
  auto bars = bars_of({50, 12, 11, 10, 13});
  SymbolScan above = scan_symbol(series_of(bars), s);
  EXPECT_EQ(*above.prior_high, 13);
  EXPECT_EQ(*above.prior_low, 9);
  EXPECT_FALSE(above.breakout);  // 13 is not above 13

  bars.back().close = 13.01;
  bars.back().high = 14;
  EXPECT_TRUE(scan_symbol(series_of(bars), s).breakout);
  EXPECT_FALSE(scan_symbol(series_of(bars), s).breakdown);
}

TEST(MarketIndicatorsTest, BreakdownBelowThePriorLowIsStrict) {
  ScanSettings s;
  s.breakout_sessions = 3;
  auto bars = bars_of({1, 12, 11, 10, 9});  // prior lows 11, 10, 9; the 0 of the first bar is outside
  bars.back().low = 8;
  SymbolScan at_low = scan_symbol(series_of(bars), s);
  EXPECT_EQ(*at_low.prior_low, 9);
  EXPECT_FALSE(at_low.breakdown);  // 9 is not below 9
  bars.back().close = 8.99;
  SymbolScan below = scan_symbol(series_of(bars), s);
  EXPECT_TRUE(below.breakdown);
  EXPECT_FALSE(below.breakout);
}

TEST(MarketIndicatorsTest, VolumeSpikeAgainstThePriorTwentySessions) {
  std::vector<double> volumes(21, 100);
  volumes[0] = 1000;  // outside the window once there are 22 bars
  volumes.push_back(201);
  auto bars = bars_of(std::vector<double>(22, 10), volumes);
  SymbolScan spike = scan_symbol(series_of(bars), ScanSettings{});
  EXPECT_DOUBLE_EQ(*spike.volume_average, 100);
  EXPECT_DOUBLE_EQ(*spike.volume_ratio, 2.01);
  EXPECT_TRUE(spike.volume_spike);

  bars.back().volume = 200;  // exactly k x average: not a spike
  EXPECT_FALSE(scan_symbol(series_of(bars), ScanSettings{}).volume_spike);

  ScanSettings k3;
  k3.volume_factor = 3;
  bars.back().volume = 301;
  EXPECT_TRUE(scan_symbol(series_of(bars), k3).volume_spike);

  for (auto& b : bars) b.volume = 0;  // no average to compare with
  SymbolScan silent = scan_symbol(series_of(bars), ScanSettings{});
  EXPECT_EQ(*silent.volume_average, 0);
  EXPECT_EQ(silent.volume_ratio, std::nullopt);
  EXPECT_FALSE(silent.volume_spike);
}

TEST(MarketIndicatorsTest, WeekdaysBetweenTwoDays) {
  EXPECT_EQ(weekdays_between(day(2024, 1, 5), day(2024, 1, 8)), 0);   // Fri -> Mon
  EXPECT_EQ(weekdays_between(day(2024, 1, 8), day(2024, 1, 9)), 0);   // Mon -> Tue
  EXPECT_EQ(weekdays_between(day(2024, 1, 8), day(2024, 1, 10)), 1);  // Mon -> Wed
  EXPECT_EQ(weekdays_between(day(2024, 2, 9), day(2024, 2, 16)), 4);  // Fri -> Fri
  EXPECT_EQ(weekdays_between(day(2024, 1, 5), day(2024, 1, 22)), 10);
  EXPECT_EQ(weekdays_between(day(2024, 1, 1), day(2024, 12, 31)), 260);  // 2024 has 262; both ends are weekdays
  EXPECT_EQ(weekdays_between(day(2024, 1, 9), day(2024, 1, 8)), 0);
}

TEST(MarketIndicatorsTest, GapsOfTwoOrMoreMissingWeekdays) {
  std::vector<PriceBar> bars;
  for (sys_days d : {day(2024, 1, 8), day(2024, 1, 9), day(2024, 1, 11), day(2024, 1, 12), day(2024, 1, 19),
                     day(2024, 1, 22)}) {
    bars.push_back({d, 1, 1, 1, 1, 1, 0});
  }
  auto gaps = find_gaps(bars, 2);
  ASSERT_EQ(gaps.size(), 1u);  // Tue -> Thu misses one weekday (a holiday); Fri -> Fri misses four
  EXPECT_EQ(gaps[0].after, day(2024, 1, 12));
  EXPECT_EQ(gaps[0].before, day(2024, 1, 19));
  EXPECT_EQ(gaps[0].missing_weekdays, 4);
  EXPECT_EQ(find_gaps(bars, 1).size(), 2u);
}

TEST(MarketReportTest, TableSignalsAndSummaryFromTheScans) {
  ScanSettings s;
  s.breakout_sessions = 3;
  auto bars = bars_of({50, 12, 11, 10, 14});
  bars.back().high = 15;
  SymbolScan a = scan_symbol(PriceSeries{"AAA", bars, {}}, s);
  SymbolScan b = scan_symbol(PriceSeries{"BBB", bars_of(one_to(60)), {}}, s);
  std::string table = scan_table({a, b});
  EXPECT_EQ(table,
            "| Symbol | Last session | Close | 1d | 5d | 20d | SMA 20 | SMA 50 | Signals |\n"
            "|---|---|---:|---:|---:|---:|---:|---:|---|\n"
            "| AAA | 2024-01-05 | 14.00 | +40.0% | n/a | n/a | n/a | n/a | breakout |\n"
            "| BBB | 2024-03-22 | 60.00 | +1.7% | +9.1% | +50.0% | 50.50 | 35.50 | - |\n");
  EXPECT_THAT(signal_lines(a, s), ElementsAre("AAA: breakout, close 14.00 above the 3-session high 13.00",
                                              "AAA: only 5 sessions, some indicators n/a"));
  EXPECT_THAT(signal_lines(b, s), ElementsAre());
  EXPECT_EQ(summary_line("2024-03-22", {a, b}),
            "Market scan 2024-03-22: 2 symbols; signals: AAA breakout; best 5d BBB +9.1%, worst 5d BBB +9.1%.");
}

}  // namespace
}  // namespace agentd::agents
