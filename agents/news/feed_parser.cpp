#include "agents/news/feed_parser.hpp"

#include <pugixml.hpp>

#include <cstring>

#include "agents/common/html_text.hpp"
#include "agents/common/plain_text.hpp"
#include "agents/common/text_excerpt.hpp"
#include "agents/news/feed_dates.hpp"

namespace agentd::agents {

namespace {

std::string_view local_name(const pugi::xml_node& n) {
  std::string_view name = n.name();
  size_t colon = name.find(':');
  return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

// The child named `name`, unprefixed first, else any prefix.
pugi::xml_node child(const pugi::xml_node& parent, std::string_view name) {
  pugi::xml_node prefixed;
  for (pugi::xml_node c : parent.children()) {
    if (c.type() != pugi::node_element || local_name(c) != name) continue;
    if (std::string_view(c.name()) == name) return c;
    if (!prefixed) prefixed = c;
  }
  return prefixed;
}

// Every character of the element: text and CDATA, of its descendants too (Atom xhtml content).
void append_text(const pugi::xml_node& n, std::string& out) {
  for (pugi::xml_node c : n.children()) {
    if (c.type() == pugi::node_pcdata || c.type() == pugi::node_cdata) {
      out += c.value();
    } else if (c.type() == pugi::node_element) {
      append_text(c, out);
      out += ' ';
    }
  }
}

std::string text_of(const pugi::xml_node& n) {
  std::string out;
  if (n) append_text(n, out);
  return out;
}

std::string capped(std::string s, size_t max_chars) { return s.size() > max_chars ? s.substr(0, max_chars) : s; }

FeedItem rss_item(const pugi::xml_node& item) {
  FeedItem it;
  pugi::xml_node guid = child(item, "guid");
  it.id = capped(text::trim(text_of(guid)), kMaxLinkChars);
  it.link = capped(text::trim(text_of(child(item, "link"))), kMaxLinkChars);
  bool permalink = std::strcmp(guid.attribute("isPermaLink").as_string("true"), "false") != 0;
  if (it.link.empty() && permalink && (it.id.starts_with("http://") || it.id.starts_with("https://"))) it.link = it.id;
  it.title = html_to_line(text_of(child(item, "title")), kMaxTitleChars);
  pugi::xml_node description = child(item, "description");
  it.summary = html_to_line(text_of(description ? description : child(item, "encoded")), kMaxSummaryChars);
  pugi::xml_node date = child(item, "pubDate");
  it.published_ms = parse_feed_date(text_of(date ? date : child(item, "date")));
  pugi::xml_node author = child(item, "author");
  it.author = html_to_line(text_of(author ? author : child(item, "creator")), kMaxTitleChars);
  return it;
}

std::string atom_link(const pugi::xml_node& entry) {
  pugi::xml_node first;
  for (pugi::xml_node c : entry.children()) {
    if (c.type() != pugi::node_element || local_name(c) != "link") continue;
    std::string_view rel = c.attribute("rel").as_string("alternate");
    if (rel == "alternate") return c.attribute("href").as_string();
    if (!first) first = c;
  }
  return first.attribute("href").as_string();
}

FeedItem atom_entry(const pugi::xml_node& entry) {
  FeedItem it;
  it.id = capped(text::trim(text_of(child(entry, "id"))), kMaxLinkChars);
  it.link = capped(text::trim(atom_link(entry)), kMaxLinkChars);
  it.title = html_to_line(text_of(child(entry, "title")), kMaxTitleChars);
  pugi::xml_node summary = child(entry, "summary");
  it.summary = html_to_line(text_of(summary ? summary : child(entry, "content")), kMaxSummaryChars);
  pugi::xml_node date = child(entry, "published");
  it.published_ms = parse_feed_date(text_of(date ? date : child(entry, "updated")));
  it.author = html_to_line(text_of(child(child(entry, "author"), "name")), kMaxTitleChars);
  return it;
}

void add_items(Feed& feed, const pugi::xml_node& parent, std::string_view element, FeedItem (*read)(const pugi::xml_node&)) {
  size_t index = 0;
  for (pugi::xml_node c : parent.children()) {
    if (c.type() != pugi::node_element || local_name(c) != element) continue;
    ++index;
    if (feed.items.size() == kMaxItems) {
      feed.problems.push_back("more than " + std::to_string(kMaxItems) + " items; the rest ignored");
      return;
    }
    FeedItem it = read(c);
    if (it.id.empty() && it.link.empty() && it.title.empty() && it.summary.empty()) {
      feed.problems.push_back(std::string(element) + " " + std::to_string(index) + ": no id, link, title or text; skipped");
      continue;
    }
    feed.items.push_back(std::move(it));
  }
}

}  // namespace

std::string html_to_line(std::string_view html, size_t max_chars) {
  return one_line_excerpt(html_to_text(html), max_chars);
}

std::string item_key(const FeedItem& item) {
  if (!item.id.empty()) return "id:" + item.id;
  if (!item.link.empty()) return "link:" + item.link;
  return "title:" + item.title + "|" + (item.published_ms ? std::to_string(*item.published_ms) : "");
}

Feed parse_feed(std::string_view xml) {
  pugi::xml_document doc;
  pugi::xml_parse_result parsed = doc.load_buffer(xml.data(), xml.size(), pugi::parse_default);
  if (!parsed) {
    throw FeedError(std::string("malformed XML: ") + parsed.description() + " at byte " + std::to_string(parsed.offset));
  }
  pugi::xml_node root = doc.document_element();
  std::string_view name = local_name(root);
  Feed feed;
  if (name == "rss" || name == "RDF") {
    pugi::xml_node channel = child(root, "channel");
    feed.format = name == "rss" ? "rss" : "rdf";
    feed.title = html_to_line(text_of(child(channel, "title")), kMaxTitleChars);
    feed.link = capped(text::trim(text_of(child(channel, "link"))), kMaxLinkChars);
    add_items(feed, name == "rss" ? channel : root, "item", rss_item);  // RSS 1.0: items beside the channel
  } else if (name == "feed") {
    feed.format = "atom";
    feed.title = html_to_line(text_of(child(root, "title")), kMaxTitleChars);
    feed.link = capped(text::trim(atom_link(root)), kMaxLinkChars);
    add_items(feed, root, "entry", atom_entry);
  } else {
    throw FeedError("not an RSS or Atom feed (the root element is <" + std::string(root.name()) + ">)");
  }
  return feed;
}

}  // namespace agentd::agents
