// A portfolio of long positions read from a CSV file whose header names the columns
// symbol, quantity, cost_basis, price, sector, asset_class (any order, any case):
//
//   symbol,quantity,cost_basis,price,sector,asset_class
//   ACME,120,82.50,104.20,Technology,equity
//   AGGB,300,98.10,,Fixed income,bond          <- price left empty: taken from its price history
//
// Validation, row by row: the symbol is a ticker (agents/common/price_series valid_symbol) not
// listed before; quantity > 0; cost_basis (per share) >= 0; price empty or > 0; sector and
// asset_class not empty. A row that fails is skipped and reported with its line and the reason;
// a file that is not CSV or lacks a column throws.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agents/common/csv.hpp"
#include "agents/common/price_series.hpp"

namespace agentd::agents {

struct Position {
  std::string symbol;
  double quantity = 0;
  double cost_basis = 0;        // per share
  std::optional<double> price;  // per share; none when the file leaves it empty
  std::string sector, asset_class;
  int line = 0;
};

struct Portfolio {
  std::vector<Position> positions;  // in file order
  std::vector<RowProblem> problems;
};

// Throws CsvError or PriceDataError (a column missing).
Portfolio read_portfolio(std::string_view csv_text,
                         const CsvLimits& limits = {.max_records = 5'000, .max_fields = 32, .max_field_bytes = 256});

}  // namespace agentd::agents
