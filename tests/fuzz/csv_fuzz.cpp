// A CSV file as the market and risk agents read one: parse_csv() with its default caps, a price
// history (read_price_series, the market agent) and a portfolio (read_portfolio, the risk agent).
// Documented failures: CsvError, PriceDataError (the file is skipped and logged).
#include <cstddef>
#include <cstdint>

#include "agents/common/csv.hpp"
#include "agents/common/price_series.hpp"
#include "agents/risk/portfolio.hpp"
#include "tests/fuzz/fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace agentd::agents;
  const std::string_view text = agentd::fuzz::as_text(data, size);
  try {
    (void)parse_csv(text);
  } catch (const CsvError&) {
  }
  try {
    (void)read_price_series("ACME", text);
  } catch (const CsvError&) {
  } catch (const PriceDataError&) {
  }
  try {
    (void)read_portfolio(text);
  } catch (const CsvError&) {
  } catch (const PriceDataError&) {
  }
  return 0;
}
