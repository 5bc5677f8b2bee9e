#include "agents/calendar/agenda.hpp"

#include <algorithm>
#include <tuple>

namespace agentd::agents {

namespace {

bool timed_with_length(const Occurrence& o) { return !o.all_day && o.end_ms > o.start_ms; }

std::string plural(size_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

std::string minutes_text(int64_t ms) {
  int64_t m = ms / 60000;
  if (m < 60) return std::to_string(m) + " min";
  std::string text = std::to_string(m / 60) + " h";
  if (m % 60) text += " " + std::to_string(m % 60) + " min";
  return text;
}

// "09:00", or "Wed 01:00" when the time falls on another day than `day`.
std::string clock(int64_t ms, int64_t day, const TimeZone& zone) {
  return zone.format(ms, zone.local_day(ms) == day ? "%H:%M" : "%a %H:%M");
}

std::string event_line(const Occurrence& o, int64_t day, const TimeZone& zone) {
  std::string when;
  if (o.all_day) {
    when = "all day";
    if (o.end_day - o.first_day > 1) when += " (until " + zone.format(zone.start_of_day(o.end_day - 1), "%a %d %b") + ")";
  } else if (o.end_ms == o.start_ms) {
    when = clock(o.start_ms, day, zone);
  } else {
    when = clock(o.start_ms, day, zone) + "–" + clock(o.end_ms, zone.local_day(o.start_ms), zone);
  }
  return "- " + when + ": " + o.summary + (o.location.empty() ? "" : " (" + o.location + ")") + "\n";
}

// The local day an event is listed under: its start day, or the window's first day for one
// already under way.
int64_t listed_day(const Occurrence& o, const TimeWindow& window, const TimeZone& zone) {
  int64_t day = o.all_day ? o.first_day : zone.local_day(o.start_ms);
  return std::max(day, window.first_day);
}

}  // namespace

TimeWindow agenda_window(int64_t now_ms, const TimeZone& zone, AgendaSpan span) {
  TimeWindow w;
  w.start_ms = now_ms;
  w.first_day = zone.local_day(now_ms);
  w.end_day = w.first_day + (span == AgendaSpan::day ? 2 : 8);
  w.end_ms = zone.start_of_day(w.end_day);
  return w;
}

Agenda build_agenda(std::vector<Occurrence> occurrences, int64_t gap_ms, int min_run) {
  Agenda a;
  a.events = std::move(occurrences);
  std::sort(a.events.begin(), a.events.end(), [](const Occurrence& x, const Occurrence& y) {
    return std::tie(x.start_ms, y.all_day, x.end_ms, x.summary, x.uid) <
           std::tie(y.start_ms, x.all_day, y.end_ms, y.summary, y.uid);
  });
  const auto& ev = a.events;
  for (size_t i = 0; i < ev.size(); ++i) {
    if (!timed_with_length(ev[i])) continue;
    for (size_t j = i + 1; j < ev.size() && ev[j].start_ms < ev[i].end_ms; ++j) {
      if (!timed_with_length(ev[j])) continue;
      a.conflicts.push_back({i, j, ev[j].start_ms, std::min(ev[i].end_ms, ev[j].end_ms)});
    }
  }
  std::vector<size_t> chain;
  int64_t chain_end = 0;
  auto close_chain = [&] {
    if (int(chain.size()) >= min_run) a.runs.push_back(chain);
    chain.clear();
  };
  for (size_t i = 0; i < ev.size(); ++i) {
    if (!timed_with_length(ev[i])) continue;
    if (!chain.empty() && ev[i].start_ms - chain_end >= gap_ms) close_chain();
    chain_end = chain.empty() ? ev[i].end_ms : std::max(chain_end, ev[i].end_ms);
    chain.push_back(i);
  }
  close_chain();
  return a;
}

namespace {

std::string summary_line(const Agenda& agenda, const TimeWindow& window, const TimeZone& zone) {
  return plural(agenda.events.size(), "event", "events") + " from " + zone.format(window.start_ms, "%a %d %b %H:%M") +
         " to " + zone.format(window.end_ms, "%a %d %b %H:%M") + " (" + zone.name() + "); " +
         plural(agenda.conflicts.size(), "conflict", "conflicts") + "; " +
         plural(agenda.runs.size(), "back-to-back run", "back-to-back runs") + ".\n";
}

std::string events_block(const Agenda& agenda, const TimeWindow& window, const TimeZone& zone) {
  std::string md;
  int64_t current_day = -1;
  for (const Occurrence& o : agenda.events) {
    int64_t day = listed_day(o, window, zone);
    if (day != current_day) {
      md += "\n### " + zone.format(zone.start_of_day(day), "%A %d %B %Y") + "\n\n";
      current_day = day;
    }
    md += event_line(o, day, zone);
  }
  return md;
}

std::string conflicts_block(const Agenda& agenda, const TimeZone& zone) {
  if (agenda.conflicts.empty()) return "";
  const auto& ev = agenda.events;
  std::string md = "\n### Conflicts\n\n";
  for (const Conflict& c : agenda.conflicts) {
    int64_t day = zone.local_day(c.overlap_start_ms);
    md += "- " + zone.format(c.overlap_start_ms, "%a %d %b %H:%M") + "–" + clock(c.overlap_end_ms, day, zone) + ": " +
          ev[c.first].summary + " overlaps " + ev[c.second].summary + " (" +
          minutes_text(c.overlap_end_ms - c.overlap_start_ms) + ")\n";
  }
  return md;
}

std::string runs_block(const Agenda& agenda, const TimeZone& zone) {
  if (agenda.runs.empty()) return "";
  const auto& ev = agenda.events;
  std::string md = "\n### Back-to-back\n\n";
  for (const auto& run : agenda.runs) {
    int64_t end = 0;
    std::string titles;
    for (size_t i : run) {
      end = std::max(end, ev[i].end_ms);
      titles += (titles.empty() ? "" : ", ") + ev[i].summary;
    }
    int64_t start = ev[run.front()].start_ms;
    md += "- " + zone.format(start, "%a %d %b %H:%M") + "–" + clock(end, zone.local_day(start), zone) + ": " +
          std::to_string(run.size()) + " events back to back (" + titles + ")\n";
  }
  return md;
}

}  // namespace

std::string agenda_markdown(const Agenda& agenda, const TimeWindow& window, const TimeZone& zone) {
  return summary_line(agenda, window, zone) + events_block(agenda, window, zone) + conflicts_block(agenda, zone) +
         runs_block(agenda, zone);
}

std::string agenda_brief_facts(const Agenda& agenda, const TimeWindow& window, const TimeZone& zone, size_t max_chars) {
  std::string out = summary_line(agenda, window, zone);
  size_t left_out = 0;
  for (const std::string& block : {conflicts_block(agenda, zone), runs_block(agenda, zone), events_block(agenda, window, zone)}) {
    size_t start = 0;
    while (start < block.size()) {
      size_t end = block.find('\n', start);
      end = end == std::string::npos ? block.size() : end + 1;
      std::string_view line(block.data() + start, end - start);
      if (left_out == 0 && out.size() + line.size() <= max_chars) {
        out += line;
      } else if (line.starts_with("- ")) {
        ++left_out;
      }
      start = end;
    }
  }
  if (left_out) out += "\n(" + std::to_string(left_out) + " more lines not shown here)\n";
  return out;
}

}  // namespace agentd::agents
