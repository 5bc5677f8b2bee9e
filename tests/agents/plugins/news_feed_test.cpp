// The news plugin's deterministic parts: RSS 2.0 / RSS 1.0 / Atom parsing (CDATA, entities,
// missing fields, prefixes), the RFC 822 and RFC 3339 dates, HTML to text, item keys, and the
// bounded memory of seen items.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agents/common/time_zone.hpp"
#include "agents/news/feed_dates.hpp"
#include "agents/news/feed_parser.hpp"

namespace agentd::agents {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Optional;

int64_t utc(int y, int mo, int d, int h = 0, int mi = 0, int s = 0) {
  return (days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s) * 1000;
}

TEST(FeedDatesTest, ReadsRfc822Dates) {
  EXPECT_THAT(parse_rfc822_date("Tue, 10 Jun 2003 04:00:00 GMT"), Optional(utc(2003, 6, 10, 4)));
  EXPECT_THAT(parse_rfc822_date("Mon, 03 Mar 2025 09:30:00 +0100"), Optional(utc(2025, 3, 3, 8, 30)));
  EXPECT_THAT(parse_rfc822_date("Sat, 22 Feb 2025 08:00:00 EST"), Optional(utc(2025, 2, 22, 13)));
  EXPECT_THAT(parse_rfc822_date("Sat, 22 Feb 2025 08:00:00 PDT"), Optional(utc(2025, 2, 22, 15)));
  EXPECT_THAT(parse_rfc822_date("3 Mar 2025 23:15 -0530"), Optional(utc(2025, 3, 4, 4, 45)));   // no day, no seconds
  EXPECT_THAT(parse_rfc822_date("  01 jan 99 00:00:00 ut "), Optional(utc(1999, 1, 1)));         // 2-digit year
  EXPECT_THAT(parse_rfc822_date("Fri, 01 Feb 30 12:00:00 Z"), Optional(utc(2030, 2, 1, 12)));
  EXPECT_THAT(parse_rfc822_date("Thu, 29 Feb 2024 10:00:00 GMT"), Optional(utc(2024, 2, 29, 10)));
  // As lenient as a mail reader: no comma, a 1-digit hour, an unknown zone (UTC), words after it.
  EXPECT_THAT(parse_rfc822_date("Tue 10 Jun 2003 4:00 XYZ"), Optional(utc(2003, 6, 10, 4)));
  EXPECT_THAT(parse_rfc822_date("10 Jun 2003 04:00:00 +0200 (CEST)"), Optional(utc(2003, 6, 10, 2)));
}

TEST(FeedDatesTest, RefusesMalformedRfc822Dates) {
  for (const char* bad : {"", "  ", "yesterday", "10 Foo 2003 04:00:00 GMT", "31 Apr 2025 10:00:00 GMT",
                          "29 Feb 2025 10:00:00 GMT", "10 Jun 2003 24:00:00 GMT", "10 Jun 203 04:00:00 GMT",
                          "Wed, 31 Dec 2025 23:59:60 GMT", "Jun 2003", "2003"}) {
    EXPECT_EQ(parse_rfc822_date(bad), std::nullopt) << bad;
  }
  EXPECT_EQ(parse_rfc822_date(std::string("10 Jun 2003 04:00:00 GMT") + std::string(1, '\0') + "x"), std::nullopt);
  EXPECT_EQ(parse_rfc822_date("10 Jun 2003 04:00:00 GMT" + std::string(300, ' ') + "x"), std::nullopt);
}

TEST(FeedDatesTest, ReadsRfc3339Dates) {
  EXPECT_THAT(parse_rfc3339_date("2003-12-13T18:30:02Z"), Optional(utc(2003, 12, 13, 18, 30, 2)));
  EXPECT_THAT(parse_rfc3339_date("2025-03-04T11:45:00+01:00"), Optional(utc(2025, 3, 4, 10, 45)));
  EXPECT_THAT(parse_rfc3339_date("2025-02-28T09:00:00.000+01:00"), Optional(utc(2025, 2, 28, 8)));
  EXPECT_THAT(parse_rfc3339_date("2025-02-28t09:00:00.25z"), Optional(utc(2025, 2, 28, 9) + 250));
  EXPECT_THAT(parse_rfc3339_date("2025-02-28 09:00:00.123456789-04:30"), Optional(utc(2025, 2, 28, 13, 30) + 123));
}

TEST(FeedDatesTest, RefusesMalformedRfc3339Dates) {
  for (const char* bad : {"2025-02-28", "2025-02-28T09:00:00", "2025-13-01T00:00:00Z", "2025-02-30T00:00:00Z",
                          "2025-02-28T09:00Z", "2025-02-28T09:00:00.Z", "25-02-28T09:00:00Z",
                          "2025-02-28T09:00:00Z junk", "2025-02-28T25:00:00Z"}) {
    EXPECT_EQ(parse_rfc3339_date(bad), std::nullopt) << bad;
  }
}

TEST(FeedDatesTest, PicksTheFormatByItsShape) {
  EXPECT_THAT(parse_feed_date(" 2025-03-04T11:45:00Z"), Optional(utc(2025, 3, 4, 11, 45)));
  EXPECT_THAT(parse_feed_date("Tue, 04 Mar 2025 11:45:00 GMT"), Optional(utc(2025, 3, 4, 11, 45)));
  EXPECT_EQ(parse_feed_date("   "), std::nullopt);
}

TEST(HtmlToLineTest, DropsTagsDecodesEntitiesAndCollapsesSpace) {
  EXPECT_EQ(html_to_line("<p>Fast &amp; <b>small</b>&nbsp;builds&#8212;now&#x21;</p>\n\n<br/>a &lt; b", 100),
            "Fast & small builds\u2014now! a < b");
  EXPECT_EQ(html_to_line("AT&T &unknown; & co; 1 < 2", 100), "AT&T &unknown; & co; 1 < 2");
  EXPECT_EQ(html_to_line("one two three four", 9), "one two...");
  EXPECT_EQ(html_to_line("abcdefghijklmnop", 5), "abcde...");
  EXPECT_EQ(html_to_line("\xC3\xA9\xC3\xA9\xC3\xA9", 3), "\xC3\xA9...");  // never half a character
  EXPECT_EQ(html_to_line("a&#0;b&#xD800;c&#1114112;d", 100), "abcd");  // references to no character: dropped
  // A numeric non-breaking space is a space like &nbsp;, a numeric line break does not break the
  // line; names are HTML 4's, in their own case (&AMP; is text).
  EXPECT_EQ(html_to_line("a&#160;b&#xA0;&#10;c &AMP; d", 100), "a b c &AMP; d");
}

const char* kRss = R"(<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:content="http://purl.org/rss/1.0/modules/content/"
     xmlns:atom="http://www.w3.org/2005/Atom">
  <channel>
    <title>Garden &amp; Compilers</title>
    <link>https://blog.example.org/</link>
    <atom:link href="https://blog.example.org/feed.xml" rel="self"/>
    <item>
      <title><![CDATA[Release <2.0> & more]]></title>
      <link>https://blog.example.org/posts/2-0</link>
      <guid isPermaLink="true">https://blog.example.org/posts/2-0</guid>
      <pubDate>Mon, 03 Mar 2025 09:30:00 +0100</pubDate>
      <dc:creator>Ines</dc:creator>
      <description><![CDATA[<p>Builds <b>40%</b> faster.</p>]]> Plain tail &amp; more.</description>
    </item>
    <item>
      <guid>https://blog.example.org/posts/perma</guid>
      <dc:date>2025-02-27T16:05:00Z</dc:date>
      <content:encoded>&lt;p&gt;Only encoded content&lt;/p&gt;</content:encoded>
    </item>
    <item>
      <title>Not a permalink</title>
      <guid isPermaLink="false">post-116</guid>
      <pubDate>not a date</pubDate>
    </item>
    <item>
      <author>nobody@example.org</author>
    </item>
  </channel>
</rss>)";

TEST(FeedParserTest, ReadsRss2ItemsExactly) {
  Feed f = parse_feed(kRss);
  EXPECT_EQ(f.format, "rss");
  EXPECT_EQ(f.title, "Garden & Compilers");
  EXPECT_EQ(f.link, "https://blog.example.org/");
  ASSERT_EQ(f.items.size(), 3u);

  const FeedItem& a = f.items[0];
  EXPECT_EQ(a.id, "https://blog.example.org/posts/2-0");
  EXPECT_EQ(a.link, "https://blog.example.org/posts/2-0");
  EXPECT_EQ(a.title, "Release <2.0> & more");
  EXPECT_EQ(a.summary, "Builds 40% faster. Plain tail & more.");
  EXPECT_EQ(a.author, "Ines");
  EXPECT_THAT(a.published_ms, Optional(utc(2025, 3, 3, 8, 30)));

  const FeedItem& b = f.items[1];  // a permalink guid doubles as the link; dc:date; content:encoded
  EXPECT_EQ(b.link, "https://blog.example.org/posts/perma");
  EXPECT_EQ(b.title, "");
  EXPECT_EQ(b.summary, "Only encoded content");
  EXPECT_THAT(b.published_ms, Optional(utc(2025, 2, 27, 16, 5)));

  const FeedItem& c = f.items[2];  // isPermaLink="false": no link; an unreadable date: undated
  EXPECT_EQ(c.id, "post-116");
  EXPECT_EQ(c.link, "");
  EXPECT_EQ(c.published_ms, std::nullopt);

  EXPECT_THAT(f.problems, ElementsAre("item 4: no id, link, title or text; skipped"));
}

TEST(FeedParserTest, ReadsAtomEntriesExactly) {
  Feed f = parse_feed(R"(<feed xmlns="http://www.w3.org/2005/Atom">
  <title type="text">Project news</title>
  <link rel="self" href="https://p.example.org/atom.xml"/>
  <link href="https://p.example.org/"/>
  <entry>
    <title type="html">Fix in &lt;em&gt;reader&lt;/em&gt;</title>
    <link rel="edit" href="https://p.example.org/edit/1"/>
    <link rel="alternate" type="text/html" href="https://p.example.org/news/1"/>
    <id>tag:p.example.org,2025:1</id>
    <published>2025-03-04T11:45:00+01:00</published>
    <updated>2025-03-05T00:00:00Z</updated>
    <author><name>Security team</name><email>s@example.org</email></author>
    <content type="html">&lt;p&gt;Upgrade &lt;strong&gt;now&lt;/strong&gt;.&lt;/p&gt;</content>
  </entry>
  <entry>
    <title>XHTML body</title>
    <link rel="enclosure" href="https://p.example.org/a.mp3"/>
    <id>tag:p.example.org,2025:2</id>
    <updated>2025-02-28T09:00:00.000+01:00</updated>
    <summary type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>First</p><p>second &amp; last</p></div></summary>
  </entry>
</feed>)");
  EXPECT_EQ(f.format, "atom");
  EXPECT_EQ(f.title, "Project news");
  EXPECT_EQ(f.link, "https://p.example.org/");
  ASSERT_EQ(f.items.size(), 2u);
  EXPECT_EQ(f.items[0].title, "Fix in reader");
  EXPECT_EQ(f.items[0].link, "https://p.example.org/news/1");
  EXPECT_EQ(f.items[0].id, "tag:p.example.org,2025:1");
  EXPECT_EQ(f.items[0].author, "Security team");
  EXPECT_EQ(f.items[0].summary, "Upgrade now.");
  EXPECT_THAT(f.items[0].published_ms, Optional(utc(2025, 3, 4, 10, 45)));  // published wins over updated
  EXPECT_EQ(f.items[1].link, "https://p.example.org/a.mp3");                 // no alternate: the first link
  EXPECT_EQ(f.items[1].summary, "First second & last");
  EXPECT_THAT(f.items[1].published_ms, Optional(utc(2025, 2, 28, 8)));
  EXPECT_THAT(f.problems, IsEmpty());
}

TEST(FeedParserTest, ReadsRss1RdfItemsBesideTheChannel) {
  Feed f = parse_feed(R"(<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
    xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="https://r.example.org/"><title>RDF site</title><link>https://r.example.org/</link></channel>
  <item rdf:about="https://r.example.org/1"><title>One</title><link>https://r.example.org/1</link>
    <dc:date>2025-01-02T03:04:05Z</dc:date></item>
</rdf:RDF>)");
  EXPECT_EQ(f.format, "rdf");
  EXPECT_EQ(f.title, "RDF site");
  ASSERT_EQ(f.items.size(), 1u);
  EXPECT_EQ(f.items[0].link, "https://r.example.org/1");
  EXPECT_THAT(f.items[0].published_ms, Optional(utc(2025, 1, 2, 3, 4, 5)));
}

TEST(FeedParserTest, CapsItemsAndFieldSizes) {
  std::string xml = "<rss><channel><title>Big</title>";
  for (size_t i = 0; i < kMaxItems + 3; ++i) {
    xml += "<item><title>" + std::string(kMaxTitleChars + 50, 'x') + "</title><guid>g" + std::to_string(i) + "</guid></item>";
  }
  xml += "</channel></rss>";
  Feed f = parse_feed(xml);
  EXPECT_EQ(f.items.size(), kMaxItems);
  EXPECT_EQ(f.items[0].title, std::string(kMaxTitleChars, 'x') + "...");
  EXPECT_THAT(f.problems, ElementsAre("more than 500 items; the rest ignored"));
}

TEST(FeedParserTest, RefusesMalformedXmlAndOtherDocuments) {
  EXPECT_THAT([] { parse_feed("<rss><channel><item><title>x</channel></rss>"); },
              ::testing::ThrowsMessage<FeedError>(HasSubstr("malformed XML: ")));
  EXPECT_THAT([] { parse_feed("<rss><channel><title>x</title></channel>"); },
              ::testing::ThrowsMessage<FeedError>(HasSubstr("at byte")));
  EXPECT_THROW(parse_feed(""), FeedError);
  EXPECT_THAT([] { parse_feed("<html><body>Not a feed</body></html>"); },
              ::testing::ThrowsMessage<FeedError>(HasSubstr("not an RSS or Atom feed (the root element is <html>)")));
}

TEST(FeedParserTest, KeysItemsByIdThenLinkThenTitle) {
  FeedItem item;
  item.title = "T";
  EXPECT_EQ(item_key(item), "title:T|");
  item.published_ms = 5;
  EXPECT_EQ(item_key(item), "title:T|5");
  item.link = "https://x/1";
  EXPECT_EQ(item_key(item), "link:https://x/1");
  item.id = "guid-1";
  EXPECT_EQ(item_key(item), "id:guid-1");
}

}  // namespace
}  // namespace agentd::agents
