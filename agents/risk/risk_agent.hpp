// The `risk` plugin: a risk report on a portfolio CSV (agents/risk/portfolio: symbol, quantity,
// cost_basis, price, sector, asset_class), with daily price histories <SYMBOL>.csv looked up in
// the agent's read folders (the first folder holding a symbol's file wins; the shipped config
// reads the market agent's sample prices). Computed in code (agents/risk/risk_metrics): value,
// cost, P&L and weight of each position, exposure by asset class and by sector, the largest
// positions, the portfolio's value history over the dates common to the histories and its
// maximum drawdown with the peak and trough dates, and concentration flags. The model then writes
// a short risk memo from the key figures; the figures never come from it.
//
// Output: risk-YYYY-MM-DD.md (local date of the run) in the first write folder, with the key
// figures, tables, flags, the memo and data notes; the same text is the task's output, and a
// one-line summary is kept as a note. Malformed rows, a position without any price, a symbol
// without a history and unreadable history files are logged with the file and the reason; the
// report goes on with the rest and fails only when no position can be priced. Input not used.
//
//   "folders": { "read": ["../agents/risk/samples", "../agents/market/samples/prices"],
//                "write": ["../var/risk"] },
//   "settings": {
//     "portfolio": "portfolio.csv",   // relative to the first read folder
//     "position_limit_pct": 20,       // flag a position above this share of the value
//     "sector_limit_pct": 40,         // flag a sector above this share
//     "top3_limit_pct": 60,           // flag the three largest positions together above this
//     "largest": 5                    // rows in the largest-positions table
//   }
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "agents/agent.hpp"
#include "agents/agent_config.hpp"
#include "agents/common/price_series.hpp"
#include "agents/risk/portfolio.hpp"
#include "agents/risk/risk_metrics.hpp"

namespace agentd::agents {

class RiskAgent : public Agent {
 public:
  // Throws ConfigError naming the file and JSON path of a bad setting.
  explicit RiskAgent(const AgentConfig& config);
  std::string run(TaskContext& ctx) override;

 private:
  Portfolio load_portfolio(TaskContext& ctx) const;
  std::map<std::string, PriceSeries> load_histories(TaskContext& ctx, const std::vector<Position>& positions,
                                                    std::vector<std::string>& notes) const;
  std::map<std::string, std::filesystem::path> history_files(TaskContext& ctx) const;

  std::vector<std::filesystem::path> read_folders_;
  std::filesystem::path portfolio_ = "portfolio.csv";
  RiskLimits limits_;
  int largest_ = 5;
};

}  // namespace agentd::agents
