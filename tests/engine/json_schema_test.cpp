// agentd's JSON schema subset: the grammar's refusals with their JSON pointers, and values
// checked against schemas keyword for keyword (engine/json_schema_validator).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "engine/json_schema_grammar.hpp"
#include "engine/json_schema_validator.hpp"

namespace agentd::engine {
namespace {

using json = nlohmann::json;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::string refusal(const json& schema) {
  try {
    json_schema_to_gbnf(schema.dump());
  } catch (const SchemaError& e) {
    return e.what();
  }
  return "";
}

TEST(JsonSchemaGrammarTest, RefusalsNameTheirPointerEscapedAsRfc6901Says) {
  EXPECT_EQ(refusal({{"type", "object"}, {"properties", {{"a/b~c", {{"type", "string"}, {"pattern", "x"}}}}}}),
            "/properties/a~1b~0c/pattern: unsupported keyword \"pattern\"");
  EXPECT_EQ(refusal({{"type", "number"}, {"maximum", 3}}), "/maximum: unsupported keyword \"maximum\"");
  EXPECT_EQ(refusal({{"typo", 1}}), "/typo: unsupported keyword \"typo\"");  // never silently dropped
  EXPECT_EQ(refusal({{"anyOf", {{{"type", "wat"}}}}}), "/anyOf/0/type: unknown type \"wat\"");
  EXPECT_EQ(refusal({{"type", "number"}, {"minimum", "0"}}), "/minimum: expected a number");
}

TEST(JsonSchemaGrammarTest, AnyMinimumIsAcceptedAndNoneBelowZeroBecomesNoMinusSign) {
  EXPECT_NE(json_schema_to_gbnf(R"({"type": "number", "minimum": 5})").find("root ::= nonnegative-number"),
            std::string::npos);
  EXPECT_NE(json_schema_to_gbnf(R"({"type": "integer", "minimum": -3})").find("root ::= integer"), std::string::npos);
}

TEST(JsonSchemaValidatorTest, TypesArraysStringsAndAdditionalProperties) {
  json integer = {{"type", "integer"}};
  EXPECT_THAT(validate_json(3, integer), IsEmpty());
  EXPECT_THAT(validate_json(3.0, integer), IsEmpty());
  EXPECT_THAT(validate_json(3.5, integer), ElementsAre("/: expected integer, got number"));
  EXPECT_THAT(validate_json(nullptr, {{"type", {"string", "null"}}, {"maxLength", 1}}), IsEmpty());
  EXPECT_THAT(validate_json(true, {{"type", {"string", "null"}}, {"maxLength", 1}}), ElementsAre("/: expected string or null, got boolean"));

  json short_text = {{"type", "string"}, {"maxLength", 3}};
  EXPECT_THAT(validate_json("äöü", short_text), IsEmpty());  // characters, not bytes
  EXPECT_THAT(validate_json("abcd", short_text), ElementsAre("/: 4 characters, more than maxLength 3"));

  json list = {{"type", "array"}, {"maxItems", 2}, {"items", {{"type", "number"}, {"minimum", 0}}}};
  EXPECT_THAT(validate_json({1, -2, 3}, list), ElementsAre("/: 3 items, more than maxItems 2", "/1: -2 is below the minimum 0"));

  json closed = {{"type", "object"}, {"properties", {{"a", {{"type", "boolean"}}}}}, {"additionalProperties", false}};
  EXPECT_THAT(validate_json({{"a", true}, {"b", 1}}, closed), ElementsAre("/b: not allowed (additionalProperties is false)"));
  json open = {{"type", "object"}, {"properties", {{"a", {{"type", "boolean"}}}}}};
  EXPECT_THAT(validate_json({{"a", true}, {"b", 1}}, open), IsEmpty());

  EXPECT_THAT(validate_json(2, {{"enum", {1, 2.0, "x"}}}), IsEmpty());
}

TEST(JsonSchemaValidatorTest, ConstBranchesAndLowerBounds) {
  EXPECT_THAT(validate_json("x", {{"const", "x"}}), IsEmpty());
  EXPECT_THAT(validate_json("y", {{"const", "x"}}), ElementsAre("/: \"y\" is not \"x\""));
  const json any = {{"anyOf", {{{"type", "number"}, {"minimum", 5}}, {{"const", "none"}}}}};
  EXPECT_THAT(validate_json(7, any), IsEmpty());
  EXPECT_THAT(validate_json("none", any), IsEmpty());
  EXPECT_THAT(validate_json(3, any), ElementsAre("/: matches none of anyOf"));
  const json one = {{"oneOf", {{{"type", "integer"}}, {{"type", "number"}}}}};
  EXPECT_THAT(validate_json(1.5, one), IsEmpty());
  EXPECT_THAT(validate_json(2, one), ElementsAre("/: matches 2 of oneOf, not exactly one"));
  EXPECT_THAT(validate_json("", {{"type", "string"}, {"minLength", 1}}),
              ElementsAre("/: 0 characters, fewer than minLength 1"));
  EXPECT_THAT(validate_json(json::array(), {{"type", "array"}, {"minItems", 1}}),
              ElementsAre("/: 0 items, fewer than minItems 1"));
  EXPECT_THAT(validate_json({{"a/b", 1}}, {{"properties", {{"a/b", {{"type", "string"}}}}}}),
              ElementsAre("/a~1b: expected string, got integer"));
  EXPECT_THAT(validate_json(1, true), IsEmpty());
  EXPECT_THAT(validate_json(1, false), ElementsAre("/: no value is allowed here (schema false)"));
}

TEST(JsonSchemaValidatorTest, KeywordsOfTheWrongShapeAreIgnoredNotACrash) {
  const json odd = {{"type", {1, "number"}}, {"enum", 3}, {"maxLength", "x"}, {"minimum", "y"},
                    {"required", "z"},       {"anyOf", 4}, {"properties", 5}, {"items", 6}};
  EXPECT_THAT(validate_json(2, odd), IsEmpty());
  EXPECT_THAT(validate_json({{"a", 1}}, odd), ElementsAre("/: expected number, got object"));
}

}  // namespace
}  // namespace agentd::engine
