#include "agents/digest/activity_digest.hpp"

#include <map>

#include "agents/common/text_excerpt.hpp"

namespace agentd::agents {

namespace {

struct Gathered {
  std::vector<const FinishedTask*> tasks;  // newest first
  std::vector<const Note*> notes;  // newest first
};

std::string task_item(const FinishedTask& t, const DigestLimits& limits, const TimeZone& zone) {
  std::string when = t.finished_at ? zone.format(*t.finished_at, "%a %H:%M") : "?";
  std::string output = t.output && !t.output->empty() ? one_line_excerpt(*t.output, limits.max_item_chars) : "(no output)";
  return "Task " + std::to_string(t.id) + " · " + when + " · " + one_line_excerpt(t.trigger, 60) + ": " + output;
}

std::string note_item(const Note& n, const DigestLimits& limits, const TimeZone& zone) {
  return "Note · " + zone.format(n.at, "%a %H:%M") + ": " + one_line_excerpt(n.text, limits.max_item_chars);
}

AgentSection make_section(const std::string& agent, const Gathered& g, const DigestLimits& limits, const TimeZone& zone) {
  AgentSection s;
  s.agent = agent;
  s.tasks = g.tasks.size();
  s.notes = g.notes.size();
  std::vector<std::string> candidates;
  for (size_t i = 0; i < g.tasks.size() && i < limits.max_tasks; ++i) candidates.push_back(task_item(*g.tasks[i], limits, zone));
  for (size_t i = 0; i < g.notes.size() && i < limits.max_notes; ++i) candidates.push_back(note_item(*g.notes[i], limits, zone));
  size_t used = 0;
  for (auto& item : candidates) {
    if (!s.items.empty() && used + item.size() > limits.max_section_chars) break;
    used += item.size();
    s.items.push_back(std::move(item));
  }
  s.hidden = s.tasks + s.notes - s.items.size();
  return s;
}

}  // namespace

DigestMaterial group_activity(const std::vector<FinishedTask>& tasks, const std::vector<Note>& notes,
                              const std::string& self, const DigestLimits& limits, const TimeZone& zone) {
  std::map<std::string, Gathered> by_agent;
  for (const FinishedTask& t : tasks) {
    if (t.agent == self || t.plugin == "digest") continue;
    by_agent[t.agent].tasks.push_back(&t);
  }
  for (auto it = notes.rbegin(); it != notes.rend(); ++it) {
    if (it->agent == self) continue;
    by_agent[it->agent].notes.push_back(&*it);
  }
  DigestMaterial m;
  for (const auto& [agent, gathered] : by_agent) {
    m.tasks += gathered.tasks.size();
    m.notes += gathered.notes.size();
    if (m.sections.size() == limits.max_sections) {
      ++m.agents_left_out;
      continue;
    }
    m.sections.push_back(make_section(agent, gathered, limits, zone));
  }
  return m;
}

std::string section_items_markdown(const AgentSection& section) {
  std::string md;
  for (const auto& item : section.items) md += "- " + item + "\n";
  if (section.hidden) md += "- (" + std::to_string(section.hidden) + " more not shown)\n";
  return md;
}

}  // namespace agentd::agents
