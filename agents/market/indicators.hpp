// The market agent's indicators, computed exactly from a symbol's price bars (oldest first) and
// always about the LAST session:
//   return over n sessions   close[last] / close[last - n] - 1          (needs n + 1 bars)
//   SMA n                    mean of the last n closes                   (needs n bars)
//   breakout                 close[last] > highest high of the n sessions before it (needs n + 1)
//   breakdown                close[last] < lowest low of the n sessions before it
//   volume spike             volume[last] > k x mean volume of the 20 sessions before it (needs 21;
//                            never when that mean is 0)
//   data gaps                consecutive bars with at least `gap_weekdays` weekdays missing
//                            between them (one missing weekday is taken for a holiday)
// An indicator without enough bars is std::nullopt ("n/a" in the report), never a guess.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "agents/common/price_series.hpp"

namespace agentd::agents {

struct ScanSettings {
  int breakout_sessions = 20;
  double volume_factor = 2.0;
  int volume_sessions = 20;
  int gap_weekdays = 2;
};

struct DataGap {
  std::chrono::sys_days after, before;  // the bars on either side
  int missing_weekdays = 0;
};

struct SymbolScan {
  std::string symbol;
  size_t sessions = 0;
  std::chrono::sys_days last_day;
  double close = 0, volume = 0;
  std::optional<double> return_1, return_5, return_20;  // fractions: 0.05 = +5 %
  std::optional<double> sma_20, sma_50;
  std::optional<double> prior_high, prior_low;  // over the breakout window before the last session
  bool breakout = false, breakdown = false;
  std::optional<double> volume_average;  // of the sessions before the last
  std::optional<double> volume_ratio;    // volume / volume_average
  bool volume_spike = false;
  std::vector<DataGap> gaps;
};

std::optional<double> period_return(const std::vector<PriceBar>& bars, int sessions);
std::optional<double> simple_moving_average(const std::vector<PriceBar>& bars, int sessions);
// Mon-Fri days strictly between two days (0 when `to` <= `from` + 1 day).
int weekdays_between(std::chrono::sys_days from, std::chrono::sys_days to);
std::vector<DataGap> find_gaps(const std::vector<PriceBar>& bars, int min_missing_weekdays);
// `series.bars` must not be empty (std::invalid_argument otherwise).
SymbolScan scan_symbol(const PriceSeries& series, const ScanSettings& settings);

}  // namespace agentd::agents
