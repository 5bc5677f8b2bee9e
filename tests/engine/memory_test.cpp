// The engine's memory switches and accounting (engine/memory_use.hpp): kv_type quantizes the KV
// cache, mlock locks the weights (or says how to allow it), and the figures llama.cpp reports for
// its buffers reach EngineStats.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/mman.h>

#include <filesystem>
#include <limits>

#include "bench/engine/synth_model.hpp"
#include "engine/memory_use.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/engine/test_support.hpp"

namespace agentd::engine {
namespace {

using test::ModelTest;
using ::testing::HasSubstr;

class MemoryTest : public ModelTest {};

TEST_F(MemoryTest, TheEngineReportsItsWeightsKvCacheAndComputeBuffers) {
  LlamaEngine engine(test::options(Policy::batched));
  EngineMemory m = engine.stats().memory;
  auto file = std::filesystem::file_size(test::model_path());
  EXPECT_GT(m.model_bytes, file / 2) << "the weights are most of the file";
  EXPECT_LE(m.model_bytes, file);
  EXPECT_GT(m.kv_bytes, 0u);
  EXPECT_GT(m.compute_bytes, 0u);
  MemorySplit split = split_resident(m, 1000, resident_bytes());
  EXPECT_GT(split.resident, 0u);
  EXPECT_EQ(split.other + split.model + split.kv + split.compute + 1000, std::max(split.resident, split.model + split.kv + split.compute + 1000));
}

// stories260K's heads are 8 wide, which ggml's 32-value blocks cannot hold; a small synthetic
// model with 32-wide heads (bench/engine/synth_model) can.
TEST_F(MemoryTest, AQuantizedKvCacheHoldsTheSameContextInLessMemoryAndStillGenerates) {
  testing::TempDir dir;
  bench::SynthModelOptions synth;
  synth.out = (dir.path() / "heads32.gguf").string();
  synth.vocab = bench::default_vocab_path();
  ASSERT_FALSE(synth.vocab.empty()) << "needs the llama.cpp source tree's vocabularies";
  synth.shape = {.dim = 64, .layers = 2, .heads = 2, .kv_heads = 2, .ff = 128, .ctx = 512};
  bench::write_synthetic_model(synth);
  LlamaEngineOptions o = test::options(Policy::batched);
  o.model_path = synth.out;
  uint64_t f16 = LlamaEngine(o).stats().memory.kv_bytes;
  for (auto [type, at_most] : {std::pair{KvType::q8_0, 0.55}, {KvType::q4_0, 0.30}}) {
    SCOPED_TRACE(to_string(type));
    o.kv_type = type;
    LlamaEngine engine(o);
    uint64_t bytes = engine.stats().memory.kv_bytes;
    // ggml's blocks: 34 bytes (q8_0) or 18 (q4_0) per 32 values, against 64 for f16.
    EXPECT_LE(static_cast<double>(bytes), at_most * static_cast<double>(f16)) << bytes << " vs f16 " << f16;
    Result r = engine.submit(test::greedy_request("Once upon a time", 16))->wait();
    EXPECT_EQ(r.completion_tokens, 16) << "random weights rarely end a text: it runs to its budget";
  }
}

TEST_F(MemoryTest, AModelWhoseHeadsAQuantizedKvCacheCannotHoldIsRefusedWithLlamaCppsReason) {
  LlamaEngineOptions o = test::options(Policy::batched);
  o.kv_type = KvType::q8_0;
  std::string error = test::construction_error(o);
  EXPECT_THAT(error, HasSubstr("with kv_type=q8_0"));
  EXPECT_THAT(error, HasSubstr("does not divide n_embd_head_k=8"));
  EXPECT_THAT(error, ::testing::Not(HasSubstr("too large for memory")));
}

TEST_F(MemoryTest, AQuantizedKvCacheWithFlashAttentionOffIsRefusedByName) {
  LlamaEngineOptions o = test::options(Policy::batched);
  o.kv_type = KvType::q8_0;
  o.flash_attn = FlashAttn::off;
  EXPECT_THAT(test::construction_error(o), HasSubstr("kv_type=q8_0 with flash_attn=off"));
}

// Whether this process can lock memory at all: root (CAP_IPC_LOCK) or a limit large enough can;
// under AddressSanitizer mlock is a no-op (its runtime intercepts it), so nothing gets locked.
bool process_can_lock(size_t bytes) {
  std::vector<char> buffer(bytes, 1);
  uint64_t before = locked_bytes();
  if (mlock(buffer.data(), buffer.size()) != 0) return false;
  bool locked = locked_bytes() > before;
  munlock(buffer.data(), buffer.size());
  return locked;
}

// Where the process may lock memory, the weights are locked. Otherwise the engine goes on and its
// warning says how to raise the limit.
TEST_F(MemoryTest, MlockLocksTheWeightsOrSaysHowToAllowIt) {
  LlamaEngineOptions o = test::options(Policy::batched);
  o.mlock = true;
  std::vector<std::string> warnings;
  o.on_warning = [&](const std::string& w) { warnings.push_back(w); };
  LlamaEngine engine(o);
  EngineMemory m = engine.stats().memory;
  if (process_can_lock(std::filesystem::file_size(test::model_path()))) {
    EXPECT_GE(m.locked_bytes, m.model_bytes);
    EXPECT_THAT(warnings, ::testing::IsEmpty());
  } else {
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_THAT(warnings[0], HasSubstr("ulimit -l"));
  }
  EXPECT_EQ(engine.submit(test::greedy_request("Once upon a time", 4))->wait().finish, FinishReason::length);
}

TEST(MemoryLockAdvice, NamesTheLimitAndTheWaysToRaiseIt) {
  EXPECT_EQ(memory_lock_advice(100 << 20, 100 << 20, 64 << 10), "");
  std::string advice = memory_lock_advice(100 << 20, 0, 8 << 20);
  EXPECT_THAT(advice, HasSubstr("only 0 MiB of the model's 100 MiB"));
  EXPECT_THAT(advice, HasSubstr("memory-lock limit: 8 MiB"));
  EXPECT_THAT(advice, HasSubstr("ulimit -l unlimited"));
  EXPECT_THAT(advice, HasSubstr("LimitMEMLOCK=infinity"));
  EXPECT_THAT(memory_lock_advice(100 << 20, 0, std::numeric_limits<uint64_t>::max()), HasSubstr("limit: unlimited"));
}

}  // namespace
}  // namespace agentd::engine
