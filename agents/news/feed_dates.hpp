// The two date formats of feeds, parsed exactly into milliseconds since the epoch (UTC):
//
// - RFC 822 as amended by RFC 1123/2822 (RSS pubDate): "Tue, 10 Jun 2003 04:00:00 GMT". The day
//   name is optional, seconds are optional, the year has 4 digits or 2 (00-49 are 20xx, 50-99
//   19xx); the zone is +hhmm/-hhmm, UT, GMT, Z, EST/EDT, CST/CDT, MST/MDT, PST/PDT, or a
//   one-letter military zone (read as UTC, as RFC 2822 advises). Month names in any case.
// - RFC 3339 (Atom, dc:date): "2003-12-13T18:30:02Z", "2003-12-13T18:30:02.25+01:00"; 't', 'z'
//   and a space instead of 'T' accepted; fractions kept to the millisecond.
//
// Anything else, or a field out of range (month 13, 31 April, 25:00), is nullopt: a feed item
// with an unreadable date is kept, undated.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace agentd::agents {

std::optional<int64_t> parse_rfc822_date(std::string_view text);
std::optional<int64_t> parse_rfc3339_date(std::string_view text);
// RFC 3339 if it looks like one (starts with four digits and '-'), else RFC 822.
std::optional<int64_t> parse_feed_date(std::string_view text);

}  // namespace agentd::agents
