// JSON schema -> GBNF, for grammar-constrained output (Request::json_schema).
//
// Supported: type (one or a list), object properties + required, array items + minItems/maxItems,
// string minLength/maxLength, number, integer (and "minimum": 0, no minus sign; other bounds are
// refused), boolean, null, enum, const, anyOf/oneOf, and the
// empty schema (any JSON value). Annotations (title, description, default, examples, format,
// $schema, $id, additionalProperties) are accepted and ignored: objects never get extra keys.
// Keywords that cannot be enforced ($ref, allOf, not, pattern, ...) are refused rather than
// silently dropped. Properties come out in schema order, required before optional; when an object
// has only optional properties, a non-empty object starts with its first listed property.
//
// Limits, because schemas come from strangers (HTTP response_format) and from agent files: at most
// kMaxSchemaBytes of schema text, kMaxSchemaDepth nested schemas, kMaxGrammarBytes of grammar.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace agentd::engine {

inline constexpr size_t kMaxSchemaBytes = 64 << 10;
inline constexpr int kMaxSchemaDepth = 32;
inline constexpr size_t kMaxGrammarBytes = 256 << 10;

// Throws std::invalid_argument naming the JSON pointer of the problem.
std::string json_schema_to_gbnf(const std::string& schema_json);

}  // namespace agentd::engine
