// cpu_variant_logits VARIANT MODEL: loads the CPU backend VARIANT (engine/cpu_backend), decodes a
// fixed prompt of MODEL's vocabulary in one batch and prints the logits of the prompt's last
// position, one per line, then "variant NAME" on stderr. One process per variant: a process loads
// one CPU backend (cpu_backend_test.cpp compares the variants through it).
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "engine/cpu_backend.hpp"
#include "engine/llama_log.hpp"
#include "llama.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: cpu_variant_logits VARIANT MODEL\n");
    return 2;
  }
  try {
    llama_backend_init();
    agentd::engine::install_llama_log(agentd::engine::LogLevel::error);
    const std::string variant = agentd::engine::load_cpu_backend(argv[1]);
    auto mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    llama_model* model = llama_model_load_from_file(argv[2], mp);
    if (!model) throw std::runtime_error(std::string("cannot load ") + argv[2]);
    const llama_vocab* vocab = llama_model_get_vocab(model);
    const std::string text = "Once upon a time, a little cat found a red ball in the garden and";
    std::vector<llama_token> tokens(text.size() + 8);
    int n = llama_tokenize(vocab, text.data(), static_cast<int32_t>(text.size()), tokens.data(),
                           static_cast<int32_t>(tokens.size()), true, false);
    if (n <= 0) throw std::runtime_error("cannot tokenize the prompt");
    tokens.resize(static_cast<size_t>(n));
    auto cp = llama_context_default_params();
    cp.n_ctx = 256;
    cp.n_batch = 256;
    cp.n_threads = cp.n_threads_batch = 2;
    llama_context* ctx = llama_init_from_model(model, cp);
    if (!ctx) throw std::runtime_error("cannot create a context");
    if (llama_decode(ctx, llama_batch_get_one(tokens.data(), n)) != 0) throw std::runtime_error("decode failed");
    const float* logits = llama_get_logits_ith(ctx, -1);
    const int n_vocab = llama_vocab_n_tokens(vocab);
    for (int i = 0; i < n_vocab; ++i) std::printf("%.9g\n", logits[i]);
    std::fprintf(stderr, "variant %s\n", variant.c_str());
    llama_free(ctx);
    llama_model_free(model);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cpu_variant_logits: %s\n", e.what());
    return 1;
  }
  return 0;
}
