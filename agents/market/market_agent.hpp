// The `market` plugin: a watch-list scan over daily price CSVs, one file per symbol named
// <SYMBOL>.csv in the agent's first read folder, columns date,open,high,low,close,volume
// (agents/common/price_series). For each symbol, about its last session, computed in code
// (agents/market/indicators): returns over 1, 5 and 20 sessions, SMA 20 and 50, a breakout above
// the highest high (or a breakdown below the lowest low) of the N sessions before, a volume spike
// above k times the average of the 20 sessions before, and gaps in the data. The model then
// writes a short note on what moved, given the computed table; the numbers never come from it.
//
// Output: market-YYYY-MM-DD.md (local date of the run) in the first write folder, with the table,
// the signals, the model's note and the files that could not be used; the same text is the
// task's output, and a one-line summary is kept as a note. Malformed rows, unreadable files and
// data gaps are logged in the task's timeline with the file and the reason; the scan goes on
// with the rest and fails only when no file is usable. The task input is not used.
//
//   "folders": { "read": ["../agents/market/samples/prices"], "write": ["../var/market"] },
//   "settings": {
//     "symbols": ["ACME", "BOLT"],   // the watch list; default: every *.csv in the read folder
//     "breakout_sessions": 20,       // N, 2..250
//     "volume_factor": 2.0           // k, 1..100
//   }
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "agents/agent.hpp"
#include "agents/agent_config.hpp"
#include "agents/market/indicators.hpp"

namespace agentd::agents {

class MarketAgent : public Agent {
 public:
  // Throws ConfigError naming the file and JSON path of a bad setting.
  explicit MarketAgent(const AgentConfig& config);
  std::string run(TaskContext& ctx) override;

 private:
  struct PriceFile {
    std::string symbol;
    std::filesystem::path path;
  };
  std::vector<PriceFile> price_files(TaskContext& ctx, std::vector<std::string>& skipped) const;
  std::optional<SymbolScan> scan_file(TaskContext& ctx, const PriceFile& file, std::vector<std::string>& skipped) const;
  std::string model_note(TaskContext& ctx, const std::string& date, const std::string& table,
                         const std::vector<std::string>& signals) const;

  std::filesystem::path folder_;
  std::vector<std::string> symbols_;  // empty: every CSV in folder_
  ScanSettings scan_;
};

}  // namespace agentd::agents
