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

ClientLimit::Active::Active(ClientLimit& limit, std::string peer) : limit_(&limit), peer_(std::move(peer)) {
  std::lock_guard lock(limit_->mutex_);
  ++limit_->active_[peer_];
}

ClientLimit::Active::~Active() {
  if (!limit_) return;
  std::lock_guard lock(limit_->mutex_);
  auto it = limit_->active_.find(peer_);
  if (--it->second == 0) limit_->active_.erase(it);
}

int ClientLimit::active(const std::string& peer) const {
  std::lock_guard lock(mutex_);
  auto it = active_.find(peer);
  return it == active_.end() ? 0 : it->second;
}

bool ClientLimit::allows(const std::string& peer, bool interactive_chat) const {
  return active(peer) <= limit_ + (interactive_chat ? reserve_ : 0);
}

}  // namespace agentd::runtime
