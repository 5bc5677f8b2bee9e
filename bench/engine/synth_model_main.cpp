// agentd-synth-model: writes a llama-architecture GGUF of realistic shape with random weights,
// for benchmarks (see bench/README.md). Never commit its output; write it under a build dir.
//
//   agentd-synth-model --out model.gguf [--vocab ggml-vocab-llama-spm.gguf] [--dim 768]
//       [--layers 12] [--heads 12] [--kv-heads 12] [--ff 3072] [--ctx 2048]
//       [--type q8_0|q4_0|f16] [--seed N]
#include <cstdio>
#include <exception>

#include <CLI/CLI.hpp>

#include "bench/engine/synth_model.hpp"

int main(int argc, char** argv) {
  agentd::bench::SynthModelOptions opt;
  opt.vocab = agentd::bench::default_vocab_path();
  CLI::App app{"Write a llama-architecture GGUF of realistic shape with random weights"};
  app.add_option("--out", opt.out, "GGUF file to write")->required();
  app.add_option("--vocab", opt.vocab, "GGUF file to copy the tokenizer from")
      ->required(opt.vocab.empty())
      ->capture_default_str();
  app.add_option("--dim", opt.shape.dim, "embedding width")->capture_default_str();
  app.add_option("--layers", opt.shape.layers, "transformer blocks")->capture_default_str();
  app.add_option("--heads", opt.shape.heads, "attention heads")->capture_default_str();
  app.add_option("--kv-heads", opt.shape.kv_heads, "key/value heads")->capture_default_str();
  app.add_option("--ff", opt.shape.ff, "feed-forward width")->capture_default_str();
  app.add_option("--ctx", opt.shape.ctx, "training context length")->capture_default_str();
  app.add_option("--type", opt.type, "weight type")
      ->check(CLI::IsMember({"q8_0", "q4_0", "f16"}))
      ->capture_default_str();
  app.add_option("--seed", opt.seed, "random seed")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  try {
    const agentd::bench::SynthModelSummary s = agentd::bench::write_synthetic_model(opt);
    std::printf("wrote %s: llama %dx%d, %d heads (%d kv), ff %d, vocab %d, ctx %d, %s, "
                "%.1fM params, %.1f MiB\n",
                opt.out.c_str(), s.shape.dim, s.shape.layers, s.shape.heads, s.shape.kv_heads,
                s.shape.ff, s.shape.vocab, s.shape.ctx, opt.type.c_str(),
                double(s.parameters) / 1e6, double(s.file_bytes) / (1 << 20));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "agentd-synth-model: %s\n", e.what());
    return 1;
  }
  return 0;
}
