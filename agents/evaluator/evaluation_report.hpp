// An evaluation written out: a Markdown report for people (score, counts, every flagged claim with
// its verdict, the fact it cites and the numbers no fact has) and a JSON document with every claim,
// for tools. Pure functions.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agents/evaluator/verdict.hpp"

namespace agentd::agents::evaluation {

struct Evaluation {
  std::string draft;                 // the draft's path
  std::string facts_file;            // the fact list's path
  std::vector<std::string> facts;
  std::vector<ClaimResult> results;  // in draft order
  size_t claims_found = 0;           // including claims beyond the limit, not checked
};

// "score 0.60: 3 of 5 claims supported, 1 contradicted, 1 absent; 2 with numbers in no fact"
std::string score_line(const Score& s);

std::string markdown_report(const Evaluation& e);
nlohmann::json json_report(const Evaluation& e);

}  // namespace agentd::agents::evaluation
