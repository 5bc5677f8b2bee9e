#include "agents/market/market_agent.hpp"

#include <set>

#include "agents/common/csv.hpp"
#include "agents/common/plain_text.hpp"
#include "agents/common/price_series.hpp"
#include "agents/common/report_format.hpp"
#include "agents/config_reader.hpp"
#include "agents/market/market_report.hpp"
#include "agents/task_context.hpp"

namespace agentd::agents {

namespace {

constexpr size_t kMaxSymbols = 500;

}  // namespace

MarketAgent::MarketAgent(const AgentConfig& config) {
  ConfigReader s(config.file.string(), config.settings, "/settings", {"symbols", "breakout_sessions", "volume_factor"});
  if (config.read_folders.empty()) s.fail("/folders/read", "the market agent needs a read folder with the price CSVs");
  if (config.write_folders.empty()) s.fail("/folders/write", "the market agent needs a write folder for its report");
  folder_ = config.read_folders.front();
  s.strings("symbols", symbols_);
  std::set<std::string> seen;
  for (size_t i = 0; i < symbols_.size(); ++i) {
    const std::string where = s.at("symbols") + "/" + std::to_string(i);
    if (!valid_symbol(symbols_[i])) s.fail(where, "'" + symbols_[i] + "' is not a symbol (1-15 of A-Z a-z 0-9 . - ^ _)");
    if (!seen.insert(symbols_[i]).second) s.fail(where, "'" + symbols_[i] + "' is listed twice");
  }
  if (s.has("symbols") && symbols_.empty()) s.fail(s.at("symbols"), "an empty watch list; leave it out to scan every CSV");
  if (symbols_.size() > kMaxSymbols) s.fail(s.at("symbols"), "more than " + std::to_string(kMaxSymbols) + " symbols");
  s.integer("breakout_sessions", scan_.breakout_sessions, 2, 250);
  s.number("volume_factor", scan_.volume_factor, 1.0, 100.0);
}

std::vector<MarketAgent::PriceFile> MarketAgent::price_files(TaskContext& ctx, std::vector<std::string>& skipped) const {
  std::vector<PriceFile> files;
  if (!symbols_.empty()) {
    for (const auto& symbol : symbols_) files.push_back({symbol, folder_ / (symbol + ".csv")});
    return files;
  }
  for (const auto& path : ctx.list_files(folder_, "*.csv")) {
    auto symbol = symbol_of_file(path);
    if (!symbol) {
      ctx.log("skipped file", {{"file", path.string()}, {"error", "the file name is not <SYMBOL>.csv"}});
      skipped.push_back(path.filename().string() + ": the file name is not <SYMBOL>.csv");
      continue;
    }
    if (files.size() == kMaxSymbols) {
      ctx.log("too many price files", {{"folder", folder_.string()}, {"error", "only the first 500 are scanned"}});
      break;
    }
    files.push_back({*symbol, path});
  }
  return files;
}

std::optional<SymbolScan> MarketAgent::scan_file(TaskContext& ctx, const PriceFile& file,
                                                 std::vector<std::string>& skipped) const {
  const std::string name = file.path.filename().string();
  auto fail = [&](const std::string& why) -> std::optional<SymbolScan> {
    ctx.log("skipped file", {{"file", file.path.string()}, {"error", why}});
    skipped.push_back(name + ": " + why);
    return std::nullopt;
  };
  PriceSeries series;
  try {
    series = read_price_series(file.symbol, ctx.read_file(file.path));
  } catch (const FileAccessError& e) {
    return fail(e.what());
  } catch (const CsvError& e) {
    return fail(e.what());
  } catch (const PriceDataError& e) {
    return fail(e.what());
  }
  log_row_problems(ctx, file.path, series.problems);
  if (series.bars.empty()) return fail("no usable rows (" + std::to_string(series.problems.size()) + " malformed)");
  SymbolScan scan = scan_symbol(series, scan_);
  for (const DataGap& g : scan.gaps) {
    ctx.log("data gap", {{"file", file.path.string()}, {"after", iso_date(g.after)}, {"before", iso_date(g.before)},
                         {"missing_weekdays", g.missing_weekdays}});
  }
  return scan;
}

std::string MarketAgent::model_note(TaskContext& ctx, const std::string& date, const std::string& table,
                                    const std::vector<std::string>& signals) const {
  // The instruction first, the same every run, then the dated scan: the engine's prefix cache
  // prefills the instruction once.
  std::string prompt = "Write a short note (at most four sentences) on what moved and what stands out in the watch-list "
                       "scan below. Use only its numbers.\n\nWatch-list scan of " + date +
                       ", computed from the price files:\n\n" + table + "\nSignals:\n";
  for (const auto& s : signals) prompt += "- " + s + "\n";
  if (signals.empty()) prompt += "- none\n";
  GenerateOptions options;
  options.prompt = prompt;
  std::string note = text::trim(ctx.generate(options).text);
  return note.empty() ? "(the model wrote no note)" : note;
}

std::string MarketAgent::run(TaskContext& ctx) {
  std::vector<std::string> skipped;
  std::vector<SymbolScan> scans;
  for (const PriceFile& file : price_files(ctx, skipped)) {
    ctx.check_cancelled();
    if (auto scan = scan_file(ctx, file, skipped)) scans.push_back(std::move(*scan));
  }
  if (scans.empty()) {
    throw std::runtime_error("market: no usable price file in " + folder_.string() + " (" + std::to_string(skipped.size()) +
                             " skipped; see the task log)");
  }
  const std::string date = local_date(ctx.now_ms());
  const std::string table = scan_table(scans);
  std::vector<std::string> signals;
  for (const SymbolScan& s : scans) {
    for (auto& line : signal_lines(s, scan_)) signals.push_back(std::move(line));
  }
  const std::string summary = summary_line(date, scans);

  std::string report = "# Market scan " + date + "\n\n" + summary + "\n\n" + table + "\n## Signals\n\n";
  for (const auto& s : signals) report += "- " + s + "\n";
  if (signals.empty()) report += "- none\n";
  report += "\n## Note\n\n" + model_note(ctx, date, table, signals) + "\n";
  if (!skipped.empty()) {
    report += "\n## Not scanned\n\n";
    for (const auto& s : skipped) report += "- " + s + "\n";
  }
  ctx.write_file("market-" + date + ".md", report);
  ctx.note(summary);
  return report;
}

}  // namespace agentd::agents
