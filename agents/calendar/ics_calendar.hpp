// ICS files read with libical: every VEVENT occurring in a time window, recurrences expanded.
//
// - DTSTART is required; the end is DTEND, else DTSTART + DURATION, else DTSTART (a timed event
//   with no length) or one day (an all-day event). DURATION's days and weeks are nominal (the
//   same wall time n days later, across DST), its hours/minutes/seconds exact (RFC 5545).
// - Time zones: a DATE-TIME ending in Z is UTC; one with a TZID uses the file's VTIMEZONE of
//   that name if there is one, else the system tz database (IANA names); an unknown TZID and a
//   floating time (no TZID, no Z) are read in the user's zone, the first with a problem noted.
// - All-day events (DATE values) are dates, not instants: they occupy whole days of the user's
//   zone, whatever zone they were written in.
// - Recurrence: every RRULE (libical's iterator, in the event's own zone, so a weekly 09:00
//   stays 09:00 local across DST; an UNTIL in UTC is compared as an instant), plus RDATEs, less
//   EXDATEs (a DATE EXDATE removes that whole local day). At most kMaxRecurrenceSteps starts are
//   walked per file, over all its rules; a denser or older rule is cut there, with a problem
//   noted once.
// - Overrides: a VEVENT with a RECURRENCE-ID replaces the occurrence of the same UID (in the same
//   file) starting at that instant (or on that date); STATUS:CANCELLED removes it. A master with
//   STATUS:CANCELLED is dropped whole.
// - Untrusted input: a file that is not a VCALENDAR throws IcsError; an event that cannot be
//   used (no DTSTART, a value libical rejected) is skipped and named in `problems`. At most
//   kMaxEventsPerFile VEVENTs are read per file and kMaxOccurrences occurrences kept.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "agents/common/time_zone.hpp"

namespace agentd::agents {

class IcsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// [start_ms, end_ms) as instants, and the same as days of the user's zone [first_day, end_day)
// for all-day events.
struct TimeWindow {
  int64_t start_ms = 0, end_ms = 0;
  int64_t first_day = 0, end_day = 0;
};

struct Occurrence {
  std::string uid, summary, location;
  bool all_day = false;
  int64_t start_ms = 0, end_ms = 0;  // instants (all-day: the user's local midnights)
  int64_t first_day = 0, end_day = 0;  // all-day only: days since the epoch, end exclusive
};

struct IcsExpansion {
  std::vector<Occurrence> occurrences;  // in file order, not sorted
  std::vector<std::string> problems;    // "event 'Standup' (uid abc): no DTSTART; skipped"
  int events = 0;                       // VEVENTs read
};

inline constexpr int kMaxRecurrenceSteps = 100000;  // per file, over all its rules
inline constexpr int kMaxEventsPerFile = 5000;
inline constexpr int kMaxOccurrences = 2000;

// Throws IcsError when `text` is not an iCalendar VCALENDAR object.
IcsExpansion expand_ics(std::string_view text, const TimeZone& user_zone, const TimeWindow& window);

}  // namespace agentd::agents
