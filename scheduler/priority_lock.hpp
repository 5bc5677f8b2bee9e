// PriorityLock: the single-holder form of PrioritySlots (see priority_slots.hpp for the
// contract: class order, FIFO inside a class, aging, direct handoff, timeouts, cancellation).
#pragma once

#include <utility>

#include "scheduler/priority_slots.hpp"

namespace agentd::scheduler {

class PriorityLock : public PrioritySlots {
 public:
  explicit PriorityLock(PrioritySlotsOptions options = {}) : PrioritySlots(1, std::move(options)) {}
};

// RAII holder for a PriorityLock; same type as for PrioritySlots.
using PriorityLockGuard = SlotGuard;

}  // namespace agentd::scheduler
