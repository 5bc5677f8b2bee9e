// The market agent's report text, from the computed scans only: a Markdown table (one row per
// symbol), the signals in words, and a one-line summary for the agent's notes.
#pragma once

#include <string>
#include <vector>

#include "agents/market/indicators.hpp"

namespace agentd::agents {

// | Symbol | Last session | Close | 1d | 5d | 20d | SMA 20 | SMA 50 | Signals |
std::string scan_table(const std::vector<SymbolScan>& scans);
// "ACME: breakout, close 112.40 above the 20-session high 110.90", "BOLT: volume 3.1x the
// 20-session average", "DYNA: data gap, 4 weekdays missing between 2024-02-09 and 2024-02-16".
std::vector<std::string> signal_lines(const SymbolScan& scan, const ScanSettings& settings);
// "Market scan 2024-04-22: 5 symbols; signals: ACME breakout, BOLT volume spike; best 5d ACME
// +6.1%, worst 5d CRUX -4.0%."
std::string summary_line(const std::string& date, const std::vector<SymbolScan>& scans);

}  // namespace agentd::agents
