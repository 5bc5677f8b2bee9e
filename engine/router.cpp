#include "engine/router.hpp"

namespace agentd::engine {

namespace {

class LocalGeneration final : public RoutedGeneration {
 public:
  LocalGeneration(std::unique_ptr<Generation> inner, std::string reason)
      : inner_(std::move(inner)), reason_(std::move(reason)) {}
  std::optional<std::string> next_piece() override { return inner_->next_piece(); }
  std::optional<MessageDelta> next_delta() override { return inner_->next_delta(); }
  void cancel() override { inner_->cancel(); }
  Result wait() override { return inner_->wait(); }
  RouteInfo route() override { return {"local", reason_, 0}; }

 private:
  std::unique_ptr<Generation> inner_;
  std::string reason_;
};

// A cloud call that falls back to the local engine if it fails before its first piece.
class CloudGeneration final : public RoutedGeneration {
 public:
  CloudGeneration(Request request, std::unique_ptr<Generation> cloud, Engine& local, Prices prices, std::string reason)
      : request_(std::move(request)), current_(std::move(cloud)), local_(local), prices_(prices), reason_(std::move(reason)) {}

  std::optional<std::string> next_piece() override {
    auto piece = current_->next_piece();
    if (piece) {
      got_piece_ = true;
      return piece;
    }
    if (fall_back_if_failed()) return current_->next_piece();
    return std::nullopt;
  }
  std::optional<MessageDelta> next_delta() override {
    auto delta = current_->next_delta();
    if (delta) {
      got_piece_ = true;
      return delta;
    }
    if (fall_back_if_failed()) return current_->next_delta();
    return std::nullopt;
  }
  void cancel() override {
    std::lock_guard lock(mutex_);
    cancelled_ = true;
    current_->cancel();
  }
  Result wait() override {
    fall_back_if_failed();
    Result r = current_->wait();
    if (!fell_back_) cost_ = prices_.cost(r.prompt_tokens, r.completion_tokens);
    return r;
  }
  RouteInfo route() override { return {fell_back_ ? "local" : "cloud", reason_, cost_}; }

 private:
  // True if it switched to the local engine (the cloud call failed before any piece).
  bool fall_back_if_failed() {
    if (fell_back_ || got_piece_) return false;
    Result r = current_->wait();
    if (r.finish != FinishReason::error || !r.text.empty()) return false;
    std::lock_guard lock(mutex_);
    if (cancelled_) return false;
    reason_ = "fallback to local: cloud failed: " + r.error;
    current_ = local_.submit(request_);
    fell_back_ = true;
    return true;
  }

  Request request_;
  std::unique_ptr<Generation> current_;
  Engine& local_;
  Prices prices_;
  std::string reason_;
  std::mutex mutex_;        // cancel() may come from another thread while we switch
  bool cancelled_ = false;  // GUARDED_BY(mutex_)
  bool got_piece_ = false, fell_back_ = false;
  double cost_ = 0;
};

}  // namespace

std::optional<RouteMode> parse_route_mode(const std::string& text) {
  if (text == "local") return RouteMode::local;
  if (text == "cloud") return RouteMode::cloud;
  if (text == "auto") return RouteMode::automatic;
  return std::nullopt;
}

Router::Router(Engine& local, Engine* cloud, std::function<int(const Request&)> count_tokens, RouterOptions options)
    : local_(local), cloud_(cloud), count_tokens_(std::move(count_tokens)), options_(options) {}

std::unique_ptr<RoutedGeneration> Router::submit_routed(Request request, RouteMode mode, int complexity) {
  bool to_cloud = false;
  std::string reason;
  switch (mode) {
    case RouteMode::local:
      reason = "local";
      break;
    case RouteMode::cloud:
      to_cloud = cloud_ != nullptr;
      reason = to_cloud ? "cloud" : "cloud requested, none configured";
      break;
    case RouteMode::automatic: {
      int prompt = count_tokens_ ? count_tokens_(request) : 0;
      if (complexity >= options_.escalate_complexity) {
        to_cloud = true;
        reason = "auto: complexity " + std::to_string(complexity);
      } else if (prompt + request.max_tokens > options_.local_context) {
        to_cloud = true;
        reason = "auto: " + std::to_string(prompt) + " prompt + " + std::to_string(request.max_tokens) +
                 " tokens exceed the local context of " + std::to_string(options_.local_context);
      } else {
        reason = "auto: local";
      }
      if (to_cloud && !cloud_) {
        to_cloud = false;
        reason += "; no cloud configured";
      }
      break;
    }
  }
  if (!to_cloud) return std::make_unique<LocalGeneration>(local_.submit(std::move(request)), reason);
  auto cloud = cloud_->submit(request);
  return std::make_unique<CloudGeneration>(std::move(request), std::move(cloud), local_, options_.cloud_prices, reason);
}

}  // namespace agentd::engine
