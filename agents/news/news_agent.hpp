// The `news` plugin: new items of RSS and Atom feeds, de-duplicated, summarised, kept as a note.
//
// Each task parses the feed files of its read folders (matching "globs") and fetches the feeds
// of "urls" (feed_fetch: timeout, size cap). An item is new unless its key (guid/id, else link,
// else title and date) was reported by an earlier run (SeenItems in the agent's memory, the
// newest "remember" keys kept) or appeared earlier in this run (the same item in two feeds is
// reported once, from the first feed read: files in name order, then the URLs in order).
//
// New items are sorted newest first (undated last); the first "max_items" get a one-sentence
// summary from the model (falling back to the start of the item's own text), the rest are listed
// by title and link. The section is appended to news-YYYY-MM-DD.md in the first write folder,
// kept as a note (for the digest) and returned. Every new item is marked seen, summarised or
// not, so the backlog of a first run does not come back. A malformed feed (bad XML, not RSS or
// Atom, too large, HTTP error) is logged with the file or URL and skipped; the task fails only
// when no feed at all could be read.
//
//   "settings": {
//     "globs": ["*.xml", "*.rss", "*.atom"],
//     "urls": ["http://localhost:8080/feed.xml"],   // https:// too (Debian's cpp-httplib has TLS)
//     "fetch_timeout": "10s",
//     "max_items": 10,           // model summaries per run
//     "remember": 2000,          // item keys kept across runs
//     "time_zone": "Europe/Paris"  // for the file's date and times; default the system's zone
//   }
#pragma once

#include <string>
#include <vector>

#include "agents/agent.hpp"
#include "agents/agent_config.hpp"
#include "agents/common/time_zone.hpp"
#include "agents/news/feed_fetch.hpp"
#include "agents/news/feed_parser.hpp"

namespace agentd::agents {

class NewsAgent : public Agent {
 public:
  // Throws ConfigError naming the file and JSON path of a bad setting.
  explicit NewsAgent(const AgentConfig& config);
  std::string run(TaskContext& ctx) override;

  // A feed read in this run, named for the report.
  struct Source {
    std::string name;  // the feed's title, else its file name or URL
    Feed feed;
  };
  struct NewItem {
    FeedItem item;
    std::string source;
    std::string summary;  // the model's, or the fallback
  };

 private:
  std::vector<Source> read_feeds(TaskContext& ctx) const;
  std::string summarise(TaskContext& ctx, const NewItem& item) const;

  std::vector<std::string> globs_ = {"*.xml", "*.rss", "*.atom"};
  std::vector<std::string> urls_;
  FetchLimits fetch_;
  int max_items_ = 10;
  int remember_ = 2000;
  TimeZone zone_;
};

}  // namespace agentd::agents
