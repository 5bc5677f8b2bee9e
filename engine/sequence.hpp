// Sequence: one request's life inside the engine. Built on the submitting thread (tokens,
// sampler, stop strings), then owned by the inference thread, which alone touches the
// progress fields. Cross-thread state lives in `stream` (see generation_stream.hpp).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/engine.hpp"
#include "engine/generation_stream.hpp"
#include "engine/stop_matcher.hpp"
#include "engine/token_sampler.hpp"
#include "llama.h"
#include "scheduler/priority.hpp"

namespace agentd::engine {

// Where a sequence is in its life, as the inference thread sees it.
enum class SeqState {
  queued,    // waiting for its first slot
  running,   // holds a slot; prefilling or decoding
  paused,    // preempted: gave its slot back and waits for another; its KV is kept or saved
  finished,  // ended; dropped at the end of the step
};

struct Sequence {
  // Fixed at submit.
  std::shared_ptr<GenerationStream> stream;
  scheduler::Priority priority = scheduler::Priority::tool;
  std::optional<Clock::time_point> deadline;
  std::vector<llama_token> prompt;
  int max_tokens = 0;
  TokenSampler sampler;
  StopMatcher stop;

  // Progress; inference thread only.
  SeqState state = SeqState::queued;
  bool waiting_for_slot = false;      // a waiter fiber is in PrioritySlots::acquire for it
  bool holds_slot = false;
  llama_seq_id seq_id = -1;           // its KV sequence while its cells are in the cache
  std::vector<uint8_t> saved_state;   // its KV copied out (llama_state_seq_get_data), if evicted
  int n_past = 0;                     // tokens in its KV
  llama_token pending = LLAMA_TOKEN_NULL;  // sampled, not yet decoded (decoding phase)
  std::vector<llama_token> decoded;   // sampled tokens already decoded (in its KV after the prompt)
  int n_generated = 0;
  int generated_at_admission = 0;     // n_generated when it last took a slot
  int times_preempted = 0;
  uint64_t admit_order = 0;           // later admission = higher number
  int rank = 0;                       // class it runs as: its own, or better if aging promoted it
  Clock::time_point waiting_since{};  // when it last queued for a slot (aging clock)
  bool skipped = false;               // held out of the batch while an interactive one decodes
  bool first_token_seen = false;
  std::string fault;                  // set when its saved state was lost; ends it on admission

  // Per step.
  int batch_tokens = 0;   // tokens it put in this step's batch
  int batch_output = -1;  // index of its logits in this step's batch, -1 = none

  bool prefilling() const { return pending == LLAMA_TOKEN_NULL; }
  bool kv_in_cache() const { return seq_id >= 0; }
  int rank_class() const { return rank; }
};

}  // namespace agentd::engine
