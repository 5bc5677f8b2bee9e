#include "runtime/http_admission.hpp"

namespace agentd::runtime {

HttpGate::Ticket& HttpGate::Ticket::operator=(Ticket&& other) noexcept {
  if (this != &other) {
    release();
    gate_ = std::exchange(other.gate_, nullptr);
  }
  return *this;
}

void HttpGate::Ticket::release() {
  if (gate_) gate_->inside_.fetch_sub(1);
  gate_ = nullptr;
}

std::optional<HttpGate::Ticket> HttpGate::enter() {
  int now = inside_.load();
  do {
    if (now >= limit_) return std::nullopt;
  } while (!inside_.compare_exchange_weak(now, now + 1));
  return Ticket(*this);
}

}  // namespace agentd::runtime
