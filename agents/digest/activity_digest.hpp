// The day's activity of the other agents, grouped by agent in code for the digest.
//
// - Every finished task and every note is attributed to its agent; the digest's own (agent
//   `self`, or any task of the digest plugin) are skipped, so a digest never digests digests.
// - Sections are sorted by agent name. In each, tasks newest first, then notes newest first,
//   at most `max_tasks` and `max_notes`; each item is a one-line excerpt of at most
//   `max_item_chars`, and items stop once the section's material reaches `max_section_chars`
//   (the rest counted as "N more not shown"). At most `max_sections` agents (the rest counted).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "agents/common/time_zone.hpp"
#include "agents/activity.hpp"

namespace agentd::agents {

struct DigestLimits {
  size_t max_tasks = 5;
  size_t max_notes = 5;
  size_t max_item_chars = 400;
  size_t max_section_chars = 1200;  // ~1000 prompt tokens on the tiny test model's tokenizer
  size_t max_sections = 30;
};

struct AgentSection {
  std::string agent;
  size_t tasks = 0, notes = 0;  // all of the period, before any cap
  std::vector<std::string> items;  // "Task 12 · 07:00 · every 6h: <excerpt>", "Note · 07:01: <excerpt>"
  size_t hidden = 0;               // items left out by the caps
};

struct DigestMaterial {
  std::vector<AgentSection> sections;
  size_t tasks = 0, notes = 0;  // over every section, skipped ones excluded
  size_t agents_left_out = 0;   // beyond max_sections
};

// `tasks` as TaskStore lists them (newest first), `notes` as MemoryStore::notes_since (oldest first).
DigestMaterial group_activity(const std::vector<FinishedTask>& tasks, const std::vector<Note>& notes,
                              const std::string& self, const DigestLimits& limits, const TimeZone& zone);

// The section's items as Markdown list lines.
std::string section_items_markdown(const AgentSection& section);

}  // namespace agentd::agents
