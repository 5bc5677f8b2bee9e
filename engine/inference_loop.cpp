#include "engine/inference_loop.hpp"

#include <algorithm>
#include <optional>
#include <tuple>
#include <utility>

#include <boost/fiber/fiber.hpp>
#include <boost/fiber/operations.hpp>

#include "core/thread_name.hpp"
#include "engine/llama_log.hpp"

namespace agentd::engine {

namespace {

using scheduler::AcquireStatus;
using scheduler::Priority;
using Lock = std::unique_lock<std::mutex>;

// Rank for admission order inside the batch and for choosing whom to pause: class first, then
// the earlier admission.
bool ranked_before(const Sequence* a, const Sequence* b) {
  if (a->rank_class() != b->rank_class()) return a->rank_class() < b->rank_class();
  return a->admit_order < b->admit_order;
}

double seconds_since(std::chrono::steady_clock::time_point from) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - from).count();
}

// Adds the time from its making to its end to `total`.
class Timed {
 public:
  explicit Timed(double& total) : total_(total) {}
  ~Timed() { total_ += seconds_since(from_); }
  Timed(const Timed&) = delete;
  Timed& operator=(const Timed&) = delete;

 private:
  double& total_;
  const std::chrono::steady_clock::time_point from_ = std::chrono::steady_clock::now();
};

scheduler::PrioritySlotsOptions slot_options(const LoopConfig& c) {
  scheduler::PrioritySlotsOptions o;
  o.aging = c.aging;
  if (c.now) o.now = c.now;
  return o;
}

}  // namespace

InferenceLoop::InferenceLoop(llama_context* ctx, LoopConfig config, std::unique_ptr<PrefixCache> cache)
    : ctx_(ctx),
      vocab_(llama_model_get_vocab(llama_get_model(ctx))),
      config_(std::move(config)),
      slots_(static_cast<std::size_t>(config_.slots), slot_options(config_)),
      cache_(std::move(cache)) {
  batch_capacity_ = config_.slots + config_.prefill_chunk;
  batch_ = llama_batch_init(batch_capacity_, 0, 1);
  for (int id = config_.seq_ids - 1; id >= 0; --id) free_ids_.push_back(id);
  stream_tokens_.resize(static_cast<size_t>(config_.seq_ids));
  if (cache_ && !cache_->enabled()) cache_.reset();
  last_idle_tidy_ = Clock::now();
  counters_.kv_cells = static_cast<int>(llama_n_ctx(ctx));
  published_ = counters_;
  // A recurrent state cannot be rolled back to a position, so a cut step could not be undone.
  const llama_model* model = llama_get_model(ctx);
  plain_kv_ = !llama_model_is_recurrent(model) && !llama_model_is_hybrid(model);
  steps_can_be_cut_ = config_.policy == Policy::batched && plain_kv_;
  llama_set_abort_callback(ctx_, &InferenceLoop::cut_requested, this);
  thread_ = std::thread([this] {
    core::name_this_thread(core::thread_names::engine);  // before llama.cpp starts its workers from it
    thread_main();
  });
}

InferenceLoop::~InferenceLoop() {
  {
    Lock lock(mail_mutex_);
    stopping_ = true;
  }
  mail_changed_.notify_all();
  thread_.join();
  llama_set_abort_callback(ctx_, nullptr, nullptr);
  llama_batch_free(batch_);
}

void InferenceLoop::post(std::unique_ptr<Sequence> seq) {
  {
    Lock lock(mail_mutex_);
    if (stopping_) throw RequestError("the engine is shutting down; request refused");
    if (seq->priority == Priority::interactive) interactive_in_inbox_.store(true, std::memory_order_release);
    inbox_.push_back(std::move(seq));
  }
  mail_changed_.notify_all();
}

bool InferenceLoop::cut_requested(void* loop) {
  const auto* self = static_cast<InferenceLoop*>(loop);
  return self->step_cuttable_.load(std::memory_order_acquire) &&
         self->interactive_in_inbox_.load(std::memory_order_acquire);
}

EngineStats InferenceLoop::stats() const {
  std::lock_guard lock(stats_mutex_);
  EngineStats s = published_;
  if (idle_since_) s.idle_seconds += seconds_since(*idle_since_);
  return s;
}

// ---------------------------------------------------------------------------------------------
// The loop

void InferenceLoop::thread_main() {
  for (;;) {
    try {
      if (!run_one_iteration()) break;
    } catch (const std::exception& e) {
      fail_everything(std::string("inference loop error: ") + e.what());
    }
  }
  shut_down();
  publish_stats();
}

// One pass: take mail, end what must end, maybe preempt, then decode one step (or sleep until
// there is mail). False once the engine is stopping.
bool InferenceLoop::run_one_iteration() {
  if (!take_mail()) return false;
  {
    end_cancelled_and_expired();
    if (config_.policy == Policy::batched && preempt_if_needed()) {
      sweep_finished();
      boost::this_fiber::yield();  // the waiter granted the slot reports; admit it before decoding
      return true;
    }
    sweep_finished();
    if (!build_batch()) {
      tidy_up_when_idle();
      publish_stats();
      if (!prefix_save_pending_) wait_for_mail();  // else the next pass, after taking mail
      return true;
    }
  }
  const bool decoded = decode_step();
  sweep_finished();
  publish_stats();
  if (decoded && config_.after_step) config_.after_step(steps_done());
  boost::this_fiber::yield();  // let granted slot waiters report before the next step
  return true;
}

// Last resort after an unexpected exception: end every sequence with the error rather than leave
// a reader waiting forever. Waiting ones end through their waiter (see on_admission).
void InferenceLoop::fail_everything(const std::string& why) {
  for (const auto& s : seqs_) {
    if (s->state == SeqState::finished) continue;
    if (s->waiting_for_slot) {
      s->fault = why;
      s->stream->cancel();
    } else {
      finish(*s, FinishReason::error, why);
    }
  }
  sweep_finished();
  publish_stats();
}

bool InferenceLoop::take_mail() {
  std::vector<std::unique_ptr<Sequence>> arrived;
  bool stop = false;
  {
    Lock lock(mail_mutex_);
    arrived.swap(inbox_);
    interactive_in_inbox_.store(false, std::memory_order_release);
    stop = stopping_;
  }
  for (auto& s : arrived) {
    Sequence& ref = *s;
    seqs_.push_back(std::move(s));
    start_waiter(ref);  // runs at once: a free slot is taken now and reported below
  }
  std::vector<Admission> admitted;
  {
    Lock lock(mail_mutex_);
    admitted.swap(admissions_);
  }
  for (const auto& a : admitted) on_admission(*a.seq, a.status);
  return !stop;
}

// The wait counts as idle time as it goes: a scrape during an hour without work shows that hour.
void InferenceLoop::wait_for_mail() {
  const auto from = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(stats_mutex_);
    idle_since_ = from;
  }
  {
    Lock lock(mail_mutex_);
    mail_changed_.wait(lock, [&] { return !inbox_.empty() || !admissions_.empty() || stopping_; });
  }
  counters_.idle_seconds += seconds_since(from);
  std::lock_guard lock(stats_mutex_);
  idle_since_.reset();
  published_.idle_seconds = counters_.idle_seconds;
}

// A waiter fiber per sequence waiting for a slot: PrioritySlots decides who goes next.
void InferenceLoop::start_waiter(Sequence& s) {
  s.waiting_for_slot = true;
  s.waiting_since = now();
  {
    Lock lock(mail_mutex_);
    ++live_waiters_;
  }
  // A chat paused after its turn lets chats that arrive while it waits go first: they wait for
  // their first token, and the slot its pause frees is meant for them (chat_that_had_its_turn).
  const auto place = s.priority == Priority::interactive && s.first_token_seen
                         ? scheduler::QueuePlace::after_newcomers
                         : scheduler::QueuePlace::in_arrival_order;
  // dispatch: the waiter runs at once, so it is queued in the lock before the next decision.
  boost::fibers::fiber(boost::fibers::launch::dispatch, [this, &s, place] {
    const AcquireStatus status = slots_.acquire(s.priority, s.deadline, s.stream->stop_token(), place);
    {
      Lock lock(mail_mutex_);
      admissions_.push_back({&s, status});
      --live_waiters_;
    }
    mail_changed_.notify_all();
  }).detach();
}

void InferenceLoop::on_admission(Sequence& s, AcquireStatus status) {
  s.waiting_for_slot = false;
  s.holds_slot = status == AcquireStatus::acquired;
  if (!s.fault.empty()) return finish(s, FinishReason::error, s.fault);
  if (status == AcquireStatus::cancelled) return finish(s, FinishReason::cancelled);
  if (status == AcquireStatus::timeout) return finish(s, FinishReason::deadline);
  if (s.stream->cancel_requested()) return finish(s, FinishReason::cancelled);
  if (s.deadline && now() >= *s.deadline) return finish(s, FinishReason::deadline);
  if (!make_room_for(s)) {
    return finish(s, FinishReason::error, "no free KV stream for this sequence");
  }
  if (!s.kv_in_cache() && s.n_past == 0) {
    start_from_prefix(s);
  } else if (!s.kv_in_cache()) {
    s.seq_id = take_seq_id();
    evict_stream(s.seq_id);
    if (!restore(s)) {
      return finish(s, FinishReason::error,
                    "llama_state_seq_set_data could not restore the paused sequence's state");
    }
  }
  s.state = SeqState::running;
  s.skipped = false;
  s.rank = promoted_class(s);
  s.admit_order = next_admit_order_++;
  s.generated_at_admission = s.n_generated;
  running_.push_back(&s);
  s.stream->mark_admitted(steps_done());
}

// The class a sequence runs as: the lock admitted it after `aging` intervals counted as that many
// classes up, so it keeps that rank while running (else preemption would undo aging at once).
int InferenceLoop::promoted_class(const Sequence& s) const {
  if (config_.aging <= Clock::duration::zero()) return scheduler::index(s.priority);
  return scheduler::aged_class(s.priority, (now() - s.waiting_since) / config_.aging);
}

Clock::time_point InferenceLoop::now() const { return config_.now ? config_.now() : Clock::now(); }

void InferenceLoop::end_cancelled_and_expired() {
  const auto t = now();
  for (Sequence* s : running_) {
    if (s->state != SeqState::running) continue;
    if (s->stream->cancel_requested()) {
      finish(*s, FinishReason::cancelled);
    } else if (s->deadline && t >= *s->deadline) {
      finish(*s, FinishReason::deadline);
    }
  }
}

// Batched policy: a waiting class more urgent than a running one, and no free slot -> the
// lowest-ranked running sequence gives its slot back (one per step boundary; the lock hands the
// slot straight to the best waiter, so the waiting count drops before the next check). Within the
// interactive class, a chat still waiting for its first token takes the slot of a chat that has
// had its turn (chat_that_had_its_turn).
bool InferenceLoop::preempt_if_needed() {
  if (slots_.held() < slots_.capacity()) return false;
  int best_waiting = -1;
  for (int c = 0; c < scheduler::kPriorityClasses; ++c) {
    if (slots_.waiting(static_cast<Priority>(c)) > 0) {
      best_waiting = c;
      break;
    }
  }
  if (best_waiting < 0) return false;
  Sequence* victim = nullptr;
  for (Sequence* s : running_) {
    if (s->state != SeqState::running || s->rank_class() <= best_waiting) continue;
    if (victim == nullptr || ranked_before(victim, s)) victim = s;
  }
  if (victim == nullptr && best_waiting == 0) victim = chat_that_had_its_turn();
  if (victim == nullptr) return false;
  pause(*victim);
  return true;
}

// A burst of more chats than slots: without this, a new chat waited for whole answers of the chats
// before it (in the replay, the slowest chats' time to first token was 75% slot wait, 2.8 of 3.7 s).
// A chat that has streamed kChatTurnTokens since it took its slot, the longest-running such, is
// paused instead: its reader sees a pause, the new chat its first token after its prefill. The
// paused chat queues again behind the waiting chats and behind any that arrive while it waits
// (QueuePlace::after_newcomers: else the slot of the next pause went to it, not to a newer chat:
// in a burst of six chats the last one's first token came 0.6 s later) and, having its first
// token, never pauses another chat itself, so chats do not pass a slot back and forth.
Sequence* InferenceLoop::chat_that_had_its_turn() const {
  const bool new_chat_waits = std::any_of(seqs_.begin(), seqs_.end(), [](const auto& s) {
    return s->waiting_for_slot && s->priority == Priority::interactive && !s->first_token_seen;
  });
  if (!new_chat_waits) return nullptr;
  Sequence* victim = nullptr;
  for (Sequence* s : running_) {
    if (s->state != SeqState::running || s->priority != Priority::interactive || !s->first_token_seen) continue;
    if (s->n_generated - s->generated_at_admission < kChatTurnTokens) continue;
    if (victim == nullptr || s->admit_order < victim->admit_order) victim = s;
  }
  return victim;
}

void InferenceLoop::pause(Sequence& s) {
  running_.erase(std::find(running_.begin(), running_.end(), &s));
  s.state = SeqState::paused;
  s.skipped = false;
  ++s.times_preempted;
  ++counters_.preemptions;
  s.holds_slot = false;
  slots_.release();  // straight to the best waiter
  start_waiter(s);   // and queue again for a slot, behind it
}

// One batch: a decode token for every running sequence past its prompt, then prompt chunks in
// rank order until the prefill budget is spent. The tokens go in by sequence id: llama.cpp decodes
// a run of consecutive ids (one KV stream each) as one ubatch.
bool InferenceLoop::build_batch() {
  std::sort(running_.begin(), running_.end(), ranked_before);
  // Other classes sit out while an interactive prompt is prefilled (its first token is what the
  // user waits for, and their tokens would add a ubatch to that step) and, with the option, while
  // an interactive generation decodes (that counts as a preemption).
  bool interactive_prefills = false;
  bool interactive_runs = false;
  for (const Sequence* s : running_) {
    if (s->priority != Priority::interactive) continue;
    interactive_runs = true;
    interactive_prefills = interactive_prefills || s->prefilling();
  }
  const bool pause_lower = config_.pause_lower_while_interactive && interactive_runs;
  for (Sequence* s : running_) {
    s->batch_output = -1;
    const bool hold_out =
        s->priority != Priority::interactive && (interactive_prefills || pause_lower);
    if (hold_out && pause_lower && !s->skipped) ++s->times_preempted;
    s->skipped = hold_out;
    s->batch_tokens = hold_out || s->prefilling() ? 0 : 1;
  }
  int budget = config_.prefill_chunk;
  for (Sequence* s : running_) {
    if (budget == 0) break;
    if (s->skipped || !s->prefilling()) continue;
    s->batch_tokens = std::min(budget, static_cast<int>(s->prompt.size()) - s->n_past);
    budget -= s->batch_tokens;
  }

  in_batch_.clear();
  for (Sequence* s : running_) {
    if (s->batch_tokens > 0) in_batch_.push_back(s);
  }
  std::sort(in_batch_.begin(), in_batch_.end(),
            [](const Sequence* a, const Sequence* b) { return a->seq_id < b->seq_id; });
  batch_.n_tokens = 0;
  for (Sequence* s : in_batch_) {
    const bool decoding = !s->prefilling();
    const bool ends_prompt = decoding || s->n_past + s->batch_tokens == static_cast<int>(s->prompt.size());
    for (int i = 0; i < s->batch_tokens; ++i) {
      const int at = batch_.n_tokens++;
      batch_.token[at] = decoding ? s->pending : s->prompt[static_cast<size_t>(s->n_past + i)];
      batch_.pos[at] = s->n_past + i;
      batch_.n_seq_id[at] = 1;
      batch_.seq_id[at][0] = s->seq_id;
      batch_.logits[at] = 0;
    }
    if (ends_prompt) {
      s->batch_output = batch_.n_tokens - 1;
      batch_.logits[s->batch_output] = 1;
    }
  }
  return batch_.n_tokens > 0;
}

// A slot free, or held by another class: a chat arriving now would start at once.
bool InferenceLoop::slot_for_a_new_chat() const {
  return static_cast<int>(running_.size()) < config_.slots ||
         std::any_of(running_.begin(), running_.end(), [](const Sequence* s) { return s->priority != Priority::interactive; });
}

bool InferenceLoop::decode_step() {
  // A step is cut when a chat arrives (post()), even one that arrived while this step was being
  // built: the chat then waits for no step at all. Not a step that prefills a chat's prompt (that
  // chat's first token is in it), and not when every slot holds a chat (the new one could not
  // start anyway). A chat decoding in a cut step decodes that token in the next, beside the new
  // chat's prompt: it waits the cut step's time at most, the new chat a whole step less (in the
  // replay, chats arriving while one chat decoded beside background prefill waited 150-250 ms).
  const bool cuttable = steps_can_be_cut_ && slot_for_a_new_chat() &&
                        std::none_of(in_batch_.begin(), in_batch_.end(), [](const Sequence* s) {
                          return s->priority == Priority::interactive && s->prefilling();
                        });
  step_cuttable_.store(cuttable, std::memory_order_release);
  if (config_.before_step) config_.before_step(steps_done());
  std::optional<HeldLlamaLog> held_log;  // a step we cut is not an error to print
  if (cuttable) held_log.emplace();
  const auto from = std::chrono::steady_clock::now();
  const int rc = llama_decode(ctx_, batch_);
  step_cuttable_.store(false, std::memory_order_release);
  (rc == 2 ? counters_.cut_step_seconds : counters_.step_seconds) += seconds_since(from);
  if (rc == 2 && held_log) held_log->drop();
  held_log.reset();
  if (rc == 2) {
    // Aborted: llama.cpp dropped the unfinished ubatch's cells, finished ubatches stay. Every
    // sequence of the batch goes back to where it was before the step, and runs it again later.
    llama_memory_t mem = llama_get_memory(ctx_);
    for (const Sequence* s : in_batch_) llama_memory_seq_rm(mem, s->seq_id, s->n_past, -1);
    ++counters_.steps_cut;
    return false;
  }
  counters_.decode_steps = steps_.fetch_add(1, std::memory_order_acq_rel) + 1;
  if (rc != 0) {
    const std::string why = "llama_decode failed with code " + std::to_string(rc);
    for (Sequence* s : running_) {
      if (s->batch_tokens > 0) finish(*s, FinishReason::error, why);
    }
    return true;
  }
  for (Sequence* s : running_) {
    if (s->batch_tokens == 0) continue;
    if (s->prefilling()) {
      counters_.prompt_tokens += s->batch_tokens;
    } else {
      s->decoded.push_back(s->pending);
    }
    s->n_past += s->batch_tokens;
    s->pending = LLAMA_TOKEN_NULL;
    if (s->batch_output < 0) continue;  // a prompt chunk that does not end the prompt
    on_token(*s, s->sampler.sample(ctx_, s->batch_output));
  }
  return true;
}

void InferenceLoop::on_token(Sequence& s, llama_token token) {
  if (!s.first_token_seen) {
    s.first_token_seen = true;
    s.stream->mark_first_token(steps_done());
  }
  if (llama_vocab_is_eog(vocab_, token)) return finish(s, FinishReason::stop);
  ++s.n_generated;
  ++counters_.tokens_generated;

  std::string piece(32, '\0');
  int n = llama_token_to_piece(vocab_, token, piece.data(), static_cast<int>(piece.size()), 0, false);
  if (n < 0) {
    piece.resize(static_cast<size_t>(-n));
    n = llama_token_to_piece(vocab_, token, piece.data(), static_cast<int>(piece.size()), 0, false);
  }
  piece.resize(static_cast<size_t>(std::max(n, 0)));

  auto out = s.stop.feed(piece);
  s.stream->push(std::move(out.text));
  if (out.stopped) return finish(s, FinishReason::stop, {}, /*flush=*/false);
  if (s.n_generated >= s.max_tokens || s.n_past >= config_.n_ctx_per_seq) {
    return finish(s, FinishReason::length);
  }
  s.pending = token;
}

// Ends a sequence now: slot and KV cells are given back before the reader is told.
void InferenceLoop::finish(Sequence& s, FinishReason why, std::string error, bool flush) {
  if (s.state == SeqState::finished) return;
  s.state = SeqState::finished;
  if (s.holds_slot) {
    s.holds_slot = false;
    slots_.release();
  }
  // Its cells stay for a later prompt that starts the same way (not after a failed decode: what
  // they hold is then unknown).
  free_seq_id(s, /*keep_cells=*/config_.reuse_prefixes && why != FinishReason::error);
  s.saved_state = {};
  if (flush) s.stream->push(s.stop.flush());
  s.stream->finish(why, std::move(error), s.n_generated, s.times_preempted, steps_done());
}

void InferenceLoop::sweep_finished() {
  std::erase_if(running_, [](const Sequence* s) { return s->state == SeqState::finished; });
  // A finished sequence never has a waiter fiber left (waiting ones end through their waiter).
  seqs_.remove_if([](const std::unique_ptr<Sequence>& s) {
    return s->state == SeqState::finished && !s->waiting_for_slot;
  });
}

// ---------------------------------------------------------------------------------------------
// KV streams: one per sequence id, n_ctx_per_seq cells each, so a running sequence never runs out
// of cells; a paused one keeps its stream until an admission finds no free id.

bool InferenceLoop::make_room_for(Sequence& s) {
  while (!s.kv_in_cache() && free_ids_.empty()) {
    Sequence* victim = nullptr;  // the lowest-ranked paused sequence still in the cache
    for (const auto& p : seqs_) {
      if (p.get() == &s || p->state != SeqState::paused || !p->kv_in_cache()) continue;
      if (victim == nullptr || ranked_before(victim, p.get())) victim = p.get();
    }
    if (victim == nullptr) return false;
    copy_out(*victim);
  }
  return true;
}

void InferenceLoop::copy_out(Sequence& s) {
  Timed timed(counters_.state_copy_seconds);
  if (s.n_past > 0) {
    const size_t size = llama_state_seq_get_size(ctx_, s.seq_id);
    s.saved_state.resize(size);
    const size_t got = llama_state_seq_get_data(ctx_, s.saved_state.data(), size, s.seq_id);
    if (got == 0) {
      s.saved_state = {};
      s.fault = "llama_state_seq_get_data could not copy out the paused sequence's state";
    } else {
      s.saved_state.resize(got);
      ++counters_.state_copy_outs;
    }
  }
  free_seq_id(s);
}

bool InferenceLoop::restore(Sequence& s) {
  if (s.saved_state.empty()) return s.n_past == 0;
  Timed timed(counters_.state_copy_seconds);
  const size_t read =
      llama_state_seq_set_data(ctx_, s.saved_state.data(), s.saved_state.size(), s.seq_id);
  s.saved_state = {};
  if (read == 0) return false;
  if (llama_memory_seq_pos_max(llama_get_memory(ctx_), s.seq_id) != s.n_past - 1) return false;
  ++counters_.state_restores;
  return true;
}

// Runs of consecutive ids among the running sequences' and `id`: llama.cpp decodes each run as a
// ubatch of its own, so a gap splits every step in two (a 4-sequence decode step then takes ~30 %
// longer on this 2-core host, bench/README.md "Replay").
int InferenceLoop::id_runs_with(llama_seq_id id) const {
  std::vector<llama_seq_id> ids{id};
  for (const Sequence* s : running_) {
    if (s->seq_id >= 0) ids.push_back(s->seq_id);
  }
  std::sort(ids.begin(), ids.end());
  int runs = 0;
  for (size_t i = 0; i < ids.size(); ++i) runs += i == 0 || ids[i] != ids[i - 1] + 1 ? 1 : 0;
  return runs;
}

// A free id for a sequence: the fewest runs with the running ones first; then `preferred` (the
// stream holding its prefix); then an empty stream (the cells a finished sequence left are worth
// keeping, and copying them out takes time); then the lowest.
llama_seq_id InferenceLoop::take_seq_id(llama_seq_id preferred) {
  auto rank = [&](llama_seq_id id) {
    return std::tuple(id_runs_with(id), id != preferred, !stream_tokens_[static_cast<size_t>(id)].empty(), id);
  };
  auto it = std::min_element(free_ids_.begin(), free_ids_.end(),
                             [&](llama_seq_id a, llama_seq_id b) { return rank(a) < rank(b); });
  const llama_seq_id id = *it;
  free_ids_.erase(it);
  return id;
}

void InferenceLoop::free_seq_id(Sequence& s, bool keep_cells) {
  if (s.seq_id < 0) return;
  auto& held = stream_tokens_[static_cast<size_t>(s.seq_id)];
  held.clear();
  if (keep_cells && s.n_past > 0) {
    const size_t from_prompt = std::min(s.prompt.size(), static_cast<size_t>(s.n_past));
    held.assign(s.prompt.begin(), s.prompt.begin() + static_cast<std::ptrdiff_t>(from_prompt));
    held.insert(held.end(), s.decoded.begin(),
                s.decoded.begin() + static_cast<std::ptrdiff_t>(static_cast<size_t>(s.n_past) - from_prompt));
  } else {
    llama_memory_seq_rm(llama_get_memory(ctx_), s.seq_id, -1, -1);
  }
  free_ids_.insert(std::upper_bound(free_ids_.begin(), free_ids_.end(), s.seq_id, std::greater<>()),
                   s.seq_id);
  s.seq_id = -1;
}

// ---------------------------------------------------------------------------------------------
// Prefix reuse. A sequence's first admission looks for the longest prefix of its prompt that is
// already computed: in a free KV stream (the cells a finished sequence left), or in the prefix
// cache (RAM, then disk), which keeps what a stream held before the stream was given to another
// sequence. The last prompt token is always decoded: its logits give the first token.

namespace {

// Tokens a prompt must share with a free stream's to start from it (prefilling fewer costs less
// than the prefix the stream may hold for a later prompt, and than snapshotting it).
constexpr int kMinStreamMatch = 16;

int common_prefix(const std::vector<llama_token>& a, const std::vector<llama_token>& b, int limit) {
  const int n = std::min({static_cast<int>(a.size()), static_cast<int>(b.size()), limit});
  int i = 0;
  while (i < n && a[static_cast<size_t>(i)] == b[static_cast<size_t>(i)]) ++i;
  return i;
}

}  // namespace

void InferenceLoop::start_from_prefix(Sequence& s) {
  if (!config_.reuse_prefixes) {
    s.seq_id = take_seq_id();
    return;
  }
  const int usable = static_cast<int>(s.prompt.size()) - 1;
  llama_seq_id best_id = -1;
  int best = 0;
  for (auto it = free_ids_.rbegin(); it != free_ids_.rend(); ++it) {  // lowest id first among equals
    const int n = common_prefix(stream_tokens_[static_cast<size_t>(*it)], s.prompt, usable);
    // A few tokens (a template's opening) are not worth a stream that may hold a long prefix.
    if (n >= kMinStreamMatch && n > best) {
      best = n;
      best_id = *it;
    }
  }
  const auto stored = cache_ ? cache_->find(s.prompt) : std::nullopt;
  const int block = cache_ ? cache_->block_tokens() : 0;
  int reused = 0;
  if (stored && std::min(stored->tokens, usable) > best + block) {
    // Taken first: storing what the stream held may evict entries, never this one.
    const auto state = cache_->take_state(stored->entry);
    s.seq_id = take_seq_id();
    evict_stream(s.seq_id);
    reused = restore_prefix(s.seq_id, state.get(), std::min(stored->tokens, usable));
  } else if (best > 0) {
    if (plain_kv_) {
      s.seq_id = take_seq_id(best_id);
    } else {  // a recurrent state is not copied: such a model takes the stream itself
      free_ids_.erase(std::find(free_ids_.begin(), free_ids_.end(), best_id));
      s.seq_id = best_id;
    }
    reused = s.seq_id == best_id ? take_prefix_stream(best_id, best) : move_prefix_stream(best_id, s.seq_id, best);
  } else {
    s.seq_id = take_seq_id();
    evict_stream(s.seq_id);
  }
  stream_tokens_[static_cast<size_t>(s.seq_id)].clear();  // the sequence's own now
  s.n_past = reused;
  if (reused > 0) {
    counters_.prompt_tokens_cached += reused;
    ++counters_.prefix_hits;
    s.stream->set_cached_tokens(reused);
  }
}

// The sequence takes the stream holding its prefix and keeps its first `keep` tokens; the tokens
// reused. Whole blocks past the match are about to go: worth copying the stream's state (all of
// it, about 1/15 of the time prefilling it takes) unless they are a small part of it, which
// prefilling again would cost less than the copy.
int InferenceLoop::take_prefix_stream(llama_seq_id id, int keep) {
  if (cache_) {
    const size_t block = static_cast<size_t>(cache_->block_tokens());
    const size_t whole = stream_tokens_[static_cast<size_t>(id)].size() / block * block;
    const size_t k = static_cast<size_t>(keep);
    if (whole > k && (whole - k) * 8 >= whole) snapshot_stream(id);
  }
  return trim_stream(id, keep) ? keep : 0;
}

// Another id keeps the running ids consecutive: the prefix's stream is copied there (a buffer copy
// at the next step, ~1/100 of prefilling it) and stays as it was for later prompts.
int InferenceLoop::move_prefix_stream(llama_seq_id from, llama_seq_id to, int keep) {
  evict_stream(to);
  llama_memory_seq_cp(llama_get_memory(ctx_), from, to, -1, -1);
  ++counters_.prefix_moves;
  return trim_stream(to, keep) ? keep : 0;
}

// Copies a stored prefix into an empty stream and keeps its first `keep` tokens; the tokens reused
// (0 when there is no state, e.g. its file was bad, or llama.cpp refuses it).
int InferenceLoop::restore_prefix(llama_seq_id id, const StateBytes* state, int keep) {
  Timed timed(counters_.state_copy_seconds);
  if (state == nullptr || llama_state_seq_set_data(ctx_, state->data(), state->size(), id) == 0) {
    llama_memory_seq_rm(llama_get_memory(ctx_), id, -1, -1);
    return 0;
  }
  return trim_stream(id, keep) ? keep : 0;
}

// Keeps the first `keep` cells of a stream. Not every memory can drop a tail (recurrent models,
// sliding-window caches that have already dropped the head): then the stream is emptied.
bool InferenceLoop::trim_stream(llama_seq_id id, int keep) {
  llama_memory_t mem = llama_get_memory(ctx_);
  if (llama_memory_seq_rm(mem, id, keep, -1) && llama_memory_seq_pos_min(mem, id) <= 0 &&
      llama_memory_seq_pos_max(mem, id) == keep - 1) {
    return true;
  }
  llama_memory_seq_rm(mem, id, -1, -1);
  return false;
}

// Stores what a free stream holds, unless the cache already has it.
void InferenceLoop::snapshot_stream(llama_seq_id id) {
  const auto& held = stream_tokens_[static_cast<size_t>(id)];
  if (!cache_ || cache_->covers(held)) return;
  Timed timed(counters_.state_copy_seconds);
  StateBytes state(llama_state_seq_get_size(ctx_, id));
  const size_t got = llama_state_seq_get_data(ctx_, state.data(), state.size(), id);
  if (got == 0) return;
  state.resize(got);
  cache_->insert(held, std::move(state));
}

void InferenceLoop::evict_stream(llama_seq_id id) {
  auto& held = stream_tokens_[static_cast<size_t>(id)];
  if (held.empty()) return;
  snapshot_stream(id);
  llama_memory_seq_rm(llama_get_memory(ctx_), id, -1, -1);
  held.clear();
}

// When the engine has nothing to do, at most once per interval: the streams' prefixes into the
// store and the store's new entries to disk, so a crash loses little of the cache, and the spare
// state memory back to the system. The writing goes in short passes, one per idle turn of the
// loop, so mail (a chat) is taken between two: a single pass over a store of thousands of small
// prefixes once held chats up for a minute.
void InferenceLoop::tidy_up_when_idle() {
  if (!prefix_save_pending_) {
    if (Clock::now() - last_idle_tidy_ < config_.prefix_save_interval) return;
    last_idle_tidy_ = Clock::now();
    if (cache_) {
      for (llama_seq_id id : free_ids_) snapshot_stream(id);
    }
    release_spare_state_memory();
  }
  if (cache_) prefix_save_pending_ = !cache_->save(kPrefixSavePass);
}

// ---------------------------------------------------------------------------------------------
// Shutdown and stats

void InferenceLoop::shut_down() {
  for (const auto& s : seqs_) s->stream->cancel();  // wakes every slot waiter
  for (Sequence* s : running_) finish(*s, FinishReason::cancelled);
  sweep_finished();
  if (cache_) {  // what the streams hold, then the most used prefixes to disk
    for (llama_seq_id id : free_ids_) snapshot_stream(id);
    cache_->save();
  }
  for (;;) {
    std::vector<Admission> admitted;
    {
      Lock lock(mail_mutex_);
      mail_changed_.wait(lock, [&] { return !admissions_.empty() || live_waiters_ == 0; });
      admitted.swap(admissions_);
    }
    if (admitted.empty()) break;
    for (const auto& a : admitted) {
      a.seq->waiting_for_slot = false;
      a.seq->holds_slot = a.status == AcquireStatus::acquired;
      finish(*a.seq, FinishReason::cancelled);
    }
    sweep_finished();
  }
}

void InferenceLoop::publish_stats() {
  EngineStats s = counters_;
  s.decode_steps = steps_done();
  if (cache_) s.prefix_cache = cache_->stats();
  s.state_spare_bytes = static_cast<int64_t>(state_memory_stats().spare_bytes);
  for (const auto& q : seqs_) {
    auto& c = s.by_class[static_cast<size_t>(q->rank_class())];
    switch (q->state) {
      case SeqState::queued: ++c.queued; break;
      case SeqState::running: ++(q->skipped ? c.paused : c.running); break;
      case SeqState::paused: ++c.paused; break;
      case SeqState::finished: break;
    }
  }
  std::lock_guard lock(stats_mutex_);
  published_ = s;
}

}  // namespace agentd::engine
