#include "scheduler/duration.hpp"

#include <array>
#include <cctype>
#include <charconv>

namespace agentd::scheduler {

namespace {

struct Unit {
  std::string_view name;
  int64_t ms;
};
// Longest names first so "ms" is not read as "m" followed by "s".
constexpr std::array<Unit, 6> kUnits{{{"ms", 1}, {"w", 604'800'000}, {"d", 86'400'000}, {"h", 3'600'000},
                                      {"m", 60'000}, {"s", 1000}}};

}  // namespace

std::optional<int64_t> parse_duration_ms(std::string_view text) {
  if (text.empty()) return std::nullopt;
  int64_t total = 0;
  int64_t previous_unit = INT64_MAX;
  const char* p = text.data();
  const char* end = p + text.size();
  while (p < end) {
    int64_t n = 0;
    auto [after_number, ec] = std::from_chars(p, end, n);
    if (ec != std::errc() || after_number == p || n < 0 || *p == '-' || *p == '+') return std::nullopt;
    p = after_number;
    const Unit* unit = nullptr;
    for (const Unit& u : kUnits) {
      if (std::string_view(p, static_cast<size_t>(end - p)).starts_with(u.name)) {
        unit = &u;
        break;
      }
    }
    if (!unit || unit->ms >= previous_unit) return std::nullopt;  // "5m2h" or "5m5m" is a typo
    if (n > INT64_MAX / unit->ms - total) return std::nullopt;
    total += n * unit->ms;
    previous_unit = unit->ms;
    p += unit->name.size();
  }
  return total;
}

}  // namespace agentd::scheduler
