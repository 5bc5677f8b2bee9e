// GenerationStream: the state one generation shares between its reader (any thread or fiber) and
// the inference thread. All of that cross-thread state, and its locking, lives here.
//
// The inference thread only appends (push / mark_* / finish) and never waits for the reader: the
// piece queue is unbounded. Readers block fiber-aware (a fibers condition_variable_any), except on
// a thread marked as running no fibers (the HTTP workers, core/thread_kind.hpp), which blocks on
// a std::condition_variable: the fibers one wakes a plain thread under a spinlock, and the reader,
// preempting the inference thread there, spun on it (~1 ms of the engine's time per token).
//
// LlamaGeneration is the Generation handed to callers; it adds the decode-step marks that tests
// and `agentd status` use to reason in engine steps rather than in seconds.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>

#include <boost/fiber/condition_variable.hpp>

#include "engine/engine.hpp"

namespace agentd::engine {

// Engine decode-step counts (llama_decode calls done so far) at points of a generation's life;
// -1 = not reached.
struct StepMarks {
  int64_t submitted = -1;    // steps done when submit() queued the request
  int64_t admitted = -1;     // steps done when it first got a slot (its prefill starts next step)
  int64_t first_token = -1;  // number of the step whose logits gave the first token
  int64_t finished = -1;     // steps done when it ended
};

class GenerationStream {
 public:
  GenerationStream(int prompt_tokens, int64_t submitted_step);
  GenerationStream(const GenerationStream&) = delete;
  GenerationStream& operator=(const GenerationStream&) = delete;

  // Reader side: any thread or fiber. next_piece() gives the answer text only (it skips the
  // reasoning and tool-call deltas a remote backend pushes); next_delta() gives everything.
  std::optional<std::string> next_piece();
  std::optional<MessageDelta> next_delta();
  Result wait();
  void cancel();
  bool cancel_requested() const { return stop_.stop_requested(); }
  std::stop_token stop_token() const { return stop_.get_token(); }
  bool ended() const;
  StepMarks steps() const;

  // Writer side: the inference thread only.
  void push(std::string piece);
  // A remote server's delta of reasoning or of a tool call (answer text goes through push()).
  void push_delta(MessageDelta delta);
  void mark_admitted(int64_t step);
  void mark_first_token(int64_t step);
  void set_cached_tokens(int tokens);
  // Backends that learn the prompt's size only at the end (a remote server's usage).
  void set_prompt_tokens(int tokens);
  // A remote server's answer parts that are not text: its tool calls and its reasoning.
  void set_message_parts(std::vector<ToolCall> tool_calls, std::string reasoning);
  void finish(FinishReason why, std::string error, int completion_tokens, int times_preempted,
              int64_t step);

 private:
  using Lock = std::unique_lock<std::mutex>;

  // Waits on the condition variable of the caller's kind until `ready` holds.
  template <class Ready>
  void block(Lock& lock, Ready ready);
  void wake_all();

  // The scheduler's choice of lock (scheduler/README.md, "Locking design"): the reader may be a
  // fiber or a plain thread (an HTTP worker) and the writer is the inference thread, so a
  // std::mutex held for a few assignments and never across a fiber switch, with a fiber-aware
  // condition_variable_any to wait on. boost::fibers::mutex convoyed under plain-thread
  // contention and is invisible to TSan.
  mutable std::mutex mutex_;
  // A piece arrived or the generation ended: fibers wait on the first, threads that run no fibers
  // on the second.
  boost::fibers::condition_variable_any changed_;
  std::condition_variable changed_for_threads_;
  // Guarded by mutex_:
  std::deque<MessageDelta> unread_;  // answer text in .content
  Result result_;  // result_.text grows with every piece
  bool ended_ = false;
  int piece_readers_ = 0;         // fibers blocked in next_piece() or next_delta()
  int thread_piece_readers_ = 0;  // threads that run no fibers, blocked there
  StepMarks marks_;
  Clock::time_point submitted_at_;
  Clock::time_point admitted_at_;
  Clock::time_point first_token_at_;

  std::stop_source stop_;  // cancel(): also wakes the slot waiter of a queued request
};

class LlamaGeneration final : public Generation {
 public:
  explicit LlamaGeneration(std::shared_ptr<GenerationStream> stream);
  ~LlamaGeneration() override;

  std::optional<std::string> next_piece() override { return stream_->next_piece(); }
  std::optional<MessageDelta> next_delta() override { return stream_->next_delta(); }
  void cancel() override { stream_->cancel(); }
  Result wait() override { return stream_->wait(); }

  StepMarks steps() const { return stream_->steps(); }
  bool ended() const { return stream_->ended(); }

 private:
  std::shared_ptr<GenerationStream> stream_;
};

}  // namespace agentd::engine
