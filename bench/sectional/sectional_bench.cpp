// sectional_bench: is a long text less repetitive when written as sections than in one go?
//
// For each of several story briefs, on a real model (default: the test model stories260K.gguf),
// with fixed seeds and the same sampling in every arm:
//   single      one engine request, the brief as the user message, max_tokens 1500
//   sectional   SectionalGenerator, a given 5-heading outline, max_tokens 300 per section
//               (5 x 300 = the same 1,500-token budget), default repetition guard (up to 3
//               attempts per section, each retry with a new seed and +0.15 repeat penalty)
//   no guard    the same with max_attempts = 1: what sectioning alone buys
// Every arm samples with repeat_penalty 1.0; only the guard's retries raise it. The measure is
// distinct_ngram_ratio(text, 4) over the whole document ("## heading" lines removed).
// Two more figures say what sectioning buys on any model, repetitive or not:
//   peak KV cells    the most cells one sequence held while the document was written (prompt +
//                    completion of its largest call): one pass holds the whole document,
//                    sectional only a section and its context.
//   kill and resume  for the first --kill-briefs briefs, the sectional run is killed half-way
//                    into its middle section (a fixed decode step, counted by the engine's
//                    after_step hook, so the same token every run) and resumed from its journal;
//                    the single pass is killed at the same point of the budget (half of it).
//                    Tokens regenerated = tokens generated before the kill that no kept work holds.
// It prints a table per brief, then the totals and ratios; the LAST line is
//   distinct4_sectional_vs_single R   mean distinct-4 of sectional documents (guard on) /
//                                     mean distinct-4 of single completions
// See bench/README.md.
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <functional>
#include <mutex>
#include <numeric>
#include <sstream>
#include <stop_token>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "engine/llama_engine.hpp"
#include "engine/repetition.hpp"
#include "engine/sectional.hpp"

namespace {

using namespace agentd::engine;

#ifndef AGENTD_TEST_MODEL_DEFAULT
#define AGENTD_TEST_MODEL_DEFAULT ""
#endif

constexpr int kSingleTokens = 1500;
constexpr int kSectionTokens = 300;  // x 5 headings = kSingleTokens
constexpr int kKillSection = 2;      // the middle one of 5: the kill lands half-way into the document

struct Brief {
  std::string text;
  std::vector<std::string> outline;  // 5 headings
};

// Briefs in the test model's domain (TinyStories: short children's stories).
const std::vector<Brief>& briefs() {
  static const std::vector<Brief> all = {
      {"Write a long story about a little girl named Lily who finds a lost puppy in the park and "
       "helps it find its home.",
       {"Lily goes to the park", "The lost puppy", "Looking for the owner", "A big storm", "Home at last"}},
      {"Write a long story about a boy named Tim who wants to build a boat and sail on the lake "
       "with his dad.",
       {"Tim has an idea", "Building the boat", "The boat leaks", "Dad helps", "Sailing on the lake"}},
      {"Write a long story about a small bird who cannot fly yet and the friends who help her "
       "learn.",
       {"The little bird", "Trying to fly", "A kind squirrel", "The big jump", "Flying high"}},
      {"Write a long story about two friends, Sue and Ben, who find a magic box in the garden.",
       {"Playing in the garden", "The magic box", "A wish comes true", "Too many toys", "Sharing with everyone"}},
      {"Write a long story about a bear named Max who is afraid of the dark and learns to be "
       "brave.",
       {"Max and the night", "A noise outside", "Mom tells a story", "The night walk", "Max is brave"}},
  };
  return all;
}

// Cells one sequence holds when a call ends: its prompt plus what it generated (within one cell:
// the engine never decodes the last token it samples, so a call cut at max_tokens holds one less).
int cells_held(const Result& r) { return r.prompt_tokens + r.completion_tokens; }

// In-memory journal: keeps the outline and every finished section, so a second generate() with
// the same journal resumes like one after a crash; counts every call's tokens.
class MemoryJournal final : public SectionJournal {
 public:
  std::vector<std::string> outline() override { return outline_; }
  void save_outline(const std::vector<std::string>& titles) override {
    outline_ = titles;
    unsaved_tokens = 0;
  }
  std::vector<SectionText> finished() override { return sections; }
  void section_started(int idx, const std::string&) override {
    if (on_section_started) on_section_started(idx);
  }
  void save(const SectionText& section, int) override {
    sections.push_back(section);
    unsaved_tokens = 0;
  }
  void attempt(const SectionAttempt& a) override { attempts.push_back(a); }
  void call(const nlohmann::json&, const Result& r) override { count(r); }

  std::vector<SectionText> sections;
  std::vector<SectionAttempt> attempts;
  int calls = 0;
  int generated_tokens = 0;  // every attempt, rejected ones included
  int ended_at_eos = 0;
  int peak_cells = 0;        // the largest cells_held of a call
  int unsaved_tokens = 0;    // generated since the last save: what a kill now would lose
  int last_call_tokens = 0;
  std::function<void(int idx)> on_section_started;

 private:
  void count(const Result& r) {
    ++calls;
    generated_tokens += r.completion_tokens;
    unsaved_tokens += r.completion_tokens;
    last_call_tokens = r.completion_tokens;
    peak_cells = std::max(peak_cells, cells_held(r));
    if (r.finish == FinishReason::stop) ++ended_at_eos;
  }

  std::vector<std::string> outline_;
};

// Kills a generation at a fixed decode step. The engine calls on_step() on its inference thread
// after every step (LlamaEngineOptions::after_step); once armed it counts `steps` of them and then
// requests stop on the given source, whose stop_callback cancels the running generation (only a
// flag: the next iteration ends the sequence before another token). Counting steps there, not
// pieces read by the caller, puts the kill at the same token in every run. Arm it only while the
// engine is idle (between calls).
class KillSwitch {
 public:
  void arm(int steps, std::stop_source source) {
    std::lock_guard lock(mutex_);
    source_ = std::move(source);
    remaining_.store(steps, std::memory_order_release);
  }
  void disarm() { remaining_.store(0, std::memory_order_release); }
  void on_step() {
    if (remaining_.load(std::memory_order_acquire) <= 0) return;  // the common case: one load
    if (remaining_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    std::lock_guard lock(mutex_);  // a late stop must not race the next arm()
    source_.request_stop();
  }

 private:
  std::atomic<int> remaining_{0};  // steps to go; 0 = disarmed
  std::mutex mutex_;
  std::stop_source source_;  // guarded by mutex_
};

// The document without its "## heading" lines.
std::string strip_headings(const std::string& doc) {
  std::istringstream in(doc);
  std::string line, out;
  while (std::getline(in, line)) {
    if (line.rfind("## ", 0) == 0) continue;
    out += line;
    out += '\n';
  }
  return out;
}

struct ArmResult {
  double distinct4 = 1.0;
  int tokens_kept = 0;       // completion tokens of the text that is in the document
  int tokens_generated = 0;  // every call, rejected attempts included
  int words = 0;             // words of the measured text (words_of)
  int calls = 0;
  int ended_at_eos = 0;      // calls that ended at end-of-generation (not at max_tokens)
  int retries = 0;           // guard: attempts beyond the first
  int low_sections = 0;      // guard: sections kept below min_distinct4 after all attempts
  int peak_cells = 0;        // the most KV cells one call's sequence held (cells_held)
  double seconds = 0;
  std::string text;          // measured text
};

Sampling sampling_for(uint32_t seed, float temperature) {
  Sampling s;
  s.temperature = temperature;
  s.repeat_penalty = 1.0f;  // no penalty in any arm (the guard's retries add their own)
  s.seed = seed;
  return s;
}

Request single_request(const Brief& brief, uint32_t seed, float temperature) {
  Request r;
  r.messages = {{"user", brief.text}};
  r.sampling = sampling_for(seed, temperature);
  r.max_tokens = kSingleTokens;
  r.priority = agentd::scheduler::Priority::background;
  return r;
}

LongFormOptions sectional_options(const Brief& brief, uint32_t seed, float temperature, int max_attempts) {
  LongFormOptions o;
  o.outline = brief.outline;
  o.sections = static_cast<int>(brief.outline.size());
  o.max_tokens = kSectionTokens;
  o.max_attempts = max_attempts;
  o.sampling = sampling_for(seed, temperature);
  return o;
}

ArmResult run_single(LlamaEngine& engine, const Brief& brief, uint32_t seed, float temperature) {
  Request r = single_request(brief, seed, temperature);
  auto t0 = std::chrono::steady_clock::now();
  Result res = engine.submit(std::move(r))->wait();
  ArmResult a;
  a.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (res.finish == FinishReason::error) throw std::runtime_error("single completion failed: " + res.error);
  a.text = res.text;
  a.distinct4 = distinct_ngram_ratio(a.text, 4);
  a.tokens_kept = a.tokens_generated = res.completion_tokens;
  a.words = static_cast<int>(words_of(a.text).size());
  a.calls = 1;
  a.ended_at_eos = res.finish == FinishReason::stop ? 1 : 0;
  a.peak_cells = cells_held(res);
  return a;
}

ArmResult run_sectional(LlamaEngine& engine, const Brief& brief, uint32_t seed, float temperature,
                        int max_attempts) {
  LongFormOptions o = sectional_options(brief, seed, temperature, max_attempts);
  MemoryJournal journal;
  SectionalGenerator generator(engine, o);
  auto t0 = std::chrono::steady_clock::now();
  std::string doc = generator.generate(brief.text, journal);
  ArmResult a;
  a.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  a.text = strip_headings(doc);
  a.distinct4 = distinct_ngram_ratio(a.text, 4);
  for (const auto& s : journal.sections) a.tokens_kept += s.tokens;
  a.tokens_generated = journal.generated_tokens;
  a.words = static_cast<int>(words_of(a.text).size());
  a.calls = journal.calls;
  a.ended_at_eos = journal.ended_at_eos;
  a.peak_cells = journal.peak_cells;
  for (const auto& at : journal.attempts) {
    if (at.attempt > 1) ++a.retries;
  }
  for (const auto& s : journal.sections) {
    if (distinct_ngram_ratio(s.text, 4) < o.min_distinct4) ++a.low_sections;
  }
  return a;
}

// ---- kill in mid-document, then resume -------------------------------------------------------

struct KillResult {
  bool killed = false;      // false: the text ended before the kill point
  int at_section = -1;      // sectional: the section being written when killed (0-based)
  int before_kill = 0;      // completion tokens generated before the kill (every call)
  int cut_call_tokens = 0;  // of them, in the call the kill cut
  int lost = 0;             // of them, kept by nothing: written again after the restart
  int after_resume = 0;     // completion tokens the resumed run generated
  int kept = 0;             // completion tokens in the final document
  bool same_document = false;  // the resumed document equals the uninterrupted one
};

// Sectional (guard on): killed `kill_steps` decode steps after section `kill_section` started,
// then resumed with the same journal by a new generator, as the daemon does after a restart.
// `uninterrupted` is the text of the same brief's uninterrupted run (headings removed).
KillResult kill_and_resume_sectional(LlamaEngine& engine, KillSwitch& kill, const Brief& brief, uint32_t seed,
                                     float temperature, int kill_section, int kill_steps,
                                     const std::string& uninterrupted) {
  const LongFormOptions o = sectional_options(brief, seed, temperature, LongFormOptions{}.max_attempts);
  MemoryJournal journal;
  std::stop_source stop;
  int current = -1;
  journal.on_section_started = [&](int idx) {
    current = idx;
    if (idx == kill_section) kill.arm(kill_steps, stop);
  };
  KillResult k;
  try {
    SectionalGenerator(engine, o).generate(brief.text, journal, stop.get_token());
  } catch (const std::runtime_error& e) {
    if (std::string(e.what()) != "cancelled") throw;
    k.killed = true;
  }
  kill.disarm();
  k.at_section = k.killed ? current : -1;
  k.before_kill = journal.generated_tokens;
  k.cut_call_tokens = k.killed ? journal.last_call_tokens : 0;
  k.lost = k.killed ? journal.unsaved_tokens : 0;

  journal.on_section_started = nullptr;
  std::string doc = SectionalGenerator(engine, o).generate(brief.text, journal);
  k.after_resume = journal.generated_tokens - k.before_kill;
  for (const auto& s : journal.sections) k.kept += s.tokens;
  k.same_document = strip_headings(doc) == uninterrupted;
  return k;
}

// Single pass: killed `kill_steps` decode steps after it was submitted. Nothing of it survives,
// so every token generated before the kill is written again by the restart (not run here: it
// would be the uninterrupted completion measured above).
KillResult kill_single(LlamaEngine& engine, KillSwitch& kill, const Brief& brief, uint32_t seed, float temperature,
                       int kill_steps) {
  std::stop_source stop;
  kill.arm(kill_steps, stop);
  auto generation = engine.submit(single_request(brief, seed, temperature));
  Result res;
  {
    std::stop_callback cancel_on_stop(stop.get_token(), [&] { generation->cancel(); });
    res = generation->wait();
  }
  kill.disarm();
  if (res.finish == FinishReason::error) throw std::runtime_error("single completion failed: " + res.error);
  KillResult k;
  k.killed = res.finish == FinishReason::cancelled;
  k.before_kill = k.cut_call_tokens = res.completion_tokens;
  k.lost = k.killed ? res.completion_tokens : 0;
  return k;
}

// distinct-4 of the first or last fifth of a text's words: does repetition grow with length?
double fifth_distinct4(const std::string& text, bool last) {
  std::vector<std::string> words = words_of(text);
  size_t n = words.size() / 5;
  size_t from = last ? words.size() - n : 0;
  std::string part;
  for (size_t i = from; i < from + n; ++i) part += words[i] + " ";
  return distinct_ngram_ratio(part, 4);
}

double mean(const std::vector<double>& v) {
  return v.empty() ? 0.0 : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

std::string default_model() {
  if (const char* env = std::getenv("AGENTD_TEST_MODEL"); env != nullptr && *env != '\0') return env;
  return AGENTD_TEST_MODEL_DEFAULT;
}

// Prints the first `chars` characters of `text` on one line, for a look at what was measured.
void print_excerpt(const char* label, const std::string& text, size_t chars) {
  std::string s = text.substr(0, chars);
  for (char& c : s) {
    if (c == '\n') c = ' ';
  }
  std::printf("    %-10s \"%s%s\"\n", label, s.c_str(), text.size() > chars ? "..." : "");
}

struct KillTotals {
  int sectional_lost = 0;  // the most over the killed briefs
  int single_lost = 0;
};

// Kills and resumes the first `count` briefs (sectional, guard on) and kills their single pass at
// the same point of the budget: half of it, i.e. half-way into the middle section of the
// sectional document. Prints a row per brief and arm; returns the worst losses.
KillTotals kill_and_resume_all(LlamaEngine& engine, KillSwitch& kill, const std::vector<Brief>& all, int count,
                               uint32_t seed, float temperature, const std::vector<std::string>& uninterrupted) {
  KillTotals t;
  if (count <= 0) return t;
  std::printf("\nkill in mid-document, then resume. sectional: killed %d decode steps after section %d of 5 started,\n"
              "then resumed from its journal; single: killed %d decode steps after it was submitted (a restart\n"
              "writes it again from the start). lost = tokens generated before the kill that nothing kept.\n",
              kSectionTokens / 2, kKillSection + 1, kSingleTokens / 2);
  std::printf("%-6s %-10s %7s %11s %9s %6s %12s %6s %8s\n", "brief", "arm", "killed", "before_kill", "cut_call", "lost",
              "after_resume", "kept", "same_doc");
  for (int i = 0; i < count; ++i) {
    const Brief& b = all[static_cast<size_t>(i)];
    uint32_t s = seed + static_cast<uint32_t>(100 * i);
    KillResult sec = kill_and_resume_sectional(engine, kill, b, s, temperature, kKillSection, kSectionTokens / 2,
                                               uninterrupted[static_cast<size_t>(i)]);
    KillResult one = kill_single(engine, kill, b, s, temperature, kSingleTokens / 2);
    std::string where = sec.killed ? "sect " + std::to_string(sec.at_section + 1) : "no";
    std::printf("%-6d %-10s %7s %11d %9d %6d %12d %6d %8s\n", i + 1, "sectional", where.c_str(), sec.before_kill,
                sec.cut_call_tokens, sec.lost, sec.after_resume, sec.kept, sec.same_document ? "yes" : "NO");
    if (!sec.same_document) {
      std::printf("       note: the resumed document differs from the uninterrupted one: expected with the prefix\n"
                  "       cache on (other prefill batches can move logits in their last bits), a bug without it\n");
    }
    std::printf("%-6d %-10s %7s %11d %9d %6d %12s %6s %8s\n", i + 1, "single", one.killed ? "yes" : "no",
                one.before_kill, one.cut_call_tokens, one.lost, "-", "-", "-");
    if (!one.killed) {
      std::printf("       note: the single completion ended (end-of-generation) after %d tokens, before the kill\n",
                  one.before_kill);
    }
    std::fflush(stdout);
    t.sectional_lost = std::max(t.sectional_lost, sec.lost);
    t.single_lost = std::max(t.single_lost, one.lost);
  }
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model = default_model();
  int threads = 1;
  uint32_t seed = 1234;
  float temperature = 0.8f;
  int excerpt = 0;
  int brief_count = static_cast<int>(briefs().size());
  int kill_briefs = 2;
  bool no_prefix_cache = false;
  CLI::App app{"sectional_bench: distinct-4-gram ratio of one 1,500-token completion vs. 5 sections of 300"};
  app.add_option("--model,model", model, "GGUF model (default: $AGENTD_TEST_MODEL, else the CMake AGENTD_TEST_MODEL)");
  app.add_option("--threads", threads, "llama.cpp threads")->check(CLI::Range(1, 64));
  app.add_option("--seed", seed, "base seed; brief i uses seed + 100*i (sections: + 1000*k + attempt)");
  app.add_option("--temperature", temperature, "sampling temperature of every arm")->check(CLI::Range(0.0, 2.0));
  app.add_option("--excerpt", excerpt, "print the first N characters of every measured text");
  app.add_option("--briefs", brief_count, "run the first N briefs (a slow model)")
      ->check(CLI::Range(1, static_cast<int>(briefs().size())));
  app.add_option("--kill-briefs", kill_briefs, "kill and resume the first N of them (0 = none)")->check(CLI::Range(0, 5));
  app.add_flag("--no-prefix-cache", no_prefix_cache,
               "prefill every prompt in full: a cached prefix changes the prefill batches, which can move\n"
               "logits in their last bits and so the sampled text (then a resumed document differs)");
  CLI11_PARSE(app, argc, argv);

  std::error_code ec;
  if (model.empty() || !std::filesystem::is_regular_file(model, ec)) {
    std::fprintf(stderr, "sectional_bench: model '%s' not found (pass --model or set AGENTD_TEST_MODEL)\n",
                 model.c_str());
    return 2;
  }

  kill_briefs = std::min(kill_briefs, brief_count);
  try {
    KillSwitch kill;
    LlamaEngineOptions eo;
    eo.model_path = model;
    eo.policy = Policy::serial;  // one request at a time, as the arms run one after another
    eo.slots = 1;
    eo.n_ctx_per_seq = 2048;  // prompt + 1,500 tokens
    eo.threads = threads;
    eo.chat_template = "chatml";  // used only when the model has no template of its own
    eo.aging = std::chrono::seconds(0);
    eo.prefix_cache = !no_prefix_cache;
    eo.after_step = [&kill](int64_t) { kill.on_step(); };
    LlamaEngine engine(eo);

    std::printf("sectional_bench: model %s, %d thread(s), temperature %.2f, repeat_penalty 1.0, base seed %u,\n"
                "prefix cache %s\n",
                model.c_str(), threads, static_cast<double>(temperature), seed, no_prefix_cache ? "off" : "on");
    std::printf("single: 1 request x %d tokens; sectional: 5 given headings x %d tokens (no outline call)\n",
                kSingleTokens, kSectionTokens);
    std::printf("guard on: default repetition guard (min_distinct4 0.7, up to 3 attempts, +0.15 repeat penalty\n"
                "          per retry); guard off: max_attempts 1. distinct-4 over the whole text, headings removed.\n\n");
    std::printf("%-6s %-10s %9s %8s %8s %6s %6s %8s %7s %7s %7s\n", "brief", "arm", "distinct4", "kept_tok",
                "gen_tok", "words", "calls", "eos_end", "retries", "peak_kv", "seconds");

    std::vector<double> single_d, guard_d, noguard_d, single_first, single_last;
    int single_tok = 0, guard_kept = 0, guard_gen = 0, noguard_tok = 0;
    int single_eos = 0, guard_retries = 0, guard_low = 0;
    int single_words = 0, guard_words = 0, noguard_words = 0;
    int single_peak = 0, guard_peak = 0, noguard_peak = 0;
    std::vector<std::string> guard_texts;  // for the kill-and-resume check
    const std::vector<Brief> all(briefs().begin(), briefs().begin() + brief_count);
    for (size_t i = 0; i < all.size(); ++i) {
      const Brief& b = all[i];
      uint32_t s = seed + static_cast<uint32_t>(100 * i);
      ArmResult single = run_single(engine, b, s, temperature);
      ArmResult guard = run_sectional(engine, b, s, temperature, LongFormOptions{}.max_attempts);
      ArmResult noguard = run_sectional(engine, b, s, temperature, 1);
      auto row = [&](const char* arm, const ArmResult& a) {
        std::printf("%-6zu %-10s %9.3f %8d %8d %6d %6d %8d %7d %7d %7.1f\n", i + 1, arm, a.distinct4,
                    a.tokens_kept, a.tokens_generated, a.words, a.calls, a.ended_at_eos, a.retries, a.peak_cells,
                    a.seconds);
      };
      row("single", single);
      row("sectional", guard);
      row("no_guard", noguard);
      if (single.ended_at_eos) {
        std::printf("       note: the single completion ended at end-of-generation after %d of %d tokens\n"
                    "       (its peak_kv is what it held, not what a full-budget document would)\n",
                    single.tokens_generated, kSingleTokens);
      }
      if (excerpt > 0) {
        print_excerpt("single", single.text, static_cast<size_t>(excerpt));
        print_excerpt("sectional", guard.text, static_cast<size_t>(excerpt));
        print_excerpt("no_guard", noguard.text, static_cast<size_t>(excerpt));
      }
      std::fflush(stdout);
      single_d.push_back(single.distinct4);
      single_first.push_back(fifth_distinct4(single.text, false));
      single_last.push_back(fifth_distinct4(single.text, true));
      guard_d.push_back(guard.distinct4);
      noguard_d.push_back(noguard.distinct4);
      single_tok += single.tokens_generated;
      single_eos += single.ended_at_eos;
      single_words += single.words;
      guard_kept += guard.tokens_kept;
      guard_gen += guard.tokens_generated;
      guard_retries += guard.retries;
      guard_low += guard.low_sections;
      guard_words += guard.words;
      noguard_tok += noguard.tokens_generated;
      noguard_words += noguard.words;
      single_peak = std::max(single_peak, single.peak_cells);
      guard_peak = std::max(guard_peak, guard.peak_cells);
      noguard_peak = std::max(noguard_peak, noguard.peak_cells);
      guard_texts.push_back(guard.text);
    }

    KillTotals killed = kill_and_resume_all(engine, kill, all, kill_briefs, seed, temperature, guard_texts);

    const double ms = mean(single_d), mg = mean(guard_d), mn = mean(noguard_d);
    const int n = static_cast<int>(all.size());
    std::printf("\n%d briefs. completion tokens in total (budget %d per document):\n", n, kSingleTokens);
    std::printf("  single     %6d tokens, %6d words; %d of %d completions ended at end-of-generation\n",
                single_tok, single_words, single_eos, n);
    std::printf("  sectional  %6d tokens generated (%d in the documents, %d retries, %d sections kept below\n"
                "             the guard's threshold), %6d words\n",
                guard_gen, guard_kept, guard_retries, guard_low, guard_words);
    std::printf("  no_guard   %6d tokens, %6d words\n", noguard_tok, noguard_words);
    if (single_eos > 0) {
      std::printf("  caution: single completions that stop early are short texts, whose distinct-4 is not\n"
                  "  comparable with a full-budget document (short texts repeat less).\n");
    }
    std::printf("single completions, mean distinct4 of the first fifth of their words %.3f, of the last fifth %.3f\n",
                mean(single_first), mean(single_last));
    std::printf("peak KV cells one sequence held (largest over the briefs): single %d, sectional %d, no_guard %d%s\n",
                single_peak, guard_peak, noguard_peak, single_eos > 0 ? " (some single completions ended early)" : "");
    std::printf("sectional_peak_kv_cells_vs_single %.3f\n",
                single_peak > 0 ? static_cast<double>(guard_peak) / single_peak : 0.0);
    if (kill_briefs > 0) {
      std::printf("sectional_tokens_regenerated_after_kill %d\n", killed.sectional_lost);
      std::printf("single_tokens_regenerated_after_kill %d\n", killed.single_lost);
    }
    std::printf("mean distinct4: single %.3f, sectional (guard on) %.3f, sectional (guard off) %.3f\n", ms, mg, mn);
    std::printf("distinct4_sectional_noguard_vs_single %.3f\n", ms > 0 ? mn / ms : 0.0);
    std::printf("distinct4_sectional_vs_single %.3f\n", ms > 0 ? mg / ms : 0.0);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sectional_bench: %s\n", e.what());
    return 1;
  }
}
