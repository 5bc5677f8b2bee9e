// Test helper for plugins that call the model several times in one task: the mock engine answers a
// fixed script of results in order, exactly that many calls, and keeps every request it was sent.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tests/agents/agents_test_support.hpp"

namespace agentd::agents::test_support {

inline engine::Result failed_result(std::string error) {
  engine::Result r = text_result("");
  r.finish = engine::FinishReason::error;
  r.error = std::move(error);
  return r;
}

class ScriptedAnswers {
 public:
  // Expects exactly `results.size()` submit() calls on `engine`, answered in order.
  void expect(MockEngine& engine, std::vector<engine::Result> results) {
    auto state = state_;
    state->results = std::move(results);
    if (state->results.empty()) {
      EXPECT_CALL(engine, submit(::testing::_)).Times(0);
      return;
    }
    EXPECT_CALL(engine, submit(::testing::_))
        .Times(static_cast<int>(state->results.size()))
        .WillRepeatedly([state](engine::Request r) {
          size_t i = state->requests.size();
          state->requests.push_back(std::move(r));
          engine::Result result = i < state->results.size() ? state->results[i] : failed_result("unscripted call");
          return std::unique_ptr<engine::Generation>(
              std::make_unique<FakeGeneration>(result, std::make_shared<GenerationProbe>()));
        });
  }
  void expect_texts(MockEngine& engine, const std::vector<std::string>& texts) {
    std::vector<engine::Result> results;
    for (const auto& t : texts) results.push_back(text_result(t));
    expect(engine, std::move(results));
  }

  const std::vector<engine::Request>& requests() const { return state_->requests; }
  // The last message of request `i` (the user message).
  std::string prompt(size_t i) const {
    const auto& r = state_->requests.at(i);
    return r.messages.empty() ? r.prompt : r.messages.back().content;
  }

 private:
  struct State {
    std::vector<engine::Result> results;
    std::vector<engine::Request> requests;
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

}  // namespace agentd::agents::test_support
