#include "engine/generation_stream.hpp"

#include <utility>

#include "core/thread_kind.hpp"

namespace agentd::engine {

namespace {

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

}  // namespace

const char* to_string(FinishReason r) {
  switch (r) {
    case FinishReason::stop: return "stop";
    case FinishReason::length: return "length";
    case FinishReason::cancelled: return "cancelled";
    case FinishReason::deadline: return "deadline";
    case FinishReason::error: return "error";
  }
  return "?";
}

GenerationStream::GenerationStream(int prompt_tokens, int64_t submitted_step)
    : submitted_at_(Clock::now()) {
  result_.prompt_tokens = prompt_tokens;
  marks_.submitted = submitted_step;
}

std::optional<std::string> GenerationStream::next_piece() {
  while (auto d = next_delta()) {
    if (!d->content.empty()) return std::move(d->content);
  }
  return std::nullopt;
}

template <class Ready>
void GenerationStream::block(Lock& lock, Ready ready) {
  if (core::thread_runs_no_fibers) {
    changed_for_threads_.wait(lock, ready);
  } else {
    changed_.wait(lock, ready);
  }
}

void GenerationStream::wake_all() {
  changed_.notify_all();
  changed_for_threads_.notify_all();
}

std::optional<MessageDelta> GenerationStream::next_delta() {
  Lock lock(mutex_);
  int& readers = core::thread_runs_no_fibers ? thread_piece_readers_ : piece_readers_;
  ++readers;
  block(lock, [&] { return !unread_.empty() || ended_; });
  --readers;
  if (unread_.empty()) return std::nullopt;
  MessageDelta d = std::move(unread_.front());
  unread_.pop_front();
  return d;
}

Result GenerationStream::wait() {
  Lock lock(mutex_);
  block(lock, [&] { return ended_; });
  Result r = result_;
  r.submitted_step = marks_.submitted;
  r.first_token_step = marks_.first_token;
  return r;
}

void GenerationStream::cancel() { stop_.request_stop(); }

bool GenerationStream::ended() const {
  Lock lock(mutex_);
  return ended_;
}

StepMarks GenerationStream::steps() const {
  Lock lock(mutex_);
  return marks_;
}

void GenerationStream::push(std::string piece) {
  if (piece.empty()) return;
  bool wake_fibers = false, wake_threads = false;
  {
    Lock lock(mutex_);
    result_.text += piece;
    unread_.push_back(MessageDelta{.content = std::move(piece)});
    wake_fibers = piece_readers_ > 0;
    wake_threads = thread_piece_readers_ > 0;
  }
  // Only a reader of pieces wants this one: waking a wait()er per token costs the decode threads a
  // context switch on a machine with as many compute threads as cores.
  if (wake_fibers) changed_.notify_all();
  if (wake_threads) changed_for_threads_.notify_all();
}

void GenerationStream::push_delta(MessageDelta delta) {
  {
    Lock lock(mutex_);
    result_.text += delta.content;
    unread_.push_back(std::move(delta));
  }
  wake_all();
}

void GenerationStream::mark_admitted(int64_t step) {
  Lock lock(mutex_);
  if (marks_.admitted >= 0) return;  // a resumed sequence keeps its first admission
  marks_.admitted = step;
  admitted_at_ = Clock::now();
  result_.queue_wait_ms = ms_between(submitted_at_, admitted_at_);
}

void GenerationStream::mark_first_token(int64_t step) {
  Lock lock(mutex_);
  marks_.first_token = step;
  first_token_at_ = Clock::now();
  result_.ttft_ms = ms_between(submitted_at_, first_token_at_);
}

void GenerationStream::finish(FinishReason why, std::string error, int completion_tokens,
                              int times_preempted, int64_t step) {
  {
    Lock lock(mutex_);
    if (ended_) return;
    const auto end = Clock::now();
    result_.finish = why;
    result_.error = std::move(error);
    result_.completion_tokens = completion_tokens;
    result_.times_preempted = times_preempted;
    if (marks_.first_token >= 0 && completion_tokens > 0) {
      const double secs = std::chrono::duration<double>(end - first_token_at_).count();
      if (secs > 0) result_.decode_tokens_per_s = completion_tokens / secs;
    }
    marks_.finished = step;
    ended_ = true;
  }
  wake_all();
}

void GenerationStream::set_cached_tokens(int tokens) {
  Lock lock(mutex_);
  result_.cached_tokens = tokens;
}

void GenerationStream::set_message_parts(std::vector<ToolCall> tool_calls, std::string reasoning) {
  Lock lock(mutex_);
  result_.tool_calls = std::move(tool_calls);
  result_.reasoning = std::move(reasoning);
}

void GenerationStream::set_prompt_tokens(int tokens) {
  Lock lock(mutex_);
  result_.prompt_tokens = tokens;
}

LlamaGeneration::LlamaGeneration(std::shared_ptr<GenerationStream> stream)
    : stream_(std::move(stream)) {}

LlamaGeneration::~LlamaGeneration() {
  if (!stream_->ended()) stream_->cancel();
}

}  // namespace agentd::engine
