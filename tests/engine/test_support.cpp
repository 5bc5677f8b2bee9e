#include "test_support.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <thread>

#include "engine/cpu_backend.hpp"
#include "llama.h"

namespace agentd::engine::test {

namespace {

llama_model* reference_model() {
  static std::once_flag once;
  static llama_model* model = nullptr;
  std::call_once(once, [] {
    llama_backend_init();
    engine::load_cpu_backend();
    auto params = llama_model_default_params();
    params.n_gpu_layers = 0;
    model = llama_model_load_from_file(model_path().c_str(), params);
  });
  return model;
}

}  // namespace

std::string model_path() {
  const char* env = std::getenv("AGENTD_TEST_MODEL");
  if (env == nullptr || *env == '\0') return {};
  std::error_code ec;
  if (!std::filesystem::is_regular_file(env, ec)) return {};
  return env;
}

void ModelTest::SetUp() {
  const char* env = std::getenv("AGENTD_TEST_MODEL");
  ASSERT_FALSE(model_path().empty())
      << "the engine tests need the real test model: set AGENTD_TEST_MODEL (or the CMake cache "
         "variable of the same name) to stories260K.gguf; it is now "
      << (env ? std::string("\"") + env + "\", which is not a readable file" : "unset");
}

std::string construction_error(LlamaEngineOptions o) {
  try {
    LlamaEngine engine(std::move(o));
  } catch (const EngineError& e) {
    return e.what();
  }
  return "(no EngineError)";
}

LlamaEngineOptions options(Policy policy, int slots) {
  LlamaEngineOptions o;
  o.model_path = model_path();
  o.policy = policy;
  o.slots = slots;
  o.n_ctx_per_seq = 256;
  o.threads = 1;  // 2 threads spin on each other on a loaded 2-core machine (20x slower)
  o.prefill_chunk = 64;
  o.chat_template = "chatml";
  o.aging = std::chrono::seconds(0);
  o.log_level = LogLevel::error;
  return o;
}

Request greedy_request(std::string prompt, int max_tokens, scheduler::Priority priority) {
  Request r;
  r.prompt = std::move(prompt);
  r.sampling.temperature = 0.0f;
  r.max_tokens = max_tokens;
  r.priority = priority;
  return r;
}

ReferenceOutput reference_greedy(const std::vector<int32_t>& prompt, int max_tokens, int n_ctx,
                                 DecodeRows rows, FlashAttn flash_attn) {
  ReferenceOutput out;
  llama_model* model = reference_model();
  if (model == nullptr) {
    ADD_FAILURE() << "reference: cannot load " << model_path();
    return out;
  }
  const llama_vocab* vocab = llama_model_get_vocab(model);
  const int n_vocab = llama_vocab_n_tokens(vocab);
  const bool two = rows == DecodeRows::two;
  auto cparams = llama_context_default_params();
  cparams.n_ctx = static_cast<uint32_t>(two ? 2 * n_ctx : n_ctx);
  cparams.n_batch = cparams.n_ubatch = static_cast<uint32_t>(n_ctx);
  cparams.n_seq_max = two ? 2 : 1;
  cparams.n_threads = cparams.n_threads_batch = 1;
  cparams.no_perf = true;
  if (flash_attn != FlashAttn::automatic) {
    cparams.flash_attn_type = flash_attn == FlashAttn::on ? LLAMA_FLASH_ATTN_TYPE_ENABLED
                                                          : LLAMA_FLASH_ATTN_TYPE_DISABLED;
  }
  std::unique_ptr<llama_context, decltype(&llama_free)> ctx(llama_init_from_model(model, cparams),
                                                           &llama_free);
  if (!ctx) {
    ADD_FAILURE() << "reference: cannot create a context";
    return out;
  }
  llama_memory_t mem = llama_get_memory(ctx.get());
  llama_batch batch = llama_batch_init(n_ctx, 0, 1);
  auto add = [&](llama_token t, llama_pos pos, llama_seq_id seq, bool logits) {
    const int i = batch.n_tokens++;
    batch.token[i] = t;
    batch.pos[i] = pos;
    batch.n_seq_id[i] = 1;
    batch.seq_id[i][0] = seq;
    batch.logits[i] = logits;
  };
  batch.n_tokens = 0;
  for (size_t i = 0; i < prompt.size(); ++i) add(prompt[i], static_cast<llama_pos>(i), 0, i + 1 == prompt.size());
  int out_index = batch.n_tokens - 1;
  int n_past = static_cast<int>(prompt.size());
  for (int step = 0; step < max_tokens; ++step) {
    if (llama_decode(ctx.get(), batch) != 0) {
      ADD_FAILURE() << "reference: llama_decode failed";
      break;
    }
    const float* logits = llama_get_logits_ith(ctx.get(), out_index);
    llama_token best = 0;
    for (llama_token t = 1; t < n_vocab; ++t) {
      if (logits[t] > logits[best]) best = t;
    }
    float second = -1e30f;
    for (llama_token t = 0; t < n_vocab; ++t) {
      if (t != best && logits[t] > second) second = logits[t];
    }
    out.margins.push_back(logits[best] - second);
    if (llama_vocab_is_eog(vocab, best)) {
      out.hit_eog = true;
      break;
    }
    char buf[64];
    const int n = llama_token_to_piece(vocab, best, buf, sizeof buf, 0, false);
    out.tokens.push_back(best);
    out.pieces.emplace_back(buf, static_cast<size_t>(std::max(n, 0)));
    out.text += out.pieces.back();
    if (n_past >= n_ctx) break;
    batch.n_tokens = 0;
    add(best, n_past, 0, true);
    out_index = 0;
    if (two) {  // a throwaway row of sequence 1, always at position 0
      llama_memory_seq_rm(mem, 1, -1, -1);
      add(best, 0, 1, false);
    }
    ++n_past;
  }
  llama_batch_free(batch);
  return out;
}

::testing::AssertionResult same_or_diverges_at_near_tie(const std::string& text,
                                                      const ReferenceOutput& ref,
                                                      float max_margin) {
  if (text == ref.text) return ::testing::AssertionSuccess();
  size_t step = 0;
  size_t at = 0;
  while (step < ref.pieces.size() && text.compare(at, ref.pieces[step].size(), ref.pieces[step]) == 0) {
    at += ref.pieces[step].size();
    ++step;
  }
  if (step >= ref.margins.size()) {
    return ::testing::AssertionFailure()
           << "text runs past the reference's end without a recorded step:\n  engine:    \""
           << text << "\"\n  reference: \"" << ref.text << "\"";
  }
  const float margin = ref.margins[step];
  if (margin <= max_margin) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "first divergence at generated token " << step << ", where the reference's arg-max "
         << "led the runner-up by " << margin << " (bound " << max_margin << "):\n  engine:    \""
         << text << "\"\n  reference: \"" << ref.text << "\"";
}

std::function<void(int64_t)> StepGate::hook() {
  return [this](int64_t steps) {
    std::unique_lock lock(mutex_);
    if (!pred_ || !pred_(steps)) return;
    held_ = true;
    changed_.notify_all();
    changed_.wait(lock, [&] { return !held_; });
  };
}

void StepGate::hold_when(Predicate p) {
  std::lock_guard lock(mutex_);
  pred_ = std::move(p);
  held_ = false;
  changed_.notify_all();
}

bool StepGate::wait_held() {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, std::chrono::seconds(20), [&] { return held_; });
}

void StepGate::release() { hold_when(nullptr); }

bool wait_until(const std::function<bool()>& done) {
  const auto give_up = Clock::now() + std::chrono::seconds(20);
  while (!done()) {
    if (Clock::now() > give_up) return false;
    std::this_thread::yield();
  }
  return true;
}

void read_first_piece(Generation& g) {
  auto piece = g.next_piece();
  ASSERT_TRUE(piece.has_value()) << "the generation ended before its first piece";
}

Drained drain(Generation& g) {
  Drained d;
  while (auto piece = g.next_piece()) d.pieces += *piece;
  d.result = g.wait();
  return d;
}

const std::vector<std::string>& prompts() {
  static const std::vector<std::string> p = {
      "Once upon a time",
      "One day, a little girl named Lily found a needle in her room.",
      "Tom and his dog went to the park",
      "The sun was shining and the birds were singing. Sam wanted to play outside with his ball.",
      "There was a big red car",
      "Mia had a small cat. The cat liked to sleep",
      "Ben saw a bird in the tree.",
      "Once there was a kind old man who lived in a little house near the sea. Every day he",
      "Lucy liked to draw",
      "The bunny hopped",
      "Anna and her mom baked a cake. It was",
      "A little boy named Tim had a red ball. He loved to play with it every day.",
  };
  return p;
}

}  // namespace agentd::engine::test
