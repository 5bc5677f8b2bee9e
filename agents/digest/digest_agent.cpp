#include "agents/digest/digest_agent.hpp"

#include "agents/common/text_excerpt.hpp"
#include "agents/config_reader.hpp"
#include "agents/task_context.hpp"

namespace agentd::agents {

namespace {

constexpr int kMaxTasksRead = 500;
constexpr size_t kMaxSummaryChars = 800;

std::string counts_text(size_t tasks, size_t notes) {
  return std::to_string(tasks) + (tasks == 1 ? " finished task" : " finished tasks") + " and " + std::to_string(notes) +
         (notes == 1 ? " note" : " notes");
}

std::string counts_left_out(size_t agents) {
  std::string text = std::to_string(agents);
  text += agents == 1 ? " more agent not shown.)\n" : " more agents not shown.)\n";
  return text;
}

}  // namespace

DigestAgent::DigestAgent(const AgentConfig& config) : zone_(TimeZone::system_local()) {
  ConfigReader s(config.file.string(), config.settings, "/settings",
                 {"lookback", "max_tasks_per_agent", "max_notes_per_agent", "max_chars_per_agent", "time_zone"});
  s.duration("lookback", lookback_);
  if (lookback_ < std::chrono::minutes(1) || lookback_ > std::chrono::hours(24 * 31)) {
    s.fail(s.at("lookback"), "must be between 1m and 31 days");
  }
  int tasks = int(limits_.max_tasks), notes = int(limits_.max_notes), chars = int(limits_.max_section_chars);
  s.integer("max_tasks_per_agent", tasks, 0, 100);
  s.integer("max_notes_per_agent", notes, 0, 100);
  s.integer("max_chars_per_agent", chars, 200, 50000);
  limits_.max_tasks = size_t(tasks);
  limits_.max_notes = size_t(notes);
  limits_.max_section_chars = size_t(chars);
  zone_ = read_time_zone(s, "time_zone");
  if (config.write_folders.empty()) {
    throw ConfigError(config.file.string() + ": /folders/write: the digest plugin needs a folder for its digests");
  }
}

std::string DigestAgent::summarise(TaskContext& ctx, const AgentSection& section,
                                   const std::string& items) const {
  // The instruction first, the same for every agent, then the agent's material: the engine's
  // prefix cache prefills the instruction once.
  GenerateOptions o;
  o.prompt = "In one or two sentences, tell the user what the agent below did today and what matters. Use only the "
             "text below.\n\nHere is what the agent '" + section.agent + "' did today (" +
             counts_text(section.tasks, section.notes) + "):\n" + items;
  std::string text = one_line_excerpt(ctx.generate(o).text, kMaxSummaryChars);
  return text.empty() ? counts_text(section.tasks, section.notes) + "." : text;
}

std::string DigestAgent::run(TaskContext& ctx) {
  int64_t now = ctx.now_ms();
  int64_t since = now - lookback_.count();
  TaskContext::Activity activity = ctx.activity_since(since, kMaxTasksRead);
  DigestMaterial m = group_activity(activity.tasks, activity.notes, ctx.agent(), limits_, zone_);
  ctx.log("activity read", {{"tasks", m.tasks}, {"notes", m.notes}, {"agents", m.sections.size() + m.agents_left_out}});

  std::string date = zone_.format(now, "%Y-%m-%d");
  std::string md = "# Digest " + date + "\n\nSince " + zone_.format(since, "%a %d %b %H:%M") + " (" + zone_.name() +
                   "): ";
  if (m.sections.empty()) {
    md += "no activity from other agents.\n";
  } else {
    size_t agents = m.sections.size() + m.agents_left_out;
    md += counts_text(m.tasks, m.notes) + " from " + std::to_string(agents) + (agents == 1 ? " agent.\n" : " agents.\n");
  }
  for (const AgentSection& section : m.sections) {
    ctx.check_cancelled();
    const std::string items = section_items_markdown(section);
    md += "\n## " + section.agent + "\n\n" + summarise(ctx, section, items) + "\n\n" + items;
  }
  if (m.agents_left_out) md += "\n(" + counts_left_out(m.agents_left_out);
  ctx.write_file("digest-" + date + ".md", md);
  return md;
}

}  // namespace agentd::agents
