// RpcServer: ONC RPC over TCP (record marking) and UDP on Boost.Asio.
//
// One IoPool (an io_context run by a few threads) serves every listener.
// Each TCP connection reads records on its own strand (multi-fragment
// records up to a configurable size; a larger announced length or a record
// that is not an RPC call closes that connection only), hands each record to
// the pool, and keeps reading, so one client may have many calls in flight;
// replies are queued on the strand and written with gather writes. UDP
// datagrams are dispatched the same way and answered from the socket they
// arrived on. Handlers run on pool threads and may block briefly (metadata
// commits); no lock is held across socket I/O.
//
// Thread safety: Listen/Stop from one controlling thread; everything else
// runs on the pool. The Dispatcher and IoPool are borrowed and must outlive
// the server.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "rpc/program.h"
#include "util/status.h"

namespace concordfs::rpc {

// Threads running the io_context shared by all RPC (and later SMB) servers.
class IoPool {
 public:
  explicit IoPool(int threads);
  ~IoPool();  // stops and joins
  void Start();
  void Stop();
  void* io_context();  // boost::asio::io_context*, kept opaque here
  int threads() const { return threads_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int threads_;
};

struct ServerOptions {
  std::string address = "127.0.0.1";  // numeric IPv4/IPv6 address
  uint16_t port = 0;                  // 0: any free port (see port())
  bool tcp = true;
  bool udp = true;
  size_t max_record_size = 2 << 20;  // bytes of one TCP record (all fragments)
  int max_inflight_per_connection = 64;
  std::string name = "rpc";  // for log messages
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
