#include "engine/llama_engine.hpp"

#include <algorithm>
#include <climits>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <thread>
#include <utility>

#include <unistd.h>

#include "core/text.hpp"
#include "engine/chat_format.hpp"
#include "engine/chat_output.hpp"
#include "engine/cpu_backend.hpp"
#include "engine/inference_loop.hpp"
#include "engine/json_schema_grammar.hpp"
#include "engine/model_check.hpp"
#include "engine/prompt_tokens.hpp"
#include "engine/sequence.hpp"
#include "json-schema-to-grammar.h"
#include "reasoning-budget.h"
#include "llama.h"
#include "scheduler/bounded_json.hpp"

namespace agentd::engine {

namespace {

struct ModelDeleter {
  void operator()(llama_model* m) const { llama_model_free(m); }
};
struct ContextDeleter {
  void operator()(llama_context* c) const { llama_free(c); }
};
using ModelPtr = std::unique_ptr<llama_model, ModelDeleter>;
using ContextPtr = std::unique_ptr<llama_context, ContextDeleter>;

void init_backend_once() {
  static std::once_flag once;
  std::call_once(once, [] { llama_backend_init(); });
}

std::string with_llama_reason(std::string what) {
  const std::string reason = last_llama_error();
  if (!reason.empty()) what += ": llama.cpp reported \"" + reason + "\"";
  return what;
}

// KV streams of the context: one per slot, plus the spare ones paused sequences keep cells in.
int kv_streams(const LlamaEngineOptions& o) {
  return o.policy == Policy::serial ? 1 : o.slots + o.paused_kv_streams;
}

void check_options(const LlamaEngineOptions& o) {
  auto fail = [](const std::string& what) { throw EngineError("invalid engine option " + what); };
  if (o.n_ctx_per_seq < 8) fail("n_ctx_per_seq=" + std::to_string(o.n_ctx_per_seq) + " (min 8)");
  const int max_slots = static_cast<int>(llama_max_parallel_sequences());
  if (o.slots < 1 || o.slots > max_slots) {
    fail("slots=" + std::to_string(o.slots) + " (1.." + std::to_string(max_slots) + ")");
  }
  if (o.threads < 0) fail("threads=" + std::to_string(o.threads) + " (0 = all cores)");
  if (o.prefill_chunk < 1) fail("prefill_chunk=" + std::to_string(o.prefill_chunk) + " (min 1)");
  if (o.prefix_cache_mb < -1) fail("prefix_cache_mb=" + std::to_string(o.prefix_cache_mb) + " (-1 = auto, 0 = none)");
  if (o.kv_type != KvType::f16 && o.flash_attn == FlashAttn::off) {
    fail(std::string("kv_type=") + to_string(o.kv_type) +
         " with flash_attn=off (a quantized KV cache needs flash attention: set flash_attn to auto or on)");
  }
  if (o.prefix_cache_disk_mb < 0) fail("prefix_cache_disk_mb=" + std::to_string(o.prefix_cache_disk_mb) + " (min 0)");
  if (o.paused_kv_streams < 0 || o.slots + o.paused_kv_streams > max_slots) {
    fail("paused_kv_streams=" + std::to_string(o.paused_kv_streams) + " (0.." +
         std::to_string(std::max(0, max_slots - o.slots)) + " with slots=" + std::to_string(o.slots) + ")");
  }
  const int64_t streams = kv_streams(o);
  if (static_cast<int64_t>(o.n_ctx_per_seq) * streams > INT32_MAX) {
    fail("n_ctx_per_seq x KV streams = " + std::to_string(o.n_ctx_per_seq * streams) +
         " tokens: more than one context can hold");
  }
}

// RAM for the prefix store: as configured, or by default 8 GiB (llama-server's prompt cache), at
// most a quarter of the memory free once the model and KV cache are in. A busy day's agents
// resend prompts minutes apart: at 512 MiB the store kept ~15k tokens of a 162M model's KV and
// the replay's calendar agent found its agenda evicted every time (bench/README.md "Replay").
size_t prefix_ram_bytes(int mb) {
  if (mb >= 0) return static_cast<size_t>(mb) << 20;
  const long pages = sysconf(_SC_AVPHYS_PAGES);
  const long page_size = sysconf(_SC_PAGE_SIZE);
  const size_t cap = size_t{8} << 30;
  if (pages <= 0 || page_size <= 0) return cap;
  return std::min(cap, static_cast<size_t>(pages) * static_cast<size_t>(page_size) / 4);
}

constexpr int kPrefixBlockTokens = 32;

void check_sampling(const Request& r, int n_vocab) {
  const Sampling& s = r.sampling;
  auto fail = [](const std::string& what) { throw RequestError("invalid sampling: " + what); };
  if (!(s.temperature >= 0.0f) || !std::isfinite(s.temperature)) fail("temperature must be >= 0");
  if (s.top_k < 0) fail("top_k must be >= 0 (0 = off)");
  if (!(s.top_p > 0.0f && s.top_p <= 1.0f)) fail("top_p must be in (0, 1] (1 = off)");
  if (!(s.min_p >= 0.0f && s.min_p <= 1.0f)) fail("min_p must be in [0, 1] (0 = off)");
  if (!(s.repeat_penalty > 0.0f) || !std::isfinite(s.repeat_penalty)) {
    fail("repeat_penalty must be > 0 (1 = off)");
  }
  if (s.repeat_last_n < -1) fail("repeat_last_n must be >= -1 (-1 = whole context)");
  for (const auto& [token, bias] : s.logit_bias) {
    if (!(bias >= -100.0f && bias <= 100.0f)) fail("a logit bias must be in [-100, 100]");
    if (token < 0 || token >= n_vocab) {
      throw RequestError("logit_bias names token " + std::to_string(token) + "; this model's vocabulary has tokens 0 to " +
                             std::to_string(n_vocab - 1),
                         "logit_bias");
    }
  }
  if (r.max_tokens < 1) throw RequestError("max_tokens must be >= 1");
}

// The tools' definitions, bounded as a response_format schema is: the template writes them into
// the prompt and they become one grammar, and both grow faster than their text (32 tools of 200
// required string arguments, 227 KB, took 10 s and 2 GB before the prompt was found too long).
void check_tools(const Request& r) {
  size_t bytes = 0;
  for (const Tool& t : r.tools) bytes += t.name.size() + t.description.size() + t.parameters.size();
  if (bytes > kMaxSchemaBytes) {
    throw RequestError("the tools' definitions are " + std::to_string(bytes) + " bytes (names, descriptions and " +
                           "parameter schemas); at most " + std::to_string(kMaxSchemaBytes),
                       "tools");
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------

struct LlamaEngine::Impl {
  LlamaEngineOptions options;
  int slots = 1;  // decoded together (1 for serial)
  ModelPtr model;
  const llama_vocab* vocab = nullptr;
  std::unique_ptr<ChatFormat> chat;          // the chat template and its tool-call syntax
  std::unique_ptr<PromptTokenizer> tokenizer;  // caller text never becomes a control token
  ContextPtr ctx;
  EngineMemory memory;  // measured once the context exists
  std::unique_ptr<InferenceLoop> loop;  // last: stopped before ctx and model are freed

  void load_model();
  void pick_chat_template();
  void check_context_fits_memory(uint64_t n_ctx) const;
  void create_context();
  struct Prompt {
    std::vector<llama_token> tokens;
    FormattedChat chat;  // for chat messages: the grammar and output syntax of the template
  };
  Prompt tokenize(const Request& r) const;
  SamplerPtr make_grammar(const Request& r, const FormattedChat& chat) const;
  SamplerPtr make_reasoning_budget(const Request& r, const FormattedChat& chat) const;
  std::vector<llama_token> special_tokens(const std::string& text) const;
  void accept_prefill(llama_sampler* grammar, const std::string& text) const;
  std::unique_ptr<Sequence> prepare(Request r, std::shared_ptr<const OutputSyntax>& syntax);
  std::unique_ptr<PrefixCache> make_prefix_cache() const;
  void measure_memory();
  void warn(const std::string& what) const;
};

void LlamaEngine::Impl::warn(const std::string& what) const {
  if (what.empty()) return;
  if (options.on_warning) options.on_warning(what);
  else std::fprintf(stderr, "agentd engine: %s\n", what.c_str());
}

// llama.cpp's own accounting of its buffers; with mlock, whether the weights did get locked.
void LlamaEngine::Impl::measure_memory() {
  memory = engine_memory(ctx.get());
  if (options.mlock) warn(memory_lock_advice(memory.model_bytes, memory.locked_bytes, memory_lock_limit()));
}

// The disk cache's key names everything that decides what a stream's KV cells hold: the model
// file, the context per sequence, the cache types, flash attention (it stores V transposed or
// not), the llama.cpp state format and the block size.
std::unique_ptr<PrefixCache> LlamaEngine::Impl::make_prefix_cache() const {
  PrefixCacheOptions o;
  o.ram_bytes = options.prefix_cache ? prefix_ram_bytes(options.prefix_cache_mb) : 0;
  if (o.ram_bytes == 0) return nullptr;
  o.block_tokens = kPrefixBlockTokens;
  o.warn = [this](const std::string& what) { warn("prefix cache: " + what); };
  if (!options.prefix_cache_dir.empty() && options.prefix_cache_disk_mb > 0) {
    o.dir = options.prefix_cache_dir;
    o.disk_bytes = static_cast<size_t>(options.prefix_cache_disk_mb) << 20;
    char desc[128];
    llama_model_desc(model.get(), desc, sizeof desc);
    o.key = model_file_identity(options.model_path) + " model=" + desc +
            " n_ctx_per_seq=" + std::to_string(options.n_ctx_per_seq) + " type_k=" + to_string(options.kv_type) +
            " type_v=" + to_string(options.kv_type) +
            " flash_attn=" + to_string(options.flash_attn) +
            " state_version=" + std::to_string(LLAMA_STATE_SEQ_VERSION) +
            " block=" + std::to_string(kPrefixBlockTokens);
  }
  return std::make_unique<PrefixCache>(std::move(o));
}

void LlamaEngine::Impl::load_model() {
  auto params = llama_model_default_params();
  params.n_gpu_layers = 0;  // CPU build; a GPU build would offload here
  if (options.mlock) params.load_mode = LLAMA_LOAD_MODE_MMAP_MLOCK;  // mapped as usual, then locked
  if (options.mlock) {
    std::error_code ec;
    warn(prepare_memory_lock(std::filesystem::file_size(options.model_path, ec)));
  }
  clear_llama_error();
  model.reset(llama_model_load_from_file(options.model_path.c_str(), params));
  if (!model) {
    throw EngineError(with_llama_reason("cannot load model " + options.model_path +
                                        " (unsupported architecture or damaged GGUF file?)"));
  }
  vocab = llama_model_get_vocab(model.get());
}

// The chat template (chat_format.hpp says which); one that cannot render fails here, at start-up.
void LlamaEngine::Impl::pick_chat_template() {
  chat = std::make_unique<ChatFormat>(model.get(), options.model_path, options.chat_template);
  tokenizer = std::make_unique<PromptTokenizer>(vocab);
}

// A lower bound of what the KV cache of n_ctx cells needs (K and V of kv_type in every layer,
// plus cell bookkeeping); refuse at once what cannot fit in this machine's RAM, instead of
// letting llama.cpp try.
void LlamaEngine::Impl::check_context_fits_memory(uint64_t n_ctx) const {
  const uint64_t n_head = std::max(1, llama_model_n_head(model.get()));
  const uint64_t head_dim = static_cast<uint64_t>(llama_model_n_embd(model.get())) / n_head;
  const uint64_t kv_dim = head_dim * static_cast<uint64_t>(std::max(1, llama_model_n_head_kv(model.get())));
  // Bytes per 32 elements: f16 64, q8_0 34, q4_0 18 (ggml's block sizes).
  const uint64_t block = options.kv_type == KvType::q8_0 ? 34 : options.kv_type == KvType::q4_0 ? 18 : 64;
  const uint64_t per_cell = static_cast<uint64_t>(llama_model_n_layer(model.get())) * 2 * kv_dim * block / 32 + 64;
  const uint64_t needed = n_ctx * per_cell;
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page_size <= 0) return;
  const uint64_t ram = static_cast<uint64_t>(pages) * static_cast<uint64_t>(page_size);
  if (needed <= ram) return;
  auto gib = [](uint64_t b) { return std::to_string(b / (1ULL << 30)) + " GiB"; };
  throw EngineError("context of " + std::to_string(n_ctx) + " tokens (" + std::to_string(kv_streams(options)) +
                    " KV streams x n_ctx_per_seq " + std::to_string(options.n_ctx_per_seq) + ") for " +
                    options.model_path + " is too large for memory: its KV cache alone needs at least " +
                    gib(needed) + ", this machine has " + gib(ram) + " of RAM");
}

void LlamaEngine::Impl::create_context() {
  const int threads = options.threads > 0
                          ? options.threads
                          : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  auto params = llama_context_default_params();
  const int streams = kv_streams(options);
  params.n_ctx = static_cast<uint32_t>(options.n_ctx_per_seq) * static_cast<uint32_t>(streams);
  params.n_seq_max = static_cast<uint32_t>(streams);
  params.n_batch = static_cast<uint32_t>(slots + options.prefill_chunk);
  params.n_ubatch = params.n_batch;  // one step = one ubatch
  params.n_threads = threads;
  params.n_threads_batch = threads;
  params.no_perf = true;
  params.type_k = params.type_v = options.kv_type == KvType::q8_0   ? GGML_TYPE_Q8_0
                                  : options.kv_type == KvType::q4_0 ? GGML_TYPE_Q4_0
                                                                    : GGML_TYPE_F16;
  params.flash_attn_type = options.flash_attn == FlashAttn::on    ? LLAMA_FLASH_ATTN_TYPE_ENABLED
                           : options.flash_attn == FlashAttn::off ? LLAMA_FLASH_ATTN_TYPE_DISABLED
                                                                  : LLAMA_FLASH_ATTN_TYPE_AUTO;
  // One KV stream per sequence id, n_ctx_per_seq cells each: a token attends only to its own
  // sequence's cells (a unified pool makes every token of a batch scan every sequence's cells,
  // ~15 % of 12-stream decode here). llama.cpp then splits a batch into one ubatch per run of
  // consecutive sequence ids, so the loop hands out the lowest free id and orders the batch by id.
  params.kv_unified = false;
  check_context_fits_memory(params.n_ctx);
  clear_llama_error();
  ctx.reset(llama_init_from_model(model.get(), params));
  if (!ctx) {
    // A quantized cache fails on shapes (heads narrower than ggml's blocks), f16 on size.
    throw EngineError(with_llama_reason(
        "cannot create a llama.cpp context of " + std::to_string(params.n_ctx) + " tokens (" +
        std::to_string(streams) + " KV streams x n_ctx_per_seq " + std::to_string(options.n_ctx_per_seq) +
        ") with kv_type=" + to_string(options.kv_type) + " for " + options.model_path +
        (options.kv_type == KvType::f16 ? "; too large for memory?" : "")));
  }
}

// Chat messages through the template, caller text tokenized as plain text; a raw prompt verbatim
// with special tokens parsed (its caller formatted it on purpose).
LlamaEngine::Impl::Prompt LlamaEngine::Impl::tokenize(const Request& r) const {
  Prompt p;
  if (!r.prompt.empty()) {
    if (r.prompt.size() > static_cast<size_t>(INT32_MAX / 2)) throw RequestError("prompt too large");
    p.tokens = tokenizer->tokenize(r.prompt, {});
  } else if (!r.messages.empty()) {
    p.chat = chat->apply(r);
    for (const auto& text : p.chat.unlocated) {
      if (tokenizer->has_special_text(text)) {
        throw RequestError("chat template " + chat->name() +
                           " changes message text that holds special-token text, so it cannot be kept as plain text");
      }
    }
    if (p.chat.prompt.size() > static_cast<size_t>(INT32_MAX / 2)) throw RequestError("prompt too large");
    p.tokens = tokenizer->tokenize(p.chat.prompt, p.chat.plain);
  } else {
    throw RequestError("request has neither a prompt nor messages");
  }
  if (p.tokens.empty()) throw RequestError("prompt could not be tokenized");
  return p;
}

// A JSON schema as a grammar, bounded first because schemas come from strangers. agentd's own
// converter takes the subset it enforces whole, including "minimum": 0 on numbers, which
// common's converter drops (the extractor's receipts then came out with negative totals and
// failed validation); llama.cpp common's converter (the one llama-server uses) takes the rest.
std::string schema_grammar(const std::string& schema) {
  if (schema.size() > kMaxSchemaBytes) {
    throw RequestError("invalid JSON schema: " + std::to_string(schema.size()) + " bytes (at most " +
                       std::to_string(kMaxSchemaBytes) + ")");
  }
  if (auto problem = scheduler::json_bounds_problem(schema, {kMaxSchemaBytes, kMaxSchemaDepth})) {
    throw RequestError("invalid JSON schema: " + *problem);
  }
  try {
    return json_schema_to_gbnf(schema);
  } catch (const std::invalid_argument&) {
    // a keyword agentd's subset refuses ($ref, allOf, pattern, ...): common may support it
  }
  try {
    return json_schema_to_grammar(common_json::parse(schema));
  } catch (const std::exception& e) {
    throw RequestError(std::string("invalid JSON schema: ") + e.what());
  }
}

// Walks a grammar past text already in the prompt, as llama.cpp's common_sampler_init does
// (a tokenizer that puts a space before the first token: that token is not the text's).
void LlamaEngine::Impl::accept_prefill(llama_sampler* grammar, const std::string& text) const {
  const std::vector<llama_token> tokens = special_tokens(text);
  try {
    for (size_t i = 0; i < tokens.size(); ++i) {
      char piece[64];
      const int len = llama_token_to_piece(vocab, tokens[i], piece, sizeof piece, 0, true);
      if (i == 0 && len > 0 && std::isspace(static_cast<unsigned char>(piece[0])) &&
          !std::isspace(static_cast<unsigned char>(text[0]))) {
        continue;
      }
      llama_sampler_accept(grammar, tokens[i]);
    }
  } catch (const std::exception& e) {
    throw RequestError(std::string("the tool-call grammar does not accept the template's generation prompt: ") + e.what());
  }
}

// The request's grammar: the template's (tool calls, a JSON schema rendered with the chat), or the
// caller's GBNF or schema for a raw prompt. A lazy grammar waits for its trigger (a tool call's
// opening marker) and leaves the text before it free.
SamplerPtr LlamaEngine::Impl::make_grammar(const Request& r, const FormattedChat& chat) const {
  std::string gbnf = chat.grammar;
  if (!r.grammar.empty() || !r.json_schema.empty()) {
    if (!gbnf.empty()) throw RequestError("a request with tools cannot also have a grammar or a JSON schema");
    if (!r.grammar.empty() && !r.json_schema.empty()) throw RequestError("request has both a grammar and a JSON schema");
    gbnf = r.json_schema.empty() ? r.grammar : schema_grammar(r.json_schema);
  }
  if (gbnf.empty()) return nullptr;
  clear_llama_error();
  SamplerPtr grammar;
  if (chat.grammar_lazy) {
    std::vector<const char*> patterns;
    for (const auto& p : chat.trigger_patterns) patterns.push_back(p.c_str());
    grammar.reset(llama_sampler_init_grammar_lazy_patterns(vocab, gbnf.c_str(), "root", patterns.data(), patterns.size(),
                                                           chat.trigger_tokens.data(), chat.trigger_tokens.size()));
  } else {
    grammar.reset(llama_sampler_init_grammar(vocab, gbnf.c_str(), "root"));
  }
  if (!grammar) {
    const std::string origin = r.json_schema.empty() && r.tools.empty() ? "invalid grammar" : "grammar built from the JSON schema is invalid";
    throw RequestError(with_llama_reason(origin + " (GBNF with a \"root\" rule expected)"));
  }
  // The template's generation prompt (e.g. "<think>\n") is already in the prompt; the grammar
  // starts before it, so it is walked past those tokens first.
  if (!chat.grammar_prefill.empty()) accept_prefill(grammar.get(), chat.grammar_prefill);
  return grammar;
}

// Text with the template's markers read as the special tokens they are (our own markers, never
// caller text).
std::vector<llama_token> LlamaEngine::Impl::special_tokens(const std::string& text) const {
  std::vector<llama_token> tokens(text.size() + 4);
  const int n = llama_tokenize(vocab, text.data(), static_cast<int32_t>(text.size()), tokens.data(),
                               static_cast<int32_t>(tokens.size()), false, true);
  tokens.resize(static_cast<size_t>(std::max(n, 0)));
  return tokens;
}

// A bound on a thinking model's thinking (Request::reasoning_budget): llama.cpp's reasoning-budget
// sampler counts the tokens after the start marker and, at the budget, forces the first end marker
// (after any unfinished character), so the answer follows. A template whose generation prompt
// opens the thinking itself ("<think>\n") starts it counting; that is read from the text, since a
// vocabulary without the marker as one token merges it with the newline after it. Null when there
// is no budget or the model marks no thinking.
SamplerPtr LlamaEngine::Impl::make_reasoning_budget(const Request& r, const FormattedChat& chat) const {
  if (r.reasoning_budget < 0 || chat.thinking_start.empty() || chat.thinking_ends.empty()) return nullptr;
  const std::vector<llama_token> start = special_tokens(chat.thinking_start);
  std::vector<llama_tokens> ends;
  for (const auto& e : chat.thinking_ends) {
    if (auto t = special_tokens(e); !t.empty()) ends.push_back(std::move(t));
  }
  if (start.empty() || ends.empty()) return nullptr;
  const bool opened = core::trim(chat.generation_prompt).ends_with(chat.thinking_start);
  const auto state = opened ? REASONING_BUDGET_COUNTING : REASONING_BUDGET_IDLE;
  return SamplerPtr(common_reasoning_budget_init(vocab, {start}, ends, ends.front(), r.reasoning_budget, state));
}

std::unique_ptr<Sequence> LlamaEngine::Impl::prepare(Request r, std::shared_ptr<const OutputSyntax>& syntax) {
  check_sampling(r, llama_vocab_n_tokens(vocab));
  check_tools(r);
  auto seq = std::make_unique<Sequence>();
  Prompt prompt = tokenize(r);
  seq->prompt = std::move(prompt.tokens);
  const int n_prompt = static_cast<int>(seq->prompt.size());
  if (n_prompt >= options.n_ctx_per_seq) {
    throw RequestError("prompt is " + std::to_string(n_prompt) +
                       " tokens; the context holds " + std::to_string(options.n_ctx_per_seq) +
                       " tokens per sequence (prompt + output)");
  }
  Sampling sampling = r.sampling;
  if (sampling.repeat_last_n == -1) sampling.repeat_last_n = options.n_ctx_per_seq;
  seq->sampler = TokenSampler(sampling, llama_vocab_n_tokens(vocab), make_grammar(r, prompt.chat),
                              make_reasoning_budget(r, prompt.chat));
  seq->priority = r.priority;
  seq->rank = scheduler::index(r.priority);
  seq->deadline = r.deadline;
  seq->max_tokens = r.max_tokens;
  for (const auto& s : prompt.chat.stops) r.stop.push_back(s);
  seq->stop = StopMatcher(std::move(r.stop));
  syntax = prompt.chat.syntax;
  seq->stream = std::make_shared<GenerationStream>(n_prompt, loop->steps_done());
  return seq;
}

// ---------------------------------------------------------------------------------------------

LlamaEngine::LlamaEngine(LlamaEngineOptions options) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.options = std::move(options);
  m.slots = m.options.policy == Policy::serial ? 1 : m.options.slots;
  check_options(m.options);               // sizes make sense
  check_model_file(m.options.model_path);  // exists, readable, GGUF magic
  init_backend_once();
  install_llama_log(m.options.log_level);
  try {
    load_cpu_backend(m.options.cpu_variant);  // before the model: its buffers live on the CPU device
  } catch (const EngineError& e) {
    throw EngineError(std::string("engine option cpu_variant=") + m.options.cpu_variant + ": " + e.what());
  }
  m.load_model();  // unsupported architecture and damaged files fail here
  m.pick_chat_template();
  m.create_context();  // a context too large for memory fails here
  m.measure_memory();
  // Spare state memory (state_memory.hpp): two whole streams' worth, enough for a stored prefix
  // and a paused sequence's state to be written into memory written before.
  set_spare_state_limit(2 * m.memory.kv_bytes / static_cast<uint64_t>(kv_streams(m.options)));

  LoopConfig config;
  config.policy = m.options.policy;
  config.slots = m.slots;
  config.n_ctx_per_seq = m.options.n_ctx_per_seq;
  config.prefill_chunk = m.options.prefill_chunk;
  config.seq_ids = kv_streams(m.options);
  config.pause_lower_while_interactive = m.options.pause_lower_while_interactive;
  config.reuse_prefixes = m.options.prefix_cache;
  config.aging = m.options.aging;
  config.now = m.options.now;
  config.after_step = m.options.after_step;
  config.before_step = m.options.before_step;
  m.loop = std::make_unique<InferenceLoop>(m.ctx.get(), std::move(config), m.make_prefix_cache());
}

LlamaEngine::~LlamaEngine() = default;

// A chat's output is parsed (answer, reasoning, tool calls) by the template's syntax.
std::unique_ptr<Generation> LlamaEngine::submit(Request request) {
  std::shared_ptr<const OutputSyntax> syntax;
  auto seq = impl_->prepare(std::move(request), syntax);
  std::unique_ptr<Generation> generation = std::make_unique<LlamaGeneration>(seq->stream);
  impl_->loop->post(std::move(seq));
  if (syntax) generation = std::make_unique<ChatGeneration>(std::move(generation), std::move(syntax));
  return generation;
}

std::unique_ptr<LlamaGeneration> LlamaEngine::submit_llama(Request request) {
  std::shared_ptr<const OutputSyntax> syntax;
  auto seq = impl_->prepare(std::move(request), syntax);
  auto generation = std::make_unique<LlamaGeneration>(seq->stream);
  impl_->loop->post(std::move(seq));
  return generation;
}

EngineInfo LlamaEngine::info() const {
  EngineInfo i;
  i.backend = "llama.cpp";
  i.model = impl_->options.model_path;
  i.policy = to_string(impl_->options.policy);
  i.slots = impl_->slots;
  i.context = impl_->options.n_ctx_per_seq;
  return i;
}

EngineStats LlamaEngine::stats() const {
  EngineStats s = impl_->loop->stats();
  s.memory = impl_->memory;
  s.cpu_backend = loaded_cpu_backend();
  return s;
}

std::vector<int32_t> LlamaEngine::tokenize_prompt(const Request& request) const {
  return impl_->tokenize(request).tokens;
}

std::string LlamaEngine::format_prompt(const Request& request) const {
  return impl_->chat->apply(request).prompt;
}

std::string LlamaEngine::chat_template_name() const { return impl_->chat->name(); }

}  // namespace agentd::engine
