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
#include <map>
#include <mutex>
#include <optional>
#include <string>
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

// The per-client bound: how many requests one client (peer address) may have in flight at once,
// i.e. connections being served by a worker (a request read or answered; an idle keep-alive
// connection is parked and not counted, see http_connections.hpp). Past `limit` the client's
// requests get 429, except interactive chat completions, which keep `interactive_reserve` places
// more: a runaway script on the same machine (every local client shares 127.0.0.1) never locks the
// user's chat out. Loopback is counted like any other address.
class ClientLimit {
 public:
  // Held while one of the client's connections is being served; the destructor ends it.
  class Active {
   public:
    Active(ClientLimit& limit, std::string peer);
    Active(Active&& other) noexcept : limit_(std::exchange(other.limit_, nullptr)), peer_(std::move(other.peer_)) {}
    Active& operator=(Active&&) = delete;
    ~Active();

   private:
    ClientLimit* limit_;
    std::string peer_;
  };

  ClientLimit(int limit, int interactive_reserve) : limit_(limit), reserve_(interactive_reserve) {}
  ClientLimit(const ClientLimit&) = delete;
  ClientLimit& operator=(const ClientLimit&) = delete;

  Active activate(const std::string& peer) { return Active(*this, peer); }
  // Whether one more request of this client may go on (its own connection is already counted).
  bool allows(const std::string& peer, bool interactive_chat) const;
  int active(const std::string& peer) const;
  int limit() const { return limit_; }
  int reserve() const { return reserve_; }

 private:
  const int limit_;
  const int reserve_;
  mutable std::mutex mutex_;
  std::map<std::string, int> active_;  // guarded by mutex_; no entry = 0
};

}  // namespace agentd::runtime
