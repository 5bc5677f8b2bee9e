// A model's answer to the extractor (the receipt schema), as ExtractorAgent checks it: parsed
// without exceptions, then validate_json() against the receipt schema. An answer may come from a
// remote backend that enforces nothing, so it is untrusted text; no exception is expected.
#include <cstddef>
#include <cstdint>

#include <nlohmann/json.hpp>

#include "agents/extractor/receipt_schema.hpp"
#include "engine/json_schema_validator.hpp"
#include "tests/fuzz/fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using nlohmann::json;
  static const json schema = json::parse(agentd::agents::kReceiptSchema);
  json value = json::parse(agentd::fuzz::as_text(data, size), nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) return 0;
  (void)agentd::engine::validate_json(value, schema);
  return 0;
}
