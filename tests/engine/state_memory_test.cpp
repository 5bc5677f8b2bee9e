// State memory (engine/state_memory.hpp): freed state buffers are written again instead of new
// mappings, spare memory joins and splits, and never exceeds its limit.
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>

#include "engine/state_memory.hpp"

namespace agentd::engine {
namespace {

constexpr size_t kMiB = size_t{1} << 20;

// Each test starts and ends with no spare memory and the limit it sets.
class StateMemoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    release_spare_state_memory();
    set_spare_state_limit(64 * kMiB);
  }
  void TearDown() override {
    release_spare_state_memory();
    set_spare_state_limit(0);
  }
  static uint8_t* bytes(size_t n) { return static_cast<uint8_t*>(allocate_state_bytes(n)); }
};

TEST_F(StateMemoryTest, AFreedBufferIsWrittenAgainNotMappedAnew) {
  uint8_t* first = bytes(8 * kMiB);
  std::memset(first, 7, 8 * kMiB);
  free_state_bytes(first, 8 * kMiB);
  EXPECT_EQ(state_memory_stats().spare_bytes, 8 * kMiB);

  const auto before = state_memory_stats();
  uint8_t* second = bytes(8 * kMiB);
  EXPECT_EQ(second, first);
  EXPECT_EQ(state_memory_stats().reused, before.reused + 1);
  EXPECT_EQ(state_memory_stats().mapped, before.mapped);
  EXPECT_EQ(state_memory_stats().spare_bytes, 0u);
  free_state_bytes(second, 8 * kMiB);
}

TEST_F(StateMemoryTest, ASmallerStateTakesPartOfASpareRangeAndLeavesTheRest) {
  uint8_t* big = bytes(4 * kMiB);
  free_state_bytes(big, 4 * kMiB);

  uint8_t* a = bytes(1 * kMiB);
  uint8_t* b = bytes(3 * kMiB);
  EXPECT_EQ(a, big);
  EXPECT_EQ(b, big + kMiB);
  EXPECT_EQ(state_memory_stats().spare_bytes, 0u);
  free_state_bytes(a, 1 * kMiB);
  free_state_bytes(b, 3 * kMiB);
}

TEST_F(StateMemoryTest, NeighbouringFreedRangesJoinToServeALargerState) {
  uint8_t* big = bytes(4 * kMiB);
  free_state_bytes(big, 4 * kMiB);
  uint8_t* a = bytes(2 * kMiB);
  uint8_t* b = bytes(2 * kMiB);
  free_state_bytes(b, 2 * kMiB);  // freed in either order, they join
  free_state_bytes(a, 2 * kMiB);

  const auto before = state_memory_stats();
  uint8_t* whole = bytes(4 * kMiB);
  EXPECT_EQ(whole, big);
  EXPECT_EQ(state_memory_stats().mapped, before.mapped);
  free_state_bytes(whole, 4 * kMiB);
}

TEST_F(StateMemoryTest, SpareMemoryStaysUnderItsLimitAndGoesBackOnRelease) {
  set_spare_state_limit(3 * kMiB);
  uint8_t* a = bytes(2 * kMiB);
  uint8_t* b = bytes(2 * kMiB);
  free_state_bytes(a, 2 * kMiB);
  free_state_bytes(b, 2 * kMiB);
  EXPECT_EQ(state_memory_stats().spare_bytes, 3 * kMiB);

  set_spare_state_limit(1 * kMiB);
  EXPECT_EQ(state_memory_stats().spare_bytes, 1 * kMiB);
  release_spare_state_memory();
  EXPECT_EQ(state_memory_stats().spare_bytes, 0u);

  set_spare_state_limit(0);  // none kept: a freed state goes straight back
  uint8_t* c = bytes(2 * kMiB);
  free_state_bytes(c, 2 * kMiB);
  EXPECT_EQ(state_memory_stats().spare_bytes, 0u);
}

TEST_F(StateMemoryTest, OddSizesAreKeptInWholePagesAndSmallStatesComeFromTheHeap) {
  const size_t odd = 5 * kMiB + 123;
  uint8_t* p = bytes(odd);
  std::memset(p, 1, odd);
  free_state_bytes(p, odd);
  const auto spare = state_memory_stats().spare_bytes;
  EXPECT_GE(spare, odd);
  EXPECT_EQ(spare % 4096, 0u);

  uint8_t* small = bytes(kStateMapAbove - 1);
  free_state_bytes(small, kStateMapAbove - 1);
  EXPECT_EQ(state_memory_stats().spare_bytes, spare);
}

// The kernel's transparent huge pages setting offers them to a mapping that asks.
bool huge_pages_on_request() {
  std::ifstream f("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string line;
  std::getline(f, line);
  return line.find("[always]") != std::string::npos || line.find("[madvise]") != std::string::npos;
}

// AnonHugePages of the mapping that holds `p`, from /proc/self/smaps.
size_t huge_page_kb_at(const void* p) {
  std::ifstream smaps("/proc/self/smaps");
  const uintptr_t at = reinterpret_cast<uintptr_t>(p);
  bool inside = false;
  for (std::string line; std::getline(smaps, line);) {
    uintptr_t from = 0, to = 0;
    char dash = 0;
    std::istringstream range(line);
    if (range >> std::hex >> from >> dash >> to && dash == '-') {
      inside = from <= at && at < to;
    } else if (inside && line.rfind("AnonHugePages:", 0) == 0) {
      return std::stoul(line.substr(14));
    }
  }
  return 0;
}

TEST_F(StateMemoryTest, NewMemoryForALargeStateStartsOnAHugePageAndGetsHugePages) {
  const size_t n = 8 * kMiB;
  uint8_t* p = bytes(n);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % (2 * kMiB), 0u);
  std::memset(p, 3, n);
  if (huge_pages_on_request()) {
    EXPECT_GT(huge_page_kb_at(p), 0u) << "transparent huge pages are on for mappings that ask";
  }
  free_state_bytes(p, n);
}

TEST_F(StateMemoryTest, AStateBytesVectorKeepsItsContentsInReusedMemory) {
  { StateBytes first(3 * kMiB, 0xAB); }
  StateBytes second(3 * kMiB);
  std::memset(second.data(), 0x5A, second.size());
  StateBytes third(second);
  EXPECT_EQ(third, second);
  EXPECT_EQ(third[3 * kMiB - 1], 0x5A);
}

TEST_F(StateMemoryTest, ThreadsThatAllocateAndFreeAtOnceLeaveItConsistent) {
  set_spare_state_limit(16 * kMiB);
  auto churn = [](int seed) {
    for (int i = 0; i < 200; ++i) {
      const size_t n = (static_cast<size_t>((seed * 31 + i * 17) % 7) + 1) * 256 * 1024;
      uint8_t* p = bytes(n);
      p[0] = p[n - 1] = static_cast<uint8_t>(i);
      EXPECT_EQ(p[0], p[n - 1]);
      free_state_bytes(p, n);
    }
  };
  std::thread a(churn, 1), b(churn, 2);
  a.join();
  b.join();
  EXPECT_LE(state_memory_stats().spare_bytes, 16 * kMiB);
  EXPECT_GT(state_memory_stats().reused, 0u);
}

}  // namespace
}  // namespace agentd::engine
