// Durations as a user types them in config files and on the command line: a whole number and a
// unit, or several in decreasing order: "250ms", "90s", "15m", "2h", "30d", "1w", "1h30m".
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace agentd::scheduler {

// Milliseconds; nullopt if `text` is not a duration (no sign, no fraction, no spaces).
std::optional<int64_t> parse_duration_ms(std::string_view text);

}  // namespace agentd::scheduler
