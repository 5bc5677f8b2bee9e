#include "agents/risk/risk_report.hpp"

#include <cmath>

#include "agents/common/report_format.hpp"

namespace agentd::agents {

namespace {

std::string signed_money(double v) {
  std::string text = money(v);
  return text.starts_with("-") || text == "0.00" ? text : "+" + text;
}

std::string quantity_text(double q) { return q == std::floor(q) ? fixed(q, 0) : fixed(q, 4); }

std::string exposure_list(const std::vector<Exposure>& exposures) {
  std::string out;
  for (const auto& e : exposures) out += (out.empty() ? "" : ", ") + e.name + " " + percent(e.weight);
  return out.empty() ? "none" : out;
}

std::string exposure_table(const char* title, const std::vector<Exposure>& exposures) {
  std::string t = std::string("| ") + title + " | Value | Weight |\n|---|---:|---:|\n";
  for (const auto& e : exposures) t += "| " + markdown_cell(e.name) + " | " + money(e.value) + " | " + percent(e.weight) + " |\n";
  return t;
}

std::string drawdown_text(const RiskFigures& f) {
  if (!f.drawdown) {
    return "n/a (" + std::to_string(f.history.points.size()) + " common dates in the price histories; two are needed)";
  }
  const Drawdown& d = *f.drawdown;
  std::string over = " over " + std::to_string(f.history.points.size()) + " common dates " +
                     iso_date(f.history.points.front().day) + " to " + iso_date(f.history.points.back().day);
  if (d.fraction == 0) return "none, the value never fell below a previous peak" + over;
  return percent(d.fraction) + ", from " + money(d.peak.value) + " on " + iso_date(d.peak.day) + " to " +
         money(d.trough.value) + " on " + iso_date(d.trough.day) + over;
}

}  // namespace

std::string flag_text(const ConcentrationFlag& flag) {
  const std::string tail = percent(flag.weight) + " of the portfolio (limit " + percent(flag.limit) + ")";
  switch (flag.kind) {
    case ConcentrationFlag::Kind::position: return flag.name + " is " + tail;
    case ConcentrationFlag::Kind::sector: return "sector " + flag.name + " is " + tail;
    case ConcentrationFlag::Kind::top3: return "the three largest (" + flag.name + ") are " + tail;
  }
  return "";
}

std::string key_figures(const RiskFigures& f) {
  const RiskSummary& s = f.summary;
  std::string pnl = signed_money(s.total_pnl) + (s.total_cost > 0 ? " (" + signed_percent(s.total_pnl / s.total_cost) + ")" : "");
  std::string out = "- Total value " + money(s.total_value) + ", cost " + money(s.total_cost) + ", P&L " + pnl + ", " +
                    std::to_string(s.positions.size()) + (s.positions.size() == 1 ? " position\n" : " positions\n");
  std::string largest;
  for (size_t i = 0; i < s.positions.size() && i < 3; ++i) {
    largest += (i ? ", " : "") + s.positions[i].position.symbol + " " + percent(s.positions[i].weight);
  }
  out += "- Largest: " + (largest.empty() ? "none" : largest) + " (top 3 together " + percent(s.top3_weight) + ")\n";
  out += "- Asset classes: " + exposure_list(s.asset_classes) + "\n";
  out += "- Sectors: " + exposure_list(s.sectors) + "\n";
  out += "- Max drawdown: " + drawdown_text(f) + "\n";
  std::string flags;
  for (const auto& flag : s.flags) flags += (flags.empty() ? "" : "; ") + flag_text(flag);
  out += "- Concentration flags: " + (flags.empty() ? "none" : flags) + "\n";
  return out;
}

std::string risk_tables(const RiskFigures& f, int largest) {
  const RiskSummary& s = f.summary;
  std::string t = "| Symbol | Quantity | Price | Value | Weight | Cost | P&L | P&L % | Sector | Asset class |\n"
                  "|---|---:|---:|---:|---:|---:|---:|---:|---|---|\n";
  for (size_t i = 0; i < s.positions.size() && i < static_cast<size_t>(largest); ++i) {
    const PricedPosition& p = s.positions[i];
    t += "| " + markdown_cell(p.position.symbol) + " | " + quantity_text(p.position.quantity) + " | " + fixed(p.price, 2) +
         (p.price_from_history ? "*" : "") + " | " + money(p.value) + " | " + percent(p.weight) + " | " + money(p.cost) +
         " | " + signed_money(p.pnl) + " | " + (p.pnl_fraction ? signed_percent(*p.pnl_fraction) : "n/a") + " | " +
         markdown_cell(p.position.sector) + " | " + markdown_cell(p.position.asset_class) + " |\n";
  }
  if (s.positions.size() > static_cast<size_t>(largest)) {
    t += "\n" + std::to_string(s.positions.size() - largest) + " smaller positions not shown.\n";
  }
  bool any_from_history = false;
  for (const auto& p : s.positions) any_from_history |= p.price_from_history;
  if (any_from_history) t += "\n\\* price taken from the last close of the price history.\n";
  return "## Largest positions\n\n" + t + "\n## Exposure by asset class\n\n" + exposure_table("Asset class", s.asset_classes) +
         "\n## Exposure by sector\n\n" + exposure_table("Sector", s.sectors);
}

std::string risk_summary_line(const std::string& date, const RiskFigures& f) {
  const RiskSummary& s = f.summary;
  std::string line = "Risk " + date + ": value " + money(s.total_value) + ", P&L " + signed_money(s.total_pnl);
  if (s.total_cost > 0) line += " (" + signed_percent(s.total_pnl / s.total_cost) + ")";
  line += "; max drawdown " + (f.drawdown ? percent(f.drawdown->fraction) : std::string("n/a"));
  line += "; " + std::to_string(s.flags.size()) + (s.flags.size() == 1 ? " flag" : " flags");
  std::string names;
  for (const auto& flag : s.flags) {
    std::string name = flag.kind == ConcentrationFlag::Kind::sector ? "sector " + flag.name
                       : flag.kind == ConcentrationFlag::Kind::top3 ? std::string("top 3")
                                                                     : flag.name;
    names += (names.empty() ? "" : ", ") + name + " " + percent(flag.weight);
  }
  return line + (names.empty() ? "" : ": " + names) + ".";
}

}  // namespace agentd::agents
