// Writes synthetic llama-architecture GGUF models; see synth_model.hpp. Tensor data is generated,
// quantized and written a block of rows at a time, so memory use stays small whatever the shape.
#include "bench/engine/synth_model.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "ggml.h"
#include "gguf.h"
#include "llama.h"

namespace agentd::bench {
namespace {

// One tensor to write: name, ggml shape (ne0 = row length), type, and how to fill it.
struct TensorSpec {
  std::string name;
  int64_t ne0 = 0;
  int64_t ne1 = 1;
  ggml_type type = GGML_TYPE_F32;
  bool is_norm = false;  // norms are all ones, weights are N(0, 0.02)
};

struct GgufDeleter {
  void operator()(gguf_context* c) const { gguf_free(c); }
};
struct GgmlDeleter {
  void operator()(ggml_context* c) const { ggml_free(c); }
};
struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using GgufPtr = std::unique_ptr<gguf_context, GgufDeleter>;

ggml_type parse_type(const std::string& s) {
  if (s == "q8_0") return GGML_TYPE_Q8_0;
  if (s == "q4_0") return GGML_TYPE_Q4_0;
  if (s == "f16") return GGML_TYPE_F16;
  throw std::invalid_argument("type must be q8_0, q4_0 or f16, not '" + s + "'");
}

llama_ftype file_type_of(ggml_type t) {
  switch (t) {
    case GGML_TYPE_Q8_0: return LLAMA_FTYPE_MOSTLY_Q8_0;
    case GGML_TYPE_Q4_0: return LLAMA_FTYPE_MOSTLY_Q4_0;
    default: return LLAMA_FTYPE_MOSTLY_F16;
  }
}

void validate(const ModelShape& s, ggml_type type) {
  auto need = [](bool ok, const char* what) {
    if (!ok) throw std::invalid_argument(what);
  };
  need(s.dim > 0 && s.layers > 0 && s.heads > 0 && s.kv_heads > 0 && s.ff > 0 && s.ctx > 0,
       "all sizes must be positive");
  need(s.dim % s.heads == 0, "--dim must be a multiple of --heads");
  need(s.heads % s.kv_heads == 0, "--heads must be a multiple of --kv-heads");
  const int64_t block = ggml_blck_size(type);
  need(s.dim % block == 0 && s.ff % block == 0 && (s.dim / s.heads * s.kv_heads) % block == 0,
       "--dim, --ff and the KV width must be multiples of the quantization block (32)");
}

// Opens the vocabulary file (metadata only) and returns a context holding its tokenizer.* keys.
GgufPtr read_tokenizer(const std::string& path, int& vocab_size) {
  gguf_init_params params{/*no_alloc=*/true, /*ctx=*/nullptr};
  GgufPtr src(gguf_init_from_file(path.c_str(), params));
  if (!src) throw std::runtime_error("cannot read GGUF vocabulary file " + path);
  const int64_t tokens = gguf_find_key(src.get(), "tokenizer.ggml.tokens");
  if (tokens < 0) throw std::runtime_error(path + " has no tokenizer.ggml.tokens");
  vocab_size = static_cast<int>(gguf_get_arr_n(src.get(), tokens));

  GgufPtr keep(gguf_init_empty());
  gguf_set_kv(keep.get(), src.get());
  for (int64_t i = gguf_get_n_kv(keep.get()) - 1; i >= 0; --i) {
    const std::string key = gguf_get_key(keep.get(), i);
    if (key.rfind("tokenizer.", 0) != 0) gguf_remove_key(keep.get(), key.c_str());
  }
  return keep;
}

void write_hparams(gguf_context* g, const ModelShape& s, ggml_type type) {
  const std::string name = "agentd synthetic llama " + std::to_string(s.dim) + "x" +
                           std::to_string(s.layers) + " " + ggml_type_name(type);
  gguf_set_val_str(g, "general.architecture", "llama");
  gguf_set_val_str(g, "general.name", name.c_str());
  gguf_set_val_u32(g, "general.file_type", file_type_of(type));
  gguf_set_val_u32(g, "general.quantization_version", GGML_QNT_VERSION);
  gguf_set_val_u32(g, "llama.vocab_size", s.vocab);
  gguf_set_val_u32(g, "llama.context_length", s.ctx);
  gguf_set_val_u32(g, "llama.embedding_length", s.dim);
  gguf_set_val_u32(g, "llama.block_count", s.layers);
  gguf_set_val_u32(g, "llama.feed_forward_length", s.ff);
  gguf_set_val_u32(g, "llama.attention.head_count", s.heads);
  gguf_set_val_u32(g, "llama.attention.head_count_kv", s.kv_heads);
  gguf_set_val_u32(g, "llama.rope.dimension_count", s.dim / s.heads);
  gguf_set_val_f32(g, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
  gguf_set_val_f32(g, "llama.rope.freq_base", 10000.0f);
}

std::vector<TensorSpec> tensor_list(const ModelShape& s, ggml_type type) {
  const int64_t kv_width = int64_t(s.dim) / s.heads * s.kv_heads;
  std::vector<TensorSpec> t;
  t.push_back({"token_embd.weight", s.dim, s.vocab, type, false});
  for (int i = 0; i < s.layers; ++i) {
    const std::string p = "blk." + std::to_string(i) + ".";
    t.push_back({p + "attn_norm.weight", s.dim, 1, GGML_TYPE_F32, true});
    t.push_back({p + "attn_q.weight", s.dim, s.dim, type, false});
    t.push_back({p + "attn_k.weight", s.dim, kv_width, type, false});
    t.push_back({p + "attn_v.weight", s.dim, kv_width, type, false});
    t.push_back({p + "attn_output.weight", s.dim, s.dim, type, false});
    t.push_back({p + "ffn_norm.weight", s.dim, 1, GGML_TYPE_F32, true});
    t.push_back({p + "ffn_gate.weight", s.dim, s.ff, type, false});
    t.push_back({p + "ffn_up.weight", s.dim, s.ff, type, false});
    t.push_back({p + "ffn_down.weight", s.ff, s.dim, type, false});
  }
  t.push_back({"output_norm.weight", s.dim, 1, GGML_TYPE_F32, true});
  t.push_back({"output.weight", s.dim, s.vocab, type, false});
  return t;
}

// Registers the tensors' metadata (name, shape, type; offsets follow in list order).
void add_tensor_infos(gguf_context* g, const std::vector<TensorSpec>& specs) {
  ggml_init_params params{/*mem_size=*/ggml_tensor_overhead() * (specs.size() + 1),
                          /*mem_buffer=*/nullptr, /*no_alloc=*/true};
  std::unique_ptr<ggml_context, GgmlDeleter> meta(ggml_init(params));
  for (const TensorSpec& spec : specs) {
    ggml_tensor* t = spec.ne1 == 1 ? ggml_new_tensor_1d(meta.get(), spec.type, spec.ne0)
                                   : ggml_new_tensor_2d(meta.get(), spec.type, spec.ne0, spec.ne1);
    ggml_set_name(t, spec.name.c_str());
    gguf_add_tensor(g, t);
  }
}

void write_all(std::FILE* f, const void* data, size_t n, const std::string& what) {
  if (n != 0 && std::fwrite(data, 1, n, f) != n) throw std::runtime_error("write failed: " + what);
}

// Generates, quantizes and writes one tensor, a block of rows at a time; pads to `alignment`.
void write_tensor_data(std::FILE* f, const TensorSpec& spec, std::mt19937_64& rng,
                       size_t alignment) {
  constexpr int64_t kRowsPerBlock = 256;
  std::normal_distribution<float> normal(0.0f, 0.02f);
  std::vector<float> src;
  std::vector<uint8_t> dst;
  const size_t row_bytes = ggml_row_size(spec.type, spec.ne0);
  for (int64_t row = 0; row < spec.ne1; row += kRowsPerBlock) {
    const int64_t rows = std::min(kRowsPerBlock, spec.ne1 - row);
    src.resize(size_t(rows * spec.ne0));
    for (float& x : src) x = spec.is_norm ? 1.0f : normal(rng);
    if (spec.type == GGML_TYPE_F32) {
      write_all(f, src.data(), src.size() * sizeof(float), spec.name);
      continue;
    }
    dst.resize(size_t(rows) * row_bytes);
    ggml_quantize_chunk(spec.type, src.data(), dst.data(), 0, rows, spec.ne0, nullptr);
    write_all(f, dst.data(), dst.size(), spec.name);
  }
  const size_t bytes = row_bytes * size_t(spec.ne1);
  const std::vector<uint8_t> pad(GGML_PAD(bytes, alignment) - bytes, 0);
  write_all(f, pad.data(), pad.size(), spec.name);
}

}  // namespace

std::string default_vocab_path() {
#ifdef AGENTD_DEFAULT_VOCAB
  return AGENTD_DEFAULT_VOCAB;
#else
  return {};
#endif
}

SynthModelSummary write_synthetic_model(const SynthModelOptions& opt) {
  const ggml_type type = parse_type(opt.type);
  ModelShape shape = opt.shape;
  GgufPtr g = read_tokenizer(opt.vocab, shape.vocab);
  validate(shape, type);
  write_hparams(g.get(), shape, type);
  const std::vector<TensorSpec> specs = tensor_list(shape, type);
  add_tensor_infos(g.get(), specs);

  std::unique_ptr<std::FILE, FileCloser> f(std::fopen(opt.out.c_str(), "wb"));
  if (!f) throw std::runtime_error("cannot open " + opt.out + " for writing");
  std::mt19937_64 rng(opt.seed);
  int64_t params = 0;
  try {
    if (!gguf_write_to_file_ptr(g.get(), f.get(), /*only_meta=*/true)) {
      throw std::runtime_error("cannot write GGUF metadata to " + opt.out);
    }
    for (const TensorSpec& spec : specs) {
      write_tensor_data(f.get(), spec, rng, gguf_get_alignment(g.get()));
      params += spec.ne0 * spec.ne1;
    }
    if (std::fflush(f.get()) != 0) throw std::runtime_error("write failed: " + opt.out);
  } catch (...) {
    f.reset();
    std::remove(opt.out.c_str());  // never leave a truncated model behind
    throw;
  }
  SynthModelSummary summary;
  summary.shape = shape;
  summary.parameters = params;
  summary.file_bytes = static_cast<uint64_t>(std::ftell(f.get()));
  return summary;
}

}  // namespace agentd::bench
