#include "agents/market/indicators.hpp"

#include <algorithm>
#include <stdexcept>

namespace agentd::agents {

namespace chrono = std::chrono;

namespace {

bool is_weekday(chrono::sys_days day) {
  const unsigned wd = chrono::weekday(day).c_encoding();  // 0 = Sunday
  return wd != 0 && wd != 6;
}

// The `n` bars just before the last one; empty when there are not that many.
std::pair<std::vector<PriceBar>::const_iterator, std::vector<PriceBar>::const_iterator> window_before_last(
    const std::vector<PriceBar>& bars, int n) {
  if (n <= 0 || bars.size() < static_cast<size_t>(n) + 1) return {bars.end(), bars.end()};
  auto last = bars.end() - 1;
  return {last - n, last};
}

void add_breakouts(const std::vector<PriceBar>& bars, const ScanSettings& settings, SymbolScan& scan) {
  auto [begin, end] = window_before_last(bars, settings.breakout_sessions);
  if (begin == end) return;
  double high = begin->high, low = begin->low;
  for (auto it = begin; it != end; ++it) {
    high = std::max(high, it->high);
    low = std::min(low, it->low);
  }
  scan.prior_high = high;
  scan.prior_low = low;
  scan.breakout = scan.close > high;
  scan.breakdown = scan.close < low;
}

void add_volume(const std::vector<PriceBar>& bars, const ScanSettings& settings, SymbolScan& scan) {
  auto [begin, end] = window_before_last(bars, settings.volume_sessions);
  if (begin == end) return;
  double sum = 0;
  for (auto it = begin; it != end; ++it) sum += it->volume;
  const double average = sum / settings.volume_sessions;
  scan.volume_average = average;
  if (average <= 0) return;
  scan.volume_ratio = scan.volume / average;
  scan.volume_spike = scan.volume > settings.volume_factor * average;
}

}  // namespace

std::optional<double> period_return(const std::vector<PriceBar>& bars, int sessions) {
  if (sessions <= 0 || bars.size() < static_cast<size_t>(sessions) + 1) return std::nullopt;
  return bars.back().close / bars[bars.size() - 1 - sessions].close - 1.0;
}

std::optional<double> simple_moving_average(const std::vector<PriceBar>& bars, int sessions) {
  if (sessions <= 0 || bars.size() < static_cast<size_t>(sessions)) return std::nullopt;
  double sum = 0;
  for (auto it = bars.end() - sessions; it != bars.end(); ++it) sum += it->close;
  return sum / sessions;
}

int weekdays_between(chrono::sys_days from, chrono::sys_days to) {
  const long days = (to - from).count() - 1;  // strictly between
  if (days <= 0) return 0;
  int count = static_cast<int>(days / 7) * 5;
  for (chrono::sys_days d = from + chrono::days(1 + days / 7 * 7); d < to; d += chrono::days(1)) {
    count += is_weekday(d) ? 1 : 0;
  }
  return count;
}

std::vector<DataGap> find_gaps(const std::vector<PriceBar>& bars, int min_missing_weekdays) {
  std::vector<DataGap> gaps;
  for (size_t i = 1; i < bars.size(); ++i) {
    int missing = weekdays_between(bars[i - 1].day, bars[i].day);
    if (missing >= min_missing_weekdays) gaps.push_back({bars[i - 1].day, bars[i].day, missing});
  }
  return gaps;
}

SymbolScan scan_symbol(const PriceSeries& series, const ScanSettings& settings) {
  if (series.bars.empty()) throw std::invalid_argument(series.symbol + ": no price bars to scan");
  const auto& bars = series.bars;
  SymbolScan scan;
  scan.symbol = series.symbol;
  scan.sessions = bars.size();
  scan.last_day = bars.back().day;
  scan.close = bars.back().close;
  scan.volume = bars.back().volume;
  scan.return_1 = period_return(bars, 1);
  scan.return_5 = period_return(bars, 5);
  scan.return_20 = period_return(bars, 20);
  scan.sma_20 = simple_moving_average(bars, 20);
  scan.sma_50 = simple_moving_average(bars, 50);
  add_breakouts(bars, settings, scan);
  add_volume(bars, settings, scan);
  scan.gaps = find_gaps(bars, settings.gap_weekdays);
  return scan;
}

}  // namespace agentd::agents
