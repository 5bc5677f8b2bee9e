// CalendarAgent end to end with a mock engine: real folders and ICS files, an injected clock; the
// prompt carries the computed agenda, the report lands in agenda-YYYY-MM-DD.md, malformed files
// are logged and skipped, writes stay in the write folder, and bad settings are refused.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <stop_token>

#include "agents/calendar/calendar_agent.hpp"
#include "agents/config_reader.hpp"
#include "agents/registry.hpp"
#include "agents/task_context.hpp"
#include "tests/agents/agents_test_support.hpp"

namespace agentd::agents {
namespace {

namespace fs = std::filesystem;
using test_support::read_file;
using test_support::write_file;
using ::testing::_;
using ::testing::HasSubstr;
using ::testing::Not;

// Monday 10 March 2025, 07:30 in Paris (06:30Z).
constexpr int64_t kMondayMorning = 1741588200000;

const char* kWork =
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:test\r\n"
    "BEGIN:VEVENT\r\nUID:standup\r\nSUMMARY:Stand-up\r\nDTSTART:20250106T090000\r\nDTEND:20250106T091500\r\n"
    "RRULE:FREQ=DAILY\r\nEND:VEVENT\r\n"
    "BEGIN:VEVENT\r\nUID:planning\r\nSUMMARY:Planning\r\nDTSTART:20250106T091500\r\nDURATION:PT45M\r\n"
    "RRULE:FREQ=WEEKLY;BYDAY=MO,TU\r\nEXDATE:20250311T091500\r\nEND:VEVENT\r\n"
    "BEGIN:VEVENT\r\nUID:review\r\nSUMMARY:Review\r\nDTSTART:20250106T100000\r\nDTEND:20250106T110000\r\n"
    "RRULE:FREQ=DAILY\r\nEND:VEVENT\r\n"
    "BEGIN:VEVENT\r\nUID:ny\r\nSUMMARY:NY sync\r\nDTSTART;TZID=America/New_York:20250310T094500\r\n"
    "DTEND;TZID=America/New_York:20250310T103000\r\nEND:VEVENT\r\n"
    "END:VCALENDAR\r\n";

const char* kPersonal =
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:test\r\n"
    "BEGIN:VEVENT\r\nUID:dentist\r\nSUMMARY:Dentist\r\nDTSTART:20250310T103000\r\nDTEND:20250310T111500\r\n"
    "LOCATION:Rue Oberkampf\r\nEND:VEVENT\r\n"
    "BEGIN:VEVENT\r\nUID:bday\r\nSUMMARY:Birthday of Ana\r\nDTSTART;VALUE=DATE:20250311\r\nEND:VEVENT\r\n"
    "END:VCALENDAR\r\n";

class CalendarAgentTest : public test_support::AgentsTest {
 protected:
  CalendarAgentTest() {
    calendars = agent_folders("calendar", "calendars");
    config.settings = {{"time_zone", "Europe/Paris"}};
    now = kMondayMorning;
  }

  Run run(const std::string& answer, const std::string& input = "") {
    CalendarAgent agent(config);
    return run_answering(agent, answer, input);
  }

  std::string config_error() { return config_error_of<CalendarAgent>(); }

  fs::path calendars;
};

const std::string kFacts =
    "8 events from Mon 10 Mar 07:30 to Wed 12 Mar 00:00 (Europe/Paris); 1 conflict; 1 back-to-back run.\n"
    "\n### Monday 10 March 2025\n\n"
    "- 09:00–09:15: Stand-up\n"
    "- 09:15–10:00: Planning\n"
    "- 10:00–11:00: Review\n"
    "- 10:30–11:15: Dentist (Rue Oberkampf)\n"
    "- 14:45–15:30: NY sync\n"
    "\n### Tuesday 11 March 2025\n\n"
    "- all day: Birthday of Ana\n"
    "- 09:00–09:15: Stand-up\n"
    "- 10:00–11:00: Review\n"
    "\n### Conflicts\n\n"
    "- Mon 10 Mar 10:30–11:00: Review overlaps Dentist (30 min)\n"
    "\n### Back-to-back\n\n"
    "- Mon 10 Mar 09:00–11:15: 4 events back to back (Stand-up, Planning, Review, Dentist)\n";

// The standing instruction, first in every brief's prompt (the engine's prefix cache reuses it).
const std::string kBriefInstruction =
    "Write a short brief of the agenda below for the user in at most four sentences: how busy it is, the conflicts "
    "to resolve and where there is no break. Use only the events listed.\n\n";

TEST_F(CalendarAgentTest, WritesTheAgendaWithTheModelsBriefOnTopOfTheComputedFacts) {
  write_file(calendars / "work.ics", kWork);
  write_file(calendars / "personal.ics", kPersonal);
  Run r = run("  A busy Monday: resolve the clash at 10:30.\n");

  // Expanded in Paris: Planning's Tuesday is an EXDATE; the NY sync (09:45 EDT) is 14:45 CET.
  // The prompt has the same facts, conflicts and runs first.
  const std::string brief_facts =
      "8 events from Mon 10 Mar 07:30 to Wed 12 Mar 00:00 (Europe/Paris); 1 conflict; 1 back-to-back run.\n"
      "\n### Conflicts\n\n"
      "- Mon 10 Mar 10:30–11:00: Review overlaps Dentist (30 min)\n"
      "\n### Back-to-back\n\n"
      "- Mon 10 Mar 09:00–11:15: 4 events back to back (Stand-up, Planning, Review, Dentist)\n"
      "\n### Monday 10 March 2025\n\n"
      "- 09:00–09:15: Stand-up\n"
      "- 09:15–10:00: Planning\n"
      "- 10:00–11:00: Review\n"
      "- 10:30–11:15: Dentist (Rue Oberkampf)\n"
      "- 14:45–15:30: NY sync\n"
      "\n### Tuesday 11 March 2025\n\n"
      "- all day: Birthday of Ana\n"
      "- 09:00–09:15: Stand-up\n"
      "- 10:00–11:00: Review\n";
  EXPECT_EQ(r.prompt, kBriefInstruction + "The user's calendar for today and tomorrow, computed exactly:\n\n" +
                          brief_facts);
  EXPECT_EQ(r.output, "# Agenda 2025-03-10\n\nA busy Monday: resolve the clash at 10:30.\n\n## Schedule\n\n" + kFacts);
  EXPECT_EQ(read_file(out / "agenda-2025-03-10.md"), r.output);

  // The timeline: both files read, one model call, the agenda written.
  std::vector<std::string> read;
  for (const auto& e : events_of(r.task.id, "read")) read.push_back(e.data["path"]);
  EXPECT_THAT(read, ::testing::ElementsAre(calendars.string(), (calendars / "personal.ics").string(),
                                           (calendars / "work.ics").string()));
  EXPECT_EQ(events_of(r.task.id, storage::event::llm_call).size(), 1u);
  auto wrote = events_of(r.task.id, "wrote");
  ASSERT_EQ(wrote.size(), 1u);
  EXPECT_EQ(wrote[0].data["path"], (out / "agenda-2025-03-10.md").string());
}

TEST_F(CalendarAgentTest, ThePromptsFactsAreCappedButTheReportKeepsThemAll) {
  write_file(calendars / "work.ics", kWork);
  write_file(calendars / "personal.ics", kPersonal);
  config.settings["brief_facts_chars"] = 400;
  Run r = run("ok");
  EXPECT_THAT(r.prompt, HasSubstr("Review overlaps Dentist"));
  EXPECT_THAT(r.prompt, HasSubstr("\n(5 more lines not shown here)\n"));
  EXPECT_THAT(r.prompt, Not(HasSubstr("NY sync")));
  EXPECT_THAT(r.output, HasSubstr("## Schedule\n\n" + kFacts));
}

TEST_F(CalendarAgentTest, AFolderListedTwiceAndAnEventInTwoFilesCountOnce) {
  // The runtime adds a watched folder to the read folders, so the same folder can come twice.
  config.read_folders = {calendars, calendars};
  write_file(calendars / "personal.ics", kPersonal);
  write_file(calendars / "copy.ics", kPersonal);  // the same events (same UIDs) in a second calendar
  Run r = run("ok");
  EXPECT_THAT(r.output, HasSubstr("2 events from Mon 10 Mar 07:30"));
  EXPECT_EQ(events_of(r.task.id, "read").size(), 3u);  // the folder once, each file once
}

TEST_F(CalendarAgentTest, BriefsOfOtherDaysAndSpansShareTheWholeInstruction) {
  write_file(calendars / "work.ics", kWork);
  Run monday = run("ok");
  now += 24 * 3600 * 1000;
  Run tuesday_week = run("ok", "week");
  EXPECT_THAT(test_support::common_prefix(monday.prompt, tuesday_week.prompt),
              ::testing::StartsWith(kBriefInstruction + "The user's calendar for "));
}

TEST_F(CalendarAgentTest, TheWeekInputWidensTheWindowToSevenDays) {
  write_file(calendars / "work.ics", kWork);
  Run r = run("ok", "week");
  EXPECT_THAT(r.prompt, HasSubstr("for the coming week"));
  EXPECT_THAT(r.prompt, HasSubstr("to Tue 18 Mar 00:00 (Europe/Paris)"));
  EXPECT_THAT(r.prompt, HasSubstr("### Monday 17 March 2025"));
  EXPECT_THAT(r.prompt, Not(HasSubstr("### Tuesday 18 March 2025")));
}

TEST_F(CalendarAgentTest, MalformedOrOversizedFilesAreLoggedAndSkipped) {
  config.limits.max_input_bytes = 2048;
  write_file(calendars / "work.ics", kWork);
  write_file(calendars / "broken.ics", "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:never ends\r\n");
  write_file(calendars / "huge.ics", std::string(4096, 'x'));
  write_file(calendars / "notes.txt", "not a calendar and not matched by *.ics");
  Run r = run("ok");
  std::string logs = logs_of(r.task.id);
  EXPECT_THAT(logs, HasSubstr("\"file\":\"" + (calendars / "broken.ics").string() + "\""));
  EXPECT_THAT(logs, HasSubstr("not an iCalendar file"));
  EXPECT_THAT(logs, HasSubstr("\"file\":\"" + (calendars / "huge.ics").string() + "\""));
  EXPECT_THAT(logs, Not(HasSubstr("notes.txt")));
  EXPECT_THAT(r.output, HasSubstr("- 09:15–10:00: Planning"));
}

TEST_F(CalendarAgentTest, AnUnusableEventIsLoggedWithItsFileAndTheRestShown) {
  write_file(calendars / "odd.ics",
             "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:test\r\n"
             "BEGIN:VEVENT\r\nUID:x\r\nSUMMARY:No start\r\nEND:VEVENT\r\n"
             "BEGIN:VEVENT\r\nUID:y\r\nSUMMARY:Lunch\r\nDTSTART:20250310T120000\r\nEND:VEVENT\r\n"
             "END:VCALENDAR\r\n");
  Run r = run("ok");
  EXPECT_THAT(logs_of(r.task.id), HasSubstr("event 'No start' (uid x): no usable DTSTART; skipped"));
  EXPECT_THAT(r.output, HasSubstr("- 12:00: Lunch\n"));
}

TEST_F(CalendarAgentTest, FailsWhenNoCalendarCanBeRead) {
  CalendarAgent agent(config);
  TaskContext empty(config, make_task(), services(), std::stop_source().get_token());
  EXPECT_THAT([&] { agent.run(empty); }, ::testing::ThrowsMessage<std::runtime_error>(HasSubstr("no calendar files")));

  write_file(calendars / "broken.ics", "garbage");
  TaskContext broken(config, make_task(), services(), std::stop_source().get_token());
  EXPECT_THAT([&] { agent.run(broken); },
              ::testing::ThrowsMessage<std::runtime_error>(HasSubstr("none of the 1 calendar file(s) could be read")));
  EXPECT_TRUE(fs::is_empty(out));
}

TEST_F(CalendarAgentTest, AnEmptyWindowNeedsNoModelCall) {
  write_file(calendars / "later.ics",
             "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:test\r\nBEGIN:VEVENT\r\nUID:z\r\nSUMMARY:Later\r\n"
             "DTSTART:20250320T120000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n");
  CalendarAgent agent(config);
  TaskContext ctx(config, make_task(), services(), std::stop_source().get_token());
  EXPECT_CALL(engine, submit(_)).Times(0);
  std::string output = agent.run(ctx);
  EXPECT_THAT(output, HasSubstr("Nothing scheduled for today and tomorrow."));
  EXPECT_THAT(output, HasSubstr("0 events from Mon 10 Mar 07:30"));
  EXPECT_EQ(read_file(out / "agenda-2025-03-10.md"), output);
}

TEST_F(CalendarAgentTest, AnEmptyBriefFallsBackToAFixedLine) {
  write_file(calendars / "work.ics", kWork);
  Run r = run(" \n ");
  EXPECT_THAT(r.output, HasSubstr("(The model wrote no brief; the schedule below is complete.)"));
}

TEST_F(CalendarAgentTest, RefusesToWriteThroughALinkOutOfItsWriteFolder) {
  write_file(calendars / "work.ics", kWork);
  write_file(root / "elsewhere.md", "untouched");
  fs::create_symlink(root / "elsewhere.md", out / "agenda-2025-03-10.md");
  CalendarAgent agent(config);
  TaskContext ctx(config, make_task(), services(), std::stop_source().get_token());
  answer_with("ok");
  EXPECT_THROW(agent.run(ctx), FileAccessError);
  EXPECT_EQ(read_file(root / "elsewhere.md"), "untouched");
}

TEST_F(CalendarAgentTest, RefusesBadSettings) {
  config.settings = {{"windw", "day"}};
  EXPECT_THAT(config_error(), HasSubstr("/settings/windw: unknown key (did you mean 'window'?)"));
  config.settings = {{"window", "month"}};
  EXPECT_THAT(config_error(), HasSubstr("/settings/window: 'month' is not one of day, week"));
  config.settings = {{"time_zone", "Mars/Olympus"}};
  EXPECT_THAT(config_error(), HasSubstr("/settings/time_zone: 'Mars/Olympus' is not an IANA time zone"));
  config.settings = {{"back_to_back_min", 1}};
  EXPECT_THAT(config_error(), HasSubstr("/settings/back_to_back_min: 1 is outside 2..50"));
  config.settings = {{"back_to_back_gap", "soon"}};
  EXPECT_THAT(config_error(), HasSubstr("/settings/back_to_back_gap: 'soon' is not a duration"));
  config.settings = nlohmann::json::object();
  config.write_folders.clear();
  EXPECT_THAT(config_error(), HasSubstr("writer.json: /folders/write"));
  config.write_folders = {out};
  config.read_folders.clear();
  EXPECT_THAT(config_error(), HasSubstr("/folders/read"));
}

TEST_F(CalendarAgentTest, IsABuiltinPluginThatOutlivesTheConfigItWasMadeFrom) {
  std::unique_ptr<Agent> agent;
  {
    AgentConfig copy = config;  // the runtime may keep the agent longer than the config it was built from
    agent = builtin_plugins().create(copy);
  }
  EXPECT_NE(dynamic_cast<CalendarAgent*>(agent.get()), nullptr);
  write_file(calendars / "work.ics", kWork);
  answer_with("ok");
  TaskContext ctx(config, make_task(), services(), std::stop_source().get_token());
  EXPECT_THAT(agent->run(ctx), HasSubstr("- 09:15–10:00: Planning"));
}

}  // namespace
}  // namespace agentd::agents
