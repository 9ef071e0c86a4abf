// IoPool: the threads every network front end (RPC, SMB) shares: a few I/O
// threads, each running its own single-threaded io_context (a connection is
// pinned to one, which is then its strand and needs no locks), and a worker
// pool for calls that may block on the backend.
//
// Thread safety: Start/Stop from one controlling thread; main_io, next_io and
// Work from any thread.
#pragma once

#include <functional>
#include <memory>
#include <utility>  // before Boost.Asio: its C++20 headers use std::exchange

namespace concordfs::net {

class IoPool {
 public:
  IoPool(int io_threads, int workers);
  ~IoPool();  // stops and joins
  void Start();
  void Stop();
  // boost::asio::io_context*, kept opaque here: the listeners' context, and
  // the next context for a new connection (round robin).
  void* main_io();
  void* next_io();
  // Runs `fn` on a worker thread.
  void Work(std::function<void()> fn);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace concordfs::net
