// PriorityLock micro-benchmarks: the cost of an uncontended acquire/release, and of handing
// the lock between two fibers on one thread, each against a baseline measured in the same run
// (a bare boost::fibers::mutex, and two fibers yielding to each other). Prints medians of
// several repetitions and the ratios to the baselines.
#include <cstdio>
#include <map>
#include <mutex>
#include <string>

#include <unistd.h>

#include <benchmark/benchmark.h>
#include <boost/fiber/fiber.hpp>
#include <boost/fiber/mutex.hpp>
#include <boost/fiber/operations.hpp>

#include "scheduler/priority_lock.hpp"

namespace {

using agentd::scheduler::AcquireStatus;
using agentd::scheduler::Priority;
using agentd::scheduler::PriorityLock;

constexpr int kRepetitions = 7;
constexpr double kMinSecondsPerRepetition = 0.1;

void BM_StdMutexLockUnlock(benchmark::State& state) {
  std::mutex m;
  for (auto _ : state) {
    m.lock();
    m.unlock();
  }
}

void BM_FiberMutexLockUnlock(benchmark::State& state) {
  boost::fibers::mutex m;
  for (auto _ : state) {
    m.lock();
    m.unlock();
  }
}

void BM_PriorityLockAcquireRelease(benchmark::State& state) {
  PriorityLock lock;
  for (auto _ : state) {
    if (lock.acquire(Priority::tool) != AcquireStatus::acquired) state.SkipWithError("acquire");
    lock.release();
  }
}

void BM_PriorityLockTryAcquireRelease(benchmark::State& state) {
  PriorityLock lock;
  for (auto _ : state) {
    if (!lock.try_acquire(Priority::tool)) state.SkipWithError("try_acquire");
    lock.release();
  }
}

// Baseline for the handoff: two fibers on one thread switching to each other via yield.
// One iteration = two context switches.
void BM_FiberYieldRoundTrip(benchmark::State& state) {
  bool stop = false;
  boost::fibers::fiber partner([&] {
    while (!stop) boost::this_fiber::yield();
  });
  for (auto _ : state) boost::this_fiber::yield();
  stop = true;
  partner.join();
}

// The benchmark fiber and a partner fiber pass the lock back and forth: each release hands it
// to the other, which is queued. One iteration = two handoffs (two context switches).
void BM_PriorityLockHandoffRoundTrip(benchmark::State& state) {
  PriorityLock lock;
  bool stop = false;  // written before the release that wakes the partner
  lock.acquire(Priority::tool);
  boost::fibers::fiber partner([&] {
    for (;;) {
      lock.acquire(Priority::tool);
      const bool done = stop;
      lock.release();
      if (done) return;
    }
  });
  while (lock.waiting(Priority::tool) == 0) boost::this_fiber::yield();
  for (auto _ : state) {
    lock.release();                // hand to the partner
    lock.acquire(Priority::tool);  // queue; the partner's release hands it back
  }
  stop = true;
  lock.release();
  partner.join();
}

void configure(benchmark::internal::Benchmark* b) {
  b->Repetitions(kRepetitions)->ReportAggregatesOnly(true)->MinTime(kMinSecondsPerRepetition);
}

BENCHMARK(BM_StdMutexLockUnlock)->Apply(configure);
BENCHMARK(BM_FiberMutexLockUnlock)->Apply(configure);
BENCHMARK(BM_PriorityLockAcquireRelease)->Apply(configure);
BENCHMARK(BM_PriorityLockTryAcquireRelease)->Apply(configure);
BENCHMARK(BM_FiberYieldRoundTrip)->Apply(configure);
BENCHMARK(BM_PriorityLockHandoffRoundTrip)->Apply(configure);

// Console output as usual, plus the median real time of each benchmark kept for the ratios.
class MedianRecorder : public benchmark::ConsoleReporter {
 public:
  // Colours only on a terminal (a custom reporter does not see --benchmark_color).
  MedianRecorder() : ConsoleReporter(isatty(STDOUT_FILENO) ? OO_Defaults : OO_Tabular) {}

  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      if (run.aggregate_name == "median") medians_[run.run_name.function_name] = run.GetAdjustedRealTime();
    }
  }
  double median_ns(const std::string& name) const {
    auto it = medians_.find(name);
    return it == medians_.end() ? 0.0 : it->second;
  }

 private:
  std::map<std::string, double> medians_;  // in the default unit, ns
};

void print_ratio(const MedianRecorder& r, const char* what, const char* name, const char* base) {
  const double ns = r.median_ns(name), base_ns = r.median_ns(base);
  if (ns == 0.0 || base_ns == 0.0) return;  // filtered out on the command line
  std::printf("%-44s %8.1f ns  = %5.2fx %s (%.1f ns)\n", what, ns, ns / base_ns, base, base_ns);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  MedianRecorder reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  std::printf("\nMedians of %d repetitions:\n", kRepetitions);
  print_ratio(reporter, "uncontended acquire+release", "BM_PriorityLockAcquireRelease",
              "BM_FiberMutexLockUnlock");
  print_ratio(reporter, "uncontended try_acquire+release", "BM_PriorityLockTryAcquireRelease",
              "BM_FiberMutexLockUnlock");
  print_ratio(reporter, "handoff round trip (2 handoffs)", "BM_PriorityLockHandoffRoundTrip",
              "BM_FiberYieldRoundTrip");
  const double round_trip = reporter.median_ns("BM_PriorityLockHandoffRoundTrip");
  if (round_trip > 0.0) std::printf("%-44s %8.1f ns\n", "one handoff between fibers", round_trip / 2);
  benchmark::Shutdown();
  return 0;
}
