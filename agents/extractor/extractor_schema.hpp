// The extractor's rule for the JSON schema of an agent file, on top of agentd's JSON schema subset
// (engine/json_schema_grammar: which keywords, checked there with their JSON pointer; values are
// checked after generation by engine/json_schema_validator).
//
// The extractor adds one rule, so that a constrained generation always ends: every schema has a
// type, an enum, a const, an anyOf or a oneOf (none is "any JSON value", which has no end); every
// string a maxLength (or an enum or const), every array a maxItems and every object its properties.
#pragma once

#include <nlohmann/json.hpp>

#include "engine/json_schema_grammar.hpp"

namespace agentd::agents {

using engine::SchemaError;

// Throws SchemaError (pointer and reason) for a schema outside the subset or against the rule.
void check_supported_schema(const nlohmann::json& schema);

}  // namespace agentd::agents
