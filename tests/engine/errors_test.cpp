// Every refusal names what is wrong and where: EngineError at construction, RequestError at
// submit.
#include <filesystem>
#include <fstream>
#include <string>

#include <gmock/gmock.h>

#include "llama.h"
#include "test_support.hpp"

namespace agentd::engine::test {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

class ErrorsTest : public ModelTest {
 protected:
  void SetUp() override {
    ModelTest::SetUp();
    dir_ = std::filesystem::temp_directory_path() /
           ("agentd-engine-errors-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write_file(const std::string& name, const std::string& bytes) {
    const auto path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }


  static std::string submit_error(LlamaEngine& engine, const Request& r) {
    try {
      engine.submit(r);
    } catch (const RequestError& e) {
      return e.what();
    }
    return "(no RequestError)";
  }

  std::filesystem::path dir_;
};

TEST_F(ErrorsTest, MissingModelFile) {
  auto o = options(Policy::batched);
  o.model_path = (dir_ / "nope.gguf").string();
  EXPECT_THAT(test::construction_error(o), AllOf(HasSubstr("not found"), HasSubstr(o.model_path)));
}

TEST_F(ErrorsTest, FileThatIsNotGguf) {
  auto o = options(Policy::batched);
  o.model_path = write_file("model.gguf", "PK\x03\x04 this is a zip, not a model");
  EXPECT_THAT(test::construction_error(o),
              AllOf(HasSubstr("not GGUF"), HasSubstr("PK"), HasSubstr(o.model_path)));
  o.model_path = write_file("short.gguf", "GG");
  EXPECT_THAT(test::construction_error(o), AllOf(HasSubstr("not GGUF"), HasSubstr("2 bytes")));
  o.model_path = dir_.string();
  EXPECT_THAT(test::construction_error(o), HasSubstr("not a regular file"));
}

// A valid GGUF file whose architecture llama.cpp does not know: the message carries llama.cpp's
// own last error line.
TEST_F(ErrorsTest, UnsupportedArchitecture) {
  const auto path = (dir_ / "alien.gguf").string();
  gguf_context* g = gguf_init_empty();
  gguf_set_val_str(g, "general.architecture", "agentd-alien");
  gguf_set_val_str(g, "general.name", "alien");
  ASSERT_TRUE(gguf_write_to_file(g, path.c_str(), false));
  gguf_free(g);
  auto o = options(Policy::batched);
  o.model_path = path;
  EXPECT_THAT(test::construction_error(o), AllOf(HasSubstr("cannot load model"), HasSubstr(path),
                                           HasSubstr("llama.cpp reported"),
                                           HasSubstr("agentd-alien")));
}

TEST_F(ErrorsTest, ContextTooLargeForMemory) {
  auto o = options(Policy::serial);
  o.n_ctx_per_seq = 1 << 30;  // ~1 G tokens of KV cache: hundreds of GB
  EXPECT_THAT(test::construction_error(o), AllOf(HasSubstr("too large for memory"),
                                           HasSubstr("1073741824 tokens"), HasSubstr("GiB"),
                                           HasSubstr(o.model_path)));
  o = options(Policy::batched, 64);
  o.n_ctx_per_seq = 1 << 30;  // streams x context does not even fit the context's counter
  EXPECT_THAT(test::construction_error(o), HasSubstr("n_ctx_per_seq x KV streams"));
}

TEST_F(ErrorsTest, BadOptionsAndUnknownChatTemplate) {
  auto o = options(Policy::batched);
  o.slots = 0;
  EXPECT_THAT(test::construction_error(o), HasSubstr("slots=0"));
  o = options(Policy::batched);
  o.prefill_chunk = 0;
  EXPECT_THAT(test::construction_error(o), HasSubstr("prefill_chunk=0"));
  o = options(Policy::batched);
  o.paused_kv_streams = -1;
  EXPECT_THAT(test::construction_error(o), HasSubstr("paused_kv_streams=-1"));
  o = options(Policy::batched);
  o.chat_template = "no-such-template";
  EXPECT_THAT(test::construction_error(o),
              AllOf(HasSubstr("no-such-template"), HasSubstr("chatml"), HasSubstr("llama3")));
}

TEST_F(ErrorsTest, PromptLongerThanTheContext) {
  auto o = options(Policy::batched, 2);
  LlamaEngine engine(o);
  std::string prompt;
  for (int i = 0; i < 80; ++i) prompt += "Once upon a time ";
  const auto n = engine.tokenize_prompt(greedy_request(prompt, 8)).size();
  ASSERT_GE(n, 256u);
  EXPECT_THAT(submit_error(engine, greedy_request(prompt, 8)),
              AllOf(HasSubstr("prompt is " + std::to_string(n) + " tokens"),
                    HasSubstr("256 tokens per sequence")));
  // The engine still serves requests that fit.
  EXPECT_GT(engine.submit(greedy_request(prompts()[0], 4))->wait().completion_tokens, 0);
}

TEST_F(ErrorsTest, InvalidGrammar) {
  LlamaEngine engine(options(Policy::batched, 2));
  Request r = greedy_request(prompts()[0], 8);
  r.grammar = "root ::= \"yes";  // unterminated literal
  EXPECT_THAT(submit_error(engine, r), AllOf(HasSubstr("invalid grammar"),
                                             HasSubstr("llama.cpp reported")));
  r.grammar = "start ::= \"yes\"";  // no root rule
  EXPECT_THAT(submit_error(engine, r), AllOf(HasSubstr("invalid grammar"), HasSubstr("root")));
}

TEST_F(ErrorsTest, InvalidJsonSchema) {
  LlamaEngine engine(options(Policy::batched, 2));
  Request r = greedy_request(prompts()[0], 8);
  r.json_schema = "{\"type\": \"object\", \"properties\": {";
  // Schemas go through llama.cpp common's converter (the one llama-server uses): its messages
  // name the place in the schema.
  EXPECT_THAT(submit_error(engine, r), AllOf(HasSubstr("invalid JSON schema"), HasSubstr("parse error")));
  r.json_schema = R"({"type": "object", "properties": {"a": {"$ref": "#/defs/x"}}})";
  EXPECT_THAT(submit_error(engine, r),
              AllOf(HasSubstr("invalid JSON schema"), HasSubstr("#/properties/a"), HasSubstr("$ref")));
  r.json_schema = R"({"type": "tuple"})";
  EXPECT_THAT(submit_error(engine, r), AllOf(HasSubstr("invalid JSON schema"), HasSubstr("unrecognized type tuple")));
  r.json_schema = R"({"type": "object"})";
  r.grammar = "root ::= \"x\"";
  EXPECT_THAT(submit_error(engine, r), HasSubstr("both a grammar and a JSON schema"));
}

TEST_F(ErrorsTest, BadRequests) {
  LlamaEngine engine(options(Policy::batched, 2));
  EXPECT_THAT(submit_error(engine, Request{}), HasSubstr("neither a prompt nor messages"));
  Request r = greedy_request(prompts()[0], 0);
  EXPECT_THAT(submit_error(engine, r), HasSubstr("max_tokens"));
  r = greedy_request(prompts()[0], 8);
  r.sampling.temperature = -1;
  EXPECT_THAT(submit_error(engine, r), HasSubstr("temperature"));
  r = greedy_request(prompts()[0], 8);
  r.sampling.top_p = 0;
  EXPECT_THAT(submit_error(engine, r), HasSubstr("top_p"));
}

TEST_F(ErrorsTest, MessagesNeedAChatTemplate) {
  auto o = options(Policy::batched, 2);
  o.chat_template.clear();  // stories260K has none of its own
  LlamaEngine engine(o);
  Request r;
  r.messages = {{"user", "Tell me a story"}};
  r.max_tokens = 4;
  EXPECT_THAT(submit_error(engine, r), AllOf(HasSubstr("has no chat template"),
                                             HasSubstr("chat_template")));
}

}  // namespace
}  // namespace agentd::engine::test
