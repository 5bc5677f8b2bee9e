#include "runtime/http_connections.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "core/thread_name.hpp"

namespace agentd::runtime {

namespace {

constexpr size_t kReadBuffer = 4096;

int millis(std::chrono::microseconds d) { return static_cast<int>((d.count() + 999) / 1000); }

// poll() for `events` up to `timeout`; the revents, 0 on timeout or error.
short wait_for(int sock, short events, std::chrono::microseconds timeout) {
  pollfd p{sock, events, 0};
  int rc;
  do {
    rc = ::poll(&p, 1, millis(timeout));
  } while (rc < 0 && errno == EINTR);
  return rc > 0 ? p.revents : 0;
}

void address_of(int sock, bool peer, std::string& ip, int& port) {
  sockaddr_storage a{};
  socklen_t len = sizeof a;
  int rc = peer ? ::getpeername(sock, reinterpret_cast<sockaddr*>(&a), &len)
                : ::getsockname(sock, reinterpret_cast<sockaddr*>(&a), &len);
  if (rc != 0) return;
  char host[NI_MAXHOST], service[NI_MAXSERV];
  if (::getnameinfo(reinterpret_cast<sockaddr*>(&a), len, host, sizeof host, service, sizeof service,
                    NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
    ip = host;
    port = std::atoi(service);
  }
}

}  // namespace

SocketStream::SocketStream(int sock, SocketTimeouts timeouts) : sock_(sock), timeouts_(timeouts), buffer_(kReadBuffer) {}

SocketStream::~SocketStream() {
  ::shutdown(sock_, SHUT_RDWR);
  ::close(sock_);
}

bool SocketStream::is_readable() const {
  if (buffer_at_ < buffer_end_) return true;
  const auto left = std::chrono::duration_cast<std::chrono::microseconds>(request_deadline_ - std::chrono::steady_clock::now());
  if (left <= std::chrono::microseconds(0)) return false;
  return (wait_for(sock_, POLLIN, std::min(timeouts_.read, left)) & (POLLIN | POLLHUP | POLLERR)) != 0;
}

void SocketStream::start_request() {
  request_deadline_ = std::chrono::steady_clock::now() + timeouts_.request;
}

// Writable, and the client still there: a peek that reads 0 bytes means it closed (a stream to a
// client that left stops at its next piece instead of filling the socket's buffer).
bool SocketStream::is_writable() const {
  if ((wait_for(sock_, POLLOUT, timeouts_.write) & POLLOUT) == 0) return false;
  char byte;
  ssize_t n = ::recv(sock_, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR));
}

bool SocketStream::has_input_now() const {
  return buffer_at_ < buffer_end_ || (wait_for(sock_, POLLIN, std::chrono::microseconds(0)) & (POLLIN | POLLHUP | POLLERR)) != 0;
}

ssize_t SocketStream::read(char* ptr, size_t size) {
  if (buffer_at_ == buffer_end_) {
    if (!is_readable()) return -1;  // the read timeout or the request's deadline passed
    ssize_t n;
    do {
      n = ::recv(sock_, buffer_.data(), buffer_.size(), 0);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) return n;
    buffer_at_ = 0;
    buffer_end_ = static_cast<size_t>(n);
  }
  size_t n = std::min(size, buffer_end_ - buffer_at_);
  std::memcpy(ptr, buffer_.data() + buffer_at_, n);
  buffer_at_ += n;
  return static_cast<ssize_t>(n);
}

ssize_t SocketStream::write(const char* ptr, size_t size) {
  if ((wait_for(sock_, POLLOUT, timeouts_.write) & POLLOUT) == 0) return -1;
  ssize_t n;
  do {
    n = ::send(sock_, ptr, size, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return n;
}

void SocketStream::get_remote_ip_and_port(std::string& ip, int& port) const { address_of(sock_, true, ip, port); }
void SocketStream::get_local_ip_and_port(std::string& ip, int& port) const { address_of(sock_, false, ip, port); }

Connection::Connection(int sock, SocketTimeouts timeouts) : stream(sock, timeouts) {
  int port = 0;
  stream.get_remote_ip_and_port(peer, port);
}

IdleConnections::IdleConnections(Resume resume, std::chrono::milliseconds idle_timeout, size_t max_per_client)
    : resume_(std::move(resume)), idle_timeout_(idle_timeout), max_per_client_(std::max<size_t>(max_per_client, 1)) {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (epoll_fd_ < 0 || wake_fd_ < 0) {
    throw std::runtime_error(std::string("http: cannot create the idle-connection poller: ") + std::strerror(errno));
  }
  epoll_event e{};
  e.events = EPOLLIN;
  e.data.u64 = 0;  // ids start at 1
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &e);
  thread_ = std::thread([this] {
    core::name_this_thread(core::thread_names::http_idle);
    run();
  });
}

IdleConnections::~IdleConnections() {
  stop();
  ::close(epoll_fd_);
  ::close(wake_fd_);
}

void IdleConnections::park(std::unique_ptr<Connection> c) {
  std::lock_guard lock(mutex_);
  if (stopping_) return;  // closed here
  const uint64_t id = next_id_++;
  auto& queue = clients_[c->peer];
  queue.push_back(id);
  epoll_event e{};
  e.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;
  e.data.u64 = id;
  const int sock = c->stream.socket();
  auto [it, _] = parked_.emplace(id, Parked{std::move(c), std::chrono::steady_clock::now() + idle_timeout_, std::prev(queue.end())});
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, sock, &e) != 0) {
    spdlog::warn("http: cannot watch an idle connection ({}); closing it", std::strerror(errno));
    forget(it);
    return;
  }
  if (queue.size() > max_per_client_) forget(parked_.find(queue.front()));  // the client's oldest
}

void IdleConnections::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mutex_);
  while (!parked_.empty()) forget(parked_.begin());
}

size_t IdleConnections::parked() const {
  std::lock_guard lock(mutex_);
  return parked_.size();
}

void IdleConnections::forget(std::map<uint64_t, Parked>::iterator it) {
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, it->second.connection->stream.socket(), nullptr);
  auto client = clients_.find(it->second.connection->peer);
  client->second.erase(it->second.in_client);
  if (client->second.empty()) clients_.erase(client);
  parked_.erase(it);  // the connection's destructor closes its socket
}

void IdleConnections::run() {
  epoll_event events[64];
  for (;;) {
    // Wake at least every quarter of the idle timeout to close the silent ones.
    const int n = ::epoll_wait(epoll_fd_, events, 64, static_cast<int>(std::max<int64_t>(idle_timeout_.count() / 4, 10)));
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
    }
    for (int i = 0; i < n; ++i) {
      if (events[i].data.u64 != 0) resume_ready(events[i].data.u64, events[i].events);
    }
    close_expired();
  }
}

void IdleConnections::resume_ready(uint64_t id, uint32_t events) {
  std::unique_ptr<Connection> ready;
  {
    std::lock_guard lock(mutex_);
    auto it = parked_.find(id);
    if (it == parked_.end()) return;  // evicted meanwhile
    ready = std::move(it->second.connection);
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, ready->stream.socket(), nullptr);
    auto client = clients_.find(ready->peer);
    client->second.erase(it->second.in_client);
    if (client->second.empty()) clients_.erase(client);
    parked_.erase(it);
  }
  // A client that hung up without sending anything is closed here; one that sent a request
  // (perhaps with a half-close after it) is served.
  if ((events & (EPOLLHUP | EPOLLERR)) && !(events & EPOLLIN)) return;
  resume_(std::move(ready));
}

void IdleConnections::close_expired() {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  // Ids follow park order and every connection gets the same timeout: the oldest expire first.
  while (!parked_.empty() && parked_.begin()->second.deadline <= now) forget(parked_.begin());
}

}  // namespace agentd::runtime
