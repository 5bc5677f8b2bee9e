// An HTTP body of POST /v1/chat/completions, as HttpServer::chat_completions handles it:
// parse_chat_completion (json_bounds_problem first, then nlohmann, then field by field), the
// error body serialised as sent, and a response_format JSON schema turned into a grammar as the
// engine does at submit (whose std::invalid_argument becomes a 400). The parser reports every
// problem as an ApiError value: any exception is a finding.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <variant>

#include "engine/json_schema_grammar.hpp"
#include "runtime/openai_api.hpp"
#include "storage/database.hpp"
#include "tests/fuzz/fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace agentd;
  const std::string body(fuzz::as_text(data, size));
  auto parsed = runtime::parse_chat_completion(body, "stories260K.gguf", 128, 2048);
  if (auto* e = std::get_if<runtime::ApiError>(&parsed)) {
    (void)storage::json_text(runtime::error_body(*e));
    return 0;
  }
  const auto& c = std::get<runtime::ChatCompletionRequest>(parsed);
  if (!c.request.json_schema.empty()) {
    try {
      (void)engine::json_schema_to_gbnf(c.request.json_schema);
    } catch (const std::invalid_argument&) {
    }
  }
  return 0;
}
