#include "agents/registry.hpp"

#include "agents/calendar/calendar_agent.hpp"
#include "agents/chat/chat_agent.hpp"
#include "agents/coder/coder_agent.hpp"
#include "agents/config_reader.hpp"
#include "agents/digest/digest_agent.hpp"
#include "agents/drafter/drafter_agent.hpp"
#include "agents/evaluator/evaluator_agent.hpp"
#include "agents/extractor/extractor_agent.hpp"
#include "agents/mail/mail_agent.hpp"
#include "agents/market/market_agent.hpp"
#include "agents/news/news_agent.hpp"
#include "agents/prompt/prompt_agent.hpp"
#include "agents/risk/risk_agent.hpp"
#include "agents/summarizer/summarizer_agent.hpp"

namespace agentd::agents {

void Registry::add(const std::string& plugin, std::string description, Factory factory) {
  plugins_[plugin] = Plugin{std::move(description), std::move(factory)};
}

std::vector<std::string> Registry::names() const {
  std::vector<std::string> names;
  for (const auto& [name, plugin] : plugins_) names.push_back(name);
  return names;
}

const std::string& Registry::description(const std::string& plugin) const {
  return plugins_.at(plugin).description;
}

std::unique_ptr<Agent> Registry::create(const AgentConfig& config) const {
  auto it = plugins_.find(config.plugin);
  if (it == plugins_.end()) {
    std::string known;
    for (const auto& [name, plugin] : plugins_) known += (known.empty() ? "" : ", ") + name;
    std::string hint = nearest_key(config.plugin, names());
    throw ConfigError(config.file.string() + ": /plugin: unknown plugin '" + config.plugin + "'" +
                      (hint.empty() ? "" : " (did you mean '" + hint + "'?)") + "; known: " + known);
  }
  return it->second.factory(config);
}

namespace {

template <typename Plugin>
void add(Registry& registry, std::string name, std::string description) {
  registry.add(std::move(name), std::move(description),
               [](const AgentConfig& config) { return std::make_unique<Plugin>(config); });
}

}  // namespace

Registry builtin_plugins() {
  Registry registry;
  add<PromptAgent>(registry, "prompt", "a prompt template with placeholders, a trigger and outputs; no C++");
  add<MarketAgent>(
      registry, "market",
      "watch-list scan over price CSVs: returns, SMAs, breakouts, volume spikes; a note on what moved");
  add<RiskAgent>(registry, "risk",
                 "portfolio CSV: exposure, largest positions, drawdown, concentration flags; a risk memo");
  add<ExtractorAgent>(
      registry, "extractor",
      "structured JSON from documents under a JSON schema, validated, appended to a JSONL file");
  add<DrafterAgent>(registry, "drafter",
                    "long-form Markdown drafts written section by section; emits <agent>.done");
  add<EvaluatorAgent>(registry, "evaluator",
                      "checks a draft against a fact list: flagged claims and a score");
  add<CoderAgent>(registry, "coder", "writes a script or config file into its folder; never runs anything");
  add<ChatAgent>(registry, "chat",
                 "interactive assistant: history per session, recalls notes, saves a note when asked");
  add<MailAgent>(registry, "mail",
                 "Maildir/mbox triage: label, summarise, draft replies into a folder; never sends");
  add<SummarizerAgent>(registry, "summarizer",
                       "summaries of text and Markdown documents dropped into a folder");
  add<CalendarAgent>(registry, "calendar",
                     "an agenda brief from .ics files: recurrences, conflicts, back-to-back runs");
  add<NewsAgent>(registry, "news", "RSS and Atom feeds: new items de-duplicated across runs, summarised");
  add<DigestAgent>(registry, "digest", "a daily briefing from the other agents' results and notes, by agent");
  return registry;
}

}  // namespace agentd::agents
