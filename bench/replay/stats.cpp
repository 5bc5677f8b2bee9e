#include "stats.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace agentd::bench::replay {

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::sort(values.begin(), values.end());
  const double rank = std::clamp(p, 0.0, 100.0) / 100.0 * static_cast<double>(values.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(rank));
  const size_t hi = std::min(lo + 1, values.size() - 1);
  return values[lo] + (values[hi] - values[lo]) * (rank - static_cast<double>(lo));
}

std::vector<std::pair<double, double>> cdf(std::vector<double> values) {
  std::vector<std::pair<double, double>> out;
  std::sort(values.begin(), values.end());
  const double n = static_cast<double>(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    if (i + 1 < values.size() && values[i + 1] == values[i]) continue;  // one point per distinct value
    out.emplace_back(values[i], static_cast<double>(i + 1) / n);
  }
  return out;
}

}  // namespace agentd::bench::replay
