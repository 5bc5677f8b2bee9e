// An .ics file as the calendar agent reads it: expand_ics() over a week's window in a zone with
// DST (libical underneath), then the agenda built from the occurrences.
// Documented failure: IcsError (the file is skipped and logged).
#include <cstddef>
#include <cstdint>

#include "agents/calendar/agenda.hpp"
#include "agents/calendar/ics_calendar.hpp"
#include "agents/common/time_zone.hpp"
#include "tests/fuzz/fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace agentd::agents;
  static const TimeZone zone("Europe/Paris");
  static const TimeWindow window = agenda_window(1711616400000 /* 2024-03-28, before a DST change */, zone,
                                                 AgendaSpan::week);
  try {
    IcsExpansion x = expand_ics(agentd::fuzz::as_text(data, size), zone, window);
    (void)build_agenda(std::move(x.occurrences), 15 * 60'000, 3);
  } catch (const IcsError&) {
  }
  return 0;
}
