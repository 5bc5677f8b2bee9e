// Synthetic llama-architecture GGUF models for benchmarks.
//
// write_synthetic_model() writes a model of realistic shape with random weights (N(0, 0.02),
// norms 1.0) quantized to the chosen type, and the tokenizer (all tokenizer.* keys and arrays) of
// a real vocabulary file. Speed does not depend on the weights' values, so timings on such a model
// are honest timings for a real model of that shape. Used by agentd-synth-model and engine_bench.
#pragma once

#include <cstdint>
#include <string>

namespace agentd::bench {

struct ModelShape {
  int dim = 768;
  int layers = 12;
  int heads = 12;
  int kv_heads = 12;
  int ff = 3072;
  int ctx = 2048;
  int vocab = 0;  // taken from the vocabulary file
};

struct SynthModelOptions {
  std::string out;            // GGUF file to write
  std::string vocab;          // GGUF file to copy the tokenizer from
  std::string type = "q8_0";  // q8_0, q4_0 or f16 (norms stay F32)
  uint64_t seed = 42;
  ModelShape shape;
};

struct SynthModelSummary {
  ModelShape shape;       // with vocab filled in
  int64_t parameters = 0;
  uint64_t file_bytes = 0;
};

// The vocabulary shipped with the llama.cpp source tree agentd was built from, or "" when
// agentd uses an installed llama.cpp.
std::string default_vocab_path();

// Throws std::invalid_argument for a bad shape or type, std::runtime_error for I/O errors (a
// partly written file is removed).
SynthModelSummary write_synthetic_model(const SynthModelOptions& options);

}  // namespace agentd::bench
