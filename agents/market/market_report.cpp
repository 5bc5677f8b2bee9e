#include "agents/market/market_report.hpp"

#include <algorithm>

#include "agents/common/report_format.hpp"
#include "core/text.hpp"

namespace agentd::agents {

namespace {

std::string or_na(const std::optional<double>& v, std::string (*format)(double)) { return v ? format(*v) : "n/a"; }
std::string pct(double v) { return signed_percent(v, 1); }
std::string price(double v) { return fixed(v, 2); }
std::string window(int n) { return std::to_string(n) + "-session"; }

std::vector<std::string> short_signals(const SymbolScan& s) {
  std::vector<std::string> out;
  if (s.breakout) out.push_back("breakout");
  if (s.breakdown) out.push_back("breakdown");
  if (s.volume_spike) out.push_back("volume spike");
  if (!s.gaps.empty()) out.push_back(std::to_string(s.gaps.size()) + (s.gaps.size() == 1 ? " data gap" : " data gaps"));
  return out;
}

}  // namespace

std::string scan_table(const std::vector<SymbolScan>& scans) {
  std::string t = "| Symbol | Last session | Close | 1d | 5d | 20d | SMA 20 | SMA 50 | Signals |\n"
                  "|---|---|---:|---:|---:|---:|---:|---:|---|\n";
  for (const SymbolScan& s : scans) {
    std::string signals = core::joined(short_signals(s), ", ");
    t += "| " + markdown_cell(s.symbol) + " | " + iso_date(s.last_day) + " | " + price(s.close) + " | " +
         or_na(s.return_1, pct) + " | " + or_na(s.return_5, pct) + " | " + or_na(s.return_20, pct) + " | " +
         or_na(s.sma_20, price) + " | " + or_na(s.sma_50, price) + " | " + (signals.empty() ? "-" : signals) + " |\n";
  }
  return t;
}

std::vector<std::string> signal_lines(const SymbolScan& s, const ScanSettings& settings) {
  std::vector<std::string> out;
  const std::string n = window(settings.breakout_sessions);
  if (s.breakout) out.push_back(s.symbol + ": breakout, close " + price(s.close) + " above the " + n + " high " + price(*s.prior_high));
  if (s.breakdown) out.push_back(s.symbol + ": breakdown, close " + price(s.close) + " below the " + n + " low " + price(*s.prior_low));
  if (s.volume_spike) {
    out.push_back(s.symbol + ": volume spike, " + fixed(*s.volume_ratio, 1) + "x the " + window(settings.volume_sessions) +
                  " average (" + fixed(s.volume, 0) + " vs " + fixed(*s.volume_average, 0) + ")");
  }
  for (const DataGap& g : s.gaps) {
    out.push_back(s.symbol + ": data gap, " + std::to_string(g.missing_weekdays) + " weekdays missing between " +
                  iso_date(g.after) + " and " + iso_date(g.before));
  }
  if (!s.sma_50) out.push_back(s.symbol + ": only " + std::to_string(s.sessions) + " sessions, some indicators n/a");
  return out;
}

std::string summary_line(const std::string& date, const std::vector<SymbolScan>& scans) {
  std::vector<std::string> signals;
  const SymbolScan* best = nullptr;
  const SymbolScan* worst = nullptr;
  for (const SymbolScan& s : scans) {
    for (const auto& signal : short_signals(s)) {
      if (signal.find("gap") == std::string::npos) signals.push_back(s.symbol + " " + signal);
    }
    if (!s.return_5) continue;
    if (!best || *s.return_5 > *best->return_5) best = &s;
    if (!worst || *s.return_5 < *worst->return_5) worst = &s;
  }
  std::string line = "Market scan " + date + ": " + std::to_string(scans.size()) + (scans.size() == 1 ? " symbol" : " symbols") +
                     "; signals: " + (signals.empty() ? "none" : core::joined(signals, ", "));
  if (best) {
    line += "; best 5d " + best->symbol + " " + pct(*best->return_5) + ", worst 5d " + worst->symbol + " " + pct(*worst->return_5);
  }
  return line + ".";
}

}  // namespace agentd::agents
