#include "agents/risk/risk_agent.hpp"

#include "agents/common/csv.hpp"
#include "agents/common/plain_text.hpp"
#include "agents/common/report_format.hpp"
#include "agents/config_reader.hpp"
#include "agents/file_access.hpp"
#include "agents/risk/risk_report.hpp"
#include "agents/task_context.hpp"

namespace agentd::agents {

namespace fs = std::filesystem;

namespace {

double read_limit(const ConfigReader& s, const char* key, double fraction) {
  double pct = fraction * 100;
  s.number(key, pct, 1.0, 100.0);
  return pct / 100;
}

}  // namespace

// The config loader (runtime/agent_config_file) lists each read folder once.
RiskAgent::RiskAgent(const AgentConfig& config) : read_folders_(config.read_folders) {
  ConfigReader s(config.file.string(), config.settings, "/settings",
                 {"portfolio", "position_limit_pct", "sector_limit_pct", "top3_limit_pct", "largest"});
  if (config.read_folders.empty()) s.fail("/folders/read", "the risk agent needs a read folder with the portfolio");
  if (config.write_folders.empty()) s.fail("/folders/write", "the risk agent needs a write folder for its report");
  std::string portfolio = portfolio_.string();
  s.string("portfolio", portfolio);
  if (portfolio.empty()) s.fail(s.at("portfolio"), "an empty file name");
  if (auto why = FileAccess(config.read_folders, config.write_folders, 0).read_refusal(portfolio)) {
    s.fail(s.at("portfolio"), *why);
  }
  portfolio_ = portfolio;
  limits_.position = read_limit(s, "position_limit_pct", limits_.position);
  limits_.sector = read_limit(s, "sector_limit_pct", limits_.sector);
  limits_.top3 = read_limit(s, "top3_limit_pct", limits_.top3);
  s.integer("largest", largest_, 1, 100);
}

Portfolio RiskAgent::load_portfolio(TaskContext& ctx) const {
  auto fail = [&](const std::string& why) {
    ctx.log("cannot use the portfolio", {{"file", portfolio_.string()}, {"error", why}});
    return std::runtime_error("risk: cannot use the portfolio " + portfolio_.string() + ": " + why);
  };
  Portfolio portfolio;
  try {
    portfolio = read_portfolio(ctx.read_file(portfolio_));
  } catch (const FileAccessError& e) {
    throw fail(e.what());
  } catch (const CsvError& e) {
    throw fail(e.what());
  } catch (const PriceDataError& e) {
    throw fail(e.what());
  }
  log_row_problems(ctx, portfolio_, portfolio.problems);
  if (portfolio.positions.empty()) {
    throw fail("no valid position (" + std::to_string(portfolio.problems.size()) + " malformed rows)");
  }
  return portfolio;
}

std::map<std::string, fs::path> RiskAgent::history_files(TaskContext& ctx) const {
  std::map<std::string, fs::path> files;
  for (const fs::path& folder : read_folders_) {
    std::vector<fs::path> found;
    try {
      found = ctx.list_files(folder, "*.csv");
    } catch (const FileAccessError& e) {
      ctx.log("cannot list price histories", {{"file", folder.string()}, {"error", e.what()}});
      continue;
    }
    for (const auto& path : found) {
      if (auto symbol = symbol_of_file(path)) files.emplace(*symbol, path);  // the first folder wins
    }
  }
  return files;
}

std::map<std::string, PriceSeries> RiskAgent::load_histories(TaskContext& ctx, const std::vector<Position>& positions,
                                                             std::vector<std::string>& notes) const {
  const auto files = history_files(ctx);
  std::map<std::string, PriceSeries> histories;
  for (const Position& p : positions) {
    ctx.check_cancelled();
    auto file = files.find(p.symbol);
    if (file == files.end()) {
      ctx.log("no price history", {{"symbol", p.symbol}, {"error", "no " + p.symbol + ".csv in the read folders"}});
      continue;
    }
    try {
      PriceSeries series = read_price_series(p.symbol, ctx.read_file(file->second));
      log_row_problems(ctx, file->second, series.problems);
      if (!series.problems.empty()) {
        notes.push_back(file->second.filename().string() + ": " + std::to_string(series.problems.size()) + " malformed rows skipped");
      }
      if (!series.bars.empty()) histories.emplace(p.symbol, std::move(series));
    } catch (const std::runtime_error& e) {  // FileAccessError, CsvError, PriceDataError
      ctx.log("cannot use price history", {{"file", file->second.string()}, {"error", e.what()}});
      notes.push_back(file->second.filename().string() + ": not used: " + e.what());
    }
  }
  return histories;
}

std::string RiskAgent::run(TaskContext& ctx) {
  const Portfolio portfolio = load_portfolio(ctx);
  std::vector<std::string> notes;
  for (const auto& problem : portfolio.problems) {
    notes.push_back(portfolio_.filename().string() + " line " + std::to_string(problem.line) + " skipped: " + problem.reason);
  }
  const auto histories = load_histories(ctx, portfolio.positions, notes);

  RiskFigures f;
  f.limits = limits_;
  f.summary = summarize(portfolio.positions, histories, limits_);
  for (const auto& symbol : f.summary.unpriced) {
    ctx.log("missing price", {{"symbol", symbol}, {"error", "no price in the portfolio and no price history"}});
    notes.push_back(symbol + ": no price in the portfolio and no price history; left out of every figure");
  }
  if (f.summary.positions.empty()) throw std::runtime_error("risk: no position has a price (see the task log)");
  f.history = value_history(f.summary.positions, histories);
  f.drawdown = max_drawdown(f.history.points);
  for (const auto& symbol : f.history.held_constant) {
    notes.push_back(symbol + ": no price history; held at its current price in the value history");
  }

  const std::string date = local_date(ctx.now_ms());
  const std::string figures = key_figures(f);
  // The instruction first, the same every run, then the dated figures: the engine's prefix cache
  // prefills the instruction once.
  GenerateOptions memo_request;
  memo_request.prompt = "Write a short risk memo (at most five sentences) on the portfolio figures below: the main "
                        "concentrations, the drawdown, and what to watch. Use only these figures.\n\n"
                        "Portfolio risk figures for " + date + ", computed from the positions file:\n\n" + figures;
  std::string memo = text::trim(ctx.generate(memo_request).text);
  if (memo.empty()) memo = "(the model wrote no memo)";

  const std::string summary = risk_summary_line(date, f);
  std::string report = "# Risk report " + date + "\n\n" + summary + "\n\n## Key figures\n\n" + figures + "\n" +
                       risk_tables(f, largest_) + "\n## Memo\n\n" + memo + "\n";
  if (!notes.empty()) {
    report += "\n## Data notes\n\n";
    for (const auto& n : notes) report += "- " + n + "\n";
  }
  ctx.write_file("risk-" + date + ".md", report);
  ctx.note(summary);
  return report;
}

}  // namespace agentd::agents
