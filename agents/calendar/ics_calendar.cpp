#include "agents/calendar/ics_calendar.hpp"

#include <libical/ical.h>

#include <map>
#include <memory>
#include <optional>
#include <set>

namespace agentd::agents {

namespace {

struct ComponentFree {
  void operator()(icalcomponent* c) const { icalcomponent_free(c); }
};
struct IteratorFree {
  void operator()(icalrecur_iterator* i) const { icalrecur_iterator_free(i); }
};

LocalDateTime fields_of(const icaltimetype& t) {
  return {t.year, t.month, t.day, t.is_date ? 0 : t.hour, t.is_date ? 0 : t.minute, t.is_date ? 0 : t.second};
}

icaltimetype wall_time(const LocalDateTime& l, bool is_date) {
  icaltimetype t = icaltime_null_time();
  t.year = l.year, t.month = l.month, t.day = l.day;
  t.hour = l.hour, t.minute = l.minute, t.second = l.second;
  t.is_date = is_date;
  return t;
}

// The properties of one kind, collected first: libical's component iterator is shared state that
// any getter (icalcomponent_get_summary, ...) resets, so it must not be live across other calls.
std::vector<icalproperty*> properties_of(icalcomponent* e, icalproperty_kind kind) {
  std::vector<icalproperty*> found;
  for (auto* p = icalcomponent_get_first_property(e, kind); p; p = icalcomponent_get_next_property(e, kind)) {
    found.push_back(p);
  }
  return found;
}

int64_t day_of(const icaltimetype& t) { return days_from_civil(t.year, t.month, t.day); }

icaltimetype add_days(const icaltimetype& t, int days) {
  LocalDateTime l = civil_from_days(day_of(t) + days);
  l.hour = t.hour, l.minute = t.minute, l.second = t.second;
  return wall_time(l, t.is_date);
}

std::string one_line(const char* text, size_t max_chars = 200) {
  std::string s = text ? text : "";
  for (char& c : s) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  if (s.size() > max_chars) s = s.substr(0, max_chars) + "...";
  return s;
}

// How the DATE-TIME values of one property become instants.
class ValueZone {
 public:
  static ValueZone utc() { return ValueZone(Kind::utc); }
  static ValueZone user(const TimeZone& z) { ValueZone v(Kind::tzdb); v.tz_ = &z; return v; }
  static ValueZone tzdb(TimeZone z) { ValueZone v(Kind::tzdb); v.owned_ = std::move(z); return v; }
  static ValueZone vtimezone(icaltimezone* z) { ValueZone v(Kind::vtimezone); v.ical_ = z; return v; }

  int64_t to_utc_ms(const icaltimetype& t) const {
    switch (kind_) {
      case Kind::utc: {
        LocalDateTime l = fields_of(t);
        return (days_from_civil(l.year, l.month, l.day) * 86400 + l.hour * 3600 + l.minute * 60 + l.second) * 1000;
      }
      case Kind::tzdb: return zone().to_utc_ms(fields_of(t));
      case Kind::vtimezone: {
        icaltimetype copy = t;
        copy.zone = nullptr;
        return static_cast<int64_t>(icaltime_as_timet_with_zone(copy, ical_)) * 1000;
      }
    }
    return 0;
  }

  // The wall time of an instant in this zone.
  icaltimetype to_wall(int64_t utc_ms) const {
    switch (kind_) {
      case Kind::utc: {
        int64_t s = utc_ms / 1000, day = s / 86400 - (s % 86400 < 0);
        int64_t rest = s - day * 86400;
        LocalDateTime l = civil_from_days(day);
        l.hour = int(rest / 3600), l.minute = int(rest / 60 % 60), l.second = int(rest % 60);
        return wall_time(l, false);
      }
      case Kind::tzdb: return wall_time(zone().to_local(utc_ms), false);
      case Kind::vtimezone: {
        icaltimetype t = icaltime_from_timet_with_zone(static_cast<time_t>(utc_ms / 1000), 0, ical_);
        t.zone = nullptr;
        return t;
      }
    }
    return icaltime_null_time();
  }

 private:
  enum class Kind { utc, tzdb, vtimezone };
  explicit ValueZone(Kind k) : kind_(k) {}
  const TimeZone& zone() const { return owned_ ? *owned_ : *tz_; }

  Kind kind_;
  const TimeZone* tz_ = nullptr;
  std::optional<TimeZone> owned_;
  icaltimezone* ical_ = nullptr;
};

// One VEVENT's start, zone and length.
struct EventTimes {
  icaltimetype start;  // wall time (or date) as written, zone stripped
  ValueZone zone;
  bool all_day = false;
  int nominal_days = 0;  // days added to the wall time
  int64_t exact_ms = 0;  // then this much time
};

// An occurrence's identity for EXDATE and RECURRENCE-ID: an instant, or a local day.
struct InstanceKeys {
  std::set<int64_t> instants;
  std::set<int64_t> days;
};

class FileExpander {
 public:
  FileExpander(icalcomponent* calendar, const TimeZone& user, const TimeWindow& window, IcsExpansion& out)
      : calendar_(calendar), user_(user), window_(window), out_(out) {}

  void run() {
    std::vector<icalcomponent*> events;
    for (auto* e = icalcomponent_get_first_component(calendar_, ICAL_VEVENT_COMPONENT); e;
         e = icalcomponent_get_next_component(calendar_, ICAL_VEVENT_COMPONENT)) {
      if (out_.events + int(events.size()) >= kMaxEventsPerFile) {
        out_.problems.push_back("more than " + std::to_string(kMaxEventsPerFile) + " events; the rest ignored");
        break;
      }
      events.push_back(e);
    }
    out_.events += int(events.size());
    collect_overrides(events);
    for (icalcomponent* e : events) expand_event(e);
  }

 private:
  std::string name_of(icalcomponent* e) const {
    std::string summary = one_line(icalcomponent_get_summary(e));
    std::string uid = one_line(icalcomponent_get_uid(e));
    return "event '" + (summary.empty() ? "(no title)" : summary) + "'" + (uid.empty() ? "" : " (uid " + uid + ")");
  }
  void problem(icalcomponent* e, const std::string& what) { out_.problems.push_back(name_of(e) + ": " + what); }

  // Notes the values libical could not parse (it keeps them as X-LIC-ERROR properties).
  void note_parse_errors(icalcomponent* e) {
    for (icalproperty* p : properties_of(e, ICAL_XLICERROR_PROPERTY)) {
      problem(e, "ignored a value libical could not parse: " + one_line(icalproperty_get_xlicerror(p)));
    }
  }

  ValueZone zone_of(icalcomponent* e, icalproperty* prop, const icaltimetype& t) {
    if (icaltime_is_utc(t)) return ValueZone::utc();
    icalparameter* param = icalproperty_get_first_parameter(prop, ICAL_TZID_PARAMETER);
    if (!param || t.is_date) return ValueZone::user(user_);
    const char* tzid = icalparameter_get_tzid(param);
    std::string name = tzid ? tzid : "";
    if (icaltimezone* z = icalcomponent_get_timezone(calendar_, name.c_str())) return ValueZone::vtimezone(z);
    try {
      return ValueZone::tzdb(TimeZone(name));
    } catch (const std::invalid_argument&) {
      problem(e, "unknown time zone '" + one_line(name.c_str()) + "'; read in " + user_.name());
      return ValueZone::user(user_);
    }
  }

  // The identity of a DATE or DATE-TIME property value (EXDATE, RECURRENCE-ID).
  void add_key(icalcomponent* e, icalproperty* prop, const icaltimetype& t, InstanceKeys& keys) {
    if (icaltime_is_null_time(t)) return;
    if (t.is_date) {
      keys.days.insert(day_of(t));
    } else {
      keys.instants.insert(zone_of(e, prop, t).to_utc_ms(t));
    }
  }

  void collect_overrides(const std::vector<icalcomponent*>& events) {
    for (icalcomponent* e : events) {
      icalproperty* rid = icalcomponent_get_first_property(e, ICAL_RECURRENCEID_PROPERTY);
      if (!rid) continue;
      add_key(e, rid, icalproperty_get_recurrenceid(rid), overridden_[one_line(icalcomponent_get_uid(e))]);
    }
  }

  std::optional<EventTimes> times_of(icalcomponent* e) {
    icalproperty* dtstart = icalcomponent_get_first_property(e, ICAL_DTSTART_PROPERTY);
    icaltimetype start = dtstart ? icalproperty_get_dtstart(dtstart) : icaltime_null_time();
    if (!dtstart || icaltime_is_null_time(start)) {
      problem(e, "no usable DTSTART; skipped");
      return std::nullopt;
    }
    EventTimes t{start, zone_of(e, dtstart, start), bool(start.is_date)};
    t.start.zone = nullptr;
    if (icalproperty* dtend = icalcomponent_get_first_property(e, ICAL_DTEND_PROPERTY)) {
      icaltimetype end = icalproperty_get_dtend(dtend);
      if (t.all_day) {
        t.nominal_days = int(day_of(end) - day_of(start));
      } else {
        t.exact_ms = zone_of(e, dtend, end).to_utc_ms(end) - t.zone.to_utc_ms(t.start);
      }
    } else if (icalproperty* dur = icalcomponent_get_first_property(e, ICAL_DURATION_PROPERTY)) {
      icaldurationtype d = icalproperty_get_duration(dur);
      int sign = d.is_neg ? -1 : 1;
      t.nominal_days = sign * int(d.weeks * 7 + d.days);
      t.exact_ms = sign * int64_t(d.hours * 3600 + d.minutes * 60 + d.seconds) * 1000;
    } else if (t.all_day) {
      t.nominal_days = 1;
    }
    if (t.nominal_days < 0 || t.exact_ms < 0 || (t.all_day && t.nominal_days == 0)) {
      problem(e, "ends before it starts; shown with no length");
      t.nominal_days = t.all_day ? 1 : 0;
      t.exact_ms = 0;
    }
    return t;
  }

  // The occurrence starting at wall time `s` (in the event's zone).
  Occurrence occurrence_at(icalcomponent* e, const EventTimes& t, const icaltimetype& s) const {
    Occurrence o;
    o.uid = one_line(icalcomponent_get_uid(e));
    o.summary = one_line(icalcomponent_get_summary(e));
    if (o.summary.empty()) o.summary = "(no title)";
    o.location = one_line(icalcomponent_get_location(e));
    o.all_day = t.all_day;
    if (t.all_day) {
      o.first_day = day_of(s);
      o.end_day = o.first_day + t.nominal_days;
      o.start_ms = user_.start_of_day(o.first_day);
      o.end_ms = user_.start_of_day(o.end_day);
    } else {
      o.start_ms = t.zone.to_utc_ms(s);
      o.end_ms = (t.nominal_days ? t.zone.to_utc_ms(add_days(s, t.nominal_days)) : o.start_ms) + t.exact_ms;
    }
    return o;
  }

  bool in_window(const Occurrence& o) const {
    if (o.all_day) return o.first_day < window_.end_day && o.end_day > window_.first_day;
    if (o.end_ms == o.start_ms) return o.start_ms >= window_.start_ms && o.start_ms < window_.end_ms;
    return o.start_ms < window_.end_ms && o.end_ms > window_.start_ms;
  }

  bool after_window(const EventTimes& t, const icaltimetype& s) const {
    return t.all_day ? day_of(s) >= window_.end_day : t.zone.to_utc_ms(s) >= window_.end_ms;
  }

  bool matches(const InstanceKeys& keys, const EventTimes& t, const icaltimetype& s) const {
    if (keys.days.count(day_of(s))) return true;
    if (t.all_day) {
      for (int64_t instant : keys.instants) {
        if (user_.local_day(instant) == day_of(s)) return true;
      }
      return false;
    }
    return keys.instants.count(t.zone.to_utc_ms(s)) > 0;
  }

  // Whether occurrence start `s` is past the rule's UNTIL (compared as an instant or a date).
  bool past_until(const EventTimes& t, const icaltimetype& until, const icaltimetype& s) {
    if (icaltime_is_null_time(until)) return false;
    if (until.is_date || t.all_day) {
      int64_t until_day = until.is_date || !icaltime_is_utc(until) ? day_of(until)
                                                                    : user_.local_day(ValueZone::utc().to_utc_ms(until));
      return day_of(s) > until_day;
    }
    ValueZone until_zone = icaltime_is_utc(until) ? ValueZone::utc() : t.zone;
    return t.zone.to_utc_ms(s) > until_zone.to_utc_ms(until);
  }

  // The wall-time starts of one RRULE that can reach the window.
  void rule_starts(icalcomponent* e, icalproperty* prop, const EventTimes& t, std::vector<icaltimetype>& starts) {
    icalrecurrencetype rule = icalproperty_get_rrule(prop);
    if (rule.freq == ICAL_NO_RECURRENCE) {
      problem(e, "an RRULE without a usable FREQ; ignored");
      return;
    }
    icaltimetype until = rule.until;
    rule.until = icaltime_null_time();  // compared here, as an instant, whatever the zones
    std::unique_ptr<icalrecur_iterator, IteratorFree> it(icalrecur_iterator_new(rule, t.start));
    if (!it) {
      problem(e, "an RRULE libical cannot expand; ignored");
      return;
    }
    for (;; ++steps_) {
      if (steps_ >= kMaxRecurrenceSteps) {
        if (steps_++ == kMaxRecurrenceSteps) {  // said once, at the rule that spent the budget
          problem(e, "recurrence cut: the file's budget of " + std::to_string(kMaxRecurrenceSteps) +
                         " recurrence steps is spent (a rule starting long before the window walks every step)");
        }
        break;
      }
      icaltimetype s = icalrecur_iterator_next(it.get());
      if (icaltime_is_null_time(s) || past_until(t, until, s) || after_window(t, s)) break;
      s.zone = nullptr;
      starts.push_back(s);
    }
  }

  std::vector<icaltimetype> starts_of(icalcomponent* e, const EventTimes& t, bool single) {
    std::vector<icaltimetype> starts;
    bool has_rule = false;
    for (icalproperty* p : single ? std::vector<icalproperty*>{} : properties_of(e, ICAL_RRULE_PROPERTY)) {
      has_rule = true;
      rule_starts(e, p, t, starts);
    }
    if (!has_rule) starts.push_back(t.start);
    for (icalproperty* p : single ? std::vector<icalproperty*>{} : properties_of(e, ICAL_RDATE_PROPERTY)) {
      icaldatetimeperiodtype r = icalproperty_get_rdate(p);
      icaltimetype when = icaltime_is_null_time(r.time) ? r.period.start : r.time;
      if (icaltime_is_null_time(when)) continue;
      if (when.is_date || t.all_day) {
        starts.push_back(wall_time(civil_from_days(day_of(when)), t.all_day));
      } else {
        starts.push_back(t.zone.to_wall(zone_of(e, p, when).to_utc_ms(when)));
      }
    }
    return starts;
  }

  void expand_event(icalcomponent* e) {
    note_parse_errors(e);
    if (icalcomponent_get_status(e) == ICAL_STATUS_CANCELLED) return;
    std::optional<EventTimes> t = times_of(e);
    if (!t) return;
    bool is_override = icalcomponent_get_first_property(e, ICAL_RECURRENCEID_PROPERTY) != nullptr;
    InstanceKeys excluded;
    for (icalproperty* p : properties_of(e, ICAL_EXDATE_PROPERTY)) {
      add_key(e, p, icalproperty_get_exdate(p), excluded);
    }
    auto overrides = overridden_.find(one_line(icalcomponent_get_uid(e)));
    std::set<std::pair<int64_t, int64_t>> seen;  // RRULE and RDATE may name one start twice
    for (const icaltimetype& s : starts_of(e, *t, is_override)) {
      if (!is_override && (matches(excluded, *t, s) ||
                           (overrides != overridden_.end() && matches(overrides->second, *t, s)))) {
        continue;
      }
      Occurrence o = occurrence_at(e, *t, s);
      if (!in_window(o) || !seen.insert({o.start_ms, o.first_day}).second) continue;
      if (int(out_.occurrences.size()) >= kMaxOccurrences) {
        problem(e, "more than " + std::to_string(kMaxOccurrences) + " occurrences in the window; the rest ignored");
        return;
      }
      out_.occurrences.push_back(std::move(o));
    }
  }

  icalcomponent* calendar_;
  const TimeZone& user_;
  const TimeWindow& window_;
  IcsExpansion& out_;
  // Recurrence steps taken over the whole file: a per-rule bound alone would let a hostile file
  // multiply it by kMaxEventsPerFile.
  int steps_ = 0;
  std::map<std::string, InstanceKeys> overridden_;  // by UID: starts replaced by a RECURRENCE-ID event
};

}  // namespace

IcsExpansion expand_ics(std::string_view text, const TimeZone& user_zone, const TimeWindow& window) {
  std::string copy(text);  // libical wants a NUL-terminated string
  std::unique_ptr<icalcomponent, ComponentFree> root(icalparser_parse_string(copy.c_str()));
  if (!root) throw IcsError("not an iCalendar file (no complete BEGIN:VCALENDAR ... END:VCALENDAR)");
  std::vector<icalcomponent*> calendars;
  if (icalcomponent_isa(root.get()) == ICAL_VCALENDAR_COMPONENT) {
    calendars.push_back(root.get());
  } else if (icalcomponent_isa(root.get()) == ICAL_XROOT_COMPONENT) {  // several VCALENDARs in one file
    for (auto* c = icalcomponent_get_first_component(root.get(), ICAL_VCALENDAR_COMPONENT); c;
         c = icalcomponent_get_next_component(root.get(), ICAL_VCALENDAR_COMPONENT)) {
      calendars.push_back(c);
    }
  }
  if (calendars.empty()) {
    // libical has no name for some kinds (a "BEGIN:" with none): NULL, not a string.
    const char* kind = icalcomponent_kind_to_string(icalcomponent_isa(root.get()));
    throw IcsError(std::string("not an iCalendar file (the top component is ") +
                   (kind && *kind ? kind : "unnamed") + ", not VCALENDAR)");
  }
  IcsExpansion out;
  for (icalcomponent* calendar : calendars) FileExpander(calendar, user_zone, window, out).run();
  return out;
}

}  // namespace agentd::agents
