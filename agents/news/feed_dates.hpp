// The two date formats of feeds, read into milliseconds since the epoch (UTC) by the libraries
// that already read them for the rest of agentd:
//
// - RFC 822 as amended by RFC 1123/2822 (RSS pubDate): "Tue, 10 Jun 2003 04:00:00 GMT", by
//   GMime's mail-date parser, as lenient as mail readers are with what real senders write: the day
//   name and seconds optional, 2-digit years (00-49 are 20xx), zone names (GMT, EST, PDT, ...) and
//   +hhmm; an unknown zone reads as UTC and words after the zone are ignored.
// - RFC 3339 (Atom, dc:date): "2003-12-13T18:30:02Z", "2003-12-13T18:30:02.25+01:00", by GLib's
//   ISO 8601 parser; 't', 'z' and a space instead of 'T' accepted; a zone is required; fractions
//   kept to the millisecond.
//
// A date that does not exist (31 April, 25:00, a leap second), no date at all, or a date-time
// without a zone is nullopt: a feed item with an unreadable date is kept, undated.
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
