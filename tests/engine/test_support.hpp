// Shared helpers for the engine tests: the test model, engine options, and a reference greedy
// decoder written directly against llama.cpp's C API (no agentd code in the loop).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "engine/llama_engine.hpp"

namespace agentd::engine::test {

// Path of the real test model (env AGENTD_TEST_MODEL). Empty if unset or missing; use
// ModelTest, whose SetUp fails the test with a clear message in that case.
std::string model_path();

class ModelTest : public ::testing::Test {
 protected:
  void SetUp() override;
};

LlamaEngineOptions options(Policy policy, int slots = 4);

// The EngineError message constructing an engine with `o` gives, or "(no EngineError)".
std::string construction_error(LlamaEngineOptions o);

// Greedy, temperature 0, no penalties: the sampling the reference loop implements.
Request greedy_request(std::string prompt, int max_tokens,
                       scheduler::Priority priority = scheduler::Priority::tool);

struct ReferenceOutput {
  std::vector<int32_t> tokens;   // generated, without the final end-of-generation token
  std::vector<std::string> pieces;  // text of each generated token
  std::vector<float> margins;    // per step (EOG step included): arg-max logit minus runner-up's
  std::string text;
  bool hit_eog = false;
};

// How the reference loop decodes each generated token.
enum class DecodeRows {
  one,  // a one-row batch, as a single-sequence loop does (ggml's vec_dot matmul path)
  two,  // the token plus a throwaway row of a second sequence (ggml's GEMM path, as in batching)
};

// Decodes `prompt` (already tokenized) in one batch in a fresh context, then picks the arg-max
// token until end-of-generation or max_tokens. `flash_attn` as the engine's option of that name.
ReferenceOutput reference_greedy(const std::vector<int32_t>& prompt, int max_tokens, int n_ctx,
                                 DecodeRows rows = DecodeRows::one,
                                 FlashAttn flash_attn = FlashAttn::automatic);

// Batching changes which ggml kernels run (see docs in greedy_equality_test.cpp), which moves
// logits in their last bits. Succeeds if `text` equals the reference, or if at the first token
// where they differ the reference's arg-max led its runner-up by at most `max_margin` (a near-tie
// that such rounding can flip).
::testing::AssertionResult same_or_diverges_at_near_tie(const std::string& text,
                                                      const ReferenceOutput& ref,
                                                      float max_margin);

// Everything a Generation streams, read piece by piece, then its Result.
struct Drained {
  std::string pieces;
  Result result;
};
Drained drain(Generation& g);

// A clock for LlamaEngineOptions::now that runs ahead of steady_clock by what the test adds.
class FakeClock {
 public:
  Clock::time_point now() const { return Clock::now() + std::chrono::nanoseconds(offset_.load()); }
  void advance(Clock::duration d) { offset_ += std::chrono::duration_cast<std::chrono::nanoseconds>(d).count(); }
  std::function<Clock::time_point()> fn() { return [this] { return now(); }; }

 private:
  std::atomic<int64_t> offset_{0};
};

// Holds the engine at a token boundary (through LlamaEngineOptions::after_step) so a test can
// set up a situation at an exact step, with no timing involved: the engine only runs between
// holds. hold_when() also releases the current hold; wait_held() returns false after 20 s.
class StepGate {
 public:
  using Predicate = std::function<bool(int64_t steps_done)>;
  std::function<void(int64_t)> hook();
  void hold_when(Predicate p);
  void hold_after_step(int64_t n) { hold_when([n](int64_t s) { return s >= n; }); }
  [[nodiscard]] bool wait_held();
  void release();

  // Declare after the engine: releases the gate before the engine's destructor joins its thread,
  // even when an assertion ends the test early.
  struct ReleaseOnExit {
    StepGate& gate;
    ~ReleaseOnExit() { gate.release(); }
  };

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  Predicate pred_;
  bool held_ = false;
};

// Waits (yielding, bounded by 20 s) until `done()` holds, e.g. for the engine's published stats
// to show a request queued. Returns false on timeout so the test fails instead of hanging.
bool wait_until(const std::function<bool()>& done);

// Blocks until the generation streamed its first piece: it is admitted and decoding.
void read_first_piece(Generation& g);

// Story openings of different lengths for the TinyStories model.
const std::vector<std::string>& prompts();

}  // namespace agentd::engine::test
