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
// distinct_ngram_ratio(text, 4) over the whole document ("## heading" lines removed). It prints
// a table per brief, then the means and ratios; the LAST line is
//   distinct4_sectional_vs_single R   mean distinct-4 of sectional documents (guard on) /
//                                     mean distinct-4 of single completions
// See bench/README.md.
#include <stdlib.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <numeric>
#include <sstream>
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

// In-memory journal: nothing stored from an earlier run; counts every call's tokens.
class MemoryJournal final : public SectionJournal {
 public:
  std::vector<std::string> outline() override { return outline_; }
  void save_outline(const std::vector<std::string>& titles) override { outline_ = titles; }
  std::vector<SectionText> finished() override { return {}; }
  void section_started(int, const std::string&) override {}
  void save(const SectionText& section, int) override { sections.push_back(section); }
  void attempt(const SectionAttempt& a) override { attempts.push_back(a); }
  void call(const nlohmann::json&, const Result& r) override {
    ++calls;
    generated_tokens += r.completion_tokens;
    if (r.finish == FinishReason::stop) ++ended_at_eos;
  }

  std::vector<SectionText> sections;
  std::vector<SectionAttempt> attempts;
  int calls = 0;
  int generated_tokens = 0;  // every attempt, rejected ones included
  int ended_at_eos = 0;

 private:
  std::vector<std::string> outline_;
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

ArmResult run_single(LlamaEngine& engine, const Brief& brief, uint32_t seed, float temperature) {
  Request r;
  r.messages = {{"user", brief.text}};
  r.sampling = sampling_for(seed, temperature);
  r.max_tokens = kSingleTokens;
  r.priority = agentd::scheduler::Priority::background;
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
  return a;
}

ArmResult run_sectional(LlamaEngine& engine, const Brief& brief, uint32_t seed, float temperature,
                        int max_attempts) {
  LongFormOptions o;
  o.outline = brief.outline;
  o.sections = static_cast<int>(brief.outline.size());
  o.max_tokens = kSectionTokens;
  o.max_attempts = max_attempts;
  o.sampling = sampling_for(seed, temperature);
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
  for (const auto& at : journal.attempts) {
    if (at.attempt > 1) ++a.retries;
  }
  for (const auto& s : journal.sections) {
    if (distinct_ngram_ratio(s.text, 4) < o.min_distinct4) ++a.low_sections;
  }
  return a;
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

}  // namespace

int main(int argc, char** argv) {
  std::string model = default_model();
  int threads = 1;
  uint32_t seed = 1234;
  float temperature = 0.8f;
  int excerpt = 0;
  CLI::App app{"sectional_bench: distinct-4-gram ratio of one 1,500-token completion vs. 5 sections of 300"};
  app.add_option("--model,model", model, "GGUF model (default: $AGENTD_TEST_MODEL, else the CMake AGENTD_TEST_MODEL)");
  app.add_option("--threads", threads, "llama.cpp threads")->check(CLI::Range(1, 64));
  app.add_option("--seed", seed, "base seed; brief i uses seed + 100*i (sections: + 1000*k + attempt)");
  app.add_option("--temperature", temperature, "sampling temperature of every arm")->check(CLI::Range(0.0, 2.0));
  app.add_option("--excerpt", excerpt, "print the first N characters of every measured text");
  CLI11_PARSE(app, argc, argv);

  std::error_code ec;
  if (model.empty() || !std::filesystem::is_regular_file(model, ec)) {
    std::fprintf(stderr, "sectional_bench: model '%s' not found (pass --model or set AGENTD_TEST_MODEL)\n",
                 model.c_str());
    return 2;
  }

  try {
    LlamaEngineOptions eo;
    eo.model_path = model;
    eo.policy = Policy::serial;  // one request at a time, as the arms run one after another
    eo.slots = 1;
    eo.n_ctx_per_seq = 2048;  // prompt + 1,500 tokens
    eo.threads = threads;
    eo.chat_template = "chatml";  // used only when the model has no template of its own
    eo.aging = std::chrono::seconds(0);
    LlamaEngine engine(eo);

    std::printf("sectional_bench: model %s, %d thread(s), temperature %.2f, repeat_penalty 1.0, base seed %u\n",
                model.c_str(), threads, static_cast<double>(temperature), seed);
    std::printf("single: 1 request x %d tokens; sectional: 5 given headings x %d tokens (no outline call)\n",
                kSingleTokens, kSectionTokens);
    std::printf("guard on: default repetition guard (min_distinct4 0.7, up to 3 attempts, +0.15 repeat penalty\n"
                "          per retry); guard off: max_attempts 1. distinct-4 over the whole text, headings removed.\n\n");
    std::printf("%-6s %-10s %9s %8s %8s %6s %6s %8s %7s %7s\n", "brief", "arm", "distinct4", "kept_tok", "gen_tok",
                "words", "calls", "eos_end", "retries", "seconds");

    std::vector<double> single_d, guard_d, noguard_d, single_first, single_last;
    int single_tok = 0, guard_kept = 0, guard_gen = 0, noguard_tok = 0;
    int single_eos = 0, guard_retries = 0, guard_low = 0;
    int single_words = 0, guard_words = 0, noguard_words = 0;
    const auto& all = briefs();
    for (size_t i = 0; i < all.size(); ++i) {
      const Brief& b = all[i];
      uint32_t s = seed + static_cast<uint32_t>(100 * i);
      ArmResult single = run_single(engine, b, s, temperature);
      ArmResult guard = run_sectional(engine, b, s, temperature, LongFormOptions{}.max_attempts);
      ArmResult noguard = run_sectional(engine, b, s, temperature, 1);
      auto row = [&](const char* arm, const ArmResult& a) {
        std::printf("%-6zu %-10s %9.3f %8d %8d %6d %6d %8d %7d %7.1f\n", i + 1, arm, a.distinct4, a.tokens_kept,
                    a.tokens_generated, a.words, a.calls, a.ended_at_eos, a.retries, a.seconds);
      };
      row("single", single);
      row("sectional", guard);
      row("no_guard", noguard);
      if (single.ended_at_eos) {
        std::printf("       note: the single completion ended at end-of-generation after %d of %d tokens\n",
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
    }

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
    std::printf("mean distinct4: single %.3f, sectional (guard on) %.3f, sectional (guard off) %.3f\n", ms, mg, mn);
    std::printf("distinct4_sectional_noguard_vs_single %.3f\n", ms > 0 ? mn / ms : 0.0);
    std::printf("distinct4_sectional_vs_single %.3f\n", ms > 0 ? mg / ms : 0.0);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sectional_bench: %s\n", e.what());
    return 1;
  }
}
