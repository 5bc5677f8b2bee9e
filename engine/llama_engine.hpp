// LlamaEngine: one llama.cpp model and context shared by many callers.
//
// One inference thread owns the llama_context. submit() runs on the caller's thread: it formats and
// tokenizes the prompt (the vocabulary is read-only), checks that it fits, builds the sampler
// (a bad grammar or JSON schema is refused there) and posts the request to the inference thread.
// Text pieces come back through the Generation (an unbounded fiber-aware queue: the inference
// thread never waits for a slow reader).
//
// Admission goes through scheduler::PrioritySlots: class first (interactive > tool > background),
// then age, with aging so that long waiters are promoted (up to tool: never past the user's chat).
//  - serial:  capacity 1, i.e. the PriorityLock grants the whole engine to one generation at a time
//             (the original design, kept as the benchmark baseline).
//  - batched: `slots` generations decoded together, one llama_batch per step; they join and leave
//             between steps. When a higher class waits and every slot is held, the lowest-ranked
//             running sequence is paused at the next token boundary: it gives its slot back, keeps
//             its KV cells (or, when no KV stream is spare, its state is copied out with
//             llama_state_seq_get_data and restored later) and continues with the same text.
//             Every sequence has its own KV stream (llama.cpp's per-sequence layout), so attention
//             costs each token only its own sequence's cells.
//             Prompts are prefilled in chunks of at most `prefill_chunk` tokens per step, so a long
//             prompt never freezes the other streams. An interactive request arriving while a
//             step without interactive tokens computes aborts that step (rolled back, run again
//             after the chat is admitted): the chat waits for no step at all.
// The destructor ends every generation still in flight (FinishReason::cancelled) and joins the
// inference thread.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/engine.hpp"
#include "engine/generation_stream.hpp"
#include "engine/llama_log.hpp"
#include "engine/llama_modes.hpp"
#include "engine/memory_use.hpp"
#include "engine/prefix_cache.hpp"
#include "scheduler/priority.hpp"

namespace agentd::engine {

struct LlamaEngineOptions {
  std::string model_path;
  int n_ctx_per_seq = 2048;  // tokens one sequence may hold (prompt + output)
  int slots = 4;             // sequences decoded together (batched; serial always uses 1)
  int threads = 0;           // llama.cpp compute threads; 0 = hardware concurrency
  int prefill_chunk = 256;   // prompt tokens decoded per step, over all prefilling sequences
  // Batched: KV streams beyond `slots` in which paused sequences keep their cells. Each stream holds
  // n_ctx_per_seq cells (memory); a paused sequence that finds none free is copied out instead
  // (llama_state_seq_get_data) and copied back in when it resumes. None by default: a spare stream
  // leaves a gap among the running sequences' ids whenever a paused one sits in the middle, and
  // llama.cpp then decodes every step as two ubatches (34 vs 26 ms a 4-sequence step in the
  // replay, three quarters of its decode steps), while a state is copied out and in once per pause
  // (36 MB for 1,000 tokens of the 162M bench model: a memory copy, not a prefill).
  int paused_kv_streams = 0;
  FlashAttn flash_attn = FlashAttn::automatic;
  KvType kv_type = KvType::f16;  // keys and values; q8_0/q4_0 need flash_attn auto or on
  // Lock the weights in RAM (mlock) so the OS cannot page them out while agents sit idle. If the
  // memory-lock limit forbids it, the engine warns (on_warning) how to raise it and goes on.
  bool mlock = false;
  // The CPU backend variant: "auto" = the best this CPU can run, or a name ("haswell", "zen4";
  // cpu_backend.hpp). Process-wide: the first engine's choice holds for the process.
  std::string cpu_variant = "auto";
  Policy policy = Policy::batched;
  // A .jinja file (always used), or a llama.cpp built-in template name (e.g. "chatml") used when
  // the model has no template of its own (chat_format.hpp).
  std::string chat_template;
  // Prefix cache: a request starts from the longest prefix of its prompt tokens already computed,
  // in a free KV stream or in the store (RAM, then disk); only the rest is prefilled. Output is
  // unchanged (docs/design.md, "Prefix cache").
  bool prefix_cache = true;           // false: every prompt is prefilled from its first token
  int prefix_cache_mb = -1;           // RAM for stored prefixes; -1 = min(8192, a quarter of free RAM); 0 = none
  std::string prefix_cache_dir;       // where stored prefixes outlive the process; "" = RAM only
  int prefix_cache_disk_mb = 1024;    // cap of that folder
  std::function<void(const std::string&)> on_warning;  // engine warnings (cache files); "" = stderr
  bool pause_lower_while_interactive = false;  // hold other classes out while interactive decodes
  Clock::duration aging = std::chrono::seconds(10);  // each interval waited = one class up; 0 = off
  // Clock for aging and for the deadline checks of admitted requests; empty = Clock::now. Tests
  // inject one running ahead of it. (A request waiting for a slot, queued or paused, times out on
  // the real clock, inside PrioritySlots::acquire.)
  std::function<Clock::time_point()> now;
  LogLevel log_level = LogLevel::error;    // llama.cpp messages printed to stderr (process-wide)
  // Called on the inference thread after every decode step with the number of steps done, at a
  // token boundary. For diagnostics and tests (a test holds the engine at a boundary by blocking
  // here); it must not call into the engine.
  std::function<void(int64_t steps_done)> after_step;
  // Called the same way with a step's batch built, just before it is decoded (a test submits
  // there to arrive "during" the step).
  std::function<void(int64_t steps_done)> before_step;
};

struct ClassCounts {
  int running = 0;  // holding a slot (prefilling or decoding)
  int paused = 0;   // preempted, or held out while an interactive generation decodes
  int queued = 0;   // waiting for a first slot
};

struct EngineStats {
  int64_t decode_steps = 0;      // llama_decode calls
  int64_t tokens_generated = 0;  // sampled completion tokens
  int64_t prompt_tokens = 0;     // prompt tokens prefilled
  int64_t prompt_tokens_cached = 0;  // prompt tokens not prefilled: their KV came from a prefix
  int64_t prefix_hits = 0;           // sequences that started from a reused prefix
  int64_t preemptions = 0;       // sequences paused to make room for a higher class
  int64_t steps_cut = 0;         // steps aborted and run again so that an arriving chat started at once
  // Where the engine thread's time goes (wall clock): in llama_decode for steps that decoded, in
  // steps that were cut (work done again later), and waiting for work. The rest is the loop's own:
  // sampling, streaming, copying paused sequences' state, the prefix store.
  double step_seconds = 0;
  double cut_step_seconds = 0;
  double idle_seconds = 0;
  double state_copy_seconds = 0;  // of the rest: copying KV states out to the prefix store or a
                                  // paused sequence's buffer, and back in
  int64_t prefix_moves = 0;      // prefixes copied to another KV stream to keep the running ids consecutive
  int64_t state_copy_outs = 0;   // paused sequences whose KV was copied out to free cells
  int64_t state_restores = 0;    // ... and copied back in on resume
  std::array<ClassCounts, scheduler::kPriorityClasses> by_class{};  // index(Priority)
  int kv_cells = 0;              // cells of the KV cache (all sequences)
  PrefixCacheStats prefix_cache;  // the RAM/disk store (zeros when it is off)
  int64_t state_spare_bytes = 0;  // freed state buffers kept mapped for the next (state_memory.hpp)
  EngineMemory memory;            // as allocated at load (memory_use.hpp)
  std::string cpu_backend;        // the CPU variant computing ("zen4"), or "built-in" (cpu_backend.hpp)
};

class LlamaEngine final : public Engine {
 public:
  // Loads the model and creates the context; throws EngineError naming what and where.
  explicit LlamaEngine(LlamaEngineOptions options);
  ~LlamaEngine() override;
  LlamaEngine(const LlamaEngine&) = delete;
  LlamaEngine& operator=(const LlamaEngine&) = delete;

  std::unique_ptr<Generation> submit(Request request) override;
  // The same, typed: the LlamaGeneration also reports decode-step marks (see StepMarks).
  std::unique_ptr<LlamaGeneration> submit_llama(Request request);
  EngineInfo info() const override;
  EngineStats stats() const;

  // The exact token sequence a request's prompt is decoded as (chat template applied; BOS added
  // when the model wants it; special tokens parsed only in the template's own text, see
  // prompt_tokens.hpp). Throws RequestError like submit().
  std::vector<int32_t> tokenize_prompt(const Request& request) const;
  // The chat prompt text the template renders for a request's messages (and tools).
  std::string format_prompt(const Request& request) const;
  std::string chat_template_name() const;  // which template formats chats ("" = none)

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace agentd::engine
