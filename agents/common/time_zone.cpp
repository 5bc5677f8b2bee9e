#include "agents/common/time_zone.hpp"

#include <date/tz.h>

#include <stdexcept>

#include "agents/config_reader.hpp"

namespace agentd::agents {

namespace {

using namespace std::chrono;

date::local_seconds local_seconds_of(const LocalDateTime& t) {
  return date::local_days{date::year{t.year} / t.month / t.day} + hours{t.hour} + minutes{t.minute} +
         seconds{t.second};
}

}  // namespace

int64_t days_from_civil(int year, int month, int day) {
  return date::sys_days{date::year{year} / month / day}.time_since_epoch().count();
}

LocalDateTime civil_from_days(int64_t days) {
  date::year_month_day ymd{date::sys_days{date::days{days}}};
  return {int(ymd.year()), int(unsigned(ymd.month())), int(unsigned(ymd.day()))};
}

TimeZone::TimeZone(const std::string& iana_name) : name_(iana_name) {
  try {
    zone_ = date::locate_zone(iana_name);
  } catch (const std::exception&) {
    throw std::invalid_argument("'" + iana_name + "' is not an IANA time zone (e.g. Europe/Paris, UTC)");
  }
}

TimeZone TimeZone::system_local() {
  try {
    return TimeZone(std::string(date::current_zone()->name()));
  } catch (const std::exception&) {
    return TimeZone("UTC");
  }
}

LocalDateTime TimeZone::to_local(int64_t utc_ms) const {
  auto local = zone_->to_local(sys_seconds{floor<seconds>(milliseconds{utc_ms})});
  auto day = floor<date::days>(local);
  date::year_month_day ymd{day};
  date::hh_mm_ss<seconds> hms{local - day};
  return {int(ymd.year()), int(unsigned(ymd.month())), int(unsigned(ymd.day())), int(hms.hours().count()),
          int(hms.minutes().count()), int(hms.seconds().count())};
}

int64_t TimeZone::to_utc_ms(const LocalDateTime& t) const {
  date::local_seconds local = local_seconds_of(t);
  date::local_info info = zone_->get_info(local);
  // unique and ambiguous: the first offset (the earlier instant); nonexistent: the offset before the gap.
  sys_seconds utc{local.time_since_epoch() - info.first.offset};
  return duration_cast<milliseconds>(utc.time_since_epoch()).count();
}

int64_t TimeZone::local_day(int64_t utc_ms) const {
  auto local = zone_->to_local(sys_seconds{floor<seconds>(milliseconds{utc_ms})});
  return floor<date::days>(local).time_since_epoch().count();
}

int64_t TimeZone::start_of_day(int64_t day) const {
  LocalDateTime midnight = civil_from_days(day);
  return to_utc_ms(midnight);
}

std::string TimeZone::format(int64_t utc_ms, const char* format) const {
  return date::format(format, date::make_zoned(zone_, sys_seconds{floor<seconds>(milliseconds{utc_ms})}));
}

TimeZone read_time_zone(const ConfigReader& settings, const char* key) {
  if (!settings.has(key)) return TimeZone::system_local();
  std::string name;
  settings.string(key, name);
  try {
    return TimeZone(name);
  } catch (const std::invalid_argument& e) {
    settings.fail(settings.at(key), e.what());
  }
}

}  // namespace agentd::agents
