#include "engine/state_memory.hpp"

#include <algorithm>
#include <map>
#include <mutex>
#include <set>

#include <sys/mman.h>
#include <unistd.h>

namespace agentd::engine {

namespace {

size_t page_size() {
  static const size_t size = [] {
    const long p = sysconf(_SC_PAGESIZE);
    return p > 0 ? static_cast<size_t>(p) : size_t{4096};
  }();
  return size;
}

size_t whole_pages(size_t bytes) { return (bytes + page_size() - 1) / page_size() * page_size(); }

constexpr size_t kHugePage = size_t{2} << 20;

// New memory for a state of `size` bytes (whole pages), or null. From 2 MiB on, the mapping starts
// on a 2 MiB boundary and asks for transparent huge pages: its first writes then fault once per
// 2 MiB rather than once per page (copying a 35 MiB state into new memory: 6 ms against 56–67 ms
// with MAP_POPULATE on this project's VM). Smaller ones are mapped with MAP_POPULATE.
void* map_new(size_t size) {
  if (size < kHugePage) {
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    return p == MAP_FAILED ? nullptr : p;
  }
  void* raw = ::mmap(nullptr, size + kHugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  const uintptr_t from = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t start = (from + kHugePage - 1) / kHugePage * kHugePage;
  if (start > from) ::munmap(raw, start - from);
  if (const size_t tail = from + kHugePage - start; tail > 0) {
    ::munmap(reinterpret_cast<void*>(start + size), tail);
  }
#ifdef MADV_HUGEPAGE
  ::madvise(reinterpret_cast<void*>(start), size, MADV_HUGEPAGE);  // a hint: without it, small pages
#endif
  return reinterpret_cast<void*>(start);
}

// Spare memory as free ranges of whole pages. An allocation takes the smallest range that holds it
// and leaves the rest spare; a freed range joins its neighbours, so freed states that lay side by
// side serve a larger one. Ranges of different mappings may join: both are mapped, and munmap
// takes any range of whole pages.
class SpareMemory {
 public:
  void* take(size_t bytes) {
    std::lock_guard lock(mutex_);
    auto it = by_size_.lower_bound({bytes, 0});
    if (it == by_size_.end()) return nullptr;
    const auto [size, at] = *it;
    remove(at, size);
    if (size > bytes) add(at + bytes, size - bytes);
    ++stats_.reused;
    return reinterpret_cast<void*>(at);
  }

  void give(void* p, size_t bytes) {
    std::lock_guard lock(mutex_);
    uintptr_t at = reinterpret_cast<uintptr_t>(p);
    size_t size = bytes;
    if (auto next = by_addr_.find(at + size); next != by_addr_.end()) {
      size += next->second;
      remove(next->first, next->second);
    }
    if (auto prev = by_addr_.lower_bound(at); prev != by_addr_.begin()) {
      --prev;
      if (prev->first + prev->second == at) {
        at = prev->first;
        size += prev->second;
        remove(prev->first, prev->second);
      }
    }
    add(at, size);
    trim_to(stats_.spare_limit);
  }

  void set_limit(size_t bytes) {
    std::lock_guard lock(mutex_);
    stats_.spare_limit = bytes;
    trim_to(bytes);
  }

  void release() {
    std::lock_guard lock(mutex_);
    trim_to(0);
  }

  void count_mapping() {
    std::lock_guard lock(mutex_);
    ++stats_.mapped;
  }

  StateMemoryStats stats() {
    std::lock_guard lock(mutex_);
    return stats_;
  }

 private:
  void add(uintptr_t at, size_t size) {
    by_addr_.emplace(at, size);
    by_size_.emplace(size, at);
    stats_.spare_bytes += size;
  }
  void remove(uintptr_t at, size_t size) {
    by_addr_.erase(at);
    by_size_.erase({size, at});
    stats_.spare_bytes -= size;
  }
  // Unmaps the smallest ranges (the tail of the last one) until at most `limit` bytes are spare:
  // a large range can serve any state.
  void trim_to(size_t limit) {
    limit = limit / page_size() * page_size();
    while (stats_.spare_bytes > limit) {
      const auto [size, at] = *by_size_.begin();
      const size_t cut = std::min<size_t>(size, stats_.spare_bytes - limit);
      remove(at, size);
      ::munmap(reinterpret_cast<void*>(at + size - cut), cut);
      if (cut < size) add(at, size - cut);
    }
  }

  std::mutex mutex_;
  std::map<uintptr_t, size_t> by_addr_;              // GUARDED_BY(mutex_)
  std::set<std::pair<size_t, uintptr_t>> by_size_;   // GUARDED_BY(mutex_)
  StateMemoryStats stats_;                           // GUARDED_BY(mutex_)
};

SpareMemory& spare() {
  static SpareMemory* memory = new SpareMemory;  // never destroyed: states may be freed at exit
  return *memory;
}

}  // namespace

void* allocate_state_bytes(size_t bytes) {
  if (bytes < kStateMapAbove) return ::operator new(bytes);
  const size_t size = whole_pages(bytes);
  if (void* p = spare().take(size)) return p;
  void* p = map_new(size);
  if (p == nullptr) {  // maybe the spare memory is what is missing
    release_spare_state_memory();
    p = map_new(size);
    if (p == nullptr) throw std::bad_alloc();
  }
  spare().count_mapping();
  return p;
}

void free_state_bytes(void* p, size_t bytes) {
  if (bytes < kStateMapAbove) {
    ::operator delete(p);
  } else {
    spare().give(p, whole_pages(bytes));
  }
}

void set_spare_state_limit(size_t bytes) { spare().set_limit(bytes); }
void release_spare_state_memory() { spare().release(); }
StateMemoryStats state_memory_stats() { return spare().stats(); }

}  // namespace agentd::engine
