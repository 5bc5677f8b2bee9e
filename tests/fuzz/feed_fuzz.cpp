// A fetched RSS or Atom document as the news agent reads it: parse_feed() (pugixml underneath)
// and each item's de-duplication key. Documented failure: FeedError (the feed is skipped).
#include <cstddef>
#include <cstdint>

#include "agents/news/feed_parser.hpp"
#include "tests/fuzz/fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace agentd::agents;
  try {
    Feed feed = parse_feed(agentd::fuzz::as_text(data, size));
    for (const FeedItem& item : feed.items) (void)item_key(item);
  } catch (const FeedError&) {
  }
  return 0;
}
