// The `evaluator` plugin: checks a draft against a fact list and flags what the facts do not back.
// It runs on "drafter.done" (the task input is then the event's JSON; its "file" names the draft)
// or by hand with a draft's path as the input.
//
// In code: the draft is split into claims (its sentences, headings skipped; at most
// "max_claims"), the fact file into facts (one per line or Markdown bullet), and every number or
// date of a claim that appears in no fact is flagged. For each claim the model answers under a
// JSON schema {"verdict": "supported"|"contradicted"|"absent", "fact": index or -1, "reason"},
// validated in code (an unusable answer counts as absent; a supported claim with a number no fact
// has counts as absent). Score = supported / claims, in code.
//
// Writes evaluation-<draft stem>.md (score, flagged claims with verdicts) and
// evaluation-<draft stem>.json (every claim) into the first write folder, notes the score line,
// keeps the last 20 scores in memory ("recent"), and returns the Markdown report.
//
//   "triggers": [ { "on": "drafter.done" } ],
//   "folders": { "read": ["../agents/evaluator/samples", "../var/drafter"], "write": ["../var/evaluator"] },
//   "settings": {
//     "facts": "facts.md",   // required; relative paths start at the first read folder
//     "max_claims": 30       // 1..200; claims past it are counted but not checked
//   }
//
// Limits: at most 100 facts of at most 300 bytes (6000 bytes in all); longer lines and facts past
// the limits are left out and logged. Each claim is at most 400 bytes.
#pragma once

#include <string>

#include "agents/agent.hpp"
#include "agents/agent_config.hpp"

namespace agentd::agents {

class EvaluatorAgent : public Agent {
 public:
  static constexpr size_t kMaxFacts = 100;
  static constexpr size_t kMaxFactBytes = 300;
  static constexpr size_t kMaxFactsBytes = 6000;
  static constexpr int kRecentScores = 20;

  // Throws ConfigError naming the file and JSON path of a bad setting.
  explicit EvaluatorAgent(const AgentConfig& config);
  std::string run(TaskContext& ctx) override;

 private:
  std::string facts_file_;
  int max_claims_ = 30;
};

}  // namespace agentd::agents
