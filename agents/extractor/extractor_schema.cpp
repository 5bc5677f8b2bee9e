#include "agents/extractor/extractor_schema.hpp"

#include <algorithm>
#include <string>

namespace agentd::agents {

namespace {

using json = nlohmann::json;

bool lists(const json& schema, const char* type) {
  if (!schema.contains("type")) return false;
  const json& t = schema["type"];
  if (t.is_string()) return t == type;
  return t.is_array() && std::find(t.begin(), t.end(), type) != t.end();
}

// The termination rule, over every nested schema (the subset was checked before: shapes are sound,
// and nesting is bounded by kMaxSchemaDepth).
void check_ends(const json& schema, const std::string& pointer) {
  if (!schema.is_object()) throw SchemaError(pointer, "a schema must be an object");
  const bool fixed = schema.contains("enum") || schema.contains("const");
  if (!fixed && !schema.contains("type") && !schema.contains("anyOf") && !schema.contains("oneOf")) {
    throw SchemaError(pointer, "needs a \"type\" or an \"enum\"");
  }
  if (!fixed && lists(schema, "string") && !schema.contains("maxLength")) {
    throw SchemaError(pointer, "a string needs \"maxLength\" so the constrained output ends");
  }
  if (!fixed && lists(schema, "array") && !schema.contains("maxItems")) {
    throw SchemaError(pointer, "an array needs \"maxItems\" so the constrained output ends");
  }
  if (!fixed && lists(schema, "object") && !schema.contains("properties")) {  // else any object at all
    throw SchemaError(pointer, "an object needs \"properties\" so the constrained output ends");
  }
  if (schema.contains("properties")) {
    const std::string at = engine::json_pointer_child(pointer, "properties");
    for (const auto& [key, sub] : schema["properties"].items()) check_ends(sub, engine::json_pointer_child(at, key));
  }
  if (schema.contains("items")) check_ends(schema["items"], engine::json_pointer_child(pointer, "items"));
  for (const char* key : {"anyOf", "oneOf"}) {
    if (!schema.contains(key)) continue;
    const std::string at = engine::json_pointer_child(pointer, key);
    for (size_t i = 0; i < schema[key].size(); ++i) check_ends(schema[key][i], engine::json_pointer_child(at, std::to_string(i)));
  }
}

}  // namespace

void check_supported_schema(const json& schema) {
  try {
    (void)engine::json_schema_to_gbnf(schema.dump(-1, ' ', false, json::error_handler_t::replace));
  } catch (const SchemaError&) {
    throw;
  } catch (const std::invalid_argument& e) {  // past the size or depth limits
    throw SchemaError("", e.what());
  }
  check_ends(schema, "");
}

}  // namespace agentd::agents
