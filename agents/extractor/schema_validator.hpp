// The extractor's JSON schema subset, checked in code: the model's output is grammar-constrained
// by the schema, and then validated here, because a grammar cannot enforce everything (numbers'
// minimum) and a remote backend may not enforce anything.
//
// Supported keywords (anything else in a schema is refused when the agent is configured):
//   type          "object" | "array" | "string" | "number" | "integer" | "boolean" | "null", or a
//                 list of them; an integer is a number with no fractional part (3 and 3.0)
//   properties    object: the schemas of named members
//   required      object: members that must be present (each named in properties)
//   additionalProperties   only `false`: no member outside properties
//   items         array: the schema of every element
//   enum          the value equals one of the listed JSON values
//   maxLength     string: at most this many characters (Unicode code points)
//   maxItems      array: at most this many elements
//   minimum       number: value >= minimum
//   title, description, $schema   annotations, ignored
// So that a constrained generation always ends, every string must have maxLength (or enum) and
// every array maxItems, and every schema a type or an enum.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace agentd::agents {

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

// Throws SchemaError for a schema outside the subset.
void check_supported_schema(const nlohmann::json& schema);

// The problems of `value` against `schema` (a supported one), each "<JSON pointer>: <reason>",
// e.g. "/items/0/price: -2 is below the minimum 0". Empty = valid. At most `max_errors`.
std::vector<std::string> validate_json(const nlohmann::json& value, const nlohmann::json& schema, size_t max_errors = 20);

// The schema given to the engine's grammar: a `minimum` other than 0 dropped (the grammar states
// only "no minus sign"; validate_json enforces every bound afterwards).
nlohmann::json grammar_schema(const nlohmann::json& schema);

}  // namespace agentd::agents
