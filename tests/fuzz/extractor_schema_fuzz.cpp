// The extractor's "settings": {"schema": ...} from an agent file: read within the agent file's
// bounds (comments allowed), checked as the agent checks it (check_supported_schema: the engine's
// subset and the extractor's rule), then used as the agent uses it: the engine's JSON schema ->
// GBNF, and validate_json() of answers against it (here the schema itself and a few plain values).
// Documented failures: BoundedJsonError (a ConfigError of the file), SchemaError,
// std::invalid_argument from the grammar (a RequestError of the task).
#include <cstddef>
#include <cstdint>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "agents/extractor/extractor_schema.hpp"
#include "engine/json_schema_grammar.hpp"
#include "engine/json_schema_validator.hpp"
#include "scheduler/bounded_json.hpp"
#include "tests/fuzz/fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace agentd;
  using nlohmann::json;
  json schema;
  try {
    schema = scheduler::parse_bounded_json(fuzz::as_text(data, size), {}, /*allow_comments=*/true);
    agents::check_supported_schema(schema);
  } catch (const scheduler::BoundedJsonError&) {
    return 0;
  } catch (const agents::SchemaError&) {
    return 0;
  }
  try {
    (void)engine::json_schema_to_gbnf(schema.dump());
  } catch (const std::invalid_argument&) {
  }
  for (const json& value : {schema, json(nullptr), json::object(), json::array(), json(-1.5), json("x")}) {
    (void)engine::validate_json(value, schema);
  }
  return 0;
}
