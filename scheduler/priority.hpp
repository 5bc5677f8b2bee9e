// The priority classes the scheduler grants by. They are shared vocabulary (core/priority.hpp);
// here they keep the names the scheduler, the engine and agents have always used.
#pragma once

#include <algorithm>
#include <cstdint>

#include "core/priority.hpp"

namespace agentd::scheduler {

using core::index;
using core::kPriorityClasses;
using core::parse_priority;
using core::Priority;
using core::to_string;

// The class a waiter ranks as after `intervals` whole aging intervals: one class more urgent per
// interval, but never interactive unless it asked to be. Interactive is the user waiting; aging
// keeps agents' tool calls from starving automation, and must not let a backlog of aged
// automation go before the user's chat (it did: at 48 agents on the replay's day every background
// request had waited two intervals, ranked as interactive, went first by age, and chats waited
// 30-48 s for a slot).
constexpr int aged_class(Priority p, int64_t intervals) {
  const int own = index(p);
  if (p == Priority::interactive || intervals <= 0) return own;
  return static_cast<int>(std::max<int64_t>(index(Priority::tool), own - intervals));
}

}  // namespace agentd::scheduler
