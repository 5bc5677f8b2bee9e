#include "agents/evaluator/evaluator_agent.hpp"

#include <stdexcept>

#include "agents/common/plain_text.hpp"
#include "agents/config_reader.hpp"
#include "agents/evaluator/claims.hpp"
#include "agents/evaluator/evaluation_report.hpp"
#include "agents/evaluator/number_check.hpp"
#include "agents/evaluator/verdict.hpp"
#include "agents/file_access.hpp"
#include "agents/task_context.hpp"

namespace agentd::agents {

namespace fs = std::filesystem;
using namespace evaluation;

namespace {

constexpr int kVerdictTokens = 128;

// The draft the task is about: the "file" of a drafter.done event, or the input as a path.
std::string draft_path(const TaskContext& ctx) {
  const std::string input = text::trim(ctx.input());
  if (input.empty()) {
    throw std::runtime_error("no draft to evaluate: the task input is empty (expected a drafter.done event or a path)");
  }
  nlohmann::json event = nlohmann::json::parse(input, nullptr, /*allow_exceptions=*/false);
  if (event.is_discarded()) return input;
  if (!event.is_object() || !event.contains("file") || !event["file"].is_string()) {
    throw std::runtime_error("the event names no draft: it has no \"file\" string");
  }
  return event["file"].get<std::string>();
}

std::string read_or_explain(TaskContext& ctx, const std::string& what, const std::string& path) {
  try {
    return ctx.read_file(path);
  } catch (const FileAccessError& e) {
    throw std::runtime_error("cannot read the " + what + ": " + e.what());
  }
}

std::vector<std::string> load_facts(TaskContext& ctx, const std::string& file) {
  FactList list = parse_facts(read_or_explain(ctx, "fact list", file), EvaluatorAgent::kMaxFacts,
                              EvaluatorAgent::kMaxFactBytes);
  size_t bytes = 0, kept = 0;
  while (kept < list.facts.size() && bytes + list.facts[kept].size() <= EvaluatorAgent::kMaxFactsBytes) {
    bytes += list.facts[kept++].size();
  }
  if (kept < list.facts.size()) {
    list.problems.push_back(std::to_string(list.facts.size() - kept) + " fact(s) past " +
                            std::to_string(EvaluatorAgent::kMaxFactsBytes) + " bytes in all left out");
    list.facts.resize(kept);
  }
  for (const auto& p : list.problems) ctx.log("fact left out", {{"file", file}, {"error", p}});
  if (list.facts.empty()) throw std::runtime_error("the fact list " + file + " has no facts");
  return list.facts;
}

// The facts (the same for every claim) and the question first, the claim last: the engine's
// prefix cache prefills everything before the claim once per fact list.
std::string verdict_prompt(const std::vector<std::string>& facts, const std::string& claim) {
  std::string prompt = "Facts:\n";
  for (size_t i = 0; i < facts.size(); ++i) {
    prompt.append("[").append(std::to_string(i)).append("] ").append(facts[i]).append("\n");
  }
  prompt += "\nDoes one of the facts support the claim below, contradict it, or is the claim absent from the facts? "
            "Answer with the verdict, the number of the fact in brackets (-1 if none) and a short reason.\n\n"
            "Claim: \"" + claim + "\"";
  return prompt;
}

// Model calls that failed (refused, engine error), as opposed to answers that were unusable.
struct FailedCalls {
  size_t count = 0;
  std::string first_error;
};

// The model's verdict on one claim; a failed call counts as an unusable answer (and is logged).
ClaimVerdict ask_verdict(TaskContext& ctx, const std::vector<std::string>& facts, const std::string& claim,
                         const std::string& schema, FailedCalls& failed) {
  GenerateOptions options;
  options.prompt = verdict_prompt(facts, claim);
  options.json_schema = schema;
  options.max_tokens = kVerdictTokens;
  try {
    return parse_verdict(ctx.generate(options).text, facts.size());
  } catch (const TaskCancelled&) {
    throw;
  } catch (const std::runtime_error& e) {
    ctx.log("verdict not available", {{"claim", claim}, {"error", e.what()}});
    if (failed.count++ == 0) failed.first_error = e.what();
    return {Verdict::absent, -1, std::string("no verdict: ") + e.what(), false};
  }
}

void remember_score(TaskContext& ctx, const std::string& draft, double score) {
  nlohmann::json recent = ctx.recall("recent").value_or(nlohmann::json::array());
  if (!recent.is_array()) recent = nlohmann::json::array();
  recent.push_back({{"task", ctx.task_id()}, {"draft", draft}, {"score", score}});
  while (recent.size() > static_cast<size_t>(EvaluatorAgent::kRecentScores)) recent.erase(recent.begin());
  ctx.remember("recent", recent);
}

}  // namespace

EvaluatorAgent::EvaluatorAgent(const AgentConfig& config) {
  ConfigReader s(config.file.string(), config.settings, "/settings", {"facts", "max_claims"});
  s.string("facts", facts_file_);
  if (text::trim(facts_file_).empty()) s.fail(s.at("facts"), "required: the fact list to check drafts against");
  if (auto why = FileAccess(config.read_folders, config.write_folders, 0).read_refusal(facts_file_)) s.fail(s.at("facts"), *why);
  s.integer("max_claims", max_claims_, 1, 200);
  if (config.write_folders.empty()) {
    throw ConfigError(config.file.string() + ": /folders/write: the evaluator needs a write folder for its reports");
  }
}

std::string EvaluatorAgent::run(TaskContext& ctx) {
  Evaluation e;
  e.draft = draft_path(ctx);
  const std::string draft = read_or_explain(ctx, "draft", e.draft);
  e.facts_file = facts_file_;
  e.facts = load_facts(ctx, facts_file_);
  ClaimList claims = split_claims(draft, static_cast<size_t>(max_claims_));
  if (claims.claims.empty()) throw std::runtime_error("the draft " + e.draft + " has no sentences to check");
  e.claims_found = claims.total;

  const std::string schema = verdict_schema(e.facts.size());
  const std::set<std::string> known = fact_numbers(e.facts);
  FailedCalls failed;
  for (const auto& claim : claims.claims) {
    ctx.check_cancelled();
    ClaimVerdict v = ask_verdict(ctx, e.facts, claim, schema, failed);
    e.results.push_back(judge(claim, std::move(v), unknown_numbers(claim, known)));
  }
  if (failed.count == e.results.size()) throw std::runtime_error("no claim could be checked: " + failed.first_error);

  const std::string stem = "evaluation-" + fs::path(e.draft).stem().string();
  const std::string report = markdown_report(e);
  ctx.write_file(stem + ".md", report);
  ctx.write_file(stem + ".json", json_report(e).dump(2) + "\n");
  const Score score = score_of(e.results);
  ctx.note(fs::path(e.draft).filename().string() + ": " + score_line(score));
  remember_score(ctx, e.draft, score.score);
  return report;
}

}  // namespace agentd::agents
