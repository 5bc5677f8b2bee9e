// The risk agent's report text, from the computed figures only: the key figures as bullet lines
// (also the model's brief for its memo), the largest positions and the exposures as Markdown
// tables, the concentration flags in words, and a one-line summary for the agent's notes.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "agents/risk/risk_metrics.hpp"

namespace agentd::agents {

struct RiskFigures {
  RiskSummary summary;
  ValueHistory history;
  std::optional<Drawdown> drawdown;
  RiskLimits limits;
};

// "ACME is 25.1% of the portfolio (limit 20.0%)", "sector Technology is 45.0% ...",
// "the three largest (ACME, BOLT, CRUX) are 61.2% ... (limit 60.0%)".
std::string flag_text(const ConcentrationFlag& flag);
// "- Total value ...\n- Largest: ...\n- Asset classes: ...\n- Sectors: ...\n- Max drawdown: ...\n- Flags: ...\n"
std::string key_figures(const RiskFigures& f);
// The tables: the `largest` positions, exposure by asset class, exposure by sector.
std::string risk_tables(const RiskFigures& f, int largest);
// "Risk 2024-04-22: value 123,456.78, P&L +1,234.00 (+1.0%); max drawdown 8.2%; 2 flags: ACME 25.1%, sector Technology 45.0%."
std::string risk_summary_line(const std::string& date, const RiskFigures& f);

}  // namespace agentd::agents
