// Order statistics of a replay's latencies: percentiles and the empirical CDF drawn in the chart.
#pragma once

#include <utility>
#include <vector>

namespace agentd::bench::replay {

// The p-th percentile (0..100) by linear interpolation between closest ranks (numpy's default);
// NaN for an empty sample.
double percentile(std::vector<double> values, double p);

// The empirical CDF: (value, share of values <= it) at each distinct value, ascending; the last
// share is 1. Empty for an empty sample.
std::vector<std::pair<double, double>> cdf(std::vector<double> values);

}  // namespace agentd::bench::replay
