// Per-request sampling: grammar and JSON schema constraints, stop strings, max tokens, seeds, and
// chat formatting with a named template.
#include <nlohmann/json.hpp>

#include "engine/json_schema_grammar.hpp"
#include "test_support.hpp"

namespace agentd::engine::test {
namespace {

class SamplingTest : public ModelTest {};

TEST_F(SamplingTest, GrammarConstrainsTheOutput) {
  LlamaEngine engine(options(Policy::batched, 2));
  Request r = greedy_request(prompts()[0], 16);
  r.grammar = R"(root ::= "yes" | "no")";
  const Result res = engine.submit(r)->wait();
  EXPECT_TRUE(res.text == "yes" || res.text == "no") << res.text;
  EXPECT_EQ(res.finish, FinishReason::stop);  // the grammar is complete: only end-of-text fits
}

TEST_F(SamplingTest, JsonSchemaConstrainsTheOutput) {
  LlamaEngine engine(options(Policy::batched, 2));
  Request r = greedy_request(prompts()[1], 120);
  r.json_schema = R"({
    "type": "object",
    "properties": {
      "name": {"type": "string", "maxLength": 12},
      "age": {"type": "integer", "minimum": 0},
      "happy": {"type": "boolean"}
    },
    "required": ["name", "age", "happy"]
  })";
  const Result res = engine.submit(r)->wait();
  ASSERT_EQ(res.finish, FinishReason::stop) << res.text;
  const auto doc = nlohmann::json::parse(res.text);
  ASSERT_TRUE(doc.is_object()) << res.text;
  EXPECT_TRUE(doc.at("name").is_string());
  EXPECT_LE(doc.at("name").get<std::string>().size(), 12u);
  EXPECT_TRUE(doc.at("age").is_number_integer());
  EXPECT_GE(doc.at("age").get<int64_t>(), 0);
  EXPECT_TRUE(doc.at("happy").is_boolean());
  EXPECT_EQ(doc.size(), 3u);
}

TEST_F(SamplingTest, JsonSchemaToGbnfCoversTheSupportedKeywords) {
  const std::string g = json_schema_to_gbnf(R"({
    "type": "object",
    "properties": {
      "tags": {"type": "array", "items": {"enum": ["a", "b"]}, "minItems": 1, "maxItems": 3},
      "note": {"type": ["string", "null"]},
      "n": {"anyOf": [{"type": "number"}, {"const": 7}]},
      "price": {"type": "number", "minimum": 0}
    },
    "required": ["tags"]
  })");
  EXPECT_NE(g.find("root ::= s-object"), std::string::npos) << g;
  EXPECT_NE(g.find(R"(("\"a\"" | "\"b\""))"), std::string::npos) << g;
  EXPECT_NE(g.find("{0,2}"), std::string::npos) << g;
  EXPECT_NE(g.find("(string | null)"), std::string::npos) << g;
  EXPECT_NE(g.find(R"((number | "7"))"), std::string::npos) << g;
  EXPECT_NE(g.find("nonnegative-number"), std::string::npos) << g;
  EXPECT_NE(g.find(R"(nonnegative-number ::= integral ()"), std::string::npos) << g;
  EXPECT_THROW(json_schema_to_gbnf(R"({"allOf": []})"), std::invalid_argument);
  EXPECT_THROW(json_schema_to_gbnf(R"({"type": "number", "minimum": "5"})"), std::invalid_argument);
}

TEST_F(SamplingTest, StopStringEndsTheTextBeforeIt) {
  LlamaEngine engine(options(Policy::serial));
  const std::string full = engine.submit(greedy_request(prompts()[0], 40))->wait().text;
  ASSERT_GT(full.size(), 30u);
  const std::string stop = full.substr(20, 6);
  const size_t at = full.find(stop);
  Request r = greedy_request(prompts()[0], 40);
  r.stop = {"no such stop string", stop};
  auto gen = engine.submit(r);
  const auto got = drain(*gen);
  EXPECT_EQ(got.result.finish, FinishReason::stop);
  EXPECT_EQ(got.result.text, full.substr(0, at));
  EXPECT_EQ(got.pieces, got.result.text);  // held-back text never leaked
}

TEST_F(SamplingTest, MaxTokensEndsWithLength) {
  LlamaEngine engine(options(Policy::batched, 2));
  const Result res = engine.submit(greedy_request(prompts()[0], 5))->wait();
  EXPECT_EQ(res.finish, FinishReason::length);
  EXPECT_EQ(res.completion_tokens, 5);
}

TEST_F(SamplingTest, SeededSamplingIsReproducible) {
  LlamaEngine engine(options(Policy::serial));
  Request r = greedy_request(prompts()[2], 30);
  r.sampling.temperature = 0.9f;
  r.sampling.top_k = 40;
  r.sampling.top_p = 0.95f;
  r.sampling.min_p = 0.05f;
  r.sampling.repeat_penalty = 1.1f;
  r.sampling.seed = 42;
  const std::string a = engine.submit(r)->wait().text;
  const std::string b = engine.submit(r)->wait().text;
  EXPECT_EQ(a, b);
  EXPECT_FALSE(a.empty());
}

TEST_F(SamplingTest, ChatMessagesAreFormattedWithTheNamedTemplate) {
  LlamaEngine engine(options(Policy::batched, 2));  // chat_template = "chatml"
  Request chat;
  chat.messages = {{"system", "You tell stories."}, {"user", "Tell me a story"}};
  chat.max_tokens = 8;
  const Request raw = greedy_request(
      "<|im_start|>system\nYou tell stories.<|im_end|>\n<|im_start|>user\nTell me a story"
      "<|im_end|>\n<|im_start|>assistant\n",
      8);
  EXPECT_EQ(engine.tokenize_prompt(chat), engine.tokenize_prompt(raw));
  EXPECT_GT(engine.submit(chat)->wait().completion_tokens, 0);
}

}  // namespace
}  // namespace agentd::engine::test
