// HttpWorkers: the HTTP server's pool grows with a burst and gives its threads back once idle.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "runtime/http_workers.hpp"

namespace agentd::runtime {
namespace {

using namespace std::chrono_literals;

// Polls `done` until it holds or 20 s pass (a hang guard, not a measure).
template <typename F>
bool eventually(F done) {
  const auto until = std::chrono::steady_clock::now() + 20s;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

TEST(HttpWorkersTest, ABurstStartsAThreadPerJobAndTheIdleOnesEndDownToTheKeptOnes) {
  HttpWorkers pool(/*max_threads=*/64, /*keep=*/2, /*idle_for=*/50ms);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> started = 0, ran = 0;
  for (int i = 0; i < 20; ++i) {
    pool.enqueue([&, released] {
      ++started;
      released.wait();
      ++ran;
    });
  }
  ASSERT_TRUE(eventually([&] { return started == 20; }));
  EXPECT_EQ(pool.threads(), 20u);  // each held job has its own thread
  release.set_value();
  ASSERT_TRUE(eventually([&] { return pool.threads() == 2; })) << pool.threads() << " threads left";
  EXPECT_EQ(ran, 20);

  // The pool still serves, and grows again, after its threads ended (and were joined).
  std::promise<void> again;
  std::shared_future<void> go = again.get_future().share();
  for (int i = 0; i < 5; ++i) pool.enqueue([&, go] { go.wait(); ++ran; });
  ASSERT_TRUE(eventually([&] { return pool.threads() == 5; }));
  again.set_value();
  ASSERT_TRUE(eventually([&] { return ran == 25; }));
}

TEST(HttpWorkersTest, TheKeptThreadsStayThroughLongIdleness) {
  HttpWorkers pool(/*max_threads=*/64, /*keep=*/3, /*idle_for=*/20ms);
  std::atomic<int> ran = 0;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  for (int i = 0; i < 6; ++i) pool.enqueue([&, released] { released.wait(); ++ran; });
  ASSERT_TRUE(eventually([&] { return pool.threads() == 6; }));
  release.set_value();
  ASSERT_TRUE(eventually([&] { return pool.threads() == 3; }));
  // Ten idle periods later: none of the three kept ones has ended (what is checked is that
  // nothing happens, so the test waits that long on purpose).
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(pool.threads(), 3u);
  EXPECT_EQ(ran, 6);
}

}  // namespace
}  // namespace agentd::runtime
