#include "agents/registry.hpp"

#include "agents/calendar/calendar_agent.hpp"
#include "agents/config_reader.hpp"
#include "agents/digest/digest_agent.hpp"
#include "agents/news/news_agent.hpp"
#include "agents/prompt/prompt_agent.hpp"

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

Registry builtin_plugins() {
  Registry registry;
  registry.add("prompt", "a prompt template with placeholders, a trigger and outputs; no C++",
               [](const AgentConfig& config) { return std::make_unique<PromptAgent>(config); });
  registry.add("calendar", "an agenda brief from .ics files: recurrences, conflicts, back-to-back runs",
               [](const AgentConfig& config) { return std::make_unique<CalendarAgent>(config); });
  registry.add("news", "RSS and Atom feeds: new items de-duplicated across runs, summarised",
               [](const AgentConfig& config) { return std::make_unique<NewsAgent>(config); });
  registry.add("digest", "a daily briefing from the other agents' results and notes, by agent",
               [](const AgentConfig& config) { return std::make_unique<DigestAgent>(config); });
  return registry;
}

}  // namespace agentd::agents
