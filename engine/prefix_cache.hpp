// PrefixCache: the KV state of prompt prefixes, kept in host RAM after the KV stream that computed
// them is given to another request, and on disk across restarts. A request that starts with a
// cached prefix copies that state into its stream and prefills only the rest of its prompt.
//
// Bookkeeping and files only: the inference loop makes the llama.cpp calls (get and set a
// sequence's state) and hands the bytes in and out; nothing here touches the llama_context, and
// only the inference thread calls it.
//
//  - Entries hold a block-aligned token prefix and the sequence state that computed it (the state
//    may cover a few tokens more; the loop trims the cells past the match after restoring).
//  - The index is a chain of hashes over fixed-size token blocks (hash of block i folds in the
//    hash of block i-1), as vLLM's prefix caching keys its blocks: a prompt's longest cached
//    prefix is found by walking its own chain, and the tokens are compared before anything is
//    trusted.
//  - RAM is capped (least recently used entries go first); an entry that another one extends is
//    dropped (a conversation's turn n is replaced by turn n+1).
//  - On disk, one file per entry under `dir`, written by save(): a header naming the model and
//    every setting that changes KV contents (`key`), the tokens, the state and a checksum. At
//    start-up only the headers are read; a file's state is read on its first match. A file with
//    another key is ignored (another model's or settings' cache) and one that is truncated or
//    corrupt is ignored and removed, each with a warning. The folder is kept under its cap, oldest
//    files first.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "engine/state_memory.hpp"

namespace agentd::engine {

using TokenList = std::vector<int32_t>;

struct PrefixCacheOptions {
  size_t ram_bytes = 512ull << 20;  // 0: no RAM store (and so nothing on disk either)
  std::filesystem::path dir;        // empty: nothing on disk
  size_t disk_bytes = 1ull << 30;
  std::string key;                  // model identity + KV-relevant settings; files must match it
  int block_tokens = 32;
  std::function<void(const std::string&)> warn;  // warnings about files; empty = stderr
};

struct PrefixCacheStats {
  int64_t entries = 0;       // prefixes known (in RAM, on disk, or both)
  int64_t ram_bytes = 0;     // state bytes held in RAM
  int64_t disk_bytes = 0;    // bytes of this cache's files on disk
  int64_t evictions = 0;     // entries dropped from RAM to stay under the cap
  int64_t disk_loads = 0;    // states read from disk on a match
  int64_t disk_rejects = 0;  // files ignored: another key, truncated or corrupt
};

class PrefixCache {
 public:
  // Reads the headers of the files in options.dir (creating it if needed).
  explicit PrefixCache(PrefixCacheOptions options);
  PrefixCache(const PrefixCache&) = delete;
  PrefixCache& operator=(const PrefixCache&) = delete;

  struct Match {
    uint64_t entry = 0;
    int tokens = 0;  // length of the common prefix of the prompt and the entry
  };
  // The entry sharing the longest prefix (at least one block) with `prompt`, if any.
  std::optional<Match> find(const TokenList& prompt) const;

  // The state of an entry found by find(), read from disk if it is not in RAM yet; null if the
  // file turned out bad (the entry is then gone, with a warning). Counts as a use (LRU, hits).
  std::shared_ptr<const StateBytes> take_state(uint64_t entry);

  // True when an entry already holds every token of `tokens` cut to whole blocks (or when that
  // is less than one block): storing it again would add nothing.
  bool covers(const TokenList& tokens) const;

  // Stores `tokens` cut to whole blocks with `state` (which computed at least those tokens).
  // Entries it extends are dropped; least recently used ones are evicted to stay under the cap.
  void insert(const TokenList& tokens, StateBytes state);

  // Writes the entries not yet on disk, most used first, trimming the folder to its cap as it
  // goes. Stops after the write that passes `budget` (at least one is written, so every pass makes
  // progress); true when nothing is left unsaved. The engine saves in short passes between
  // steps, so a waiting chat is not held up by a folder of thousands of files.
  bool save(std::chrono::steady_clock::duration budget = std::chrono::steady_clock::duration::max());
  bool has_unsaved() const { return unsaved_ > 0; }

  PrefixCacheStats stats() const;
  int block_tokens() const { return options_.block_tokens; }
  bool enabled() const { return options_.ram_bytes > 0; }

 private:
  struct Entry {
    TokenList tokens;                          // a whole number of blocks
    std::shared_ptr<const StateBytes> state;   // null while only on disk
    std::filesystem::path file;                // empty while only in RAM
    uint64_t file_bytes = 0;
    uint64_t hits = 0;
    bool to_save = false;  // in RAM only and not yet given up for disk (save() writes it)
    std::list<uint64_t>::iterator lru;         // position in lru_ (front = most recent)
  };

  std::vector<uint64_t> chain(const TokenList& tokens, size_t blocks) const;
  void index(uint64_t id);
  void unindex(uint64_t id);
  void erase(uint64_t id, bool delete_file);
  void touch(uint64_t id);
  void evict_to(size_t bytes);
  void drop_extended_by(const TokenList& tokens);
  void scan_folder();
  std::shared_ptr<const StateBytes> load(Entry& e);
  bool write(uint64_t id, Entry& e);
  // The folder's files, oldest first (a file's time is its last write or use), listed once per
  // save pass and kept in order as the pass writes.
  struct Folder {
    std::vector<std::filesystem::path> oldest_first;
    size_t next = 0;     // files before it are gone
    uint64_t total = 0;  // bytes of the files from `next` on
    std::unordered_map<std::string, uint64_t> entry_of;  // file -> the entry it holds
  };
  Folder list_folder() const;
  void trim_folder(Folder& folder, uint64_t limit);
  void warn(const std::string& message) const;

  PrefixCacheOptions options_;
  std::unordered_map<uint64_t, Entry> entries_;
  std::unordered_multimap<uint64_t, uint64_t> by_block_hash_;  // chain hash of block i -> entries
  std::list<uint64_t> lru_;
  uint64_t next_id_ = 1;
  size_t ram_bytes_ = 0;
  int unsaved_ = 0;  // entries with to_save
  PrefixCacheStats counters_;
};

// The identity of a model file for the disk cache: its size and a hash of its first and last
// MiB (the metadata and the last tensors), so a re-quantized or fine-tuned file at the same path
// does not match. Throws std::runtime_error if the file cannot be read.
std::string model_file_identity(const std::filesystem::path& model);

}  // namespace agentd::engine
