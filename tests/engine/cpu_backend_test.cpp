// The CPU backend chosen at run time (engine/cpu_backend): which variant is chosen, that a
// variant this CPU cannot run is never chosen (AMX included), and that every variant this host
// can run computes the same logits as the baseline, on a real model and on Q8_0 and Q4_0 ones.
#include "engine/cpu_backend.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "bench/engine/synth_model.hpp"
#include "engine/engine.hpp"
#include "tests/support/run_process.hpp"
#include "tests/support/temp_dir.hpp"

namespace agentd::engine {
namespace {

std::vector<CpuVariant> fake() {
  return {{"haswell", "/x/libggml-cpu-haswell.so", 40, false},
          {"sapphirerapids", "/x/libggml-cpu-sapphirerapids.so", 900, true},
          {"skylakex", "/x/libggml-cpu-skylakex.so", 0, false},
          {"x64", "/x/libggml-cpu-x64.so", 1, false}};
}

std::string error_of(const std::vector<CpuVariant>& v, std::string_view wanted, bool amx) {
  try {
    choose_cpu_variant(v, wanted, amx);
  } catch (const EngineError& e) {
    return e.what();
  }
  return "";
}

TEST(CpuBackendTest, AutoChoosesTheHighestScoreThisCpuCanRun) {
  EXPECT_EQ(choose_cpu_variant(fake(), "auto", true).name, "sapphirerapids");
  EXPECT_EQ(choose_cpu_variant(fake(), "haswell", false).name, "haswell");
  EXPECT_EQ(choose_cpu_variant(fake(), "x64", false).name, "x64");
}

TEST(CpuBackendTest, AnAmxVariantIsChosenOnlyWhenTheKernelGrantsTheTileState) {
  EXPECT_EQ(choose_cpu_variant(fake(), "auto", false).name, "haswell");
  EXPECT_NE(error_of(fake(), "sapphirerapids", false).find("does not grant AMX tile state"), std::string::npos);
}

TEST(CpuBackendTest, AVariantThisCpuCannotRunIsRefusedNamingTheOnesItCan) {
  const std::string e = error_of(fake(), "skylakex", false);
  EXPECT_NE(e.find("CPU variant 'skylakex' cannot run on this CPU"), std::string::npos) << e;
  EXPECT_NE(e.find("this host can run: haswell, x64"), std::string::npos) << e;
}

TEST(CpuBackendTest, AnUnknownVariantIsRefusedNamingTheBuiltOnes) {
  const std::string e = error_of(fake(), "zen9", false);
  EXPECT_NE(e.find("no CPU variant 'zen9'; built: haswell, sapphirerapids, skylakex, x64"), std::string::npos) << e;
  std::vector<CpuVariant> none = {{"skylakex", "/x/s.so", 0, false}};
  EXPECT_NE(error_of(none, "auto", false).find("no CPU variant this CPU can run among: skylakex"), std::string::npos);
}

// ------------------------------------------------------------------------------------------------
// The variants this build put beside libggml, on this host.

std::set<std::string> cpu_flags() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (!line.starts_with("flags")) continue;
    std::istringstream words(line.substr(line.find(':') + 1));
    std::set<std::string> flags;
    for (std::string w; words >> w;) flags.insert(w);
    return flags;
  }
  return {};
}

class BuiltVariantsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!cpu_variants_built()) GTEST_SKIP() << "built with AGENTD_CPU_VARIANTS=OFF: one CPU backend compiled in";
    variants_ = built_cpu_variants();
    ASSERT_FALSE(variants_.empty()) << "no libggml-cpu-*.so beside the binary or in the build tree";
  }
  const CpuVariant* find(const std::string& name) const {
    for (const auto& v : variants_) if (v.name == name) return &v;
    return nullptr;
  }
  std::vector<CpuVariant> variants_;
};

// ggml scores each variant from CPUID; /proc/cpuinfo is the kernel's reading of the same bits.
TEST_F(BuiltVariantsTest, EachVariantScoresAboveZeroExactlyWhenTheCpuHasItsInstructions) {
#if defined(__x86_64__)
  const auto flags = cpu_flags();
  auto has = [&](std::initializer_list<const char*> names) {
    return std::all_of(names.begin(), names.end(), [&](const char* f) { return flags.count(f) > 0; });
  };
  const std::map<std::string, bool> expect = {
      {"x64", true},
      {"haswell", has({"sse4_2", "avx", "f16c", "fma", "avx2", "bmi2"})},
      {"skylakex", has({"avx2", "fma", "avx512f", "avx512cd", "avx512vl", "avx512dq", "avx512bw"})},
      {"icelake", has({"avx512f", "avx512bw", "avx512vl", "avx512vbmi", "avx512_vnni"})},
      {"zen4", has({"avx512f", "avx512bw", "avx512vl", "avx512vbmi", "avx512_vnni", "avx512_bf16"})},
      {"sapphirerapids", has({"avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_int8"})},
  };
  for (const auto& [name, runs] : expect) {
    const CpuVariant* v = find(name);
    ASSERT_NE(v, nullptr) << name << " was not built";
    EXPECT_EQ(v->score > 0, runs) << name << " scored " << v->score;
  }
  EXPECT_TRUE(find("sapphirerapids")->uses_amx);
  if (!flags.count("amx_tile")) {
    EXPECT_FALSE(amx_tile_state_granted());
  }
#else
  GTEST_SKIP() << "the flag table is x86's";
#endif
}

TEST_F(BuiltVariantsTest, AutoLoadsTheBestVariantAndSaysWhich) {
  const CpuVariant& best = choose_cpu_variant(variants_, "auto", amx_tile_state_granted());
  for (const auto& v : variants_) {
    if (v.score > 0 && (!v.uses_amx || amx_tile_state_granted())) {
      EXPECT_GE(best.score, v.score) << v.name;
    }
  }
  EXPECT_EQ(load_cpu_backend("auto"), best.name);
  EXPECT_EQ(loaded_cpu_backend(), best.name);
  EXPECT_THROW(load_cpu_backend(best.name == "x64" ? "haswell" : "x64"), EngineError);  // one per process
}

// Logits of the same prompt under each variant this host runs, against the baseline: the variant
// with the flags of the build agentd pinned before (haswell: AVX2, FMA, F16C), or x64 without it.
// Variants differ in summation order and fused multiply-adds, and in how activations are
// quantized for Q4_0/Q8_0 dot products, never in what they compute. Tolerance: every logit within
// 3 % of the largest logit's magnitude, and the same top token when the baseline's is clear.
// Measured on an AVX-512 host: the AVX2 and AVX-512 variants give the same logits bit for bit on
// Q8_0 and Q4_0 (integer dot products) and within 3e-5 on F32; the generic paths (x64, sse42,
// sandybridge: no AVX2) differ by up to 1.2 % on Q4_0. A wrong kernel is off by far more.
std::vector<float> logits(const std::string& variant, const std::string& model) {
  auto r = testing::run_process({AGENTD_CPU_VARIANT_LOGITS, variant, model});
  EXPECT_EQ(r.exit_code, 0) << variant << ": " << r.err;
  EXPECT_NE(r.err.find("variant " + variant), std::string::npos) << r.err;
  std::vector<float> out;
  std::istringstream in(r.out);
  for (float f; in >> f;) out.push_back(f);
  return out;
}

constexpr double kTolerance = 0.03;

void expect_same_logits(const std::vector<CpuVariant>& variants, const std::string& model, const std::string& what) {
  const bool amx = amx_tile_state_granted();
  std::string baseline = "x64";
  for (const auto& v : variants) if (v.name == "haswell" && v.score > 0) baseline = "haswell";
  const std::vector<float> base = logits(baseline, model);
  ASSERT_GT(base.size(), 100u) << what;
  double scale = 0;
  for (float f : base) scale = std::max(scale, std::fabs(static_cast<double>(f)));
  ASSERT_GT(scale, 0.0) << what;
  std::vector<float> sorted = base;
  std::sort(sorted.rbegin(), sorted.rend());
  const bool clear_top = sorted[0] - sorted[1] > 2 * kTolerance * scale;
  const auto top = std::max_element(base.begin(), base.end()) - base.begin();
  int compared = 0;
  for (const auto& v : variants) {
    if (v.name == baseline || v.score == 0 || (v.uses_amx && !amx)) continue;
    const std::vector<float> got = logits(v.name, model);
    ASSERT_EQ(got.size(), base.size()) << what << " " << v.name;
    double worst = 0;
    for (size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::fabs(double(got[i]) - double(base[i])));
    EXPECT_LE(worst / scale, kTolerance) << what << ": " << v.name << " vs " << baseline << ", max |diff| " << worst
                                         << " of largest |logit| " << scale;
    if (clear_top) {
      EXPECT_EQ(std::max_element(got.begin(), got.end()) - got.begin(), top) << what << " " << v.name;
    }
    std::printf("%s: %s vs %s: max |diff| / max |logit| = %.2e\n", what.c_str(), v.name.c_str(), baseline.c_str(),
                worst / scale);
    ++compared;
  }
  EXPECT_GT(compared, 0) << "no variant to compare with " << baseline << " on this host";
}

TEST_F(BuiltVariantsTest, EveryVariantThisHostRunsComputesTheBaselinesLogits) {
  const char* model = std::getenv("AGENTD_TEST_MODEL");
  ASSERT_TRUE(model) << "AGENTD_TEST_MODEL is not set";
  expect_same_logits(variants_, model, "stories260K");
  testing::TempDir dir;
  for (const char* type : {"q8_0", "q4_0"}) {
    bench::SynthModelOptions synth;
    synth.out = (dir.path() / (std::string(type) + ".gguf")).string();
    synth.vocab = bench::default_vocab_path();
    ASSERT_FALSE(synth.vocab.empty()) << "needs the llama.cpp source tree's vocabularies";
    synth.type = type;
    synth.shape = {.dim = 256, .layers = 2, .heads = 4, .kv_heads = 4, .ff = 512, .ctx = 256};
    bench::write_synthetic_model(synth);
    expect_same_logits(variants_, synth.out, std::string("synthetic ") + type);
  }
}

}  // namespace
}  // namespace agentd::engine
