#include "agents/evaluator/verdict.hpp"

#include <nlohmann/json.hpp>

#include "agents/common/plain_text.hpp"

namespace agentd::agents::evaluation {

namespace {

constexpr size_t kMaxReasonBytes = 200;

ClaimVerdict unusable(const std::string& why) { return {Verdict::absent, -1, why, false}; }

}  // namespace

const char* to_string(Verdict v) {
  switch (v) {
    case Verdict::supported: return "supported";
    case Verdict::contradicted: return "contradicted";
    case Verdict::absent: return "absent";
  }
  return "absent";
}

std::string verdict_schema(size_t fact_count) {
  nlohmann::json indices = nlohmann::json::array({-1});
  for (size_t i = 0; i < fact_count; ++i) indices.push_back(static_cast<int>(i));
  nlohmann::json schema = {
      {"type", "object"},
      {"properties",
       {{"verdict", {{"enum", {"supported", "contradicted", "absent"}}}},
        {"fact", {{"enum", indices}}},
        {"reason", {{"type", "string"}, {"maxLength", 120}}}}},
      {"required", {"verdict", "fact", "reason"}}};
  return schema.dump();
}

ClaimVerdict parse_verdict(std::string_view answer, size_t fact_count) {
  nlohmann::json j = nlohmann::json::parse(answer, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return unusable("the model's answer was not a JSON object");
  const auto verdict = j.find("verdict");
  if (verdict == j.end() || !verdict->is_string()) return unusable("the model's answer has no verdict");
  ClaimVerdict v;
  const std::string name = verdict->get<std::string>();
  if (name == "supported") v.verdict = Verdict::supported;
  else if (name == "contradicted") v.verdict = Verdict::contradicted;
  else if (name == "absent") v.verdict = Verdict::absent;
  else return unusable("unknown verdict '" + text::one_line(name, 40) + "'");
  if (auto reason = j.find("reason"); reason != j.end() && reason->is_string()) {
    v.reason = text::one_line(reason->get<std::string>(), kMaxReasonBytes);
  }
  const auto fact = j.find("fact");
  bool in_range = fact != j.end() && fact->is_number_integer() && fact->get<int64_t>() >= 0 &&
                  fact->get<int64_t>() < static_cast<int64_t>(fact_count);
  if (v.verdict == Verdict::absent) return v;
  if (!in_range) {
    std::string cited = fact == j.end() ? "none" : fact->dump();
    return {Verdict::absent, -1, "the model said " + name + " but cited no fact in range (" + cited + ")", false};
  }
  v.fact = static_cast<int>(fact->get<int64_t>());
  return v;
}

ClaimResult judge(std::string claim, ClaimVerdict model, std::vector<std::string> unknown_numbers) {
  ClaimResult r{std::move(claim), std::move(model), std::move(unknown_numbers), Verdict::absent};
  r.final_verdict = r.model.verdict;
  if (r.final_verdict == Verdict::supported && !r.unknown_numbers.empty()) r.final_verdict = Verdict::absent;
  return r;
}

Score score_of(const std::vector<ClaimResult>& results) {
  Score s;
  for (const auto& r : results) {
    ++s.claims;
    s.supported += r.final_verdict == Verdict::supported;
    s.contradicted += r.final_verdict == Verdict::contradicted;
    s.absent += r.final_verdict == Verdict::absent;
    s.number_flags += !r.unknown_numbers.empty();
    s.model_fallbacks += !r.model.from_model;
  }
  s.score = s.claims == 0 ? 0.0 : static_cast<double>(s.supported) / s.claims;
  return s;
}

}  // namespace agentd::agents::evaluation
