#include "engine/prefix_cache.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <system_error>

namespace agentd::engine {

namespace fs = std::filesystem;

namespace {

constexpr std::array<char, 8> kMagic = {'A', 'G', 'D', 'K', 'V', 'P', 'C', '1'};
constexpr uint32_t kMaxKeyBytes = 4096;
constexpr uint32_t kMaxTokens = 1u << 24;
constexpr uint64_t kMaxStateBytes = 1ull << 40;

uint64_t mix(uint64_t h, uint64_t word) {
  h ^= word;
  h = (h << 31) | (h >> 33);
  return h * 0x9E3779B97F4A7C15ull;
}

uint64_t hash_bytes(uint64_t h, const uint8_t* data, size_t size) {
  size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    uint64_t w;
    std::memcpy(&w, data + i, 8);
    h = mix(h, w);
  }
  uint64_t tail = 0;
  std::memcpy(&tail, data + i, size - i);
  return mix(h, tail ^ (static_cast<uint64_t>(size) << 56));
}

size_t common_prefix(const TokenList& a, const TokenList& b) {
  const size_t n = std::min(a.size(), b.size());
  size_t i = 0;
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

// File layout: magic, u32 key length, key, u32 token count, tokens (i32), u64 state size, state,
// u64 checksum of everything before it. Host byte order: a file is only read back by the same
// build on the same machine (the key names the model and settings, not the architecture).
size_t header_bytes(size_t key, size_t tokens) { return kMagic.size() + 4 + key + 4 + 4 * tokens + 8; }

class Writer {
 public:
  template <typename T>
  void put(const T& v) {
    bytes(reinterpret_cast<const uint8_t*>(&v), sizeof v);
  }
  void bytes(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    out.insert(out.end(), b, b + n);
  }
  std::vector<uint8_t> out;
};

// The bytes before the state, as written.
std::vector<uint8_t> header_of(const std::string& key, const TokenList& tokens, uint64_t state_bytes) {
  Writer head;
  head.bytes(kMagic.data(), kMagic.size());
  head.put(static_cast<uint32_t>(key.size()));
  head.bytes(key.data(), key.size());
  head.put(static_cast<uint32_t>(tokens.size()));
  head.bytes(tokens.data(), 4 * tokens.size());
  head.put(state_bytes);
  return head.out;
}

uint64_t checksum(const std::vector<uint8_t>& header, const StateBytes& state) {
  return hash_bytes(hash_bytes(0, header.data(), header.size()), state.data(), state.size());
}

template <typename T>
bool get(std::istream& in, T& v) {
  return static_cast<bool>(in.read(reinterpret_cast<char*>(&v), sizeof v));
}

struct Header {
  std::string key;
  TokenList tokens;
  uint64_t state_bytes = 0;
};

// Reads the header; "" if it is whole, else why not.
std::string read_header(std::istream& in, Header& h) {
  std::array<char, 8> magic{};
  if (!in.read(magic.data(), magic.size()) || magic != kMagic) return "not an agentd prefix-cache file";
  uint32_t key_len = 0;
  if (!get(in, key_len) || key_len > kMaxKeyBytes) return "bad key length";
  h.key.resize(key_len);
  if (!in.read(h.key.data(), key_len)) return "truncated key";
  uint32_t n = 0;
  if (!get(in, n) || n == 0 || n > kMaxTokens) return "bad token count";
  h.tokens.resize(n);
  if (!in.read(reinterpret_cast<char*>(h.tokens.data()), 4ll * n)) return "truncated tokens";
  if (!get(in, h.state_bytes) || h.state_bytes == 0 || h.state_bytes > kMaxStateBytes) return "bad state size";
  return "";
}

}  // namespace

PrefixCache::PrefixCache(PrefixCacheOptions options) : options_(std::move(options)) {
  if (options_.block_tokens < 1) throw std::invalid_argument("prefix cache block_tokens must be >= 1");
  if (enabled() && !options_.dir.empty()) scan_folder();
}

// ---------------------------------------------------------------------------------------------
// Index

std::vector<uint64_t> PrefixCache::chain(const TokenList& tokens, size_t blocks) const {
  const size_t b = static_cast<size_t>(options_.block_tokens);
  std::vector<uint64_t> hashes;
  hashes.reserve(blocks);
  uint64_t h = 0x2545F4914F6CDD1Dull;
  for (size_t i = 0; i < blocks; ++i) {
    h = hash_bytes(h, reinterpret_cast<const uint8_t*>(tokens.data() + i * b), b * sizeof(int32_t));
    hashes.push_back(h);
  }
  return hashes;
}

void PrefixCache::index(uint64_t id) {
  const Entry& e = entries_.at(id);
  for (uint64_t h : chain(e.tokens, e.tokens.size() / static_cast<size_t>(options_.block_tokens))) {
    by_block_hash_.emplace(h, id);
  }
}

void PrefixCache::unindex(uint64_t id) {
  const Entry& e = entries_.at(id);
  for (uint64_t h : chain(e.tokens, e.tokens.size() / static_cast<size_t>(options_.block_tokens))) {
    auto [first, last] = by_block_hash_.equal_range(h);
    for (auto it = first; it != last; ++it) {
      if (it->second == id) {
        by_block_hash_.erase(it);
        break;
      }
    }
  }
}

std::optional<PrefixCache::Match> PrefixCache::find(const TokenList& prompt) const {
  if (entries_.empty()) return std::nullopt;
  const size_t blocks = prompt.size() / static_cast<size_t>(options_.block_tokens);
  const std::vector<uint64_t> hashes = chain(prompt, blocks);
  // The deepest block of the prompt's chain that some entry shares (chains are prefix-closed).
  size_t depth = 0;
  while (depth < blocks && by_block_hash_.count(hashes[depth]) > 0) ++depth;
  if (depth == 0) return std::nullopt;
  std::optional<Match> best;
  for (size_t d = depth; d > 0 && !best; --d) {  // a hash collision shows as a shorter real match
    auto [first, last] = by_block_hash_.equal_range(hashes[d - 1]);
    for (auto it = first; it != last; ++it) {
      const int n = static_cast<int>(common_prefix(prompt, entries_.at(it->second).tokens));
      if (n >= options_.block_tokens && (!best || n > best->tokens)) best = Match{it->second, n};
    }
  }
  return best;
}

bool PrefixCache::covers(const TokenList& tokens) const {
  const size_t b = static_cast<size_t>(options_.block_tokens);
  const size_t whole = tokens.size() / b * b;
  if (whole == 0) return true;
  const auto m = find(tokens);
  return m && static_cast<size_t>(m->tokens) >= whole;
}

void PrefixCache::touch(uint64_t id) {
  Entry& e = entries_.at(id);
  lru_.splice(lru_.begin(), lru_, e.lru);
}

// ---------------------------------------------------------------------------------------------
// RAM

void PrefixCache::insert(const TokenList& tokens, StateBytes state) {
  if (!enabled() || covers(tokens)) return;
  const size_t b = static_cast<size_t>(options_.block_tokens);
  if (state.size() > options_.ram_bytes) return;  // alone larger than the whole cap
  drop_extended_by(tokens);
  const uint64_t id = next_id_++;
  Entry& e = entries_[id];
  e.tokens.assign(tokens.begin(), tokens.begin() + static_cast<std::ptrdiff_t>(tokens.size() / b * b));
  ram_bytes_ += state.size();
  e.state = std::make_shared<const StateBytes>(std::move(state));
  lru_.push_front(id);
  e.lru = lru_.begin();
  index(id);
  e.to_save = true;
  ++unsaved_;
  evict_to(options_.ram_bytes);
}

// Entries whose tokens all start `tokens` add nothing once it is stored: a conversation's last
// turn replaces the one before it.
void PrefixCache::drop_extended_by(const TokenList& tokens) {
  const size_t b = static_cast<size_t>(options_.block_tokens);
  const size_t blocks = tokens.size() / b;
  std::vector<uint64_t> extended;
  for (uint64_t h : chain(tokens, blocks)) {
    auto [first, last] = by_block_hash_.equal_range(h);
    for (auto it = first; it != last; ++it) {
      const Entry& e = entries_.at(it->second);
      if (e.tokens.size() <= tokens.size() && common_prefix(e.tokens, tokens) == e.tokens.size()) {
        extended.push_back(it->second);
      }
    }
  }
  std::sort(extended.begin(), extended.end());
  extended.erase(std::unique(extended.begin(), extended.end()), extended.end());
  for (uint64_t id : extended) erase(id, /*delete_file=*/true);
}

void PrefixCache::erase(uint64_t id, bool delete_file) {
  Entry& e = entries_.at(id);
  unindex(id);
  if (e.state) ram_bytes_ -= e.state->size();
  if (e.to_save) --unsaved_;
  if (delete_file && !e.file.empty()) {
    std::error_code ec;
    fs::remove(e.file, ec);
    counters_.disk_bytes -= static_cast<int64_t>(e.file_bytes);
  }
  lru_.erase(e.lru);
  entries_.erase(id);
}

// Least recently used first. An entry that also has a file keeps it (and its place in the index):
// only its state leaves RAM.
void PrefixCache::evict_to(size_t bytes) {
  auto it = lru_.end();
  while (ram_bytes_ > bytes && it != lru_.begin()) {
    --it;
    const uint64_t id = *it;
    Entry& e = entries_.at(id);
    if (!e.state) continue;
    ++counters_.evictions;
    if (e.file.empty()) {
      it = std::next(it);  // erase() invalidates `it`; continue from its successor
      erase(id, false);
      continue;
    }
    ram_bytes_ -= e.state->size();
    e.state.reset();
  }
}

std::shared_ptr<const StateBytes> PrefixCache::take_state(uint64_t id) {
  auto found = entries_.find(id);
  if (found == entries_.end()) return nullptr;
  Entry& e = found->second;
  touch(id);
  ++e.hits;
  if (e.state && e.file.empty() && !e.to_save) {  // its file was trimmed; used again: worth one
    e.to_save = true;
    ++unsaved_;
  }
  if (e.state) return e.state;
  auto state = load(e);
  if (!state) {
    ++counters_.disk_rejects;
    erase(id, /*delete_file=*/true);
    return nullptr;
  }
  ++counters_.disk_loads;
  ram_bytes_ += state->size();
  e.state = state;
  evict_to(options_.ram_bytes);
  return state;
}

PrefixCacheStats PrefixCache::stats() const {
  PrefixCacheStats s = counters_;
  s.entries = static_cast<int64_t>(entries_.size());
  s.ram_bytes = static_cast<int64_t>(ram_bytes_);
  return s;
}

void PrefixCache::warn(const std::string& message) const {
  if (options_.warn) {
    options_.warn(message);
  } else {
    std::cerr << "agentd prefix cache: " << message << "\n";
  }
}

// ---------------------------------------------------------------------------------------------
// Disk

void PrefixCache::scan_folder() {
  std::error_code ec;
  fs::create_directories(options_.dir, ec);
  if (ec) {
    warn("cannot create " + options_.dir.string() + " (" + ec.message() + "); prefixes are kept in RAM only");
    options_.dir.clear();
    return;
  }
  int foreign = 0;
  std::vector<fs::path> partial;  // a write the process did not live to rename
  for (const auto& item : fs::directory_iterator(options_.dir, ec)) {
    if (item.path().extension() == ".tmp") partial.push_back(item.path());
    if (!item.is_regular_file(ec) || item.path().extension() != ".kv") continue;
    const uint64_t size = item.file_size(ec);
    if (ec) continue;
    counters_.disk_bytes += static_cast<int64_t>(size);
    std::ifstream in(item.path(), std::ios::binary);
    Header h;
    std::string problem = read_header(in, h);
    if (problem.empty() && h.key != options_.key) {
      ++foreign;  // another model's or other settings' cache: not ours to judge; the cap trims it
      continue;
    }
    if (problem.empty() && h.tokens.size() % static_cast<size_t>(options_.block_tokens) != 0) {
      problem = "token count is not a whole number of blocks";
    }
    if (problem.empty() && size != header_bytes(h.key.size(), h.tokens.size()) + h.state_bytes + 8) {
      problem = "size " + std::to_string(size) + " does not match its header (truncated?)";
    }
    if (!problem.empty()) {
      ++counters_.disk_rejects;
      warn(item.path().string() + ": " + problem + "; removed");
      fs::remove(item.path(), ec);
      counters_.disk_bytes -= static_cast<int64_t>(size);
      continue;
    }
    if (covers(h.tokens)) continue;
    drop_extended_by(h.tokens);
    const uint64_t id = next_id_++;
    Entry& e = entries_[id];
    e.tokens = std::move(h.tokens);
    e.file = item.path();
    e.file_bytes = size;
    lru_.push_back(id);  // behind everything used in this run
    e.lru = std::prev(lru_.end());
    index(id);
  }
  for (const auto& path : partial) fs::remove(path, ec);
  if (foreign > 0) {
    warn(std::to_string(foreign) + " file(s) in " + options_.dir.string() +
         " belong to another model or other engine settings; ignored");
  }
}

std::shared_ptr<const StateBytes> PrefixCache::load(Entry& e) {
  std::ifstream in(e.file, std::ios::binary);
  Header h;
  std::string problem = in ? read_header(in, h) : "cannot be opened";
  if (problem.empty() && (h.key != options_.key || h.tokens != e.tokens)) problem = "changed since start-up";
  auto state = std::make_shared<StateBytes>();
  if (problem.empty()) {
    state->resize(h.state_bytes);
    uint64_t stored = 0;
    if (!in.read(reinterpret_cast<char*>(state->data()), static_cast<std::streamsize>(state->size())) ||
        !get(in, stored)) {
      problem = "truncated";
    } else if (checksum(header_of(h.key, h.tokens, h.state_bytes), *state) != stored) {
      problem = "checksum mismatch (corrupt)";
    }
  }
  if (!problem.empty()) {
    warn(e.file.string() + ": " + problem + "; removed");
    return nullptr;
  }
  std::error_code ec;
  fs::last_write_time(e.file, fs::file_time_type::clock::now(), ec);  // recently used: trimmed last
  return state;
}

bool PrefixCache::write(uint64_t id, Entry& e) {
  const std::vector<uint8_t> head = header_of(options_.key, e.tokens, e.state->size());
  const uint64_t sum = checksum(head, *e.state);

  const auto blocks = e.tokens.size() / static_cast<size_t>(options_.block_tokens);
  char name[40];
  std::snprintf(name, sizeof name, "%016llx-%llu.kv", static_cast<unsigned long long>(chain(e.tokens, blocks).back()),
                static_cast<unsigned long long>(id));
  const fs::path file = options_.dir / name;
  const fs::path temp = options_.dir / (std::string(name) + ".tmp");
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(head.data()), static_cast<std::streamsize>(head.size()));
    out.write(reinterpret_cast<const char*>(e.state->data()), static_cast<std::streamsize>(e.state->size()));
    out.write(reinterpret_cast<const char*>(&sum), sizeof sum);
    if (!out.flush()) {
      std::error_code ec;
      fs::remove(temp, ec);
      warn("cannot write " + file.string() + " (disk full?)");
      return false;
    }
  }
  std::error_code ec;
  fs::rename(temp, file, ec);
  if (ec) {
    fs::remove(temp, ec);
    return false;
  }
  e.file = file;
  e.file_bytes = head.size() + e.state->size() + sizeof sum;
  counters_.disk_bytes += static_cast<int64_t>(e.file_bytes);
  e.to_save = false;
  --unsaved_;
  return true;
}

bool PrefixCache::save(std::chrono::steady_clock::duration budget) {
  if (options_.dir.empty() || unsaved_ == 0) return true;
  const auto start = std::chrono::steady_clock::now();
  std::vector<uint64_t> order;
  for (uint64_t id : lru_) {  // most recent first; a stable sort by hits keeps that among equals
    const Entry& e = entries_.at(id);
    if (e.to_save) order.push_back(id);
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](uint64_t a, uint64_t b) { return entries_.at(a).hits > entries_.at(b).hits; });
  Folder folder = list_folder();
  bool out_of_time = false;
  int written = 0;
  for (uint64_t id : order) {
    if (written > 0 && std::chrono::steady_clock::now() - start >= budget) {
      out_of_time = true;
      break;
    }
    Entry& e = entries_.at(id);
    const uint64_t need = header_bytes(options_.key.size(), e.tokens.size()) + e.state->size() + 8;
    if (need > options_.disk_bytes) continue;
    trim_folder(folder, options_.disk_bytes - need);  // room for it: the least recently used files go
    if (!write(id, e)) break;
    ++written;
    folder.oldest_first.push_back(e.file);  // the newest file
    folder.total += e.file_bytes;
    folder.entry_of.emplace(e.file.string(), id);
  }
  trim_folder(folder, options_.disk_bytes);
  counters_.disk_bytes = static_cast<int64_t>(folder.total);
  return !out_of_time || unsaved_ == 0;
}

PrefixCache::Folder PrefixCache::list_folder() const {
  std::error_code ec;
  std::vector<std::pair<fs::file_time_type, fs::path>> files;
  Folder folder;
  for (const auto& item : fs::directory_iterator(options_.dir, ec)) {
    if (!item.is_regular_file(ec) || item.path().extension() != ".kv") continue;
    folder.total += item.file_size(ec);
    files.emplace_back(item.last_write_time(ec), item.path());
  }
  std::sort(files.begin(), files.end());
  for (auto& [when, path] : files) folder.oldest_first.push_back(std::move(path));
  for (const auto& [id, e] : entries_) {
    if (!e.file.empty()) folder.entry_of.emplace(e.file.string(), id);
  }
  return folder;
}

// Down to `limit` bytes, oldest files first, whoever they belong to. An entry whose file goes
// keeps its state if it has one (in RAM only, and not written again unless used); else it goes.
void PrefixCache::trim_folder(Folder& folder, uint64_t limit) {
  std::error_code ec;
  while (folder.total > limit && folder.next < folder.oldest_first.size()) {
    const fs::path& path = folder.oldest_first[folder.next++];
    const uint64_t size = fs::file_size(path, ec);
    if (ec) continue;  // gone already
    fs::remove(path, ec);
    folder.total -= std::min(size, folder.total);
    auto found = folder.entry_of.find(path.string());
    if (found == folder.entry_of.end()) continue;
    const uint64_t id = found->second;
    folder.entry_of.erase(found);
    Entry& e = entries_.at(id);
    e.file.clear();
    e.file_bytes = 0;
    if (!e.state) erase(id, false);
  }
}

std::string model_file_identity(const fs::path& model) {
  std::ifstream in(model, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + model.string());
  const uint64_t size = fs::file_size(model);
  const size_t mib = 1 << 20;
  std::vector<uint8_t> buf(static_cast<size_t>(std::min<uint64_t>(size, mib)));
  in.read(reinterpret_cast<char*>(buf.data()), static_cast<std::streamsize>(buf.size()));
  uint64_t h = hash_bytes(0, buf.data(), buf.size());
  if (size > mib) {
    in.seekg(static_cast<std::streamoff>(size - buf.size()));
    in.read(reinterpret_cast<char*>(buf.data()), static_cast<std::streamsize>(buf.size()));
    h = hash_bytes(h, buf.data(), buf.size());
  }
  if (!in) throw std::runtime_error("cannot read " + model.string());
  char out[64];
  std::snprintf(out, sizeof out, "size=%llu hash=%016llx", static_cast<unsigned long long>(size),
                static_cast<unsigned long long>(h));
  return out;
}

}  // namespace agentd::engine
