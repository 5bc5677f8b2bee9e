// ics_calendar: libical parsing and recurrence expansion, checked to the second: time zones
// (VTIMEZONE, the system tz database, floating, UTC), DST on both sides, RRULE with EXDATE, UNTIL
// and COUNT, RDATE, all-day events, RECURRENCE-ID overrides, and malformed input.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agents/calendar/agenda.hpp"
#include "agents/calendar/ics_calendar.hpp"

namespace agentd::agents {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

int64_t utc(int y, int mo, int d, int h = 0, int mi = 0) {
  return (days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60) * 1000;
}

std::string ics(const std::string& body) {
  return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//agentd//test//EN\r\n" + body + "END:VCALENDAR\r\n";
}

std::string vevent(const std::string& lines) { return "BEGIN:VEVENT\r\n" + lines + "END:VEVENT\r\n"; }

TimeWindow window(int64_t start, int64_t end, const TimeZone& zone) {
  return {start, end, zone.local_day(start), zone.local_day(end - 1) + 1};
}

std::vector<int64_t> starts(const IcsExpansion& x) {
  std::vector<int64_t> out;
  for (const auto& o : x.occurrences) out.push_back(o.start_ms);
  std::sort(out.begin(), out.end());
  return out;
}

class IcsTest : public ::testing::Test {
 protected:
  TimeZone paris{"Europe/Paris"};
  TimeZone utc_zone{"UTC"};
  TimeZone new_york{"America/New_York"};
};

TEST_F(IcsTest, ReadsATimedEventInUtcWithItsFields) {
  auto x = expand_ics(ics(vevent("UID:u1\r\nSUMMARY:Board meeting\r\nLOCATION:Room 4\r\n"
                                 "DTSTART:20250310T090000Z\r\nDTEND:20250310T103000Z\r\n")),
                      paris, window(utc(2025, 3, 10), utc(2025, 3, 11), paris));
  ASSERT_EQ(x.occurrences.size(), 1u);
  const Occurrence& o = x.occurrences[0];
  EXPECT_EQ(o.uid, "u1");
  EXPECT_EQ(o.summary, "Board meeting");
  EXPECT_EQ(o.location, "Room 4");
  EXPECT_FALSE(o.all_day);
  EXPECT_EQ(o.start_ms, utc(2025, 3, 10, 9));
  EXPECT_EQ(o.end_ms, utc(2025, 3, 10, 10, 30));
  EXPECT_EQ(x.events, 1);
  EXPECT_THAT(x.problems, IsEmpty());
}

TEST_F(IcsTest, AWeeklyEventKeepsItsLocalTimeAcrossTheSpringDstChange) {
  // New York moves to EDT on Sunday 9 March 2025: 09:00 local is 14:00Z before, 13:00Z after.
  auto x = expand_ics(ics(vevent("UID:w\r\nSUMMARY:Weekly\r\nDTSTART;TZID=America/New_York:20250303T090000\r\n"
                                 "DURATION:PT1H\r\nRRULE:FREQ=WEEKLY\r\n")),
                      utc_zone, window(utc(2025, 3, 1), utc(2025, 3, 18), utc_zone));
  EXPECT_THAT(starts(x), ElementsAre(utc(2025, 3, 3, 14), utc(2025, 3, 10, 13), utc(2025, 3, 17, 13)));
  EXPECT_EQ(x.occurrences[1].end_ms - x.occurrences[1].start_ms, 3600'000);
}

TEST_F(IcsTest, ADailyEventKeepsItsLocalTimeAcrossTheAutumnDstChange) {
  // Paris returns to CET on Sunday 26 October 2025: 09:00 local is 07:00Z before, 08:00Z after.
  auto x = expand_ics(ics(vevent("UID:d\r\nSUMMARY:Daily\r\nDTSTART;TZID=Europe/Paris:20251025T090000\r\n"
                                 "DTEND;TZID=Europe/Paris:20251025T093000\r\nRRULE:FREQ=DAILY;COUNT=3\r\n")),
                      paris, window(utc(2025, 10, 20), utc(2025, 11, 1), paris));
  EXPECT_THAT(starts(x), ElementsAre(utc(2025, 10, 25, 7), utc(2025, 10, 26, 8), utc(2025, 10, 27, 8)));
}

TEST_F(IcsTest, ATimeInTheSpringGapIsReadWithTheOffsetBeforeIt) {
  // 02:30 does not exist in New York on 9 March 2025; RFC 5545 reads it as 03:30 EDT = 07:30Z.
  auto x = expand_ics(ics(vevent("UID:g\r\nSUMMARY:Backup\r\nDTSTART;TZID=America/New_York:20250308T023000\r\n"
                                 "RRULE:FREQ=DAILY;COUNT=3\r\n")),
                      utc_zone, window(utc(2025, 3, 8), utc(2025, 3, 11), utc_zone));
  EXPECT_THAT(starts(x), ElementsAre(utc(2025, 3, 8, 7, 30), utc(2025, 3, 9, 7, 30), utc(2025, 3, 10, 6, 30)));
}

TEST_F(IcsTest, AWeeklyRuleSkipsItsExdatesGivenInAnyForm) {
  // Floating 10:00 in Paris is 09:00Z in March. The 17th is excluded as a floating time, the 24th as
  // the same instant written in UTC, and the whole of the 31st (10:00 CEST = 08:00Z) as a DATE.
  auto x = expand_ics(ics(vevent("UID:r\r\nSUMMARY:Retro\r\nDTSTART:20250303T100000\r\nDTEND:20250303T110000\r\n"
                                 "RRULE:FREQ=WEEKLY;BYDAY=MO\r\nEXDATE:20250317T100000\r\n"
                                 "EXDATE:20250324T090000Z\r\nEXDATE;VALUE=DATE:20250331\r\n")),
                      paris, window(utc(2025, 3, 1), utc(2025, 4, 10), paris));
  EXPECT_THAT(starts(x), ElementsAre(utc(2025, 3, 3, 9), utc(2025, 3, 10, 9), utc(2025, 4, 7, 8)));
}

TEST_F(IcsTest, ATzidEventIsPlacedAtItsInstantWhateverTheUsersZone) {
  // 09:00 in New York on 12 March 2025 (EDT) is 13:00Z, i.e. 14:00 in Paris (still CET).
  std::string by_name = ics(vevent("UID:ny\r\nSUMMARY:Call\r\nDTSTART;TZID=America/New_York:20250312T090000\r\n"
                                   "DTEND;TZID=America/New_York:20250312T100000\r\n"));
  std::string by_vtimezone =
      ics("BEGIN:VTIMEZONE\r\nTZID:Eastern Standard Time\r\n"
          "BEGIN:STANDARD\r\nDTSTART:16011104T020000\r\nRRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=11\r\n"
          "TZOFFSETFROM:-0400\r\nTZOFFSETTO:-0500\r\nEND:STANDARD\r\n"
          "BEGIN:DAYLIGHT\r\nDTSTART:16010311T020000\r\nRRULE:FREQ=YEARLY;BYDAY=2SU;BYMONTH=3\r\n"
          "TZOFFSETFROM:-0500\r\nTZOFFSETTO:-0400\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n" +
          vevent("UID:ny2\r\nSUMMARY:Call\r\nDTSTART;TZID=Eastern Standard Time:20250312T090000\r\n"
                 "DTEND;TZID=Eastern Standard Time:20250312T100000\r\n"));
  for (const std::string& text : {by_name, by_vtimezone}) {
    auto x = expand_ics(text, paris, window(utc(2025, 3, 12), utc(2025, 3, 13), paris));
    ASSERT_EQ(x.occurrences.size(), 1u) << text;
    EXPECT_EQ(x.occurrences[0].start_ms, utc(2025, 3, 12, 13));
    EXPECT_EQ(x.occurrences[0].end_ms, utc(2025, 3, 12, 14));
    EXPECT_EQ(paris.format(x.occurrences[0].start_ms, "%H:%M"), "14:00");
    EXPECT_THAT(x.problems, IsEmpty());
  }
}

TEST_F(IcsTest, AllDayEventsAreDaysOfTheUsersZone) {
  auto x = expand_ics(ics(vevent("UID:a\r\nSUMMARY:Holiday\r\nDTSTART;VALUE=DATE:20250310\r\n") +
                          vevent("UID:b\r\nSUMMARY:Conference\r\nDTSTART;VALUE=DATE:20250311\r\n"
                                 "DTEND;VALUE=DATE:20250314\r\n") +
                          vevent("UID:c\r\nSUMMARY:Yesterday\r\nDTSTART;VALUE=DATE:20250309\r\n")),
                      new_york, window(utc(2025, 3, 10, 12), utc(2025, 3, 12, 4), new_york));
  ASSERT_EQ(x.occurrences.size(), 2u);
  const Occurrence& holiday = x.occurrences[0];
  EXPECT_TRUE(holiday.all_day);
  EXPECT_EQ(holiday.first_day, days_from_civil(2025, 3, 10));
  EXPECT_EQ(holiday.end_day, days_from_civil(2025, 3, 11));
  EXPECT_EQ(holiday.start_ms, utc(2025, 3, 10, 4));  // midnight in New York (EDT)
  EXPECT_EQ(x.occurrences[1].first_day, days_from_civil(2025, 3, 11));
  EXPECT_EQ(x.occurrences[1].end_day, days_from_civil(2025, 3, 14));
}

TEST_F(IcsTest, AnAllDayRuleRecursByDate) {
  // Every other day from 1 January 2025 (31 days, then 28 in February): 2, 4, 6 March...; the 4th
  // is an EXDATE. The window is 1-7 March in Paris.
  auto x = expand_ics(ics(vevent("UID:p\r\nSUMMARY:Plants\r\nDTSTART;VALUE=DATE:20250101\r\n"
                                 "RRULE:FREQ=DAILY;INTERVAL=2\r\nEXDATE;VALUE=DATE:20250304\r\n")),
                      paris, window(utc(2025, 3, 1), utc(2025, 3, 7, 23), paris));
  std::vector<int64_t> days;
  for (const auto& o : x.occurrences) days.push_back(o.first_day);
  EXPECT_THAT(days, ElementsAre(days_from_civil(2025, 3, 2), days_from_civil(2025, 3, 6)));
}

TEST_F(IcsTest, UntilInUtcIsComparedAsAnInstant) {
  // 10:00 Paris is 09:00Z: an UNTIL of 09:00Z on the 3rd includes the 3rd (a wall-clock comparison
  // of 10:00 with 09:00 would drop it).
  auto x = expand_ics(ics(vevent("UID:u\r\nSUMMARY:Course\r\nDTSTART;TZID=Europe/Paris:20250301T100000\r\n"
                                 "RRULE:FREQ=DAILY;UNTIL=20250303T090000Z\r\n")),
                      paris, window(utc(2025, 2, 1), utc(2025, 4, 1), paris));
  EXPECT_THAT(starts(x), ElementsAre(utc(2025, 3, 1, 9), utc(2025, 3, 2, 9), utc(2025, 3, 3, 9)));
}

TEST_F(IcsTest, RdatesAddOccurrencesAndDuplicatesCountOnce) {
  auto x = expand_ics(ics(vevent("UID:rd\r\nSUMMARY:Extra\r\nDTSTART:20250303T080000Z\r\nDURATION:PT30M\r\n"
                                 "RRULE:FREQ=WEEKLY;COUNT=2\r\nRDATE:20250305T080000Z,20250310T080000Z\r\n"
                                 "RDATE;TZID=Europe/Paris:20250306T150000\r\n")),
                      paris, window(utc(2025, 3, 1), utc(2025, 4, 1), paris));
  EXPECT_THAT(starts(x), ElementsAre(utc(2025, 3, 3, 8), utc(2025, 3, 5, 8), utc(2025, 3, 6, 14), utc(2025, 3, 10, 8)));
}

TEST_F(IcsTest, RecurrenceIdOverridesMoveOrCancelOneOccurrence) {
  auto x = expand_ics(ics(vevent("UID:s\r\nSUMMARY:Stand-up\r\nDTSTART:20250310T090000Z\r\nDURATION:PT15M\r\n"
                                 "RRULE:FREQ=DAILY;COUNT=4\r\n") +
                          vevent("UID:s\r\nRECURRENCE-ID:20250311T090000Z\r\nSUMMARY:Stand-up (moved)\r\n"
                                 "DTSTART:20250311T110000Z\r\nDURATION:PT15M\r\n") +
                          vevent("UID:s\r\nRECURRENCE-ID:20250312T090000Z\r\nSTATUS:CANCELLED\r\n"
                                 "SUMMARY:Stand-up\r\nDTSTART:20250312T090000Z\r\n")),
                      utc_zone, window(utc(2025, 3, 10), utc(2025, 3, 20), utc_zone));
  EXPECT_THAT(starts(x), ElementsAre(utc(2025, 3, 10, 9), utc(2025, 3, 11, 11), utc(2025, 3, 13, 9)));
  for (const auto& o : x.occurrences) {
    EXPECT_EQ(o.summary, o.start_ms == utc(2025, 3, 11, 11) ? "Stand-up (moved)" : "Stand-up");
  }
}

TEST_F(IcsTest, DurationDaysAreNominalAcrossDst) {
  // Paris springs forward on 30 March 2025: P1D from 12:00 CET ends at 12:00 CEST, 23 hours later.
  auto x = expand_ics(ics(vevent("UID:n\r\nSUMMARY:Trip\r\nDTSTART;TZID=Europe/Paris:20250329T120000\r\n"
                                 "DURATION:P1D\r\n")),
                      paris, window(utc(2025, 3, 29), utc(2025, 3, 31), paris));
  ASSERT_EQ(x.occurrences.size(), 1u);
  EXPECT_EQ(x.occurrences[0].start_ms, utc(2025, 3, 29, 11));
  EXPECT_EQ(x.occurrences[0].end_ms, utc(2025, 3, 30, 10));
}

TEST_F(IcsTest, OnlyOccurrencesTouchingTheWindowAreKept) {
  std::string text = ics(vevent("UID:h\r\nSUMMARY:Hourly\r\nDTSTART:20250310T000000Z\r\nDTEND:20250310T004500Z\r\n"
                                "RRULE:FREQ=HOURLY\r\n"));
  // 10:30-12:00: the 10:00 one is under way, 11:00 starts inside, 12:00 starts at the end (excluded).
  auto x = expand_ics(text, utc_zone, window(utc(2025, 3, 10, 10, 30), utc(2025, 3, 10, 12), utc_zone));
  EXPECT_THAT(starts(x), ElementsAre(utc(2025, 3, 10, 10), utc(2025, 3, 10, 11)));
}

TEST_F(IcsTest, TextThatIsNotACalendarIsRefused) {
  TimeWindow w = window(utc(2025, 3, 10), utc(2025, 3, 11), paris);
  EXPECT_THAT([&] { expand_ics("this is not a calendar", paris, w); },
              ::testing::ThrowsMessage<IcsError>(HasSubstr("not an iCalendar file")));
  EXPECT_THROW(expand_ics("", paris, w), IcsError);
  EXPECT_THROW(expand_ics("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:20250310T090000Z\r\n", paris, w), IcsError);
  EXPECT_THAT([&] { expand_ics(vevent("DTSTART:20250310T090000Z\r\n"), paris, w); },
              ::testing::ThrowsMessage<IcsError>(HasSubstr("VEVENT, not VCALENDAR")));
}

// Found by tests/fuzz (calendar): a component without a name has no kind name in libical
// (icalcomponent_kind_to_string gives NULL), which the message appended: a crash, not a refusal.
TEST_F(IcsTest, AComponentWithoutANameIsRefusedNotACrash) {
  TimeWindow w = window(utc(2025, 3, 10), utc(2025, 3, 11), paris);
  EXPECT_THAT([&] { expand_ics("BEGIN:\nEND:", paris, w); },
              ::testing::ThrowsMessage<IcsError>(HasSubstr("not an iCalendar file")));
}

TEST_F(IcsTest, UnusableEventsAreNamedAndTheOthersKept) {
  auto x = expand_ics(ics(vevent("UID:ok\r\nSUMMARY:Fine\r\nDTSTART:20250310T090000Z\r\n") +
                          vevent("UID:nostart\r\nSUMMARY:No start\r\n") +
                          vevent("UID:garbage\r\nSUMMARY:Bad start\r\nDTSTART:2025garbage\r\n") +
                          vevent("UID:zone\r\nSUMMARY:Odd zone\r\nDTSTART;TZID=Mars/Olympus:20250310T100000\r\n") +
                          vevent("UID:back\r\nSUMMARY:Backwards\r\nDTSTART:20250310T100000Z\r\nDTEND:20250310T090000Z\r\n")),
                      utc_zone, window(utc(2025, 3, 10), utc(2025, 3, 11), utc_zone));
  EXPECT_EQ(x.events, 5);
  EXPECT_THAT(starts(x), ElementsAre(utc(2025, 3, 10, 9), utc(2025, 3, 10, 10), utc(2025, 3, 10, 10)));
  std::string all;
  for (const auto& p : x.problems) all += p + "\n";
  EXPECT_THAT(all, HasSubstr("event 'No start' (uid nostart): no usable DTSTART; skipped"));
  EXPECT_THAT(all, HasSubstr("event 'Bad start' (uid garbage)"));
  EXPECT_THAT(all, HasSubstr("event 'Odd zone' (uid zone): unknown time zone 'Mars/Olympus'; read in UTC"));
  EXPECT_THAT(all, HasSubstr("event 'Backwards' (uid back): ends before it starts"));
}

// Each rule walks ~45,700 days from 1900 to the window, under the old per-rule bound, so only a
// budget over the whole file stops the third; an event without a rule is still read after it.
TEST_F(IcsTest, TheRecurrenceBudgetIsPerFileNotPerRule) {
  auto old_daily = [](const std::string& uid) {
    return vevent("UID:" + uid + "\r\nSUMMARY:Old " + uid + "\r\nDTSTART:19000101T090000Z\r\nRRULE:FREQ=DAILY\r\n");
  };
  auto x = expand_ics(ics(old_daily("a") + old_daily("b") + old_daily("c") +
                          vevent("UID:once\r\nSUMMARY:Once\r\nDTSTART:20250310T100000Z\r\n")),
                      utc_zone, window(utc(2025, 3, 10), utc(2025, 3, 11), utc_zone));
  EXPECT_THAT(starts(x), ElementsAre(utc(2025, 3, 10, 9), utc(2025, 3, 10, 9), utc(2025, 3, 10, 10)));
  ASSERT_EQ(x.problems.size(), 1u);
  EXPECT_THAT(x.problems[0], HasSubstr("event 'Old c' (uid c): recurrence cut: the file's budget of 100000"));
}

}  // namespace
}  // namespace agentd::agents
