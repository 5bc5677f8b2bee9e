// FileWatcher against the real kernel: real files in a temp dir, real inotify. Nothing sleeps:
// read_events() returns as soon as the kernel's events are there (the writes that cause them have
// returned by then), and debounce is driven with explicit now_ms values.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "scheduler/file_watch.hpp"
#include "tests/support/temp_dir.hpp"

namespace agentd::scheduler {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

constexpr int64_t kDebounceMs = 500;
constexpr int64_t kLater = 1'000'000;  // long after every change in these tests

void write_file(const fs::path& path, const std::string& text = "x") {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.close();
  ASSERT_TRUE(out) << "cannot write " << path;
}

// Sets a file's modification time to `ms` since the epoch (sub-millisecond part in `extra_ns`).
void set_mtime(const fs::path& path, int64_t ms, long extra_ns = 0) {
  timespec times[2];
  times[0].tv_sec = 0;
  times[0].tv_nsec = UTIME_OMIT;
  times[1].tv_sec = static_cast<time_t>(ms / 1000);
  times[1].tv_nsec = static_cast<long>(ms % 1000) * 1'000'000 + extra_ns;
  ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), times, 0), 0) << path;
}

// "watch:file name" for each change, for compact comparisons.
std::vector<std::string> names(const std::vector<FileChange>& changes) {
  std::vector<std::string> out;
  for (const auto& c : changes) out.push_back(c.watch + ":" + c.path.filename().string());
  return out;
}

class FileWatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directory(inbox_);
    fs::create_directory(other_);
  }

  // Reads events until `expected` matching changes have been counted (each read returns as soon
  // as events are queued; the 5 s timeout only matters when the test is failing).
  int read_changes(int expected, int64_t now_ms) {
    int total = 0;
    for (int attempt = 0; attempt < 3 && total < expected; ++attempt) total += watcher_.read_events(5000ms, now_ms);
    return total;
  }

  agentd::testing::TempDir dir_;
  fs::path inbox_ = dir_ / "inbox";
  fs::path other_ = dir_ / "other";
  FileWatcher watcher_{std::chrono::milliseconds(kDebounceMs)};
};

TEST_F(FileWatchTest, MatchingFileIsReportedOnceAfterTheDebounce) {
  watcher_.add("docs", inbox_, "*.md");
  EXPECT_EQ(watcher_.next_due(), std::nullopt);
  write_file(inbox_ / "a.md");
  ASSERT_EQ(read_changes(1, 1000), 1);

  EXPECT_EQ(watcher_.next_due(), 1000 + kDebounceMs);
  EXPECT_THAT(watcher_.due(1000), IsEmpty());
  EXPECT_THAT(watcher_.due(1000 + kDebounceMs - 1), IsEmpty());
  auto due = watcher_.due(1000 + kDebounceMs);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].watch, "docs");
  EXPECT_EQ(due[0].path, inbox_ / "a.md");
  EXPECT_THAT(watcher_.due(kLater), IsEmpty());
  EXPECT_EQ(watcher_.next_due(), std::nullopt);
}

TEST_F(FileWatchTest, NamesNotMatchingTheGlobAreNotReported) {
  watcher_.add("docs", inbox_, "*.md");
  write_file(inbox_ / "notes.txt");
  write_file(inbox_ / "README");
  write_file(inbox_ / "a.md.bak");
  write_file(inbox_ / "sentinel.md");  // its event comes after the others', in the same read
  EXPECT_EQ(read_changes(1, 1000), 1);
  EXPECT_THAT(names(watcher_.due(kLater)), ElementsAre("docs:sentinel.md"));
}

TEST_F(FileWatchTest, BurstOfWritesToOneFileIsOneReport) {
  watcher_.add("docs", inbox_, "*.md");
  for (int i = 0; i < 5; ++i) write_file(inbox_ / "a.md", std::to_string(i));
  ASSERT_GE(read_changes(1, 1000), 1);
  write_file(inbox_ / "a.md", "more");
  ASSERT_EQ(read_changes(1, 1200), 1);
  write_file(inbox_ / "a.md", "last");
  ASSERT_EQ(read_changes(1, 1400), 1);

  // Quiet only from 1400 on: not due at 1000 + debounce, due once at 1400 + debounce.
  EXPECT_THAT(watcher_.due(1000 + kDebounceMs), IsEmpty());
  EXPECT_THAT(watcher_.due(1400 + kDebounceMs - 1), IsEmpty());
  EXPECT_THAT(names(watcher_.due(1400 + kDebounceMs)), ElementsAre("docs:a.md"));
  EXPECT_THAT(watcher_.due(kLater), IsEmpty());
}

TEST_F(FileWatchTest, EachWatchCanHaveItsOwnDebounce) {
  watcher_.add("quick", inbox_, "*.txt", 10ms);
  watcher_.add("default", inbox_, "*.md");
  write_file(inbox_ / "a.txt");
  write_file(inbox_ / "a.md");
  ASSERT_EQ(read_changes(2, 1000), 2);
  EXPECT_EQ(watcher_.next_due(), 1010);
  EXPECT_THAT(names(watcher_.due(1010)), ElementsAre("quick:a.txt"));
  EXPECT_THAT(watcher_.due(1000 + kDebounceMs - 1), IsEmpty());
  EXPECT_THAT(names(watcher_.due(1000 + kDebounceMs)), ElementsAre("default:a.md"));
}

TEST_F(FileWatchTest, FileMovedIntoTheFolderIsReported) {
  watcher_.add("docs", inbox_, "*.md");
  write_file(other_ / "draft.md");  // written outside: no event for the watch
  fs::rename(other_ / "draft.md", inbox_ / "report.md");
  ASSERT_EQ(read_changes(1, 1000), 1);
  EXPECT_THAT(names(watcher_.due(kLater)), ElementsAre("docs:report.md"));
}

TEST_F(FileWatchTest, HiddenAndEditorTemporaryFilesAreIgnored) {
  watcher_.add("all", inbox_, "*");
  for (const char* name : {".hidden", ".#a.md", "a.md~", ".a.md.swp", "a.md.swp", "a.md.swx"}) {
    write_file(inbox_ / name);
  }
  write_file(inbox_ / "a.md");
  EXPECT_EQ(read_changes(1, 1000), 1);
  EXPECT_THAT(names(watcher_.due(kLater)), ElementsAre("all:a.md"));
}

TEST_F(FileWatchTest, FileGoneBeforeItIsDueIsNotReported) {
  watcher_.add("docs", inbox_, "*.md");
  write_file(inbox_ / "renamed.md");
  fs::rename(inbox_ / "renamed.md", inbox_ / "final.md");  // an editor's atomic save
  write_file(inbox_ / "deleted.md");
  fs::remove(inbox_ / "deleted.md");
  write_file(inbox_ / "moved-out.md");
  fs::rename(inbox_ / "moved-out.md", other_ / "moved-out.md");
  EXPECT_EQ(read_changes(4, 1000), 4);  // three writes and one move in
  EXPECT_THAT(names(watcher_.due(kLater)), ElementsAre("docs:final.md"));
}

TEST_F(FileWatchTest, TwoWatchesOnOneFolderEachGetTheirFiles) {
  watcher_.add("docs", inbox_, "*.md");
  watcher_.add("texts", inbox_, "*.txt");
  watcher_.add("all", inbox_, "*");
  write_file(inbox_ / "a.md");
  write_file(inbox_ / "b.txt");
  EXPECT_EQ(read_changes(4, 1000), 4);
  EXPECT_THAT(names(watcher_.due(kLater)), ElementsAre("all:a.md", "all:b.txt", "docs:a.md", "texts:b.txt"));
}

TEST_F(FileWatchTest, RemoveStopsOnlyThatWatch) {
  watcher_.add("docs", inbox_, "*");
  watcher_.add("texts", inbox_, "*.txt");
  write_file(inbox_ / "a.txt");
  ASSERT_EQ(read_changes(2, 1000), 2);
  watcher_.remove("docs");  // its pending change goes too
  watcher_.remove("no such watch");
  EXPECT_THAT(names(watcher_.due(kLater)), ElementsAre("texts:a.txt"));

  // The folder's inotify watch is shared: "texts" still hears about it.
  write_file(inbox_ / "b.txt");
  EXPECT_EQ(read_changes(1, 2000), 1);
  EXPECT_THAT(names(watcher_.due(kLater)), ElementsAre("texts:b.txt"));
  EXPECT_THAT(watcher_.changed_since("texts", 0), SizeIs(2));
  EXPECT_THROW(watcher_.changed_since("docs", 0), FileWatchError);
}

TEST_F(FileWatchTest, AddingAnIdAgainReplacesThatWatch) {
  watcher_.add("notes", inbox_, "*.md");
  watcher_.add("notes", other_, "*.txt");
  write_file(inbox_ / "a.md");
  write_file(inbox_ / "a.txt");
  write_file(other_ / "b.md");
  write_file(other_ / "b.txt");
  EXPECT_EQ(read_changes(1, 1000), 1);
  EXPECT_THAT(names(watcher_.due(kLater)), ElementsAre("notes:b.txt"));
}

TEST_F(FileWatchTest, ChangedSinceFindsFilesModifiedAfterTheInstant) {
  const int64_t since = 1'790'000'000'000;  // 2026-09-21
  watcher_.add("docs", inbox_, "*.md");
  auto make = [&](const std::string& name, int64_t mtime_ms, long extra_ns = 0) {
    write_file(inbox_ / name);
    set_mtime(inbox_ / name, mtime_ms, extra_ns);
  };
  make("old.md", since - 60'000);
  make("just-before.md", since - 1);
  make("exactly.md", since);
  make("half-ms-after.md", since, 500'000);
  make("newer.md", since + 60'000);
  make("b-new.md", since + 1);
  make("new.txt", since + 60'000);     // does not match
  make(".hidden.md", since + 60'000);  // hidden
  fs::create_directory(inbox_ / "folder.md");
  set_mtime(inbox_ / "folder.md", since + 60'000);  // not a regular file

  EXPECT_THAT(names(watcher_.changed_since("docs", since)),
              ElementsAre("docs:b-new.md", "docs:half-ms-after.md", "docs:newer.md"));
  EXPECT_THAT(names(watcher_.changed_since("docs", since + 60'000)), IsEmpty());
  EXPECT_THAT(watcher_.changed_since("docs", since - 120'000), SizeIs(6));
  EXPECT_EQ(watcher_.changed_since("docs", since)[0].path, inbox_ / "b-new.md");
}

TEST(FileWatchErrors, AddNamesThePathThatCannotBeWatched) {
  agentd::testing::TempDir dir;
  FileWatcher watcher(100ms);
  auto message = [&](const fs::path& folder, const std::string& glob = "*") {
    try {
      watcher.add("w", folder, glob);
    } catch (const FileWatchError& e) {
      return std::string(e.what());
    }
    return std::string("no FileWatchError");
  };
  EXPECT_THAT(message(dir / "missing"), HasSubstr("'" + (dir / "missing").string() + "'"));
  EXPECT_THAT(message(dir / "missing"), HasSubstr("No such file or directory"));
  write_file(dir / "plain.txt");
  EXPECT_THAT(message(dir / "plain.txt"), HasSubstr("'" + (dir / "plain.txt").string() + "'"));
  EXPECT_THAT(message(dir / "plain.txt"), HasSubstr("Not a directory"));
  EXPECT_THAT(message(dir.path(), ""), HasSubstr("glob"));
  EXPECT_THAT(message(dir.path(), "sub/*.md"), HasSubstr("glob 'sub/*.md'"));
  EXPECT_THROW(watcher.changed_since("w", 0), FileWatchError);  // nothing was added
  EXPECT_THROW(FileWatcher(-1ms), std::invalid_argument);
}

TEST_F(FileWatchTest, DeletedFolderDoesNotBreakLaterReads) {
  watcher_.add("gone", inbox_, "*.md");
  watcher_.add("kept", other_, "*.md");
  write_file(inbox_ / "a.md");
  fs::remove_all(inbox_);
  watcher_.read_events(5000ms, 1000);  // the write, the deletion, the folder's IN_IGNORED
  watcher_.read_events(0ms, 1000);
  EXPECT_THAT(watcher_.due(kLater), IsEmpty());
  EXPECT_THROW(watcher_.changed_since("gone", 0), FileWatchError);

  write_file(other_ / "b.md");
  EXPECT_EQ(read_changes(1, 2000), 1);
  EXPECT_THAT(names(watcher_.due(kLater)), ElementsAre("kept:b.md"));

  // Once the folder is back, adding the watch again works.
  fs::create_directory(inbox_);
  watcher_.add("gone", inbox_, "*.md");
  write_file(inbox_ / "c.md");
  EXPECT_EQ(read_changes(1, 3000), 1);
  EXPECT_THAT(names(watcher_.due(kLater)), ElementsAre("gone:c.md"));
  watcher_.remove("gone");
}

TEST_F(FileWatchTest, FolderMovedAwayGoesSilent) {
  watcher_.add("moved", inbox_, "*.md");
  watcher_.add("kept", other_, "*.md");
  fs::rename(inbox_, dir_ / "renamed");
  EXPECT_EQ(watcher_.read_events(5000ms, 1000), 0);  // IN_MOVE_SELF
  write_file(dir_ / "renamed" / "a.md");  // would be misreported as inbox/a.md
  write_file(other_ / "b.md");
  EXPECT_EQ(read_changes(1, 2000), 1);
  EXPECT_THAT(names(watcher_.due(kLater)), ElementsAre("kept:b.md"));
}

int max_queued_events() {
  std::ifstream in("/proc/sys/fs/inotify/max_queued_events");
  int n = 0;
  return in >> n ? n : 0;
}

TEST_F(FileWatchTest, QueueOverflowRescansSoNothingIsLost) {
  const int limit = max_queued_events();
  if (limit <= 0 || limit > 200'000) GTEST_SKIP() << "fs.inotify.max_queued_events is " << limit;
  watcher_.add("texts", inbox_, "*.txt");
  // Alternate two names so the kernel cannot merge consecutive identical events: the queue fills.
  for (int i = 0; i < limit + 10; ++i) {
    int fd = ::open((inbox_ / (i % 2 ? "a.txt" : "b.txt")).c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0);
    ::close(fd);
  }
  write_file(inbox_ / "late.txt");  // its event is dropped: only the rescan can find it
  write_file(inbox_ / "ignored.md");
  EXPECT_GE(watcher_.read_events(5000ms, 1000), 3);
  EXPECT_THAT(names(watcher_.due(kLater)), ElementsAre("texts:a.txt", "texts:b.txt", "texts:late.txt"));
  watcher_.read_events(0ms, 2000);
  EXPECT_THAT(watcher_.due(kLater), IsEmpty());
}

TEST_F(FileWatchTest, DescriptorIsNonBlockingAndCloseOnExec) {
  EXPECT_TRUE(fcntl(watcher_.fd(), F_GETFL) & O_NONBLOCK);
  EXPECT_TRUE(fcntl(watcher_.fd(), F_GETFD) & FD_CLOEXEC);
  EXPECT_EQ(watcher_.read_events(0ms, 1000), 0);  // nothing pending: returns at once

  int fd = -1;
  {
    FileWatcher scoped(1ms);
    fd = scoped.fd();
    ASSERT_GE(fcntl(fd, F_GETFD), 0);
  }
  EXPECT_EQ(fcntl(fd, F_GETFD), -1);  // closed by the destructor
  EXPECT_EQ(errno, EBADF);
}

}  // namespace
}  // namespace agentd::scheduler
