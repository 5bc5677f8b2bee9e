// The priority classes the scheduler grants by. They are shared vocabulary (core/priority.hpp);
// here they keep the names the scheduler, the engine and agents have always used.
#pragma once

#include "core/priority.hpp"

namespace agentd::scheduler {

using core::index;
using core::kPriorityClasses;
using core::parse_priority;
using core::Priority;
using core::to_string;

}  // namespace agentd::scheduler
