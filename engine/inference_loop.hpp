// InferenceLoop: the inference thread. It alone touches the llama_context: it admits sequences
// through scheduler::PrioritySlots, builds one llama_batch per step (decode tokens of running
// sequences + prompt chunks under a budget), samples, streams pieces out, pauses lower classes
// for higher ones and moves KV state out of and back into the cache.
//
// The thread runs Boost.Fiber fibers: the main fiber is the decode loop; every sequence waiting for
// a slot has a small waiter fiber blocked in PrioritySlots::acquire() (so the lock itself decides
// the order: class, FIFO, aging, deadline, cancellation). The main fiber yields between steps so
// granted waiters can report. All cross-thread state of the loop is the mailbox (guarded by
// mail_mutex_) and the stats snapshot (stats_mutex_).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <boost/fiber/condition_variable.hpp>

#include "engine/llama_engine.hpp"
#include "engine/prefix_cache.hpp"
#include "engine/sequence.hpp"
#include "engine/state_memory.hpp"
#include "llama.h"
#include "scheduler/priority_slots.hpp"

namespace agentd::engine {

struct LoopConfig {
  Policy policy = Policy::batched;
  int slots = 1;            // running sequences at once (1 for serial)
  int n_ctx_per_seq = 0;    // tokens one sequence may hold
  int prefill_chunk = 256;  // prompt tokens per step
  int seq_ids = 1;          // KV streams, one per sequence id (running + paused with cells kept)
  bool pause_lower_while_interactive = false;
  // A new sequence starts from the longest prefix of its prompt that a free KV stream still holds
  // or the prefix cache stored; a finished sequence leaves its cells in its stream for that.
  bool reuse_prefixes = true;
  Clock::duration prefix_save_interval = std::chrono::seconds(60);  // idle tidying (disk, spare memory), at most
  Clock::duration aging{0};
  std::function<Clock::time_point()> now;
  std::function<void(int64_t)> after_step;
  std::function<void(int64_t)> before_step;
};

class InferenceLoop {
 public:
  // Tokens a running chat streams before a chat still waiting for its first token may pause it.
  static constexpr int kChatTurnTokens = 16;

  // Does not own ctx; starts the thread. `cache` may be null (no prefixes kept beyond the streams).
  InferenceLoop(llama_context* ctx, LoopConfig config, std::unique_ptr<PrefixCache> cache = nullptr);
  // Ends every sequence (cancelled) and joins the thread.
  ~InferenceLoop();
  InferenceLoop(const InferenceLoop&) = delete;
  InferenceLoop& operator=(const InferenceLoop&) = delete;

  // Any thread: hands a prepared sequence to the inference thread.
  void post(std::unique_ptr<Sequence> seq);
  int64_t steps_done() const { return steps_.load(std::memory_order_acquire); }
  EngineStats stats() const;

 private:
  struct Admission {
    Sequence* seq;
    scheduler::AcquireStatus status;
  };

  void thread_main();
  bool run_one_iteration();
  void fail_everything(const std::string& why);
  bool take_mail();  // false once stopping
  void wait_for_mail();
  void start_waiter(Sequence& s);
  void on_admission(Sequence& s, scheduler::AcquireStatus status);

  void end_cancelled_and_expired();
  bool preempt_if_needed();  // true if it paused a sequence
  Sequence* chat_that_had_its_turn() const;
  int promoted_class(const Sequence& s) const;
  Clock::time_point now() const;
  void pause(Sequence& s);
  bool build_batch();
  bool decode_step();  // false when the step was cut (nothing decoded)
  static bool cut_requested(void* loop);  // llama.cpp's abort callback, on its compute threads
  bool slot_for_a_new_chat() const;
  void on_token(Sequence& s, llama_token token);
  void finish(Sequence& s, FinishReason why, std::string error = {}, bool flush = true);
  void sweep_finished();

  bool make_room_for(Sequence& s);
  void copy_out(Sequence& s);
  bool restore(Sequence& s);
  int id_runs_with(llama_seq_id id) const;
  llama_seq_id take_seq_id(llama_seq_id preferred = -1);
  void free_seq_id(Sequence& s, bool keep_cells = false);

  // Prefix reuse (prefix_cache.hpp): a stream's cells outlive its sequence until the stream is
  // given to another one.
  void start_from_prefix(Sequence& s);
  int take_prefix_stream(llama_seq_id id, int keep);
  int move_prefix_stream(llama_seq_id from, llama_seq_id to, int keep);
  int restore_prefix(llama_seq_id id, const StateBytes* state, int keep);
  bool trim_stream(llama_seq_id id, int keep);
  void snapshot_stream(llama_seq_id id);
  void evict_stream(llama_seq_id id);
  void tidy_up_when_idle();

  void shut_down();
  void publish_stats();

  llama_context* const ctx_;
  const llama_vocab* const vocab_;
  const LoopConfig config_;
  scheduler::PrioritySlots slots_;

  // Mailbox: the only loop state other threads (and waiter fibers) touch. Locked the way the
  // scheduler locks (scheduler/README.md, "Locking design"): a std::mutex, held for a few
  // assignments and never across a fiber switch, and a fiber-aware condition_variable_any to
  // wait on, so a waiting fiber suspends and a plain thread blocks. Not boost::fibers::mutex:
  // callers on plain threads (HTTP workers) contend with the loop's fibers, where that mutex
  // convoyed (15 s vs 0.08 s in the scheduler's 8-thread test), and TSan cannot see it.
  std::mutex mail_mutex_;
  boost::fibers::condition_variable_any mail_changed_;
  std::vector<std::unique_ptr<Sequence>> inbox_;  // guarded by mail_mutex_
  std::vector<Admission> admissions_;             // guarded by mail_mutex_
  int live_waiters_ = 0;                          // guarded by mail_mutex_
  bool stopping_ = false;                         // guarded by mail_mutex_

  // Inference thread only.
  std::list<std::unique_ptr<Sequence>> seqs_;  // every sequence not yet dropped
  std::vector<Sequence*> running_;             // holding a slot
  std::vector<llama_seq_id> free_ids_;  // descending: back() is the lowest
  std::vector<std::vector<llama_token>> stream_tokens_;  // by seq id: tokens a free stream holds
  std::unique_ptr<PrefixCache> cache_;
  Clock::time_point last_idle_tidy_{};
  bool prefix_save_pending_ = false;  // a save pass ran out of time; the next idle turn goes on
  static constexpr auto kPrefixSavePass = std::chrono::milliseconds(5);
  std::vector<Sequence*> in_batch_;     // this step's sequences, by seq_id
  llama_batch batch_{};
  int batch_capacity_ = 0;
  uint64_t next_admit_order_ = 0;
  bool shutting_down_ = false;
  EngineStats counters_;  // running totals; by_class filled in publish_stats()

  std::atomic<int64_t> steps_{0};
  // Cutting a step for a chat (batched policy): a step that prefills no chat's prompt is aborted
  // (llama.cpp's abort callback) while an interactive request waits in the inbox and a slot could
  // take it; the step's tokens are rolled back and the chat is admitted at once instead of after
  // the step.
  bool plain_kv_ = false;  // attention KV only (not recurrent): streams can be trimmed and copied
  bool steps_can_be_cut_ = false;  // batched, and the KV can be rolled back to a position (not recurrent)
  std::atomic<bool> step_cuttable_{false};
  std::atomic<bool> interactive_in_inbox_{false};  // written under mail_mutex_
  mutable std::mutex stats_mutex_;
  EngineStats published_;  // guarded by stats_mutex_
  std::optional<std::chrono::steady_clock::time_point> idle_since_;  // waiting for work; guarded by stats_mutex_

  std::thread thread_;  // last: started after everything above exists
};

}  // namespace agentd::engine
