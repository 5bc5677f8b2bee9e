#include "agents/calendar/calendar_agent.hpp"

#include <algorithm>
#include <set>
#include <tuple>

#include "agents/common/plain_text.hpp"
#include "agents/config_reader.hpp"
#include "agents/task_context.hpp"

namespace agentd::agents {

namespace {

constexpr size_t kMaxBriefChars = 2000;
constexpr size_t kMaxProblemsLogged = 20;  // per file

// The read folders, each once (a watched folder is also a read folder, so one can be listed twice).
std::vector<std::filesystem::path> distinct(const std::vector<std::filesystem::path>& folders) {
  std::vector<std::filesystem::path> out;
  for (const auto& f : folders) {
    if (std::find(out.begin(), out.end(), f) == out.end()) out.push_back(f);
  }
  return out;
}

// One occurrence per UID and start: an invitation in two calendars is one meeting.
std::vector<Occurrence> without_duplicates(std::vector<Occurrence> all) {
  std::set<std::tuple<std::string, int64_t, int64_t>> seen;
  std::vector<Occurrence> out;
  for (auto& o : all) {
    if (!o.uid.empty() && !seen.insert({o.uid, o.start_ms, o.first_day}).second) continue;
    out.push_back(std::move(o));
  }
  return out;
}

const char* span_name(AgendaSpan span) { return span == AgendaSpan::day ? "today and tomorrow" : "the coming week"; }

}  // namespace

CalendarAgent::CalendarAgent(const AgentConfig& config) : zone_(TimeZone::system_local()) {
  ConfigReader s(config.file.string(), config.settings, "/settings",
                 {"window", "time_zone", "glob", "back_to_back_gap", "back_to_back_min", "brief_facts_chars"});
  std::string window = "day";
  s.one_of("window", window, {"day", "week"});
  span_ = window == "day" ? AgendaSpan::day : AgendaSpan::week;
  zone_ = read_time_zone(s, "time_zone");
  s.string("glob", glob_);
  if (glob_.empty()) s.fail(s.at("glob"), "an empty pattern");
  std::chrono::milliseconds gap{gap_ms_};
  s.duration("back_to_back_gap", gap);
  gap_ms_ = gap.count();
  s.integer("back_to_back_min", min_run_, 2, 50);
  s.integer("brief_facts_chars", brief_facts_chars_, 200, 50000);
  if (config.read_folders.empty()) {
    throw ConfigError(config.file.string() + ": /folders/read: the calendar plugin needs a folder of .ics files");
  }
  if (config.write_folders.empty()) {
    throw ConfigError(config.file.string() + ": /folders/write: the calendar plugin needs a folder for its agenda");
  }
}

AgendaSpan CalendarAgent::span_for(TaskContext& ctx) const {
  std::string input = text::trim(ctx.input());
  if (input == "day") return AgendaSpan::day;
  if (input == "week") return AgendaSpan::week;
  if (!input.empty()) ctx.log("input ignored (expected \"day\" or \"week\")", {{"input", input.substr(0, 100)}});
  return span_;
}

std::vector<Occurrence> CalendarAgent::read_calendars(TaskContext& ctx, const TimeWindow& window) const {
  std::vector<Occurrence> all;
  int files = 0, usable = 0;
  for (const auto& folder : distinct(ctx.config().read_folders)) {
    std::vector<std::filesystem::path> paths;
    try {
      paths = ctx.list_files(folder, glob_);
    } catch (const FileAccessError& e) {
      ctx.log("calendar folder skipped", {{"file", folder.string()}, {"error", e.what()}});
      continue;
    }
    for (const auto& path : paths) {
      ctx.check_cancelled();
      ++files;
      try {
        IcsExpansion x = expand_ics(ctx.read_file(path), zone_, window);
        for (size_t i = 0; i < x.problems.size() && i < kMaxProblemsLogged; ++i) {
          ctx.log("calendar entry skipped or adjusted", {{"file", path.string()}, {"error", x.problems[i]}});
        }
        ++usable;
        all.insert(all.end(), std::make_move_iterator(x.occurrences.begin()), std::make_move_iterator(x.occurrences.end()));
      } catch (const std::exception& e) {  // IcsError, FileAccessError (too large, unreadable)
        ctx.log("calendar file skipped", {{"file", path.string()}, {"error", e.what()}});
      }
    }
  }
  if (files == 0) throw std::runtime_error("no calendar files (" + glob_ + ") in the read folders");
  if (usable == 0) {
    throw std::runtime_error("none of the " + std::to_string(files) + " calendar file(s) could be read (see the log)");
  }
  return without_duplicates(std::move(all));
}

std::string CalendarAgent::brief(TaskContext& ctx, AgendaSpan span, const std::string& facts) const {
  // The instruction first, the same every run, then the agenda: the engine's prefix cache
  // prefills the instruction once.
  GenerateOptions o;
  o.prompt = std::string("Write a short brief of the agenda below for the user in at most four sentences: how busy it "
                         "is, the conflicts to resolve and where there is no break. Use only the events listed.\n\n"
                         "The user's calendar for ") +
             span_name(span) + ", computed exactly:\n\n" + facts;
  std::string text = text::trim(ctx.generate(o).text);
  if (text.size() > kMaxBriefChars) text = text.substr(0, kMaxBriefChars) + "...";
  return text.empty() ? "(The model wrote no brief; the schedule below is complete.)" : text;
}

std::string CalendarAgent::run(TaskContext& ctx) {
  AgendaSpan span = span_for(ctx);
  TimeWindow window = agenda_window(ctx.now_ms(), zone_, span);
  Agenda agenda = build_agenda(read_calendars(ctx, window), gap_ms_, min_run_);
  std::string facts = agenda_markdown(agenda, window, zone_);
  std::string summary =
      agenda.events.empty() ? "Nothing scheduled for " + std::string(span_name(span)) + "."
                            : brief(ctx, span, agenda_brief_facts(agenda, window, zone_, size_t(brief_facts_chars_)));
  std::string date = zone_.format(ctx.now_ms(), "%Y-%m-%d");
  std::string report = "# Agenda " + date + "\n\n" + summary + "\n\n## Schedule\n\n" + facts;
  ctx.write_file("agenda-" + date + ".md", report);
  return report;
}

}  // namespace agentd::agents
