// Values checked against a schema of agentd's JSON schema subset (engine/json_schema_grammar says
// which keywords), keyword for keyword: what a grammar cannot state exactly (a minimum's bound,
// additionalProperties: false on a value that came from elsewhere) and everything a remote backend
// may not have enforced at all.
//
// type (an integer is a number with no fractional part: 3 and 3.0), properties, required,
// additionalProperties: false, items, minItems/maxItems, minLength/maxLength (in Unicode code
// points), minimum, enum, const, anyOf (some branch), oneOf (exactly one branch); true matches
// anything, false nothing; annotations are ignored. The schema should be one json_schema_to_gbnf
// accepts; a keyword of the wrong shape in any other is ignored, never a crash.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace agentd::engine {

// The problems of `value` against `schema`, each "<JSON pointer>: <reason>", e.g.
// "/items/0/price: -2 is below the minimum 0". Empty = valid. At most `max_errors`.
std::vector<std::string> validate_json(const nlohmann::json& value, const nlohmann::json& schema,
                                       size_t max_errors = 20);

}  // namespace agentd::engine
