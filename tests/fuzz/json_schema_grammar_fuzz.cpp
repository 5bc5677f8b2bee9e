// A JSON schema text -> GBNF, as the engine converts Request::json_schema (from an HTTP
// response_format or a prompt agent's "json_schema"). Documented failure: std::invalid_argument.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "engine/json_schema_grammar.hpp"
#include "tests/fuzz/fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    (void)agentd::engine::json_schema_to_gbnf(std::string(agentd::fuzz::as_text(data, size)));
  } catch (const std::invalid_argument&) {
  }
  return 0;
}
