// Helpers shared by the plugin tests: a mock engine that answers every call through a function
// of the request (several calls per task, answered by what they ask), and small accessors.
#pragma once

#include <gmock/gmock.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tests/agents/agents_test_support.hpp"
#include "engine/engine.hpp"

namespace agentd::agents::test_support {

// The user message of a request (the last message), or its raw prompt.
inline std::string prompt_of(const engine::Request& r) {
  return r.messages.empty() ? r.prompt : r.messages.back().content;
}

// Expects exactly `times` engine calls, each answered by `reply(request)`; the requests are
// appended to `*seen` when given.
inline void answer_each(MockEngine& engine, const ::testing::Cardinality& times,
                        std::function<std::string(const engine::Request&)> reply,
                        std::vector<engine::Request>* seen = nullptr) {
  auto answer = [reply = std::move(reply), seen](engine::Request r) {
    std::string text = reply(r);
    if (seen) seen->push_back(r);
    return std::unique_ptr<engine::Generation>(
        std::make_unique<FakeGeneration>(text_result(text), std::make_shared<GenerationProbe>()));
  };
  // A call beyond `times` fails the test; the default action still answers, so the test reports
  // the extra call instead of crashing on a null generation.
  ON_CALL(engine, submit(::testing::_)).WillByDefault(answer);
  EXPECT_CALL(engine, submit(::testing::_)).Times(times).WillRepeatedly(answer);
}
inline void answer_each(MockEngine& engine, int times, std::function<std::string(const engine::Request&)> reply,
                        std::vector<engine::Request>* seen = nullptr) {
  answer_each(engine, ::testing::Exactly(times), std::move(reply), seen);
}

}  // namespace agentd::agents::test_support
