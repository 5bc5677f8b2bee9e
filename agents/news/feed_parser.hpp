// RSS 2.0, RSS 1.0 (RDF) and Atom 1.0 feeds parsed with pugixml into plain items.
//
// Elements are matched by local name (a "dc:" or "atom:" prefix does not matter; an unprefixed
// element wins over a prefixed one of the same name). Text is every character of the element
// (CDATA and escaped text alike); HTML in titles and descriptions is reduced to plain text
// (tags dropped, entities such as &amp; &nbsp; &#8217; decoded, blank runs collapsed).
//
//   RSS item:   id = guid; link = link, else a guid that is a permalink URL; title; summary =
//               description, else content:encoded; published = pubDate, else dc:date; author =
//               author, else dc:creator.
//   Atom entry: id; link = href of the rel="alternate" (or rel-less) link, else the first link;
//               title; summary = summary, else content; published = published, else updated;
//               author = author/name.
//
// Missing fields are empty strings (no date: nullopt). An item with no id, link, title or text is
// dropped and named in `problems`. Caps: kMaxItems items per feed, kMaxTitleChars and
// kMaxSummaryChars per field (longer text is cut at a word with "...").
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace agentd::agents {

class FeedError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct FeedItem {
  std::string id, title, link, summary, author;
  std::optional<int64_t> published_ms;
};

struct Feed {
  std::string format;  // "rss", "rdf" or "atom"
  std::string title, link;
  std::vector<FeedItem> items;
  std::vector<std::string> problems;
};

inline constexpr size_t kMaxItems = 500;
inline constexpr size_t kMaxTitleChars = 300;
inline constexpr size_t kMaxSummaryChars = 2000;
inline constexpr size_t kMaxLinkChars = 2000;

// Throws FeedError for XML that does not parse (with the reason and byte offset) or a document
// that is not RSS or Atom (naming its root element).
Feed parse_feed(std::string_view xml);

// HTML (or plain text) to one line of plain text (common/html_text), at most `max_chars` bytes
// (cut at a space).
std::string html_to_line(std::string_view html, size_t max_chars);

// The de-duplication key of an item: "id:<id>", else "link:<link>", else "title:<title>|<date>".
std::string item_key(const FeedItem& item);

}  // namespace agentd::agents
