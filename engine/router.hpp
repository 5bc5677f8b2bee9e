// Router: where a request runs — the local engine, a cloud (OpenAI-compatible) engine, or
// decided per request ("auto"). It is an Engine itself, so callers do not change.
//
// - local: always the local engine. cloud: the cloud engine (local when no cloud is configured,
//   with the reason recorded).
// - auto: the cloud when the request's declared complexity is at or above
//   `escalate_complexity`, or when its prompt does not fit the local context with its
//   max_tokens; otherwise local.
// - Fallback: a cloud call that fails before its first token (unreachable, 5xx after retries,
//   401, ...) runs again on the local engine; the caller sees one generation.
// - Every call's route, reason and estimated cost (prices per million tokens; local is free)
//   are in RoutedResult via the route() side channel, for the timeline and `agentd status`.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "engine/engine.hpp"

namespace agentd::engine {

enum class RouteMode { local, cloud, automatic };
std::optional<RouteMode> parse_route_mode(const std::string& text);  // "local", "cloud", "auto"

struct Prices {
  double input_per_mtok = 0;
  double output_per_mtok = 0;
  double cost(int prompt_tokens, int completion_tokens) const {
    return (prompt_tokens * input_per_mtok + completion_tokens * output_per_mtok) / 1e6;
  }
};

struct RouterOptions {
  int escalate_complexity = 3;  // complexity 1 (low) .. 3 (high): auto sends >= this to the cloud
  int local_context = 2048;     // tokens per sequence of the local engine
  Prices cloud_prices;
};

// How one call was routed; filled when the call ends.
struct RouteInfo {
  std::string route;   // "local" or "cloud"
  std::string reason;  // why, e.g. "auto: complexity 3", "fallback: cloud failed: ..."
  double cost_usd = 0;
};

// A generation that reports its route.
class RoutedGeneration : public Generation {
 public:
  virtual RouteInfo route() = 0;  // complete after wait()
};

class Router final : public Engine {
 public:
  // `count_tokens` gives the prompt size of a request on the local model (for auto). `cloud` may
  // be null (no cloud configured).
  Router(Engine& local, Engine* cloud, std::function<int(const Request&)> count_tokens, RouterOptions options);

  // Routes by `mode` and `complexity` (0 = undeclared).
  std::unique_ptr<RoutedGeneration> submit_routed(Request request, RouteMode mode, int complexity = 0);
  // Engine interface: local.
  std::unique_ptr<Generation> submit(Request request) override { return submit_routed(std::move(request), RouteMode::local); }
  EngineInfo info() const override { return local_.info(); }
  bool has_cloud() const { return cloud_ != nullptr; }

 private:
  Engine& local_;
  Engine* cloud_;
  std::function<int(const Request&)> count_tokens_;
  RouterOptions options_;
};

}  // namespace agentd::engine
