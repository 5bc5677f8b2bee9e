// PrefixCache as a store: matching on token blocks, the RAM cap, eviction order, and the files
// on disk (another key, truncation, corruption). No model: the "state" is bytes the test makes.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>

#include "engine/prefix_cache.hpp"
#include "tests/support/temp_dir.hpp"

namespace agentd::engine {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr int kBlock = 4;

// `n` tokens that start with `first` and then count up: distinct prefixes for distinct `first`.
TokenList run(int32_t first, int n) {
  TokenList t;
  for (int i = 0; i < n; ++i) t.push_back(first + i);
  return t;
}

StateBytes state_of(size_t bytes, uint8_t fill) { return StateBytes(bytes, fill); }

struct Store {
  explicit Store(size_t ram, fs::path dir = {}, std::string key = "model-a", size_t disk = 1 << 20) {
    PrefixCacheOptions o;
    o.ram_bytes = ram;
    o.dir = std::move(dir);
    o.disk_bytes = disk;
    o.key = std::move(key);
    o.block_tokens = kBlock;
    o.warn = [this](const std::string& w) { warnings.push_back(w); };
    cache = std::make_unique<PrefixCache>(o);
  }
  std::vector<std::string> warnings;
  std::unique_ptr<PrefixCache> cache;
};

TEST(PrefixStore, FindsTheLongestSharedPrefixInWholeBlocksAndComparesTokens) {
  Store s(1 << 20);
  s.cache->insert(run(100, 12), state_of(10, 1));
  const auto m = s.cache->find(TokenList{100, 101, 102, 103, 104, 105, 999});
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->tokens, 6);  // the match goes on inside the second block, token by token
  EXPECT_FALSE(s.cache->find(run(1, 12)).has_value());
  EXPECT_FALSE(s.cache->find(TokenList{100, 101, 102}).has_value()) << "shorter than one block";
  EXPECT_EQ(*s.cache->take_state(m->entry), state_of(10, 1));
}

TEST(PrefixStore, APromptShorterThanOneBlockIsNotStored) {
  Store s(1 << 20);
  s.cache->insert(TokenList{1, 2, 3}, state_of(10, 1));
  EXPECT_EQ(s.cache->stats().entries, 0);
  EXPECT_TRUE(s.cache->covers(TokenList{1, 2, 3}));  // nothing to add
}

TEST(PrefixStore, StoresWholeBlocksAndSkipsWhatItAlreadyHolds) {
  Store s(1 << 20);
  s.cache->insert(run(0, 10), state_of(10, 1));  // kept as 8 tokens
  EXPECT_TRUE(s.cache->covers(run(0, 9)));
  EXPECT_FALSE(s.cache->covers(run(0, 12)));
  s.cache->insert(run(0, 11), state_of(10, 2));
  EXPECT_EQ(s.cache->stats().entries, 1) << "the same whole blocks are not stored twice";
}

TEST(PrefixStore, AnEntryExtendingAnotherReplacesIt) {
  Store s(1 << 20);
  s.cache->insert(run(0, 8), state_of(10, 1));   // turn 1 of a conversation
  s.cache->insert(run(0, 16), state_of(20, 2));  // turn 2 resends turn 1 and adds to it
  EXPECT_EQ(s.cache->stats().entries, 1);
  EXPECT_EQ(s.cache->stats().ram_bytes, 20);
  const auto m = s.cache->find(run(0, 16));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(*s.cache->take_state(m->entry), state_of(20, 2));
}

TEST(PrefixStore, TheRamCapHoldsUnderAThousandDistinctPrefixes) {
  const size_t cap = 64 * 1000;
  Store s(cap);
  for (int i = 0; i < 1000; ++i) {
    s.cache->insert(run(i * 1000, 8), state_of(100 + static_cast<size_t>(i % 7), 1));
    ASSERT_LE(s.cache->stats().ram_bytes, static_cast<int64_t>(cap)) << "after insert " << i;
  }
  const auto st = s.cache->stats();
  EXPECT_GT(st.evictions, 300);
  EXPECT_EQ(st.entries + st.evictions, 1000);
  EXPECT_TRUE(s.cache->find(run(999 * 1000, 8)).has_value()) << "the newest stays";
  EXPECT_FALSE(s.cache->find(run(0, 8)).has_value()) << "the oldest went";
}

TEST(PrefixStore, EvictsTheLeastRecentlyUsedFirst) {
  Store s(300);
  s.cache->insert(run(1000, 8), state_of(100, 1));  // a
  s.cache->insert(run(2000, 8), state_of(100, 2));  // b
  s.cache->insert(run(3000, 8), state_of(100, 3));  // c
  s.cache->take_state(s.cache->find(run(1000, 8))->entry);  // a used again: b is now the oldest use
  s.cache->insert(run(4000, 8), state_of(100, 4));  // d pushes one out
  EXPECT_TRUE(s.cache->find(run(1000, 8)).has_value());
  EXPECT_FALSE(s.cache->find(run(2000, 8)).has_value());
  EXPECT_TRUE(s.cache->find(run(3000, 8)).has_value());
  EXPECT_TRUE(s.cache->find(run(4000, 8)).has_value());
  EXPECT_EQ(s.cache->stats().evictions, 1);
}

TEST(PrefixStore, SavedEntriesAreFoundAfterARestartAndReadOnFirstMatch) {
  testing::TempDir dir;
  {
    Store s(1 << 20, dir.path());
    s.cache->insert(run(0, 12), state_of(1000, 7));
    s.cache->insert(run(500, 8), state_of(500, 8));
    EXPECT_TRUE(s.cache->has_unsaved());
    s.cache->save();
    EXPECT_FALSE(s.cache->has_unsaved());
    EXPECT_GT(s.cache->stats().disk_bytes, 1500);
  }
  Store s(1 << 20, dir.path());
  EXPECT_EQ(s.cache->stats().entries, 2);
  EXPECT_EQ(s.cache->stats().ram_bytes, 0) << "only headers are read at start-up";
  const auto m = s.cache->find(run(0, 20));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->tokens, 12);
  EXPECT_EQ(*s.cache->take_state(m->entry), state_of(1000, 7));
  EXPECT_EQ(s.cache->stats().disk_loads, 1);
  EXPECT_EQ(s.cache->stats().ram_bytes, 1000);
  EXPECT_TRUE(s.warnings.empty());
}

TEST(PrefixStore, FilesOfAnotherModelOrSettingsAreIgnoredWithAWarning) {
  testing::TempDir dir;
  {
    Store s(1 << 20, dir.path(), "model-a");
    s.cache->insert(run(0, 8), state_of(100, 1));
    s.cache->save();
  }
  Store other(1 << 20, dir.path(), "model-b");
  EXPECT_FALSE(other.cache->find(run(0, 8)).has_value());
  ASSERT_EQ(other.warnings.size(), 1u);
  EXPECT_THAT(other.warnings[0], HasSubstr("another model or other engine settings"));
  Store same(1 << 20, dir.path(), "model-a");
  EXPECT_TRUE(same.cache->find(run(0, 8)).has_value()) << "left for the model it belongs to";
}

// Saves one entry (tokens 0..7, 1000 bytes of 1) into `dir`; its file.
fs::path one_saved_file(const fs::path& dir) {
  {
    Store s(1 << 20, dir);
    s.cache->insert(run(0, 8), state_of(1000, 1));
    s.cache->save();
  }
  std::vector<fs::path> files;
  for (const auto& f : fs::directory_iterator(dir)) files.push_back(f.path());
  EXPECT_EQ(files.size(), 1u);
  return files.empty() ? fs::path() : files[0];
}

TEST(PrefixStore, ATruncatedFileIsIgnoredAndRemovedWithAWarning) {
  testing::TempDir dir;
  const fs::path file = one_saved_file(dir.path());
  fs::resize_file(file, fs::file_size(file) - 100);
  Store s(1 << 20, dir.path());
  EXPECT_FALSE(s.cache->find(run(0, 8)).has_value());
  ASSERT_EQ(s.warnings.size(), 1u);
  EXPECT_THAT(s.warnings[0], HasSubstr("truncated"));
  EXPECT_FALSE(fs::exists(file));
}

TEST(PrefixStore, ACorruptStateIsCaughtByItsChecksumOnFirstUseAndRemoved) {
  testing::TempDir dir;
  const fs::path file = one_saved_file(dir.path());
  {
    std::fstream f(file, std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(static_cast<std::streamoff>(fs::file_size(file) - 500));
    f.put('\x55');
  }
  Store s(1 << 20, dir.path());
  const auto m = s.cache->find(run(0, 8));
  ASSERT_TRUE(m.has_value()) << "the header is intact";
  EXPECT_EQ(s.cache->take_state(m->entry), nullptr);
  ASSERT_EQ(s.warnings.size(), 1u);
  EXPECT_THAT(s.warnings[0], HasSubstr("checksum"));
  EXPECT_FALSE(fs::exists(file));
  EXPECT_FALSE(s.cache->find(run(0, 8)).has_value());
  EXPECT_EQ(s.cache->stats().disk_rejects, 1);
}

TEST(PrefixStore, GarbageInTheFolderIsRemovedWithAWarning) {
  testing::TempDir dir;
  std::ofstream(dir / "junk.kv") << "not a cache file";
  Store s(1 << 20, dir.path());
  ASSERT_EQ(s.warnings.size(), 1u);
  EXPECT_THAT(s.warnings[0], HasSubstr("not an agentd prefix-cache file"));
  EXPECT_FALSE(fs::exists(dir / "junk.kv"));
}

TEST(PrefixStore, AWriteCutShortByACrashIsCleanedUpAtTheNextStart) {
  testing::TempDir dir;
  std::ofstream(dir / "0123456789abcdef-7.kv.tmp") << "half a file";  // killed before the rename
  Store s(1 << 20, dir.path());
  EXPECT_FALSE(fs::exists(dir / "0123456789abcdef-7.kv.tmp"));
  EXPECT_TRUE(s.warnings.empty());
  EXPECT_EQ(s.cache->stats().entries, 0);
}

TEST(PrefixStore, TheFolderStaysUnderItsCapOldestFirst) {
  testing::TempDir dir;
  Store s(1 << 20, dir.path(), "model-a", 2500);
  for (int i = 0; i < 5; ++i) {
    s.cache->insert(run(i * 100, 8), state_of(1000, static_cast<uint8_t>(i)));
    s.cache->save();
    uint64_t total = 0;
    for (const auto& f : fs::directory_iterator(dir.path())) total += f.file_size();
    EXPECT_LE(total, 2500u);
  }
  Store again(1 << 20, dir.path());
  EXPECT_TRUE(again.cache->find(run(400, 8)).has_value()) << "the newest file stays";
  EXPECT_FALSE(again.cache->find(run(0, 8)).has_value()) << "the oldest went";
}

// The engine saves between decode steps in short passes: a pass stops once its budget is spent,
// after at least one write, and the passes together write everything under the folder's cap.
TEST(PrefixStore, SavingInPassesWritesOneEntryAtLeastPerPassAndKeepsTheCap) {
  testing::TempDir dir;
  Store s(1 << 20, dir.path(), "model-a", 5500);
  for (int i = 0; i < 10; ++i) s.cache->insert(run(i * 100, 8), state_of(1000, static_cast<uint8_t>(i)));
  int passes = 0;
  while (!s.cache->save(std::chrono::nanoseconds(0))) {
    ++passes;
    ASSERT_LT(passes, 10) << "a pass that writes nothing never ends";
    uint64_t total = 0;
    for (const auto& f : fs::directory_iterator(dir.path())) total += f.file_size();
    EXPECT_LE(total, 5500u);
  }
  EXPECT_EQ(passes, 9) << "one entry per pass with no time to spare";
  EXPECT_FALSE(s.cache->has_unsaved());
  EXPECT_LE(s.cache->stats().disk_bytes, 5500);
  EXPECT_GT(s.cache->stats().disk_bytes, 4000) << "the newest files stay, as many as fit";
  Store again(1 << 20, dir.path());
  EXPECT_EQ(again.cache->stats().entries, 5);
}

}  // namespace
}  // namespace agentd::engine
