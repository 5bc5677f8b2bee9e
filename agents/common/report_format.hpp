// Small text helpers for the Markdown reports of the market and risk agents: numbers with a
// fixed number of decimals, signed percentages, thousands separators, table cells, local dates.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace agentd::agents {

// 3.14159, 2 -> "3.14"; -0.004, 2 -> "0.00" (no negative zero).
std::string fixed(double value, int decimals);
// 1234567.891 -> "1,234,567.89" (two decimals).
std::string money(double value);
// 0.0123 -> "1.2%"; with sign: "+1.2%", "-0.5%", "0.0%".
std::string percent(double fraction, int decimals = 1);
std::string signed_percent(double fraction, int decimals = 1);
// Text safe inside a Markdown table cell: '|' escaped, line breaks as spaces.
std::string markdown_cell(std::string_view text);
// The local calendar date of `ms` since the epoch, "YYYY-MM-DD".
std::string local_date(int64_t ms);

}  // namespace agentd::agents
