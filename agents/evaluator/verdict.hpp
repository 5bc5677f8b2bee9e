// The model's half of fact checking: one verdict per claim, asked for under a JSON schema and
// validated in code. The schema lets the fact index be only -1 or an index of the list, but the
// answer is checked again here (a remote backend may not enforce the schema, and a cut-off answer
// is not JSON): anything unusable becomes "absent", marked as not from the model.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace agentd::agents::evaluation {

enum class Verdict { supported, contradicted, absent };
const char* to_string(Verdict v);

struct ClaimVerdict {
  Verdict verdict = Verdict::absent;
  int fact = -1;          // index into the fact list; -1 when absent
  std::string reason;     // one line, at most 200 bytes
  bool from_model = true; // false: the answer was unusable and this is the fallback
};

// {"verdict": "supported"|"contradicted"|"absent", "fact": -1|0..count-1, "reason": string}.
std::string verdict_schema(size_t fact_count);

// The answer checked: JSON object, known verdict, a fact index in range for supported and
// contradicted (otherwise the claim is absent: a verdict that cites no fact supports nothing).
ClaimVerdict parse_verdict(std::string_view answer, size_t fact_count);

// One claim's outcome: the model's verdict, the numbers code found in no fact, and the verdict
// that counts. Code overrides the model one way only: "supported" with a number that no fact
// has is counted "absent".
struct ClaimResult {
  std::string claim;
  ClaimVerdict model;
  std::vector<std::string> unknown_numbers;
  Verdict final_verdict = Verdict::absent;
  bool flagged() const { return final_verdict != Verdict::supported || !unknown_numbers.empty(); }
};

ClaimResult judge(std::string claim, ClaimVerdict model, std::vector<std::string> unknown_numbers);

struct Score {
  int claims = 0, supported = 0, contradicted = 0, absent = 0;
  int number_flags = 0;    // claims with a number no fact has
  int model_fallbacks = 0; // claims whose model answer was unusable
  double score = 0;        // supported / claims (0 when there are none)
};

Score score_of(const std::vector<ClaimResult>& results);

}  // namespace agentd::agents::evaluation
