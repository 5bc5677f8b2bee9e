// The `calendar` plugin: an agenda brief from the .ics files of its read folders.
//
// Each task reads every file matching "glob" in the read folders with libical, expands the
// recurring events into the window (ics_calendar), and computes in code the sorted agenda, the
// conflicts and the back-to-back runs (agenda). The model writes a short brief on top of those
// facts; the facts are in the output whatever it writes. The result is written as
// agenda-YYYY-MM-DD.md (the user's local date) in the first write folder and returned.
//
// An occurrence with the same UID and start in two files (an invitation in two calendars) is
// listed once. A file that is not iCalendar, or is larger than limits.max_input_bytes, is logged in the
// timeline with the reason and skipped, as is an event that cannot be used (no DTSTART, an
// unknown TZID is read in the user's zone). The task fails only when no file could be read.
//
//   "settings": {
//     "window": "day",              // day: now to the end of tomorrow; week: the coming 7 days
//     "time_zone": "Europe/Paris",  // IANA name; default the system's local zone
//     "glob": "*.ics",
//     "back_to_back_gap": "10m",    // events less than this apart are back to back...
//     "back_to_back_min": 3,        // ...and this many in a row make a run worth reporting
//     "brief_facts_chars": 1500     // the facts given to the model (conflicts and runs first);
//   }                               // the report always has them all
// The task input, if "day" or "week", overrides "window" (agentd submit calendar --input week).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "agents/agent.hpp"
#include "agents/agent_config.hpp"
#include "agents/calendar/agenda.hpp"
#include "agents/common/time_zone.hpp"

namespace agentd::agents {

class CalendarAgent : public Agent {
 public:
  // Throws ConfigError naming the file and JSON path of a bad setting.
  explicit CalendarAgent(const AgentConfig& config);
  std::string run(TaskContext& ctx) override;

 private:
  AgendaSpan span_for(TaskContext& ctx) const;
  std::vector<Occurrence> read_calendars(TaskContext& ctx, const TimeWindow& window) const;
  std::string brief(TaskContext& ctx, AgendaSpan span, const std::string& facts) const;

  AgendaSpan span_ = AgendaSpan::day;
  TimeZone zone_;
  std::string glob_ = "*.ics";
  int64_t gap_ms_ = 10 * 60'000;
  int min_run_ = 3;
  int brief_facts_chars_ = 1500;
};

}  // namespace agentd::agents
