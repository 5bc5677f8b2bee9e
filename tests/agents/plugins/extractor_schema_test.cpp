// The extractor's deterministic parts: which schemas an agent file may give (the engine's subset,
// every refusal with its JSON pointer, and the extractor's rule that generation ends), and the
// bounded memory of processed documents. The receipt answers against the
// receipt schema here; every keyword on values: tests/engine/json_schema_test.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agents/extractor/processed_documents.hpp"
#include "agents/extractor/receipt_schema.hpp"
#include "engine/json_schema_validator.hpp"
#include "agents/extractor/extractor_schema.hpp"

namespace agentd::agents {
namespace {

using json = nlohmann::json;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::string schema_error(const json& schema) {
  try {
    check_supported_schema(schema);
  } catch (const SchemaError& e) {
    return e.what();
  }
  return "";
}

TEST(SchemaCheckTest, TheReceiptSchemaIsSupported) { EXPECT_EQ(schema_error(json::parse(kReceiptSchema)), ""); }

TEST(SchemaCheckTest, SchemasOutsideTheSubsetAreRefusedWithTheirPointer) {
  EXPECT_EQ(schema_error(json::array()), "/: a schema must be an object or a boolean");
  EXPECT_EQ(schema_error(true), "/: a schema must be an object");  // true is any JSON value: no end
  EXPECT_EQ(schema_error({{"type", "number"}, {"maximum", 3}}), "/maximum: unsupported keyword \"maximum\"");
  EXPECT_EQ(schema_error({{"type", "object"}, {"properties", {{"a/b", {{"type", "string"}, {"pattern", "x"}}}}}}),
            "/properties/a~1b/pattern: unsupported keyword \"pattern\"");
  EXPECT_EQ(schema_error({{"type", "text"}}), "/type: unknown type \"text\"");
  EXPECT_EQ(schema_error({{"type", json::array()}}), "/type: expected at least one type");
  EXPECT_EQ(schema_error({{"type", {"number", "nope"}}}), "/type: unknown type \"nope\"");
  EXPECT_EQ(schema_error({{"description", "anything"}}), "/: needs a \"type\" or an \"enum\"");
  EXPECT_EQ(schema_error({{"enum", json::array()}}), "/enum: expected a non-empty array");
  EXPECT_EQ(schema_error({{"type", "string"}}), "/: a string needs \"maxLength\" so the constrained output ends");
  EXPECT_EQ(schema_error({{"type", "object"}, {"properties", {{"tags", {{"type", "array"}, {"items", {{"type", "number"}}}}}}}}),
            "/properties/tags: an array needs \"maxItems\" so the constrained output ends");
  EXPECT_EQ(schema_error({{"type", "string"}, {"maxLength", -1}}), "/maxLength: expected a non-negative integer");
  EXPECT_EQ(schema_error({{"type", "number"}, {"minimum", "0"}}), "/minimum: expected a number");
  EXPECT_EQ(schema_error({{"type", "object"}, {"properties", json::object()}, {"additionalProperties", 3}}),
            "/additionalProperties: only true or false is supported");
  EXPECT_EQ(schema_error({{"type", "object"}}), "/: an object needs \"properties\" so the constrained output ends");
  EXPECT_EQ(schema_error({{"type", "object"}, {"properties", {{"a", {{"type", "null"}}}}}, {"required", {"a", "b"}}}),
            "/required: names a property that is not in \"properties\": \"b\"");
  EXPECT_EQ(schema_error({{"type", "array"}, {"maxItems", 2}, {"items", {{"type", "string"}}}}),
            "/items: a string needs \"maxLength\" so the constrained output ends");
  // An enum bounds a string by itself; annotations are fine.
  EXPECT_EQ(schema_error({{"type", "string"}, {"enum", {"a", "b"}}, {"title", "t"}, {"$schema", "x"}}), "");
}

TEST(SchemaCheckTest, TheWholeEngineSubsetIsAcceptedWhereGenerationEnds) {
  const json choice = {{"anyOf", {{{"type", "number"}, {"minimum", 5}}, {{"const", "none"}}}}};
  const json name = {{"type", "string"}, {"minLength", 1}, {"maxLength", 20}};
  const json tags = {{"type", "array"}, {"minItems", 1}, {"maxItems", 3}, {"items", {{"enum", {"a", "b"}}}}};
  EXPECT_EQ(schema_error({{"type", "object"},
                          {"properties", {{"choice", choice}, {"name", name}, {"tags", tags}}},
                          {"required", {"choice"}}}),
            "");
  // The rule reaches into anyOf and oneOf branches.
  EXPECT_EQ(schema_error({{"oneOf", {{{"type", "null"}}, {{"type", "string"}}}}}),
            "/oneOf/1: a string needs \"maxLength\" so the constrained output ends");
}

TEST(SchemaValidateTest, AValidReceiptHasNoErrors) {
  json receipt = json::parse(R"({"merchant":"Le Fournil","date":"2024-03-14","total":7.6,"currency":"EUR",
    "payment":"card","items":[{"name":"Croissant","quantity":2,"price":1.2}]})");
  EXPECT_THAT(engine::validate_json(receipt, json::parse(kReceiptSchema)), IsEmpty());
}

TEST(SchemaValidateTest, EveryKeywordIsChecked) {
  json schema = json::parse(kReceiptSchema);
  json receipt = json::parse(R"({"merchant":5,"date":"2024-03-14T10:00","total":-1,"currency":"EUR",
    "payment":"cheque","items":[{"name":"x","quantity":1},{"name":"y","quantity":"2","price":-0.5}],"extra":true})");
  EXPECT_THAT(engine::validate_json(receipt, schema),
              ElementsAre("/date: 16 characters, more than maxLength 10", "/items/0/price: required member missing",
                          "/items/1/price: -0.5 is below the minimum 0", "/items/1/quantity: expected number, got string",
                          "/merchant: expected string, got integer", "/payment: \"cheque\" is not one of [\"cash\",\"card\",\"other\"]",
                          "/total: -1 is below the minimum 0"));
  EXPECT_THAT(engine::validate_json(json::array(), schema), ElementsAre("/: expected object, got array"));
  EXPECT_THAT(engine::validate_json(json::object(), schema),
              ElementsAre("/merchant: required member missing", "/date: required member missing",
                          "/total: required member missing", "/currency: required member missing",
                          "/payment: required member missing", "/items: required member missing"));
  EXPECT_EQ(engine::validate_json(json::object(), schema, 2).size(), 2u);  // capped
}

TEST(ProcessedDocumentsTest, BoundedOldestDroppedAndRefreshed) {
  ProcessedDocuments docs(3);
  docs.add("h1", "a.txt", "extracted");
  docs.add("h2", "b.txt", "failed");
  docs.add("h3", "c.txt", "extracted");
  docs.add("h1", "a-copy.txt", "extracted");  // refreshed: now the newest
  docs.add("h4", "d.txt", "extracted");       // drops h2, the oldest
  EXPECT_FALSE(docs.contains("h2"));
  EXPECT_TRUE(docs.contains("h1"));
  EXPECT_EQ(docs.to_json(), json::parse(R"([{"hash":"h3","file":"c.txt","status":"extracted"},
    {"hash":"h1","file":"a-copy.txt","status":"extracted"},{"hash":"h4","file":"d.txt","status":"extracted"}])"));

  ProcessedDocuments back = ProcessedDocuments::from_json(docs.to_json(), 2);
  EXPECT_EQ(back.size(), 2u);
  EXPECT_FALSE(back.contains("h3"));
  ProcessedDocuments junk = ProcessedDocuments::from_json(json::parse(R"([1,{"hash":5},{"file":"x"},{"hash":"ok"}])"), 10);
  EXPECT_EQ(junk.size(), 1u);
  EXPECT_TRUE(junk.contains("ok"));
  EXPECT_EQ(ProcessedDocuments::from_json("not a list", 10).size(), 0u);
}

}  // namespace
}  // namespace agentd::agents
