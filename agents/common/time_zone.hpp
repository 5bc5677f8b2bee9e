// TimeZone: an IANA time zone from the system's tz database (Howard Hinnant's date/tz), as the
// shipped agents use it for "the user's day": local dates for file names, local times in
// reports, local midnights for agenda windows. Kept free of date/tz types so that a header
// including this one does not need the library's compile definitions.
//
// Daylight saving time, the same rule as RFC 5545 (iCalendar) asks of recurring events:
// - a local time in a spring-forward gap is read with the offset in force before the gap
//   (02:30 on a 02:00->03:00 night is 03:30 new time);
// - a local time that happens twice (fall back) is its first occurrence.
#pragma once

#include <cstdint>
#include <string>

namespace date {
class time_zone;
}

namespace agentd::agents {

class ConfigReader;

// A calendar date and wall-clock time, no zone attached.
struct LocalDateTime {
  int year = 1970;
  int month = 1;  // 1..12
  int day = 1;    // 1..31
  int hour = 0, minute = 0, second = 0;
  bool operator==(const LocalDateTime&) const = default;
};

// Days since 1970-01-01 of a proleptic Gregorian date, and back.
int64_t days_from_civil(int year, int month, int day);
LocalDateTime civil_from_days(int64_t days);

class TimeZone {
 public:
  // Throws std::invalid_argument naming the zone if the tz database does not know it.
  explicit TimeZone(const std::string& iana_name);
  // The system's local zone (/etc/localtime), UTC if it cannot be determined.
  static TimeZone system_local();

  const std::string& name() const { return name_; }
  LocalDateTime to_local(int64_t utc_ms) const;
  int64_t to_utc_ms(const LocalDateTime& local) const;
  // Days since the epoch of the local date at `utc_ms`.
  int64_t local_day(int64_t utc_ms) const;
  // The instant of local midnight starting `day` (days since the epoch).
  int64_t start_of_day(int64_t day) const;
  // date::format of the local time, e.g. "%Y-%m-%d", "%H:%M", "%A".
  std::string format(int64_t utc_ms, const char* format) const;

 private:
  const date::time_zone* zone_;
  std::string name_;
};

// Reads the IANA zone name at `key` of a plugin's settings (default: the system's local zone).
// Throws ConfigError naming the file and JSON path for a zone the tz database does not know.
TimeZone read_time_zone(const ConfigReader& settings, const char* key);

}  // namespace agentd::agents
