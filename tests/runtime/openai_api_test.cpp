// The OpenAI request parser: a good request mapped field by field, and a corpus of bad ones, each
// with its status, the field it names and its message.
#include <gtest/gtest.h>

#include "runtime/http_server.hpp"
#include "runtime/openai_api.hpp"
#include "engine/json_schema_grammar.hpp"

namespace agentd::runtime {
namespace {

using nlohmann::json;

std::variant<ChatCompletionRequest, ApiError> parse(const std::string& body) {
  return parse_chat_completion(body, "stories260K", 256, 2048);
}

TEST(OpenAiApi, AFullRequestMapsOntoTheEngineRequest) {
  auto parsed = parse(R"({"model": "stories260K", "messages": [
      {"role": "developer", "content": "Be brief."},
      {"role": "user", "content": [{"type": "text", "text": "Hello "}, {"type": "text", "text": "there"}]},
      {"role": "assistant", "content": "Hi."}, {"role": "user", "content": "Again"}],
    "max_completion_tokens": 99999, "temperature": 0.2, "top_p": 0.9, "seed": 42, "stop": ["\n\n", "END"],
    "stream": true, "stream_options": {"include_usage": true}, "n": 1, "user": "u1",
    "priority": "background", "agent": "editor", "presence_penalty": 0, "logit_bias": {"13": -100, "7": 2.5},
    "service_tier": "auto", "prompt_cache_key": "k", "safety_identifier": "s", "verbosity": "low",
    "modalities": ["text"], "prediction": {"type": "content", "content": "Hi"},
    "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}}})");
  ASSERT_TRUE(std::holds_alternative<ChatCompletionRequest>(parsed)) << error_body(std::get<ApiError>(parsed)).dump();
  const auto& c = std::get<ChatCompletionRequest>(parsed);
  const auto& r = c.request;
  ASSERT_EQ(r.messages.size(), 4u);
  EXPECT_EQ(r.messages[0].role, "system");
  EXPECT_EQ(r.messages[1].content, "Hello there");
  EXPECT_EQ(r.max_tokens, 2048) << "capped at the context";
  EXPECT_FLOAT_EQ(r.sampling.temperature, 0.2f);
  EXPECT_FLOAT_EQ(r.sampling.top_p, 0.9f);
  EXPECT_EQ(r.sampling.seed, 42u);
  EXPECT_EQ(r.stop, (std::vector<std::string>{"\n\n", "END"}));
  EXPECT_TRUE(c.stream);
  EXPECT_TRUE(c.include_usage);
  EXPECT_EQ(r.priority, scheduler::Priority::background);
  EXPECT_EQ(c.agent, "editor");
  EXPECT_EQ(r.json_schema, R"({"type":"object"})");
  EXPECT_EQ(r.sampling.logit_bias, (std::vector<std::pair<int32_t, float>>{{13, -100.0f}, {7, 2.5f}}));
}

TEST(OpenAiApi, DefaultsAreOpenAisAndInteractive) {
  auto c = std::get<ChatCompletionRequest>(parse(R"({"model": "default", "messages": [{"role": "user", "content": "x"}]})"));
  EXPECT_EQ(c.model, "stories260K");
  EXPECT_EQ(c.request.max_tokens, 256);
  EXPECT_FLOAT_EQ(c.request.sampling.temperature, 1.0f);
  EXPECT_EQ(c.request.priority, scheduler::Priority::interactive);
  EXPECT_FALSE(c.stream);
  auto j = std::get<ChatCompletionRequest>(
      parse(R"({"model": "default", "messages": [{"role": "user", "content": "x"}], "response_format": {"type": "json_object"}})"));
  EXPECT_EQ(j.request.grammar, json_object_grammar());
}

TEST(OpenAiApi, BadRequestsNameTheFieldAndKeepOpenAisShape) {
  struct Case {
    const char* body;
    int status;
    const char* param;
    const char* message;
  };
  const Case cases[] = {
      {"", 400, "", "not valid JSON"},
      {"{\"model\": ", 400, "", "not valid JSON"},
      {"[1]", 400, "", "must be a JSON object"},
      {R"({"messages": [{"role": "user", "content": "x"}]})", 400, "model", "'model' must be a string"},
      {R"({"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}]})", 404, "model", "does not exist"},
      {R"({"model": "default"})", 400, "messages", "missing required parameter: 'messages'"},
      {R"({"model": "default", "messages": "hi"})", 400, "messages", "must be an array"},
      {R"({"model": "default", "messages": []})", 400, "messages", "must not be empty"},
      {R"({"model": "default", "messages": [{"content": "x"}]})", 400, "messages[0].role", "must be a string"},
      {R"({"model": "default", "messages": [{"role": "function", "content": "x"}]})", 400, "messages[0].role", "not supported"},
      {R"({"model": "default", "messages": [{"role": "user"}]})", 400, "messages[0].content", "is required"},
      {R"({"model": "default", "messages": [{"role": "user", "content": 5}]})", 400, "messages[0].content", "must be a string"},
      {R"({"model": "default", "messages": [{"role": "user", "content": [{"type": "image_url"}]}]})", 400, "messages[0].content[0]", "only text parts"},
      {R"({"model": "default", "messages": [{"role": "user", "content": "x"}], "max_tokens": 0})", 400, "max_tokens", "positive integer"},
      {R"({"model": "default", "messages": [{"role": "user", "content": "x"}], "max_tokens": "9"})", 400, "max_tokens", "positive integer"},
      {R"({"model": "default", "messages": [{"role": "user", "content": "x"}], "temperature": 3})", 400, "temperature", "between"},
      {R"({"model": "default", "messages": [{"role": "user", "content": "x"}], "temperature": "hot"})", 400, "temperature", "must be a number"},
      {R"({"model": "default", "messages": [{"role": "user", "content": "x"}], "top_p": 1.5})", 400, "top_p", "between"},
      {R"({"model": "default", "messages": [{"role": "user", "content": "x"}], "seed": 1.5})", 400, "seed", "integer"},
      {R"({"model": "default", "messages": [{"role": "user", "content": "x"}], "stop": ["a","b","c","d","e"]})", 400, "stop", "up to 4"},
      {R"({"model": "default", "messages": [{"role": "user", "content": "x"}], "stream": "yes"})", 400, "stream", "boolean"},
      {R"({"model": "default", "messages": [{"role": "user", "content": "x"}], "n": 2})", 400, "n", "only n = 1"},
      {R"({"model": "default", "messages": [{"role": "user", "content": "x"}], "tools": [{}]})", 400, "tools[0]", "must be {\"type\": \"function\""},
      {R"({"model": "default", "messages": [{"role": "user", "content": "x"}], "functions": [{}]})", 400, "functions", "not supported"},
      {R"({"model": "default", "messages": [{"role": "user", "content": "x"}], "tool_choice": "required"})", 400, "tool_choice", "only allowed when"},
      {R"({"model": "default", "messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": {"type": "function", "function": {"name": "g"}}})", 400, "tool_choice", "not among"},
      {R"({"model": "default", "messages": [{"role": "tool", "content": "x"}]})", 400, "messages[0].tool_call_id", "required"},
      {R"({"model": "default", "messages": [{"role": "user", "content": "x", "tool_calls": []}]})", 400, "messages[0].tool_calls", "only assistant"},
      {R"({"model": "default", "messages": [{"role": "user", "content": "x"}], "logprobs": true})", 400, "logprobs", "not supported"},
      {R"({"model": "default", "messages": [{"role": "user", "content": "x"}], "frequency_penalty": 0.5})", 400, "frequency_penalty", "only 0"},
      {R"({"model": "default", "messages": [{"role": "user", "content": "x"}], "response_format": {"type": "xml"}})", 400, "response_format.type", "must be text"},
      {R"({"model": "default", "messages": [{"role": "user", "content": "x"}], "response_format": {"type": "json_schema"}})", 400, "response_format.json_schema.schema", "must be an object"},
      {R"({"model": "default", "messages": [{"role": "user", "content": "x"}], "priority": "urgent"})", 400, "priority", "interactive, tool or background"},
      {R"({"model": "default", "messages": [{"role": "user", "content": "x"}], "agent": 3})", 400, "agent", "must be a string"},
      {R"({"model": "default", "messages": [{"role": "user", "content": "x"}], "temprature": 1})", 400, "temprature", "unrecognized request argument"},
      {R"({"model": "default", "messages": [{"role": "user", "content": "x"}], "logit_bias": [1]})", 400, "logit_bias", "must be an object"},
      {R"({"model": "default", "messages": [{"role": "user", "content": "x"}], "logit_bias": {"the": 1}})", 400, "logit_bias", "keys must be token ids"},
      {R"({"model": "default", "messages": [{"role": "user", "content": "x"}], "logit_bias": {"-3": 1}})", 400, "logit_bias", "keys must be token ids"},
      {R"({"model": "default", "messages": [{"role": "user", "content": "x"}], "logit_bias": {"5": 101}})", 400, "logit_bias", "from -100 to 100"},
      {R"({"model": "default", "messages": [{"role": "user", "content": "x"}], "logit_bias": {"5": "up"}})", 400, "logit_bias", "from -100 to 100"},
      {R"({"model": "default", "messages": [{"role": "user", "content": "x"}], "modalities": ["text", "audio"]})", 400, "modalities", "text only"},
      {R"({"model": "default", "messages": [{"role": "user", "content": "x"}], "audio": {"voice": "alloy"}})", 400, "audio", "not supported"},
      {R"({"model": "default", "messages": [{"role": "user", "content": "x"}], "web_search_options": {}})", 400, "web_search_options", "not supported"},
      {R"({"model": "default", "messages": [{"role": "user", "content": "x"}], "service_tier": 1})", 400, "service_tier", "must be a string"},
      // Fields of the wrong JSON type are the client's mistake (400), not a server error.
      {R"({"model": "default", "messages": [{"role": "user", "content": [{"type": 5, "text": "x"}]}]})", 400, "messages[0].content[0]", "only text parts"},
      {R"({"model": "default", "messages": [{"role": "user", "content": [{"type": null, "text": "x"}]}]})", 400, "messages[0].content[0]", "only text parts"},
      {R"({"model": "default", "messages": [{"role": "user", "content": "x"}], "tools": [{"type": 5, "function": {"name": "f"}}]})", 400, "tools[0]", "must be {\"type\": \"function\""},
      {R"({"model": "default", "messages": [{"role": "user", "content": "x"}], "stream_options": {"include_usage": "yes"}})", 400, "stream_options.include_usage", "must be a boolean"},
      {R"({"model": "default", "messages": [{"role": "user", "content": "x"}], "stream_options": [1]})", 400, "stream_options", "must be an object"},
      {R"({"model": "default", "messages": [{"role": "user", "content": "x"}], "logprobs": "yes"})", 400, "logprobs", "must be a boolean"},
      {R"({"model": "default", "messages": [{"role": "user", "content": "x"}], "top_logprobs": 5})", 400, "top_logprobs", "not supported"},
      {R"({"model": "default", "messages": [{"role": "user", "content": "x"}], "reasoning_budget_tokens": -2})", 400, "reasoning_budget_tokens", "from -1"},
      {R"({"model": "default", "messages": [{"role": "user", "content": "x"}], "reasoning_budget_tokens": "few"})", 400, "reasoning_budget_tokens", "must be an integer"},
  };
  for (const auto& c : cases) {
    auto parsed = parse(c.body);
    ASSERT_TRUE(std::holds_alternative<ApiError>(parsed)) << "accepted: " << c.body;
    const ApiError& e = std::get<ApiError>(parsed);
    EXPECT_EQ(e.status, c.status) << c.body;
    EXPECT_EQ(e.param, c.param) << c.body;
    EXPECT_NE(e.message.find(c.message), std::string::npos) << c.body << "\n" << e.message;
    json body = error_body(e);
    EXPECT_TRUE(body["error"].contains("message") && body["error"].contains("type") && body["error"].contains("param") &&
                body["error"].contains("code"));
  }
}

TEST(OpenAiApi, ResponsesAndChunksHaveOpenAisShape) {
  engine::Result r;
  r.text = "Hi!";
  r.finish = engine::FinishReason::length;
  r.prompt_tokens = 7;
  r.completion_tokens = 2;
  json body = completion_body("chatcmpl-1", "m", 1700000000, r);
  EXPECT_EQ(body["object"], "chat.completion");
  EXPECT_EQ(body["choices"][0]["message"]["content"], "Hi!");
  EXPECT_EQ(body["choices"][0]["finish_reason"], "length");
  EXPECT_TRUE(body["choices"][0].contains("logprobs") && body["choices"][0]["logprobs"].is_null()) << "typed Logprobs | null";
  EXPECT_TRUE(body["choices"][0]["message"].contains("refusal") && body["choices"][0]["message"]["refusal"].is_null());
  EXPECT_EQ(body["usage"]["total_tokens"], 9);
  std::string chunk = chunk_event("chatcmpl-1", "m", 1, {{"content", "x"}});
  ASSERT_TRUE(chunk.starts_with("data: ") && chunk.ends_with("\n\n"));
  json parsed = json::parse(chunk.substr(6));
  EXPECT_EQ(parsed["object"], "chat.completion.chunk");
  EXPECT_TRUE(parsed["choices"][0]["finish_reason"].is_null());
  EXPECT_TRUE(parsed["choices"][0].contains("logprobs") && parsed["choices"][0]["logprobs"].is_null());
}

// A tool-calling round: tools, a named choice, the assistant's call and the tool's answer in the
// history, and the answer's tool_calls and reasoning in OpenAI's shapes, whole and as deltas.
TEST(OpenAiApi, ToolsToolChoiceAndToolHistoryMapOntoTheEngineRequest) {
  auto parsed = parse(R"({"model": "default", "messages": [
      {"role": "user", "content": "Weather in Paris?"},
      {"role": "assistant", "content": null, "tool_calls": [{"id": "call_9", "type": "function",
        "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
      {"role": "tool", "tool_call_id": "call_9", "content": "18 C"}],
    "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather",
      "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
    "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
    "parallel_tool_calls": false, "reasoning_effort": "none", "reasoning_budget_tokens": 64})");
  ASSERT_TRUE(std::holds_alternative<ChatCompletionRequest>(parsed)) << std::get<ApiError>(parsed).message;
  const engine::Request& r = std::get<ChatCompletionRequest>(parsed).request;
  ASSERT_EQ(r.messages.size(), 3u);
  ASSERT_EQ(r.messages[1].tool_calls.size(), 1u);
  EXPECT_EQ(r.messages[1].tool_calls[0].id, "call_9");
  EXPECT_EQ(r.messages[1].tool_calls[0].arguments, R"({"city": "Paris"})");
  EXPECT_EQ(r.messages[2].role, "tool");
  EXPECT_EQ(r.messages[2].tool_call_id, "call_9");
  ASSERT_EQ(r.tools.size(), 1u);
  EXPECT_EQ(json::parse(r.tools[0].parameters)["properties"]["city"]["type"], "string");
  EXPECT_EQ(r.tool_choice, engine::ToolChoice::named);
  EXPECT_EQ(r.tool_name, "get_weather");
  EXPECT_FALSE(r.parallel_tool_calls);
  EXPECT_FALSE(r.thinking);
  EXPECT_EQ(r.reasoning_budget, 64);

  engine::Result result;
  result.reasoning = "Paris, so call the tool.";
  result.tool_calls.push_back({"call_1", "get_weather", R"({"city":"Rome"})"});
  json body = completion_body("chatcmpl-1", "m", 1, result);
  const json& m = body["choices"][0]["message"];
  EXPECT_TRUE(m["content"].is_null());
  EXPECT_EQ(m["reasoning_content"], "Paris, so call the tool.");
  EXPECT_EQ(m["tool_calls"][0]["id"], "call_1");
  EXPECT_EQ(m["tool_calls"][0]["type"], "function");
  EXPECT_EQ(m["tool_calls"][0]["function"]["name"], "get_weather");
  EXPECT_EQ(m["tool_calls"][0]["function"]["arguments"], R"({"city":"Rome"})");
  EXPECT_EQ(body["choices"][0]["finish_reason"], "tool_calls");

  engine::MessageDelta first;
  first.tool_index = 0;
  first.tool_call = {"call_1", "get_weather", "{\"ci"};
  json d = delta_json(first);
  EXPECT_EQ(d["tool_calls"][0]["index"], 0);
  EXPECT_EQ(d["tool_calls"][0]["id"], "call_1");
  EXPECT_EQ(d["tool_calls"][0]["function"]["name"], "get_weather");
  engine::MessageDelta more;
  more.tool_index = 0;
  more.tool_call.arguments = "ty\": \"Rome\"}";
  d = delta_json(more);
  EXPECT_FALSE(d["tool_calls"][0].contains("id")) << "id and name come once, on a call's first delta";
  EXPECT_EQ(d["tool_calls"][0]["function"]["arguments"], "ty\": \"Rome\"}");
  engine::MessageDelta thought;
  thought.reasoning = "hmm";
  EXPECT_EQ(delta_json(thought), json({{"reasoning_content", "hmm"}}));
}

TEST(OpenAiApi, TextThatIsNotUtf8IsWrittenWithReplacementCharactersNotThrown) {
  // A model can emit a lone byte token; a piece or an answer cut mid-character must not throw
  // inside a streaming provider (that would end the process).
  std::string chunk;
  ASSERT_NO_THROW(chunk = chunk_event("chatcmpl-1", "m", 1, {{"content", "ab\xff\xfe"}}));
  json parsed = json::parse(chunk.substr(6));
  EXPECT_EQ(parsed["choices"][0]["delta"]["content"], "ab\xEF\xBF\xBD\xEF\xBF\xBD");
  engine::Result r;
  r.text = "cut \xE2\x82";
  ASSERT_NO_THROW(chunk = usage_event("chatcmpl-1", "m\xC3", 1, r));
  EXPECT_EQ(json::parse(chunk.substr(6))["model"], "m\xEF\xBF\xBD");
}

TEST(OpenAiApi, DeepNestingAndTooManyMessagesAreRefusedBeforeAnyRecursion) {
  const std::string ok = R"({"model": "default", "messages": [{"role": "user", "content": "x"}])";
  // 100 000 levels: parsed iteratively by nlohmann, but dump() and the schema converter recurse.
  std::string deep = ok + R"(, "response_format": {"type": "json_schema", "json_schema": {"schema": )";
  for (int i = 0; i < 100000; ++i) deep += R"({"items": )";
  deep += "{}" + std::string(100000, '}') + "}}}";
  auto parsed = parse(deep);
  ASSERT_TRUE(std::holds_alternative<ApiError>(parsed));
  EXPECT_EQ(std::get<ApiError>(parsed).status, 400);
  EXPECT_NE(std::get<ApiError>(parsed).message.find("nested"), std::string::npos) << std::get<ApiError>(parsed).message;

  std::string many = R"({"model": "default", "messages": [)";
  for (int i = 0; i < 5000; ++i) many += std::string(i ? "," : "") + R"({"role": "user", "content": "x"})";
  parsed = parse(many + "]}");
  ASSERT_TRUE(std::holds_alternative<ApiError>(parsed));
  EXPECT_EQ(std::get<ApiError>(parsed).param, "messages");
  EXPECT_NE(std::get<ApiError>(parsed).message.find("at most"), std::string::npos) << std::get<ApiError>(parsed).message;
}

TEST(OpenAiApi, TheSchemaConverterLimitsDepthAndSize) {
  // The converter is also reached from agent files: its own limits, whatever the caller checked.
  std::string deep;
  for (int i = 0; i < 200; ++i) deep += R"({"type": "array", "items": )";
  deep += "{}" + std::string(200, '}');
  try {
    engine::json_schema_to_gbnf(deep);
    ADD_FAILURE() << "a schema 200 levels deep was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("deep"), std::string::npos) << e.what();
  }
  // Wide, not deep: 2 000 properties with 100 000-character bounds make a grammar far too large.
  json wide = {{"type", "object"}, {"properties", json::object()}};
  for (int i = 0; i < 20000; ++i) wide["properties"]["p" + std::to_string(i)] = {{"enum", {std::string(64, 'x')}}};
  EXPECT_THROW(engine::json_schema_to_gbnf(wide.dump()), std::invalid_argument);
}

// Found by tests/fuzz (json_schema_grammar): a number past double's range is nlohmann's
// out_of_range, not a parse_error, and escaped the converter's documented std::invalid_argument.
TEST(OpenAiApi, TheSchemaConverterRefusesANumberPastDoublesRangeAsInvalid) {
  EXPECT_THROW(engine::json_schema_to_gbnf(R"({"type": "string", "maxLength": 1e400})"), std::invalid_argument);
  EXPECT_THROW(engine::json_schema_to_gbnf("5e5555"), std::invalid_argument);
}

TEST(OpenAiApi, ListenAddresses) {
  EXPECT_EQ(parse_listen_address("127.0.0.1:8377"), (std::pair<std::string, int>{"127.0.0.1", 8377}));
  EXPECT_EQ(parse_listen_address("[::1]:0"), (std::pair<std::string, int>{"::1", 0}));
  for (const char* bad : {"8377", ":80", "host:", "host:x", "host:70000", "host:80x"}) {
    EXPECT_THROW(parse_listen_address(bad), std::invalid_argument) << bad;
  }
  EXPECT_TRUE(is_loopback("127.0.0.1"));
  EXPECT_TRUE(is_loopback("127.8.9.1"));
  EXPECT_TRUE(is_loopback("localhost"));
  EXPECT_TRUE(is_loopback("::1"));
  EXPECT_FALSE(is_loopback("0.0.0.0"));
  EXPECT_FALSE(is_loopback("192.168.1.2"));
  EXPECT_FALSE(is_loopback("::"));
}

}  // namespace
}  // namespace agentd::runtime
