// ChatFormat: a model's chat template and everything that goes with it, through llama.cpp's
// `common` library (its Jinja engine, tool-call grammars and output parsers).
//
// Which template: a `.jinja` file named by engine.chat_template always wins (an explicit choice);
// else the model's own template from the GGUF; else a built-in llama.cpp template named by
// engine.chat_template ("chatml", "llama3", ...). A template that cannot render a simple
// conversation is an EngineError at start-up naming the model and the template.
//
// apply() renders a Request: the prompt, the byte ranges of it that are caller text (message
// contents, tool arguments and results, tool descriptions: tokenized with special tokens off, see
// prompt_tokens.hpp), the grammar that constrains tool calls or a JSON schema, and the syntax the
// output is parsed with (chat_output.hpp). Templates that cannot express tools (chatml, the
// built-ins) get agentd's generic tool format: the tools described in a system message and the
// answer constrained to {"tool_calls": [...]} or {"response": "..."}.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/engine.hpp"

struct llama_model;
struct common_chat_templates;

namespace agentd::engine {

struct OutputSyntax;  // chat_output.hpp

struct FormattedChat {
  std::string prompt;
  std::vector<std::pair<size_t, size_t>> plain;  // [begin, end) byte ranges of caller text
  std::string grammar;                           // GBNF; "" = unconstrained
  bool grammar_lazy = false;                     // the grammar starts at a trigger
  std::vector<std::string> trigger_patterns;     // regexes (anchored by llama.cpp) that start it
  std::vector<int32_t> trigger_tokens;
  // Text the template already put at the end of the prompt that a (non-lazy) tool or schema
  // grammar must see first, e.g. "<think>\n"; "" when the grammar starts at the output.
  std::string grammar_prefill;
  std::vector<std::string> stops;                // extra stop strings of the format
  // A thinking model's markers ("<think>", "</think>"), for a reasoning budget, and the template's
  // generation prompt (it may already open the thinking); empty when the model does not think.
  std::string thinking_start;
  std::vector<std::string> thinking_ends;
  std::string generation_prompt;
  std::shared_ptr<const OutputSyntax> syntax;    // how to parse the output; null = plain text
  // Caller text the template changed on the way (so it was not found verbatim): the tokenizer
  // refuses the request if such text holds a special token's text.
  std::vector<std::string> unlocated;
};

class ChatFormat {
 public:
  ChatFormat(const llama_model* model, const std::string& model_path, const std::string& configured);
  ~ChatFormat();
  ChatFormat(const ChatFormat&) = delete;
  ChatFormat& operator=(const ChatFormat&) = delete;

  bool usable() const { return templates_ != nullptr; }
  const std::string& name() const { return name_; }  // for messages: which template
  // Throws RequestError naming what the template or the request could not do.
  FormattedChat apply(const Request& request) const;

 private:
  struct TemplatesDeleter {
    void operator()(common_chat_templates* t) const;
  };
  void probe() const;
  FormattedChat apply_generic_tools(const Request& request) const;

  std::unique_ptr<common_chat_templates, TemplatesDeleter> templates_;
  std::string model_path_;
  std::string name_;
  bool jinja_ = false;         // rendered by common's Jinja engine (else llama.cpp's built-ins)
  bool native_tools_ = false;  // the template renders tools and tool calls itself
};

}  // namespace agentd::engine
