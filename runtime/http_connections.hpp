// The server's connections, served by our own loop instead of httplib's, so that an idle
// connection holds no worker thread.
//
// httplib 0.11 serves a connection on one worker thread for its whole life, and that thread waits
// in a sleep-poll loop for each next request (up to the keep-alive timeout): 200 connections left
// open held 200 threads, and a pool's worth of them left every other client waiting. Here a worker
// serves a connection only while bytes are there to read: when none are, the connection is parked
// in IdleConnections (one epoll thread for all of them) and the worker goes back to the pool. When
// the client sends its next request, the connection is handed to a worker again; when it stays
// silent for the keep-alive timeout, it is closed.
//
// Each request is still parsed and answered by httplib (Server::process_request, over the
// SocketStream below), so routing, limits and the wire format are httplib's as before.
#pragma once

#include <httplib.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace agentd::runtime {

struct SocketTimeouts {
  std::chrono::microseconds read{std::chrono::seconds(5)};   // per read: a client that stops mid-request
  std::chrono::microseconds write{std::chrono::seconds(5)};  // per write: a client that stops reading
  // A whole request (head and body) from its first byte: a client that sends a byte every few
  // seconds (slowloris) held a worker and a place in its client's budget for as long as it liked.
  std::chrono::microseconds request{std::chrono::seconds(30)};
};

// httplib::Stream over an accepted socket: reads are buffered (httplib reads the head a byte at a
// time), each read and write waits at most its timeout. Owns and closes the socket.
class SocketStream final : public httplib::Stream {
 public:
  SocketStream(int sock, SocketTimeouts timeouts);
  ~SocketStream() override;
  SocketStream(const SocketStream&) = delete;
  SocketStream& operator=(const SocketStream&) = delete;

  bool is_readable() const override;
  bool is_writable() const override;
  ssize_t read(char* ptr, size_t size) override;
  ssize_t write(const char* ptr, size_t size) override;
  void get_remote_ip_and_port(std::string& ip, int& port) const override;
  void get_local_ip_and_port(std::string& ip, int& port) const override;
  socket_t socket() const override { return sock_; }

  // Bytes of a next request are here now (buffered, or waiting in the socket): no wait.
  bool has_input_now() const;
  // A request begins: reading it must end within SocketTimeouts::request from now.
  void start_request();

 private:
  const int sock_;
  const SocketTimeouts timeouts_;
  std::vector<char> buffer_;
  size_t buffer_at_ = 0, buffer_end_ = 0;
  std::chrono::steady_clock::time_point request_deadline_ = std::chrono::steady_clock::time_point::max();
};

// One accepted connection between requests: its stream (and what it buffered), its client and
// how many requests it has served.
struct Connection {
  Connection(int sock, SocketTimeouts timeouts);
  SocketStream stream;
  std::string peer;  // the client's address, as requests see it (Request::remote_addr)
  size_t requests = 0;
};

// Connections waiting for their next request, held by one epoll thread instead of a worker each.
// A connection silent for `idle_timeout` is closed; a client with more than `max_per_client` parked
// loses its oldest one. Thread-safe.
class IdleConnections {
 public:
  using Resume = std::function<void(std::unique_ptr<Connection>)>;
  // `resume` is called on the epoll thread when a parked connection has bytes (or hung up); it
  // hands the connection to a worker.
  IdleConnections(Resume resume, std::chrono::milliseconds idle_timeout, size_t max_per_client);
  ~IdleConnections();
  IdleConnections(const IdleConnections&) = delete;
  IdleConnections& operator=(const IdleConnections&) = delete;

  void park(std::unique_ptr<Connection> c);
  // Closes every parked connection and joins the thread; a connection parked afterwards is closed.
  void stop();
  size_t parked() const;

 private:
  struct Parked {
    std::unique_ptr<Connection> connection;
    std::chrono::steady_clock::time_point deadline;
    std::list<uint64_t>::iterator in_client;  // its place in clients_[peer]
  };
  void run();
  void resume_ready(uint64_t id, uint32_t events);
  void close_expired();
  void forget(std::map<uint64_t, Parked>::iterator it);  // locked; closes nothing by itself

  const Resume resume_;
  const std::chrono::milliseconds idle_timeout_;
  const size_t max_per_client_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  mutable std::mutex mutex_;
  std::map<uint64_t, Parked> parked_;                 // guarded by mutex_; by park order
  std::map<std::string, std::list<uint64_t>> clients_;  // guarded by mutex_; oldest first
  uint64_t next_id_ = 1;                              // guarded by mutex_
  bool stopping_ = false;                             // guarded by mutex_
  std::thread thread_;
};

}  // namespace agentd::runtime
