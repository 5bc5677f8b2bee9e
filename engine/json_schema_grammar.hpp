// JSON schema -> GBNF, for grammar-constrained output (Request::json_schema), and the definition
// of agentd's JSON schema subset: what this accepts, engine/json_schema_validator checks values
// against, keyword for keyword.
//
// Supported: type (one or a list), object properties + required + additionalProperties, array
// items + minItems/maxItems, string minLength/maxLength, number and integer with minimum, boolean,
// null, enum, const, anyOf/oneOf, and the empty schema (any JSON value). Annotations (title,
// description, default, examples, format, $schema, $id, $comment) are accepted and ignored. Any
// other keyword ($ref, allOf, not, pattern, maximum, ...) is refused rather than silently dropped.
// What a grammar cannot state exactly is left to the validator: a minimum of 0 or more is "no minus
// sign" here, the bound itself is checked on the value; additionalProperties is not needed here
// (generated objects never get extra keys). Properties come out in schema order, required before
// optional; when an object has only optional properties, a non-empty object starts with its first
// listed property.
//
// Limits, because schemas come from strangers (HTTP response_format) and from agent files: at most
// kMaxSchemaBytes of schema text, kMaxSchemaDepth nested schemas, kMaxGrammarBytes of grammar.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>

namespace agentd::engine {

inline constexpr size_t kMaxSchemaBytes = 64 << 10;
inline constexpr int kMaxSchemaDepth = 32;
inline constexpr size_t kMaxGrammarBytes = 256 << 10;

// A schema outside the subset: what() = "<JSON pointer>: <reason>" ("/" for the root).
class SchemaError : public std::invalid_argument {
 public:
  SchemaError(const std::string& pointer, const std::string& reason)
      : std::invalid_argument((pointer.empty() ? "/" : pointer) + ": " + reason), pointer_(pointer), reason_(reason) {}
  const std::string& pointer() const { return pointer_; }  // "" for the root
  const std::string& reason() const { return reason_; }

 private:
  std::string pointer_, reason_;
};

// A JSON pointer one step down, "~" and "/" in the key escaped as RFC 6901 says.
std::string json_pointer_child(const std::string& pointer, std::string_view key);

// Throws SchemaError for a schema outside the subset, std::invalid_argument for one that is not
// JSON or is past the limits.
std::string json_schema_to_gbnf(const std::string& schema_json);

}  // namespace agentd::engine
