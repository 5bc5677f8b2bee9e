#include "agents/evaluator/evaluation_report.hpp"

#include <cstdio>

#include "core/text.hpp"

namespace agentd::agents::evaluation {

namespace {

std::string two_decimals(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", x);
  return buf;
}

std::string flagged_entry(size_t number, const ClaimResult& r, const std::vector<std::string>& facts) {
  std::string out = std::to_string(number) + ". **" + to_string(r.final_verdict) + "**: " + r.claim + "\n";
  if (r.model.fact >= 0 && static_cast<size_t>(r.model.fact) < facts.size()) {
    out += "   - fact " + std::to_string(r.model.fact) + ": " + facts[static_cast<size_t>(r.model.fact)] + "\n";
  }
  if (!r.unknown_numbers.empty()) out += "   - numbers in no fact: " + core::joined(r.unknown_numbers, ", ") + "\n";
  if (r.final_verdict != r.model.verdict) {
    out += "   - the model said " + std::string(to_string(r.model.verdict)) + "; a number overrides it\n";
  }
  if (!r.model.reason.empty()) out += std::string("   - ") + (r.model.from_model ? "model: " : "") + r.model.reason + "\n";
  return out;
}

}  // namespace

std::string score_line(const Score& s) {
  std::string line = "score " + two_decimals(s.score) + ": " + std::to_string(s.supported) + " of " +
                     std::to_string(s.claims) + " claims supported, " + std::to_string(s.contradicted) +
                     " contradicted, " + std::to_string(s.absent) + " absent";
  if (s.number_flags > 0) line += "; " + std::to_string(s.number_flags) + " with numbers in no fact";
  if (s.model_fallbacks > 0) line += "; " + std::to_string(s.model_fallbacks) + " unusable model answers";
  return line;
}

std::string markdown_report(const Evaluation& e) {
  Score s = score_of(e.results);
  std::string out = "# Evaluation of " + e.draft + "\n\n" + score_line(s) + "\n\n- facts: " + e.facts_file + " (" +
                    std::to_string(e.facts.size()) + ")\n- claims checked: " + std::to_string(e.results.size());
  if (e.claims_found > e.results.size()) {
    out += " (of " + std::to_string(e.claims_found) + "; the rest were not checked)";
  }
  out += "\n\n## Flagged claims\n\n";
  size_t flagged = 0;
  for (const auto& r : e.results) {
    if (r.flagged()) out += flagged_entry(++flagged, r, e.facts);
  }
  if (flagged == 0) out += "None: every claim is supported by a fact.\n";
  return out;
}

nlohmann::json json_report(const Evaluation& e) {
  Score s = score_of(e.results);
  nlohmann::json claims = nlohmann::json::array();
  for (const auto& r : e.results) {
    claims.push_back({{"claim", r.claim},
                      {"verdict", to_string(r.final_verdict)},
                      {"model_verdict", to_string(r.model.verdict)},
                      {"fact", r.model.fact},
                      {"reason", r.model.reason},
                      {"from_model", r.model.from_model},
                      {"unknown_numbers", r.unknown_numbers},
                      {"flagged", r.flagged()}});
  }
  return {{"draft", e.draft},
          {"facts_file", e.facts_file},
          {"facts", e.facts},
          {"score", s.score},
          {"counts",
           {{"claims", s.claims},
            {"claims_found", e.claims_found},
            {"supported", s.supported},
            {"contradicted", s.contradicted},
            {"absent", s.absent},
            {"number_flags", s.number_flags},
            {"model_fallbacks", s.model_fallbacks}}},
          {"claims", claims}};
}

}  // namespace agentd::agents::evaluation
