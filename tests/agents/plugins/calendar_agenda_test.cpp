// agenda: the window in the user's zone, sorting, conflicts, back-to-back runs and the Markdown
// of the facts, on hand-made occurrences.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agents/calendar/agenda.hpp"

namespace agentd::agents {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

int64_t utc(int y, int mo, int d, int h = 0, int mi = 0) {
  return (days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60) * 1000;
}

Occurrence timed(const std::string& title, int64_t start, int64_t end) {
  Occurrence o;
  o.uid = title;
  o.summary = title;
  o.start_ms = start;
  o.end_ms = end;
  return o;
}

Occurrence all_day(const std::string& title, int64_t day, int64_t days, const TimeZone& zone) {
  Occurrence o;
  o.uid = o.summary = title;
  o.all_day = true;
  o.first_day = day;
  o.end_day = day + days;
  o.start_ms = zone.start_of_day(day);
  o.end_ms = zone.start_of_day(day + days);
  return o;
}

std::vector<std::string> titles(const Agenda& a) {
  std::vector<std::string> out;
  for (const auto& o : a.events) out.push_back(o.summary);
  return out;
}

TEST(AgendaWindowTest, DayEndsAtMidnightAfterTomorrowAndWeekSevenDaysOn) {
  TimeZone paris("Europe/Paris");
  int64_t now = utc(2025, 3, 10, 14);  // Monday 15:00 in Paris
  TimeWindow day = agenda_window(now, paris, AgendaSpan::day);
  EXPECT_EQ(day.start_ms, now);
  EXPECT_EQ(day.end_ms, utc(2025, 3, 11, 23));  // Wednesday 00:00 CET
  EXPECT_EQ(day.first_day, days_from_civil(2025, 3, 10));
  EXPECT_EQ(day.end_day, days_from_civil(2025, 3, 12));
  TimeWindow week = agenda_window(now, paris, AgendaSpan::week);
  EXPECT_EQ(week.end_ms, utc(2025, 3, 17, 23));  // Tuesday 18 March 00:00 CET
  EXPECT_EQ(week.end_day, days_from_civil(2025, 3, 18));
}

TEST(AgendaWindowTest, TheWindowFollowsTheZoneAcrossDst) {
  TimeZone paris("Europe/Paris");
  // Saturday 29 March 2025 12:00 CET; the clocks go forward on Sunday, so Monday 00:00 is CEST.
  TimeWindow day = agenda_window(utc(2025, 3, 29, 11), paris, AgendaSpan::day);
  EXPECT_EQ(day.end_ms, utc(2025, 3, 30, 22));
  // Just after midnight local time is already "today" in Paris while it is yesterday in UTC.
  TimeWindow late = agenda_window(utc(2025, 3, 9, 23, 30), paris, AgendaSpan::day);
  EXPECT_EQ(late.first_day, days_from_civil(2025, 3, 10));
}

TEST(AgendaTest, SortsByStartWithAllDayEventsFirst) {
  TimeZone utc_zone("UTC");
  int64_t day = days_from_civil(2025, 3, 10);
  Agenda a = build_agenda({timed("B", utc(2025, 3, 10, 9), utc(2025, 3, 10, 10)),
                           timed("A", utc(2025, 3, 10, 9), utc(2025, 3, 10, 9, 30)),
                           all_day("Holiday", day, 1, utc_zone), timed("Midnight", utc(2025, 3, 10), utc(2025, 3, 10, 1)),
                           timed("Early", utc(2025, 3, 10, 7), utc(2025, 3, 10, 8))},
                          10 * 60'000, 3);
  EXPECT_THAT(titles(a), ElementsAre("Holiday", "Midnight", "Early", "A", "B"));
}

TEST(AgendaTest, FindsEveryOverlappingPairButNotTouchingOrAllDayOrInstantEvents) {
  TimeZone utc_zone("UTC");
  Agenda a = build_agenda({timed("A", utc(2025, 3, 10, 9), utc(2025, 3, 10, 10)),
                           timed("B", utc(2025, 3, 10, 9, 30), utc(2025, 3, 10, 10, 30)),
                           timed("C", utc(2025, 3, 10, 10), utc(2025, 3, 10, 11)),
                           timed("Reminder", utc(2025, 3, 10, 9, 45), utc(2025, 3, 10, 9, 45)),
                           all_day("Holiday", days_from_civil(2025, 3, 10), 1, utc_zone),
                           timed("Long", utc(2025, 3, 10, 8), utc(2025, 3, 10, 12))},
                          0, 3);
  ASSERT_THAT(titles(a), ElementsAre("Holiday", "Long", "A", "B", "Reminder", "C"));
  std::vector<std::string> pairs;
  for (const auto& c : a.conflicts) pairs.push_back(a.events[c.first].summary + "+" + a.events[c.second].summary);
  EXPECT_THAT(pairs, ElementsAre("Long+A", "Long+B", "Long+C", "A+B", "B+C"));
  const Conflict& ab = a.conflicts[3];
  EXPECT_EQ(ab.overlap_start_ms, utc(2025, 3, 10, 9, 30));
  EXPECT_EQ(ab.overlap_end_ms, utc(2025, 3, 10, 10));
}

TEST(AgendaTest, BackToBackRunsNeedMinRunEventsWithGapsUnderTheLimit) {
  std::vector<Occurrence> day = {
      timed("Stand-up", utc(2025, 3, 10, 9), utc(2025, 3, 10, 9, 15)),
      timed("Planning", utc(2025, 3, 10, 9, 15), utc(2025, 3, 10, 10)),   // touching: gap 0
      timed("Review", utc(2025, 3, 10, 10, 5), utc(2025, 3, 10, 11)),     // gap 5 min
      timed("Lunch", utc(2025, 3, 10, 12), utc(2025, 3, 10, 13)),         // gap 60 min: a new chain
      timed("Call", utc(2025, 3, 10, 13, 10), utc(2025, 3, 10, 13, 40)),  // gap exactly 10 min: not under 10
      timed("Sync", utc(2025, 3, 10, 13, 45), utc(2025, 3, 10, 14)),
  };
  Agenda three = build_agenda(day, 10 * 60'000, 3);
  ASSERT_EQ(three.runs.size(), 1u);
  EXPECT_THAT(three.runs[0], ElementsAre(0u, 1u, 2u));
  Agenda pairs = build_agenda(day, 10 * 60'000, 2);
  ASSERT_EQ(pairs.runs.size(), 2u);
  EXPECT_THAT(pairs.runs[1], ElementsAre(4u, 5u));
  Agenda wide = build_agenda(day, 11 * 60'000, 3);
  ASSERT_EQ(wide.runs.size(), 2u);
  EXPECT_THAT(wide.runs[1], ElementsAre(3u, 4u, 5u));
}

TEST(AgendaTest, AnOverlapKeepsARunGoingUntilTheLatestEnd) {
  // B ends before A does: C is measured from A's end (10:30), 5 min before it starts.
  Agenda a = build_agenda({timed("A", utc(2025, 3, 10, 9), utc(2025, 3, 10, 10, 30)),
                           timed("B", utc(2025, 3, 10, 9, 30), utc(2025, 3, 10, 9, 45)),
                           timed("C", utc(2025, 3, 10, 10, 35), utc(2025, 3, 10, 11))},
                          10 * 60'000, 3);
  ASSERT_EQ(a.runs.size(), 1u);
  EXPECT_THAT(a.runs[0], ElementsAre(0u, 1u, 2u));
}

TEST(AgendaTest, WritesTheFactsAsMarkdownByLocalDay) {
  TimeZone paris("Europe/Paris");
  TimeWindow w = agenda_window(utc(2025, 3, 10, 7), paris, AgendaSpan::day);  // Monday 08:00
  Occurrence late = timed("Night shift", utc(2025, 3, 10, 6), utc(2025, 3, 10, 8));  // under way
  late.location = "Depot";
  Agenda a = build_agenda({late, timed("Stand-up", utc(2025, 3, 10, 8), utc(2025, 3, 10, 8, 15)),
                           timed("Planning", utc(2025, 3, 10, 8, 15), utc(2025, 3, 10, 9)),
                           timed("Review", utc(2025, 3, 10, 8, 30), utc(2025, 3, 10, 9, 30)),
                           timed("Reminder", utc(2025, 3, 11, 16), utc(2025, 3, 11, 16)),
                           timed("Flight", utc(2025, 3, 11, 21), utc(2025, 3, 12, 1)),
                           all_day("Conference", days_from_civil(2025, 3, 11), 3, paris)},
                          10 * 60'000, 3);
  EXPECT_EQ(agenda_markdown(a, w, paris),
            "7 events from Mon 10 Mar 08:00 to Wed 12 Mar 00:00 (Europe/Paris); 1 conflict; 1 back-to-back run.\n"
            "\n### Monday 10 March 2025\n\n"
            "- 07:00–09:00: Night shift (Depot)\n"
            "- 09:00–09:15: Stand-up\n"
            "- 09:15–10:00: Planning\n"
            "- 09:30–10:30: Review\n"
            "\n### Tuesday 11 March 2025\n\n"
            "- all day (until Thu 13 Mar): Conference\n"
            "- 17:00: Reminder\n"
            "- 22:00–Wed 02:00: Flight\n"
            "\n### Conflicts\n\n"
            "- Mon 10 Mar 09:30–10:00: Planning overlaps Review (30 min)\n"
            "\n### Back-to-back\n\n"
            "- Mon 10 Mar 07:00–10:30: 4 events back to back (Night shift, Stand-up, Planning, Review)\n");
}

TEST(AgendaTest, BriefFactsPutConflictsAndRunsFirstAndCutAtAWholeLine) {
  TimeZone utc_zone("UTC");
  TimeWindow w = agenda_window(utc(2025, 3, 10, 7), utc_zone, AgendaSpan::day);
  Agenda a = build_agenda({timed("A", utc(2025, 3, 10, 9), utc(2025, 3, 10, 10)),
                           timed("B", utc(2025, 3, 10, 9, 30), utc(2025, 3, 10, 10, 30)),
                           timed("C", utc(2025, 3, 10, 10, 30), utc(2025, 3, 10, 11))},
                          10 * 60'000, 3);
  const std::string head =
      "3 events from Mon 10 Mar 07:00 to Wed 12 Mar 00:00 (UTC); 1 conflict; 1 back-to-back run.\n"
      "\n### Conflicts\n\n- Mon 10 Mar 09:30–10:00: A overlaps B (30 min)\n"
      "\n### Back-to-back\n\n- Mon 10 Mar 09:00–11:00: 3 events back to back (A, B, C)\n";
  const std::string events = "\n### Monday 10 March 2025\n\n- 09:00–10:00: A\n- 09:30–10:30: B\n- 10:30–11:00: C\n";
  EXPECT_EQ(agenda_brief_facts(a, w, utc_zone, 10000), head + events);
  // Room for the heading and one event: the other two are counted.
  size_t room = head.size() + std::string("\n### Monday 10 March 2025\n\n- 09:00–10:00: A\n").size();
  EXPECT_EQ(agenda_brief_facts(a, w, utc_zone, room + 5),
            head + "\n### Monday 10 March 2025\n\n- 09:00–10:00: A\n\n(2 more lines not shown here)\n");
  // Too small for anything but the count line.
  EXPECT_EQ(agenda_brief_facts(a, w, utc_zone, 10),
            "3 events from Mon 10 Mar 07:00 to Wed 12 Mar 00:00 (UTC); 1 conflict; 1 back-to-back run.\n"
            "\n(5 more lines not shown here)\n");
}

TEST(AgendaTest, AnEmptyAgendaSaysSo) {
  TimeZone utc_zone("UTC");
  TimeWindow w = agenda_window(utc(2025, 3, 10, 7), utc_zone, AgendaSpan::week);
  Agenda a = build_agenda({}, 10 * 60'000, 3);
  EXPECT_THAT(a.conflicts, IsEmpty());
  EXPECT_EQ(agenda_markdown(a, w, utc_zone),
            "0 events from Mon 10 Mar 07:00 to Tue 18 Mar 00:00 (UTC); 0 conflicts; 0 back-to-back runs.\n");
}

}  // namespace
}  // namespace agentd::agents
