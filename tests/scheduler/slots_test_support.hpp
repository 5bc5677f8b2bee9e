// Shared pieces of the PrioritySlots tests: a fake clock, a journal of grants, a helper that
// queues a waiter, and the fixture parameterised over every concurrency mode.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "scenario.hpp"
#include "scheduler/priority_slots.hpp"

namespace agentd::scheduler::testing {

// Injected into PrioritySlotsOptions::now; time moves only when a test advances it.
class FakeClock {
 public:
  SteadyTime now() const { return SteadyTime(std::chrono::nanoseconds(ns_.load())); }
  void advance(std::chrono::nanoseconds d) { ns_ += d.count(); }
  std::function<SteadyTime()> function() {
    return [this] { return now(); };
  }

 private:
  std::atomic<std::int64_t> ns_{1'000'000'000};
};

// Names in the order their owners were granted a slot.
class Journal {
 public:
  void add(std::string name) {
    std::lock_guard lock(mutex_);
    entries_.push_back(std::move(name));
  }
  std::vector<std::string> entries() const {
    std::lock_guard lock(mutex_);
    return entries_;
  }

 private:
  mutable std::mutex mutex_;  // held briefly, never across a fiber switch
  std::vector<std::string> entries_;
};

// Spawns an actor that waits for a slot at `priority`, writes `name` into `journal` once
// granted and releases at once; returns when the actor is queued (or already served, in case
// another actor releases meanwhile and the queued state is too brief to observe).
inline void queue_recorder(Scenario& scenario, PrioritySlots& slots, Priority priority, std::string name,
                           Journal& journal, QueuePlace place = QueuePlace::in_arrival_order) {
  const std::size_t before = slots.waiting(priority);
  auto served = std::make_shared<std::atomic<bool>>(false);
  scenario.spawn([&slots, &journal, priority, name, served, place] {
    const AcquireStatus status = slots.acquire(priority, {}, {}, place);
    *served = true;
    EXPECT_EQ(status, AcquireStatus::acquired) << name;
    if (status != AcquireStatus::acquired) return;
    journal.add(name);
    slots.release();
  });
  scenario.wait_until([&] { return slots.waiting(priority) > before || *served; });
}

// True in a -fsanitize=thread build (GCC and Clang spellings).
#if defined(__SANITIZE_THREAD__)
inline constexpr bool kBuiltWithTsan = true;
#elif defined(__has_feature)
inline constexpr bool kBuiltWithTsan = __has_feature(thread_sanitizer);
#else
inline constexpr bool kBuiltWithTsan = false;
#endif

class PrioritySlotsTest : public ::testing::TestWithParam<Mode> {
 protected:
  // TSan cannot follow fibers that migrate between threads with this Boost (no fiber
  // annotations): it crashes inside its own runtime. See scheduler/README.md. Set
  // AGENTD_TSAN_MIGRATING_FIBERS=1 to run them anyway.
  void SetUp() override {
    if (kBuiltWithTsan && GetParam() == Mode::fibers_shared_work &&
        std::getenv("AGENTD_TSAN_MIGRATING_FIBERS") == nullptr) {
      GTEST_SKIP() << "fibers migrating between threads are out of reach of TSan with Boost "
                      "1.74 (see scheduler/README.md)";
    }
  }

  Scenario scenario{GetParam()};
  Watchdog watchdog{std::chrono::seconds(120)};
};

inline std::string mode_name(const ::testing::TestParamInfo<Mode>& info) {
  return to_string(info.param);
}

#define AGENTD_INSTANTIATE_FOR_ALL_MODES(suite)                                              \
  INSTANTIATE_TEST_SUITE_P(AllModes, suite,                                                  \
                           ::testing::Values(Mode::fibers_post, Mode::fibers_dispatch,       \
                                             Mode::fibers_shared_work, Mode::plain_threads), \
                           mode_name)

}  // namespace agentd::scheduler::testing
