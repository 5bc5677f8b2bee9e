#include "agents/news/news_agent.hpp"

#include <algorithm>
#include <set>

#include "agents/common/content_hash.hpp"
#include "agents/common/plain_text.hpp"
#include "agents/common/seen_ids.hpp"
#include "agents/common/text_excerpt.hpp"
#include "agents/config_reader.hpp"
#include "agents/task_context.hpp"

namespace agentd::agents {

namespace {

constexpr const char* kSeenKey = "seen_items";
constexpr size_t kMaxPromptText = 1500;
constexpr size_t kMaxModelSummaryChars = 500;
constexpr size_t kMaxListed = 100;  // items listed without a summary, per run
constexpr size_t kMaxNoteChars = 4000;
constexpr size_t kMaxProblemsLogged = 20;

using NewItem = NewsAgent::NewItem;

std::string fallback_summary(const FeedItem& item) {
  std::string text = one_line_excerpt(item.summary, 200);  // already plain text (feed_parser)
  return text.empty() ? "(no text in the feed)" : text;
}

std::string item_heading(const NewItem& n, const TimeZone& zone) {
  const FeedItem& it = n.item;
  std::string md = "### " + (it.title.empty() ? "(untitled)" : it.title) + "\n" + n.source;
  if (it.published_ms) md += " · " + zone.format(*it.published_ms, "%Y-%m-%d %H:%M");
  if (!it.author.empty()) md += " · " + it.author;
  if (!it.link.empty()) md += " · <" + it.link + ">";
  return md + "\n";
}

std::string news_section(const std::vector<NewItem>& fresh, size_t summarised, size_t feeds, size_t already,
                         int64_t now_ms, const TimeZone& zone) {
  std::string counts = std::to_string(feeds) + (feeds == 1 ? " feed, " : " feeds, ") + std::to_string(already) +
                       " already seen";
  std::string md = "## " + zone.format(now_ms, "%Y-%m-%d %H:%M") + " — ";
  if (fresh.empty()) return md + "no new items (" + counts + ")\n";
  md += std::to_string(fresh.size()) + (fresh.size() == 1 ? " new item (" : " new items (") + counts + ")\n";
  for (size_t i = 0; i < summarised; ++i) {
    md += "\n";
    md += item_heading(fresh[i], zone);
    md += "\n" + fresh[i].summary + "\n";
  }
  if (summarised < fresh.size()) {
    md += "\n### Also new\n\n";
    for (size_t i = summarised; i < fresh.size() && i < summarised + kMaxListed; ++i) {
      const FeedItem& it = fresh[i].item;
      md += "- " + (it.title.empty() ? "(untitled)" : it.title) + " (" + fresh[i].source + ")" +
            (it.link.empty() ? "" : " <" + it.link + ">") + "\n";
    }
    if (fresh.size() > summarised + kMaxListed) {
      md += "- ... and " + std::to_string(fresh.size() - summarised - kMaxListed) + " more\n";
    }
  }
  return md;
}

std::string note_text(const std::vector<NewItem>& fresh, size_t summarised, int64_t now_ms, const TimeZone& zone) {
  std::string note = "News " + zone.format(now_ms, "%Y-%m-%d %H:%M") + ": " + std::to_string(fresh.size()) +
                     " new item(s).\n";
  for (size_t i = 0; i < fresh.size() && note.size() < kMaxNoteChars; ++i) {
    note += "- " + fresh[i].item.title + " (" + fresh[i].source + ")" + (i < summarised ? ": " + fresh[i].summary : "") + "\n";
  }
  if (note.size() > kMaxNoteChars) note = text::truncate_utf8(note, kMaxNoteChars) + "...\n";
  return note;
}

// The read folders, each once (a watched folder is also a read folder, so one can be listed twice).
std::vector<std::filesystem::path> distinct(const std::vector<std::filesystem::path>& folders) {
  std::vector<std::filesystem::path> out;
  for (const auto& f : folders) {
    if (std::find(out.begin(), out.end(), f) == out.end()) out.push_back(f);
  }
  return out;
}

}  // namespace

NewsAgent::NewsAgent(const AgentConfig& config) : zone_(TimeZone::system_local()) {
  ConfigReader s(config.file.string(), config.settings, "/settings",
                 {"globs", "urls", "fetch_timeout", "max_items", "remember", "time_zone"});
  s.strings("globs", globs_);
  if (globs_.empty()) s.fail(s.at("globs"), "no file patterns");
  s.strings("urls", urls_);
  for (size_t i = 0; i < urls_.size(); ++i) {
    if (std::string problem = url_problem(urls_[i]); !problem.empty()) {
      s.fail(s.at("urls") + "/" + std::to_string(i), "'" + urls_[i] + "': " + problem);
    }
  }
  s.duration("fetch_timeout", fetch_.timeout);
  if (fetch_.timeout < std::chrono::seconds(1) || fetch_.timeout > std::chrono::minutes(5)) {
    s.fail(s.at("fetch_timeout"), "must be between 1s and 5m");
  }
  fetch_.max_bytes = static_cast<size_t>(config.limits.max_input_bytes);
  s.integer("max_items", max_items_, 0, 100);
  s.integer("remember", remember_, 10, 100000);
  zone_ = read_time_zone(s, "time_zone");
  if (config.read_folders.empty() && urls_.empty()) {
    throw ConfigError(config.file.string() + ": /folders/read: the news plugin needs a folder of feed files or settings.urls");
  }
  if (config.write_folders.empty()) {
    throw ConfigError(config.file.string() + ": /folders/write: the news plugin needs a folder for its news file");
  }
}

std::vector<NewsAgent::Source> NewsAgent::read_feeds(TaskContext& ctx) const {
  std::vector<Source> sources;
  int attempted = 0;
  auto add = [&](const std::string& origin, const std::string& fallback_name, const std::string& xml) {
    Feed feed = parse_feed(xml);
    for (size_t i = 0; i < feed.problems.size() && i < kMaxProblemsLogged; ++i) {
      ctx.log("feed item skipped", {{"file", origin}, {"error", feed.problems[i]}});
    }
    std::string name = feed.title.empty() ? fallback_name : feed.title;
    sources.push_back({name, std::move(feed)});
  };
  for (const auto& folder : distinct(ctx.config().read_folders)) {
    std::set<std::filesystem::path> paths;
    for (const auto& glob : globs_) {
      try {
        for (auto& p : ctx.list_files(folder, glob)) paths.insert(p);
      } catch (const FileAccessError& e) {
        ctx.log("feed folder skipped", {{"file", folder.string()}, {"error", e.what()}});
      }
    }
    for (const auto& path : paths) {
      ctx.check_cancelled();
      ++attempted;
      try {
        add(path.string(), path.filename().string(), ctx.read_file(path));
      } catch (const std::exception& e) {  // FeedError, FileAccessError
        ctx.log("feed skipped", {{"file", path.string()}, {"error", e.what()}});
      }
    }
  }
  for (const auto& url : urls_) {
    ctx.check_cancelled();
    ++attempted;
    try {
      // On the runtime's blocking-call pool: the fetch blocks a thread, never the agent thread.
      // The pool stops waiting at the transfer's own bound plus a second for connecting.
      std::string body = ctx.call_blocking("fetch " + url, fetch_.timeout + std::chrono::seconds(1),
                                           [url, limits = fetch_](std::stop_token stop) { return fetch_url(url, limits, stop); });
      ctx.log("fetched " + url, {{"url", url}, {"bytes", body.size()}});
      add(url, url, body);
    } catch (const TaskCancelled&) {
      throw;
    } catch (const std::exception& e) {  // FetchError, FeedError, BlockingTimeout
      ctx.check_cancelled();
      ctx.log("feed skipped", {{"file", url}, {"error", e.what()}});
    }
  }
  if (attempted == 0) throw std::runtime_error("no feed files in the read folders and no urls");
  if (sources.empty()) {
    throw std::runtime_error("none of the " + std::to_string(attempted) + " feed(s) could be read (see the log)");
  }
  return sources;
}

std::string NewsAgent::summarise(TaskContext& ctx, const NewItem& n) const {
  GenerateOptions o;
  o.prompt = "Summarise this news item in one sentence.\nFeed: " + n.source + "\nTitle: " + n.item.title +
             "\nText: " + one_line_excerpt(n.item.summary, kMaxPromptText) + "\n";
  o.stop = {"\n\n"};
  std::string text = html_to_line(ctx.generate(o).text, kMaxModelSummaryChars);
  return text.empty() ? fallback_summary(n.item) : text;
}

std::string NewsAgent::run(TaskContext& ctx) {
  std::vector<Source> sources = read_feeds(ctx);
  SeenIds seen = SeenIds::recall(ctx, kSeenKey, size_t(remember_));  // item keys, as content hashes
  std::set<std::string> this_run;
  std::vector<NewItem> fresh;
  size_t already = 0;
  for (const Source& source : sources) {
    for (const FeedItem& item : source.feed.items) {
      std::string key = item_key(item);
      if (seen.contains(content_hash(key)) || !this_run.insert(key).second) {
        ++already;
        continue;
      }
      fresh.push_back({item, source.name, ""});
    }
  }
  std::stable_sort(fresh.begin(), fresh.end(), [](const NewItem& a, const NewItem& b) {
    return a.item.published_ms.value_or(INT64_MIN) > b.item.published_ms.value_or(INT64_MIN);
  });
  size_t summarised = std::min(fresh.size(), size_t(max_items_));
  for (size_t i = 0; i < summarised; ++i) {
    ctx.check_cancelled();
    fresh[i].summary = summarise(ctx, fresh[i]);
  }

  int64_t now = ctx.now_ms();
  std::string section = news_section(fresh, summarised, sources.size(), already, now, zone_);
  if (!fresh.empty()) {
    for (const NewItem& n : fresh) seen.add(content_hash(item_key(n.item)));
    seen.remember(ctx, kSeenKey);
    ctx.append_file("news-" + zone_.format(now, "%Y-%m-%d") + ".md", section + "\n");
    ctx.note(note_text(fresh, summarised, now, zone_));
  }
  return section;
}

}  // namespace agentd::agents
