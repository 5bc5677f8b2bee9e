// The agenda computed in code from expanded occurrences: the window in the user's zone, the
// sorted list, conflicts and back-to-back runs, and the Markdown of those facts.
//
// - Window "day": from now to the end of tomorrow; "week": from now to the end of the seventh
//   day after today. Both end at a local midnight of the user's zone; events already under way
//   at `now` are included.
// - Conflicts: every pair of timed events that overlap (the later one starts before the earlier
//   one ends; touching is not overlapping; all-day and zero-length events never conflict).
// - Back-to-back runs: timed events of non-zero length chained so that each starts less than
//   `gap` after the latest end so far (overlaps included). A chain of at least `min_run` events
//   is a run (default 3: two meetings in a row are ordinary, three with no break are worth a
//   line).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "agents/calendar/ics_calendar.hpp"
#include "agents/common/time_zone.hpp"

namespace agentd::agents {

enum class AgendaSpan { day, week };

TimeWindow agenda_window(int64_t now_ms, const TimeZone& zone, AgendaSpan span);

struct Conflict {
  size_t first, second;  // indexes into Agenda::events, first < second
  int64_t overlap_start_ms, overlap_end_ms;
};

struct Agenda {
  std::vector<Occurrence> events;           // sorted by start (all-day first on a tie), end, title
  std::vector<Conflict> conflicts;          // by first, then second
  std::vector<std::vector<size_t>> runs;    // back-to-back runs: indexes into events, in order
};

Agenda build_agenda(std::vector<Occurrence> occurrences, int64_t gap_ms, int min_run);

// The facts as Markdown: a one-line count, the events by local day, conflicts, runs.
std::string agenda_markdown(const Agenda& agenda, const TimeWindow& window, const TimeZone& zone);
// The same facts for the model's prompt, within `max_chars`: the count, then conflicts and runs
// (what a brief is about), then the events, cut at a whole line with "(N more lines not shown
// here)". Small models have small context windows; the report keeps the full agenda.
std::string agenda_brief_facts(const Agenda& agenda, const TimeWindow& window, const TimeZone& zone, size_t max_chars);

}  // namespace agentd::agents
