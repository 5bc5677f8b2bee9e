// A counted bound on concurrent HTTP work of one kind: chat completions of one priority class,
// or live event streams. Past the limit a request is refused at once (429 + Retry-After) instead
// of holding one of the server's worker threads while it waits.
//
// Why counted here and not only by the engine's queue: httplib gives each request a worker
// thread for its whole life, so requests waiting for the engine hold threads. Bounding each
// class (limit = slots + max_queued) below the worker count means the lower classes together
// can never take every thread, and an interactive request always finds one.
#pragma once

#include <atomic>
#include <optional>
#include <utility>

namespace agentd::runtime {

class HttpGate {
 public:
  // Held while the work is in flight; leaving the gate is the destructor.
  class Ticket {
   public:
    explicit Ticket(HttpGate& gate) : gate_(&gate) {}
    Ticket(Ticket&& other) noexcept : gate_(std::exchange(other.gate_, nullptr)) {}
    Ticket& operator=(Ticket&& other) noexcept;
    ~Ticket() { release(); }

   private:
    void release();
    HttpGate* gate_;
  };

  explicit HttpGate(int limit) : limit_(limit) {}
  HttpGate(const HttpGate&) = delete;
  HttpGate& operator=(const HttpGate&) = delete;

  // A ticket, or nullopt when `limit` are already inside.
  std::optional<Ticket> enter();
  int limit() const { return limit_; }
  int inside() const { return inside_.load(); }

 private:
  const int limit_;
  std::atomic<int> inside_{0};
};

}  // namespace agentd::runtime
