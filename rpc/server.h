// RpcServer: ONC RPC over TCP (record marking) and UDP on Boost.Asio.
//
// One IoPool serves every listener: a few I/O threads, each running its own
// single-threaded io_context (so a connection, pinned to one of them, needs
// no locks: that thread is its strand), plus a worker pool for calls that
// may block. Each TCP connection reads records (multi-fragment records up
// to a configurable size; a larger announced length or a record that is not
// an RPC call closes that connection only). Cheap calls (RpcProgram::Quick)
// are answered on the connection's thread with no hand-off; the others go
// to the workers while the connection keeps reading, so one client may have
// many calls in flight; replies are queued on the connection's thread and
// written with gather writes. UDP datagrams are dispatched the same way and
// answered from the socket they arrived on. No lock is held across socket
// I/O.
//
// Thread safety: Listen/Stop from one controlling thread; everything else
// runs on the pool. The Dispatcher and IoPool are borrowed and must outlive
// the server.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "net/io_pool.h"
#include "rpc/program.h"
#include "util/status.h"

namespace concordfs::rpc {

using net::IoPool;

struct ServerOptions {
  std::string address = "127.0.0.1";  // numeric IPv4/IPv6 address
  uint16_t port = 0;                  // 0: any free port (see port())
  bool tcp = true;
  bool udp = true;
  size_t max_record_size = 2 << 20;  // bytes of one TCP record (all fragments)
  int max_inflight_per_connection = 64;
  // A connection that stops sending in the middle of a record is closed
  // after this long (idle connections between records are kept).
  std::chrono::milliseconds stall_timeout{30000};
  std::string name = "rpc";  // for log messages
  // After answering everything a TCP connection sent, its I/O thread polls
  // the socket this long for the next call (yielding the CPU between
  // polls) before it waits in epoll: a client with one call at a time is
  // then not woken across CPUs twice per call. 0: never. A poll that finds
  // nothing turns polling off for the connection's next 8 reads.
  std::chrono::microseconds busy_poll{0};
};

class RpcServer {
 public:
  RpcServer(IoPool* pool, Dispatcher* dispatcher, ServerOptions opts);
  ~RpcServer();
  // Binds and starts accepting. EADDRINUSE etc. with the address in the
  // message.
  Status Listen();
  // The bound port (after Listen).
  uint16_t port() const;
  // Closes the listeners and every connection.
  void Stop();
  // Sends one datagram from the server's UDP socket (no-op without UDP):
  // asynchronous answers that clients expect from the service's own port.
  void SendUdp(const Peer& to, std::string datagram);

  struct Counters {
    uint64_t connections = 0;  // accepted so far
    uint64_t open_connections = 0;
    uint64_t closed_bad_input = 0;  // closed for an oversized/garbage record
  };
  Counters counters() const;

  struct Impl;  // opaque (Asio types stay in server.cc)

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace concordfs::rpc
