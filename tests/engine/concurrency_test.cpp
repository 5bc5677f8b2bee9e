// Many callers at once: fibers on several threads, cancellation from another thread, and shutting
// the engine down with generations in flight.
#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <boost/fiber/fiber.hpp>

#include "core/thread_kind.hpp"
#include "test_support.hpp"

namespace agentd::engine::test {
namespace {

using scheduler::Priority;

class ConcurrencyTest : public ModelTest {};

// 120 fibers on 2 threads submit at once through one engine and read their streams piece by piece.
TEST_F(ConcurrencyTest, HundredsOfFibersOnTwoThreadsShareOneEngine) {
  constexpr int kThreads = 2;
  constexpr int kFibersPerThread = 60;
  constexpr int kMaxTokens = 6;
  auto o = options(Policy::batched, 8);
  LlamaEngine engine(o);
  std::vector<ReferenceOutput> refs;
  for (const auto& p : prompts()) {
    refs.push_back(reference_greedy(engine.tokenize_prompt(greedy_request(p, kMaxTokens)),
                                    kMaxTokens, o.n_ctx_per_seq));
  }

  struct Outcome {
    size_t prompt = 0;
    std::string pieces;
    Result result;
  };
  std::mutex outcomes_mutex;
  std::vector<Outcome> outcomes;
  std::atomic<int> submit_errors{0};

  auto thread_body = [&](int t) {
    std::vector<boost::fibers::fiber> fibers;
    for (int f = 0; f < kFibersPerThread; ++f) {
      fibers.emplace_back([&, t, f] {
        const int n = t * kFibersPerThread + f;
        const size_t prompt = static_cast<size_t>(n) % prompts().size();
        try {
          auto gen = engine.submit(greedy_request(prompts()[prompt], kMaxTokens,
                                                  static_cast<Priority>(n % 3)));
          Outcome out;
          out.prompt = prompt;
          while (auto piece = gen->next_piece()) out.pieces += *piece;
          out.result = gen->wait();
          std::lock_guard lock(outcomes_mutex);
          outcomes.push_back(std::move(out));
        } catch (const std::exception&) {
          ++submit_errors;
        }
      });
    }
    for (auto& f : fibers) f.join();
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(thread_body, t);
  for (auto& t : threads) t.join();

  EXPECT_EQ(submit_errors.load(), 0);
  ASSERT_EQ(outcomes.size(), static_cast<size_t>(kThreads * kFibersPerThread));
  int64_t tokens = 0;
  for (const auto& out : outcomes) {
    EXPECT_EQ(out.pieces, out.result.text);
    EXPECT_TRUE(out.result.finish == FinishReason::length || out.result.finish == FinishReason::stop);
    EXPECT_TRUE(same_or_diverges_at_near_tie(out.result.text, refs[out.prompt], 0.01f));
    tokens += out.result.completion_tokens;
  }
  // Stats are a snapshot published at the end of each step; the last one follows the results.
  auto idle = [&] {
    const auto s = engine.stats();
    int left = 0;
    for (const auto& c : s.by_class) left += c.running + c.paused + c.queued;
    return left == 0;
  };
  ASSERT_TRUE(wait_until(idle));
  EXPECT_EQ(engine.stats().tokens_generated, tokens);
}

// HTTP workers are threads that run no fibers: they wait on a std::condition_variable of the
// stream, other threads on the fibers one (core/thread_kind.hpp). Readers of both kinds, at once
// and on streams of every class, get every piece in order and the end; a reader that missed a
// wake would block here until the test's own deadline.
TEST_F(ConcurrencyTest, ThreadsThatRunNoFibersAndOtherThreadsReadEveryPieceAndTheEnd) {
  constexpr int kReaders = 6;
  constexpr int kMaxTokens = 24;
  auto o = options(Policy::batched, 3);
  LlamaEngine engine(o);
  struct Outcome {
    std::string pieces;
    Result result;
    Result waited_again;
  };
  std::vector<Outcome> outcomes(kReaders);
  std::vector<std::thread> readers;
  for (int r = 0; r < kReaders; ++r) {
    readers.emplace_back([&, r] {
      if (r % 2 == 0) core::mark_thread_without_fibers();
      auto gen = engine.submit(greedy_request(prompts()[static_cast<size_t>(r) % prompts().size()], kMaxTokens,
                                              static_cast<Priority>(r % 3)));
      Outcome& out = outcomes[static_cast<size_t>(r)];
      while (auto piece = gen->next_piece()) out.pieces += *piece;
      out.result = gen->wait();
      out.waited_again = gen->wait();  // an ended stream answers at once, any number of times
    });
  }
  auto joined = std::async(std::launch::async, [&] {
    for (auto& t : readers) t.join();
  });
  ASSERT_EQ(joined.wait_for(std::chrono::seconds(60)), std::future_status::ready) << "a reader was never woken";
  for (int r = 0; r < kReaders; ++r) {
    const Outcome& out = outcomes[static_cast<size_t>(r)];
    SCOPED_TRACE("reader " + std::to_string(r) + (r % 2 == 0 ? " (runs no fibers)" : " (fiber-aware)"));
    EXPECT_FALSE(out.pieces.empty());
    EXPECT_EQ(out.pieces, out.result.text);
    EXPECT_EQ(out.waited_again.text, out.result.text);
    EXPECT_TRUE(out.result.finish == FinishReason::length || out.result.finish == FinishReason::stop);
  }
}

// The wake per piece, which the end of a generation would otherwise hide: with the engine held
// after its second step (two pieces pushed, the generation far from its end), a reader of either
// kind gets them.
TEST_F(ConcurrencyTest, AReaderOfEitherKindIsWokenForEachPieceNotOnlyAtTheEnd) {
  for (const bool runs_no_fibers : {true, false}) {
    SCOPED_TRACE(runs_no_fibers ? "a thread that runs no fibers" : "a fiber-aware thread");
    StepGate gate;
    auto o = options(Policy::batched, 1);
    o.after_step = gate.hook();
    LlamaEngine engine(o);
    StepGate::ReleaseOnExit release_gate{gate};
    gate.hold_after_step(2);
    auto gen = engine.submit_llama(greedy_request(prompts()[0], 200));
    std::promise<int> two_pieces;
    std::thread reader([&] {
      if (runs_no_fibers) core::mark_thread_without_fibers();
      int got = 0;
      while (gen->next_piece()) {
        if (++got == 2) two_pieces.set_value(got);
      }
    });
    ASSERT_TRUE(gate.wait_held());
    const auto status = two_pieces.get_future().wait_for(std::chrono::seconds(20));
    const bool ended = gen->ended();
    gen->cancel();
    gate.release();
    reader.join();
    EXPECT_EQ(status, std::future_status::ready) << "the reader was not woken while the engine held";
    EXPECT_FALSE(ended);
  }
}

TEST_F(ConcurrencyTest, CancelFromAnotherThreadEndsABlockedReader) {
  StepGate gate;
  auto o = options(Policy::batched, 1);
  o.after_step = gate.hook();
  LlamaEngine engine(o);
  StepGate::ReleaseOnExit release_gate{gate};
  gate.hold_after_step(1);
  auto holder = engine.submit_llama(greedy_request(prompts()[0], 200));
  ASSERT_TRUE(gate.wait_held());
  auto waiting = engine.submit_llama(greedy_request(prompts()[2], 8));  // no slot for it
  std::optional<std::string> got = "unset";
  std::thread reader([&] { got = waiting->next_piece(); });  // blocks: nothing streams
  waiting->cancel();
  gate.release();
  reader.join();
  EXPECT_FALSE(got.has_value());
  EXPECT_EQ(waiting->wait().finish, FinishReason::cancelled);
}

// Destroying the engine ends every generation still in flight; the Generations outlive it.
TEST_F(ConcurrencyTest, ShutdownWithGenerationsInFlight) {
  std::vector<std::unique_ptr<LlamaGeneration>> gens;
  {
    LlamaEngine engine(options(Policy::batched, 2));
    for (int i = 0; i < 10; ++i) {
      gens.push_back(engine.submit_llama(greedy_request(prompts()[static_cast<size_t>(i)], 200,
                                                        static_cast<Priority>(i % 3))));
    }
    read_first_piece(*gens[0]);
  }
  int cancelled = 0;
  for (size_t i = 0; i < gens.size(); ++i) {
    const auto got = drain(*gens[i]);  // every piece, then end of stream
    EXPECT_TRUE(gens[i]->ended());
    if (i > 0) {
      EXPECT_EQ(got.pieces, got.result.text);
    }
    cancelled += got.result.finish == FinishReason::cancelled;
  }
  EXPECT_GE(cancelled, 8);  // at most the two running ones could have finished on their own
  gens[3]->cancel();         // still safe after the engine is gone
}

}  // namespace
}  // namespace agentd::engine::test
