#include "scheduler/file_watch.hpp"

#include <fnmatch.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <system_error>
#include <utility>

namespace agentd::scheduler {

namespace {

// What each folder's inotify watch reports. IN_CLOSE_WRITE and IN_MOVED_TO are the changes;
// IN_DELETE and IN_MOVED_FROM only cancel a pending change (the file is gone before it was due);
// IN_MOVE_SELF means the folder itself was renamed, so its path no longer names it. IN_ONLYDIR
// makes add() fail with ENOTDIR on anything but a folder. IN_IGNORED and IN_Q_OVERFLOW always come.
constexpr uint32_t kWatchMask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM | IN_MOVE_SELF | IN_ONLYDIR;

// After an overflow, files whose ctime is this much older than the last empty read are rescanned
// too: margin for a wall clock stepped back (NTP) between the two.
constexpr int64_t kRescanMarginMs = 1000;

std::string errno_text(int err) { return std::generic_category().message(err); }

std::string quoted(const std::filesystem::path& path) {
  std::string text(1, '\'');  // built by appending: "'" + string trips a GCC 12 -Wrestrict false positive
  text += path.string();
  text += '\'';
  return text;
}

bool is_ignored_name(std::string_view name) {
  return name.empty() || name.front() == '.' || name.back() == '~' || name.ends_with(".swp") ||
         name.ends_with(".swx");
}

bool name_matches(const std::string& glob, std::string_view name) {
  return !is_ignored_name(name) && fnmatch(glob.c_str(), std::string(name).c_str(), 0) == 0;
}

// The clock file timestamps are taken from, so a change after this reading has a ctime >= it.
int64_t wall_clock_ms() {
  timespec now{};
  clock_gettime(CLOCK_REALTIME_COARSE, &now);
  return static_cast<int64_t>(now.tv_sec) * 1000 + now.tv_nsec / 1'000'000;
}

// Whether `t` is strictly after `since_ms`, to the nanosecond, without overflowing.
bool is_after(const timespec& t, int64_t since_ms) {
  const int64_t t_ms = static_cast<int64_t>(t.tv_sec) * 1000 + t.tv_nsec / 1'000'000;
  return t_ms > since_ms || (t_ms == since_ms && t.tv_nsec % 1'000'000 > 0);
}

enum class Stamp { modified, status_changed };  // st_mtim, st_ctim

// Names of the regular files in `folder` matching `glob` whose `stamp` is after `since_ms`,
// sorted. A file that vanishes during the scan is skipped; a folder that cannot be listed sets `ec`.
std::vector<std::string> files_changed_after(const std::filesystem::path& folder, const std::string& glob,
                                             int64_t since_ms, Stamp stamp, std::error_code& ec) {
  std::vector<std::string> names;
  for (std::filesystem::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    struct stat st{};
    if (!name_matches(glob, name) || ::stat(it->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if (is_after(stamp == Stamp::modified ? st.st_mtim : st.st_ctim, since_ms)) names.push_back(std::move(name));
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Waits until `fd` is readable or `timeout` has passed (restarting after signals); false on timeout.
bool wait_readable(int fd, std::chrono::milliseconds timeout) {
  using std::chrono::steady_clock;
  const auto deadline = steady_clock::now() + std::max(timeout, std::chrono::milliseconds(0));
  for (;;) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - steady_clock::now()).count();
    pollfd p{fd, POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(std::clamp<int64_t>(left, 0, INT_MAX)));
    if (ready > 0) return true;
    if (ready == 0) return false;
    if (errno != EINTR) throw FileWatchError("inotify: poll failed: " + errno_text(errno));
  }
}

}  // namespace

FileWatcher::FileWatcher(std::chrono::milliseconds debounce) : debounce_(debounce) {
  if (debounce.count() < 0) throw std::invalid_argument("FileWatcher: the debounce must not be negative");
  fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd_ < 0) {
    int err = errno;
    throw FileWatchError("inotify_init1: " + errno_text(err) +
                         (err == EMFILE ? " (per-user limit: fs.inotify.max_user_instances)" : ""));
  }
  queue_empty_at_ms_ = wall_clock_ms();
}

FileWatcher::~FileWatcher() {
  if (fd_ >= 0) ::close(fd_);
}

void FileWatcher::add(const std::string& watch, const std::filesystem::path& folder, const std::string& glob,
                      std::optional<std::chrono::milliseconds> debounce) {
  if (debounce && debounce->count() < 0) throw std::invalid_argument("FileWatcher: the debounce must not be negative");
  const auto quiet = debounce.value_or(debounce_);
  const std::string where = "watch '" + watch + "' on folder " + quoted(folder);
  if (glob.empty() || glob.find('/') != std::string::npos) {
    throw FileWatchError(where + ": glob '" + glob + "' must be a non-empty file-name pattern (no '/')");
  }
  // The kernel gives one wd per folder (inode): a folder already watched returns the same wd.
  int wd = inotify_add_watch(fd_, folder.c_str(), kWatchMask);
  if (wd < 0) {
    int err = errno;
    throw FileWatchError(where + ": " + errno_text(err) +
                         (err == ENOSPC ? " (per-user limit: fs.inotify.max_user_watches)" : ""));
  }
  auto existing = watches_.find(watch);
  if (existing == watches_.end()) {
    watches_.emplace(watch, Watch{folder, glob, wd, quiet});
    return;
  }
  Watch previous = std::exchange(existing->second, Watch{folder, glob, wd, quiet});
  if (previous.folder != folder || previous.glob != glob) {
    std::erase_if(pending_, [&](const auto& entry) { return entry.first.first == watch; });
  }
  release_wd(previous.wd);
}

void FileWatcher::remove(const std::string& watch) {
  auto it = watches_.find(watch);
  if (it == watches_.end()) return;
  int wd = it->second.wd;
  watches_.erase(it);
  std::erase_if(pending_, [&](const auto& entry) { return entry.first.first == watch; });
  release_wd(wd);
}

// Removes the kernel's watch on `wd` unless another watch still shares that folder.
void FileWatcher::release_wd(int wd) {
  if (wd < 0) return;
  bool shared = std::any_of(watches_.begin(), watches_.end(), [wd](const auto& w) { return w.second.wd == wd; });
  // EINVAL if the kernel dropped it already (folder deleted, IN_IGNORED not read yet): fine.
  if (!shared) inotify_rm_watch(fd_, wd);
}

// The folder behind `wd` is gone (deleted, unmounted, moved away): its watches go silent and
// their pending changes, which name files that are no longer there, are dropped.
void FileWatcher::forget_folder(int wd) {
  for (auto& [id, w] : watches_) {
    if (w.wd != wd) continue;
    w.wd = -1;
    std::erase_if(pending_, [&id = id](const auto& entry) { return entry.first.first == id; });
  }
}

int FileWatcher::on_event(int wd, uint32_t mask, std::string_view name, int64_t now_ms) {
  if (mask & IN_IGNORED) {
    forget_folder(wd);
    return 0;
  }
  if (mask & IN_MOVE_SELF) {
    inotify_rm_watch(fd_, wd);  // the kernel answers with IN_IGNORED, a no-op by then
    forget_folder(wd);
    return 0;
  }
  if (mask & IN_ISDIR) return 0;
  const bool changed = mask & (IN_CLOSE_WRITE | IN_MOVED_TO);
  const bool gone = mask & (IN_DELETE | IN_MOVED_FROM);
  int changes = 0;
  for (const auto& [id, w] : watches_) {
    if (w.wd != wd || !name_matches(w.glob, name)) continue;
    auto key = std::pair(id, std::string(name));
    if (changed) {
      pending_[key] = Pending{id, w.folder / name, now_ms};
      ++changes;
    } else if (gone) {
      pending_.erase(key);
    }
  }
  return changes;
}

int FileWatcher::read_events(std::chrono::milliseconds timeout, int64_t now_ms) {
  if (!wait_readable(fd_, timeout)) return 0;
  const int64_t previous_empty_ms = queue_empty_at_ms_;
  bool overflowed = false;
  int changes = 0;
  // Large enough for many events; one event is at most sizeof(inotify_event) + NAME_MAX + 1.
  alignas(inotify_event) char buffer[16 * 1024];
  for (;;) {
    const int64_t read_at_ms = wall_clock_ms();
    ssize_t size = ::read(fd_, buffer, sizeof buffer);
    if (size < 0 && errno == EINTR) continue;
    if (size < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      queue_empty_at_ms_ = read_at_ms;  // every change before this instant has been read
      break;
    }
    if (size <= 0) throw FileWatchError("inotify: read failed: " + errno_text(size < 0 ? errno : EIO));
    for (ssize_t offset = 0; offset < size;) {
      inotify_event event;
      std::memcpy(&event, buffer + offset, sizeof event);
      const char* name = buffer + offset + sizeof event;
      offset += static_cast<ssize_t>(sizeof event + event.len);
      if (event.mask & IN_Q_OVERFLOW) {
        overflowed = true;
        continue;
      }
      changes += on_event(event.wd, event.mask, std::string_view(name, strnlen(name, event.len)), now_ms);
    }
  }
  if (overflowed) changes += rescan_after_overflow(previous_empty_ms - kRescanMarginMs, now_ms);
  return changes;
}

// Events were lost after the queue was last empty: every matching file whose ctime (set by writes
// and renames, and not settable by programs) is after `since_ms` counts as changed at `now_ms`.
int FileWatcher::rescan_after_overflow(int64_t since_ms, int64_t now_ms) {
  int changes = 0;
  for (const auto& [id, w] : watches_) {
    if (w.wd < 0) continue;
    std::error_code ec;  // a folder that vanished: its IN_IGNORED is on the way
    for (auto& name : files_changed_after(w.folder, w.glob, since_ms, Stamp::status_changed, ec)) {
      pending_[std::pair(id, name)] = Pending{id, w.folder / name, now_ms};
      ++changes;
    }
  }
  return changes;
}

int64_t FileWatcher::debounce_ms(const std::string& watch) const {
  auto it = watches_.find(watch);
  return (it == watches_.end() ? debounce_ : it->second.debounce).count();
}

std::vector<FileChange> FileWatcher::due(int64_t now_ms) {
  std::vector<FileChange> ready;
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (now_ms - it->second.last_change_ms >= debounce_ms(it->second.watch)) {
      ready.push_back(FileChange{it->second.watch, it->second.path});
      it = pending_.erase(it);
    } else {
      ++it;
    }
  }
  return ready;
}

std::optional<int64_t> FileWatcher::next_due() const {
  std::optional<int64_t> next;
  for (const auto& [key, p] : pending_) {
    int64_t at = p.last_change_ms + debounce_ms(p.watch);
    if (!next || at < *next) next = at;
  }
  return next;
}

std::vector<FileChange> FileWatcher::changed_since(const std::string& watch, int64_t since_ms) const {
  auto it = watches_.find(watch);
  if (it == watches_.end()) throw FileWatchError("changed_since: no watch '" + watch + "'");
  const Watch& w = it->second;
  std::error_code ec;
  auto names = files_changed_after(w.folder, w.glob, since_ms, Stamp::modified, ec);
  if (ec) throw FileWatchError("watch '" + watch + "' on folder " + quoted(w.folder) + ": " + ec.message());
  std::vector<FileChange> changes;
  for (auto& name : names) changes.push_back(FileChange{watch, w.folder / name});
  return changes;
}

}  // namespace agentd::scheduler
