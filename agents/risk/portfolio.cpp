#include "agents/risk/portfolio.hpp"

#include <array>
#include <map>

namespace agentd::agents {

namespace {

constexpr std::array<const char*, 6> kColumns = {"symbol", "quantity", "cost_basis", "price", "sector", "asset_class"};
enum Column : size_t { kSymbol, kQuantity, kCostBasis, kPrice, kSector, kAssetClass };

// Spaces and tabs only, not text::trim's every whitespace: a line break at the edge of a (quoted)
// field stays part of it, as before, so the same rows are accepted and rejected.
std::string trimmed(std::string_view s) {
  const auto begin = s.find_first_not_of(" \t");
  if (begin == std::string_view::npos) return "";
  return std::string(s.substr(begin, s.find_last_not_of(" \t") - begin + 1));
}

// The position in `fields`, or the reason it is not one.
std::optional<Position> position_of(const std::vector<std::string>& fields, const std::array<size_t, 6>& at,
                                    std::string& why) {
  Position p;
  p.symbol = trimmed(fields[at[kSymbol]]);
  if (!valid_symbol(p.symbol)) {
    why = "symbol '" + p.symbol + "' is not a ticker";
    return std::nullopt;
  }
  auto q = parse_number(fields[at[kQuantity]]);
  if (!q || *q <= 0) {
    why = "quantity '" + fields[at[kQuantity]] + "' is not a positive number";
    return std::nullopt;
  }
  p.quantity = *q;
  auto cost = parse_number(fields[at[kCostBasis]]);
  if (!cost || *cost < 0) {
    why = "cost_basis '" + fields[at[kCostBasis]] + "' is not a number >= 0";
    return std::nullopt;
  }
  p.cost_basis = *cost;
  if (!trimmed(fields[at[kPrice]]).empty()) {
    auto v = parse_number(fields[at[kPrice]]);
    if (!v || *v <= 0) {
      why = "price '" + fields[at[kPrice]] + "' is not a positive number (leave it empty to use the price history)";
      return std::nullopt;
    }
    p.price = *v;
  }
  p.sector = trimmed(fields[at[kSector]]);
  p.asset_class = trimmed(fields[at[kAssetClass]]);
  if (p.sector.empty() || p.asset_class.empty()) {
    why = p.sector.empty() ? "sector is empty" : "asset_class is empty";
    return std::nullopt;
  }
  return p;
}

}  // namespace

Portfolio read_portfolio(std::string_view csv_text, const CsvLimits& limits) {
  CsvTable table = parse_csv(csv_text, limits);
  const std::array<size_t, 6> at = required_columns(table, kColumns);
  Portfolio portfolio;
  std::map<std::string, int> first_line;
  for (const CsvRecord& record : table.records) {
    std::string why = table.width_problem(record);
    std::optional<Position> p;
    if (why.empty() && (p = position_of(record.fields, at, why)) && first_line.count(p->symbol)) {
      why = p->symbol + " is already listed on line " + std::to_string(first_line[p->symbol]);
      p.reset();
    }
    if (!p) {
      portfolio.problems.push_back({record.line, why});
      continue;
    }
    p->line = record.line;
    first_line[p->symbol] = record.line;
    portfolio.positions.push_back(std::move(*p));
  }
  return portfolio;
}

}  // namespace agentd::agents
