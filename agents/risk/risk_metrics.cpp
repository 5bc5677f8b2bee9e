#include "agents/risk/risk_metrics.hpp"

#include <algorithm>

namespace agentd::agents {

namespace {

std::optional<PricedPosition> priced(const Position& p, const std::map<std::string, PriceSeries>& histories) {
  PricedPosition out;
  out.position = p;
  if (p.price) {
    out.price = *p.price;
  } else if (auto h = histories.find(p.symbol); h != histories.end() && !h->second.bars.empty()) {
    out.price = h->second.bars.back().close;
    out.price_from_history = true;
  } else {
    return std::nullopt;
  }
  out.value = p.quantity * out.price;
  out.cost = p.quantity * p.cost_basis;
  out.pnl = out.value - out.cost;
  if (out.cost > 0) out.pnl_fraction = out.pnl / out.cost;
  return out;
}

std::vector<Exposure> exposure_by(const std::vector<PricedPosition>& positions, double total,
                                  const std::string Position::*field) {
  std::map<std::string, double> sums;
  for (const auto& p : positions) sums[p.position.*field] += p.value;
  std::vector<Exposure> out;
  for (const auto& [name, value] : sums) out.push_back({name, value, total > 0 ? value / total : 0});
  std::stable_sort(out.begin(), out.end(), [](const Exposure& a, const Exposure& b) { return a.value > b.value; });
  return out;
}

std::vector<ConcentrationFlag> flags_of(const RiskSummary& s, const RiskLimits& limits) {
  using Kind = ConcentrationFlag::Kind;
  std::vector<ConcentrationFlag> flags;
  for (const auto& p : s.positions) {
    if (p.weight > limits.position) flags.push_back({Kind::position, p.position.symbol, p.weight, limits.position});
  }
  for (const auto& e : s.sectors) {
    if (e.weight > limits.sector) flags.push_back({Kind::sector, e.name, e.weight, limits.sector});
  }
  if (s.top3_weight > limits.top3) {
    std::string names;
    for (size_t i = 0; i < s.positions.size() && i < 3; ++i) names += (i ? ", " : "") + s.positions[i].position.symbol;
    flags.push_back({Kind::top3, names, s.top3_weight, limits.top3});
  }
  return flags;
}

}  // namespace

RiskSummary summarize(const std::vector<Position>& positions, const std::map<std::string, PriceSeries>& histories,
                      const RiskLimits& limits) {
  RiskSummary s;
  for (const Position& p : positions) {
    if (auto priced_position = priced(p, histories)) {
      s.positions.push_back(std::move(*priced_position));
    } else {
      s.unpriced.push_back(p.symbol);
    }
  }
  for (const auto& p : s.positions) {
    s.total_value += p.value;
    s.total_cost += p.cost;
  }
  s.total_pnl = s.total_value - s.total_cost;
  for (auto& p : s.positions) p.weight = s.total_value > 0 ? p.value / s.total_value : 0;
  std::sort(s.positions.begin(), s.positions.end(), [](const PricedPosition& a, const PricedPosition& b) {
    return a.value != b.value ? a.value > b.value : a.position.symbol < b.position.symbol;
  });
  s.asset_classes = exposure_by(s.positions, s.total_value, &Position::asset_class);
  s.sectors = exposure_by(s.positions, s.total_value, &Position::sector);
  for (size_t i = 0; i < s.positions.size() && i < 3; ++i) s.top3_weight += s.positions[i].weight;
  s.flags = flags_of(s, limits);
  return s;
}

ValueHistory value_history(const std::vector<PricedPosition>& positions,
                           const std::map<std::string, PriceSeries>& histories) {
  ValueHistory h;
  std::vector<std::pair<const PricedPosition*, std::map<std::chrono::sys_days, double>>> moving;
  double constant = 0;
  for (const auto& p : positions) {
    auto it = histories.find(p.position.symbol);
    if (it == histories.end() || it->second.bars.empty()) {
      h.held_constant.push_back(p.position.symbol);
      constant += p.value;
      continue;
    }
    h.with_history.push_back(p.position.symbol);
    std::map<std::chrono::sys_days, double> closes;
    for (const auto& bar : it->second.bars) closes[bar.day] = bar.close;
    moving.emplace_back(&p, std::move(closes));
  }
  if (moving.empty()) return h;
  for (const auto& [day, close] : moving.front().second) {
    double value = constant;
    bool common = true;
    for (const auto& [p, closes] : moving) {
      auto c = closes.find(day);
      if (c == closes.end()) {
        common = false;
        break;
      }
      value += p->position.quantity * c->second;
    }
    if (common) h.points.push_back({day, value});
  }
  return h;
}

std::optional<Drawdown> max_drawdown(const std::vector<ValuePoint>& points) {
  if (points.size() < 2) return std::nullopt;
  Drawdown worst{0, points.front(), points.front()};
  ValuePoint peak = points.front();
  for (const auto& point : points) {
    if (point.value > peak.value) peak = point;
    const double fall = peak.value > 0 ? (peak.value - point.value) / peak.value : 0;
    if (fall > worst.fraction) worst = {fall, peak, point};
  }
  return worst;
}

}  // namespace agentd::agents
