// The risk agent's arithmetic, exact and in code:
//
//   price        the portfolio file's price, else the last close of the symbol's history;
//                a position with neither is unpriced (reported, left out of every figure)
//   value        quantity x price;  cost = quantity x cost_basis;  P&L = value - cost
//                (P&L % = P&L / cost, none when the cost is 0)
//   weight       value / total value of the priced positions
//   exposure     value and weight summed by asset class and by sector, largest first
//   flags        a position over `position` of the total, a sector over `sector`, the three
//                largest positions together over `top3` (each limit a fraction; strictly over)
//   history      portfolio value on each date common to every history of a priced position:
//                sum of quantity x close, positions without a history held at their price
//   drawdown     the largest fall from a running peak of that history to a later trough,
//                with both dates; 0 when it never falls; none with fewer than two dates
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agents/common/price_series.hpp"
#include "agents/risk/portfolio.hpp"

namespace agentd::agents {

struct RiskLimits {
  double position = 0.20;
  double sector = 0.40;
  double top3 = 0.60;
};

struct PricedPosition {
  Position position;
  double price = 0;
  bool price_from_history = false;
  double value = 0, cost = 0, pnl = 0;
  std::optional<double> pnl_fraction;
  double weight = 0;
};

struct Exposure {
  std::string name;
  double value = 0;
  double weight = 0;
};

struct ConcentrationFlag {
  enum class Kind { position, sector, top3 };
  Kind kind;
  std::string name;  // the symbol, the sector, or the three symbols joined by ", "
  double weight = 0;
  double limit = 0;
};

struct RiskSummary {
  std::vector<PricedPosition> positions;  // largest value first (ties: symbol)
  std::vector<std::string> unpriced;      // symbols with no price and no history
  double total_value = 0, total_cost = 0, total_pnl = 0;
  std::vector<Exposure> asset_classes, sectors;  // largest first (ties: name)
  double top3_weight = 0;
  std::vector<ConcentrationFlag> flags;  // positions, then sectors, then top 3
};

struct ValuePoint {
  std::chrono::sys_days day;
  double value = 0;
};

struct ValueHistory {
  std::vector<ValuePoint> points;
  std::vector<std::string> with_history;   // symbols whose closes move the value
  std::vector<std::string> held_constant;  // priced positions without a history
};

struct Drawdown {
  double fraction = 0;  // 0.12 = the value fell 12 % from the peak
  ValuePoint peak, trough;
};

// `histories` by symbol (may lack some, and may hold symbols not in the portfolio).
RiskSummary summarize(const std::vector<Position>& positions, const std::map<std::string, PriceSeries>& histories,
                      const RiskLimits& limits);
ValueHistory value_history(const std::vector<PricedPosition>& positions,
                           const std::map<std::string, PriceSeries>& histories);
std::optional<Drawdown> max_drawdown(const std::vector<ValuePoint>& points);

}  // namespace agentd::agents
