// FileWatcher: which files changed in watched folders, debounced. inotify (Linux) on each folder,
// not recursive; a file counts as changed when it is closed after writing (IN_CLOSE_WRITE) or
// moved into the folder (IN_MOVED_TO: editors and `mv` drop files that way). Deletions are not
// reported. Names are matched against the watch's glob with fnmatch (no FNM_PATHNAME surprises:
// only the file name is matched; "*.md", "receipt-*.txt"). Hidden files and editor temporaries
// ("*~", ".#*", "*.swp") are ignored.
//
// Debounce: a file is reported once it has been quiet for `debounce` since its last change, so a
// burst of writes to one file is one report. Time is given by the caller (milliseconds), so tests
// inject it; reading the kernel's events is the only blocking call, bounded by its timeout.
//
// Files that appeared while the daemon was down are found with changed_since(): every matching
// regular file whose modification time is after the given instant.
//
// Edge cases: a file deleted or moved away before it is due is not reported. add() with an id
// already in use replaces that watch. A watch whose folder is deleted or moved away goes silent
// (its inotify watch is dropped); add() it again once the folder is back. If the kernel's queue
// overflows (IN_Q_OVERFLOW, events lost), every watched folder is rescanned for matching files
// whose status changed (ctime) since the queue was last read empty, less a second of margin: a
// file may then be reported twice, none is lost.
//
// Not thread-safe: one owner (the runtime's trigger loop).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace agentd::scheduler {

// A folder that cannot be watched; what() names it and the reason (errno text).
class FileWatchError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct FileChange {
  std::string watch;           // the id given to add()
  std::filesystem::path path;  // folder / file name
};

class FileWatcher {
 public:
  explicit FileWatcher(std::chrono::milliseconds debounce);
  ~FileWatcher();
  FileWatcher(const FileWatcher&) = delete;
  FileWatcher& operator=(const FileWatcher&) = delete;

  // Watches `folder` for files matching `glob`, reported under `watch`, debounced by `debounce`
  // (default: the constructor's). Several watches may share a folder. Throws FileWatchError
  // (missing folder, not a folder, inotify limits).
  void add(const std::string& watch, const std::filesystem::path& folder, const std::string& glob,
           std::optional<std::chrono::milliseconds> debounce = std::nullopt);
  // Stops a watch; unknown ids are ignored.
  void remove(const std::string& watch);

  // Reads the kernel's pending events, waiting up to `timeout` for the first one (0 = don't
  // wait), and stamps each change with `now_ms`. Returns the number of matching changes read.
  int read_events(std::chrono::milliseconds timeout, int64_t now_ms);
  // Changes quiet for at least the debounce interval at `now_ms`, each reported once per burst.
  std::vector<FileChange> due(int64_t now_ms);
  // When the next pending change becomes due, if any is pending.
  std::optional<int64_t> next_due() const;

  // Matching regular files in the watch's folder modified after `since_ms` (wall clock, ms since
  // the epoch), sorted by name. Throws FileWatchError for an unknown watch.
  std::vector<FileChange> changed_since(const std::string& watch, int64_t since_ms) const;

  // The inotify descriptor, readable when events are pending (for poll()).
  int fd() const { return fd_; }

 private:
  struct Watch {
    std::filesystem::path folder;
    std::string glob;
    int wd = -1;
    std::chrono::milliseconds debounce{0};
  };
  struct Pending {
    std::string watch;
    std::filesystem::path path;
    int64_t last_change_ms = 0;
  };

  int on_event(int wd, uint32_t mask, std::string_view name, int64_t now_ms);
  void forget_folder(int wd);
  void release_wd(int wd);
  int rescan_after_overflow(int64_t since_ms, int64_t now_ms);
  int64_t debounce_ms(const std::string& watch) const;

  int fd_ = -1;
  std::chrono::milliseconds debounce_;
  std::map<std::string, Watch> watches_;
  std::map<std::pair<std::string, std::string>, Pending> pending_;  // (watch, file name)
  int64_t queue_empty_at_ms_ = 0;  // wall clock when the kernel's queue was last read empty
};

}  // namespace agentd::scheduler
