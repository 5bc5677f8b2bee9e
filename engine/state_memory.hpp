// StateBytes: the buffers that hold a sequence's KV state outside the KV cache (a stored prefix, a
// paused sequence copied out), and the memory they come from.
//
// Writing a state into memory the process has never touched is slow: every new page costs a
// fault, and on a VM with shadow page tables the first write to each page costs far more than the
// copy (llama_state_seq_get_data of a 35 MiB state: 56 ms into a freshly mapped buffer, mapped
// with MAP_POPULATE, against 2.5 ms into one written before, on this project's VM; bench/README.md
// "Replay"). So large buffers are not returned to the system when freed: they stay mapped as
// spare memory, and the next state is written into it. Spare memory is capped
// (set_spare_state_limit); what is over the cap is unmapped, and release_spare_state_memory()
// gives all of it back (the engine calls it when idle). New memory from 2 MiB on asks for
// transparent huge pages, so its first writes fault once per 2 MiB (6 ms for that 35 MiB state).
//
// Thread-safe: states are made on the inference thread, but one may be dropped on another.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <utility>
#include <vector>

namespace agentd::engine {

// Below this a state comes from malloc; above it, from mapped memory (mmap with MAP_POPULATE, or
// spare memory). A store at its cap frees and allocates states of every size all day, which left
// malloc's arena fragmented (with stories260K's ~100 KB states, the rest of resident memory rose
// from 43 to 62 MiB within two minutes of a 64 MiB store reaching its cap; scripts/soak). 64 KiB
// keeps the page rounding under 7 %.
inline constexpr size_t kStateMapAbove = size_t{64} << 10;

void* allocate_state_bytes(size_t bytes);
void free_state_bytes(void* p, size_t bytes);

// Spare memory kept mapped for the next states, at most `bytes` (0: none, the default).
void set_spare_state_limit(size_t bytes);
// Unmaps all spare memory.
void release_spare_state_memory();

struct StateMemoryStats {
  uint64_t spare_bytes = 0;     // freed, still mapped, ready for the next state
  uint64_t spare_limit = 0;
  uint64_t reused = 0;          // allocations served from spare memory
  uint64_t mapped = 0;          // allocations that mapped new memory
};
StateMemoryStats state_memory_stats();

// Elements are left uninitialised by resize(): llama.cpp or the file fills every byte.
template <typename T>
struct StateAllocator {
  using value_type = T;
  StateAllocator() = default;
  template <typename U>
  StateAllocator(const StateAllocator<U>&) {}  // NOLINT: rebinding
  T* allocate(size_t n) { return static_cast<T*>(allocate_state_bytes(n * sizeof(T))); }
  void deallocate(T* p, size_t n) { free_state_bytes(p, n * sizeof(T)); }
  template <typename U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
  template <typename U>
  bool operator==(const StateAllocator<U>&) const { return true; }
};
using StateBytes = std::vector<uint8_t, StateAllocator<uint8_t>>;

}  // namespace agentd::engine
