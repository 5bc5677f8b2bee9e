// Parsing and printing the times a user types and reads: "2h", "30d", "2026-11-01",
// "2026-11-01T08:30". Times are milliseconds since the Unix epoch; dates are in local time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "scheduler/duration.hpp"

namespace agentd::runtime {

// "250ms", "90s", "15m", "2h", "30d", "1w", "1h30m" -> milliseconds (scheduler/duration.hpp).
using scheduler::parse_duration_ms;

// A point in time: a duration means that long before `now_ms`; otherwise a local date
// "YYYY-MM-DD" or date-time "YYYY-MM-DD[T ]HH:MM[:SS]" (date::parse; a date that does not
// exist, such as 2026-02-30, is refused). nullopt if neither.
std::optional<int64_t> parse_time_spec(std::string_view text, int64_t now_ms);

// "2026-11-21 20:40:12" in local time.
std::string format_local_time(int64_t ms);
// "850ms", "12.3s", "4m05s", "2h10m".
std::string format_duration(int64_t ms);

}  // namespace agentd::runtime
