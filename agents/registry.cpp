#include "agents/registry.hpp"

#include "agents/chat/chat_agent.hpp"
#include "agents/config_reader.hpp"
#include "agents/mail/mail_agent.hpp"
#include "agents/prompt/prompt_agent.hpp"
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

Registry builtin_plugins() {
  Registry registry;
  registry.add("prompt", "a prompt template with placeholders, a trigger and outputs; no C++",
               [](const AgentConfig& config) { return std::make_unique<PromptAgent>(config); });
  registry.add("chat", "interactive assistant: history per session, recalls notes, saves a note when asked",
               [](const AgentConfig& config) { return std::make_unique<ChatAgent>(config); });
  registry.add("mail", "Maildir/mbox triage: label, summarise, draft replies into a folder; never sends",
               [](const AgentConfig& config) { return std::make_unique<MailAgent>(config); });
  registry.add("summarizer", "summaries of text and Markdown documents dropped into a folder",
               [](const AgentConfig& config) { return std::make_unique<SummarizerAgent>(config); });
  return registry;
}

}  // namespace agentd::agents
