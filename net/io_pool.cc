#include "net/io_pool.h"

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <thread>
#include <vector>

namespace concordfs::net {

namespace asio = boost::asio;

struct IoPool::Impl {
  int io_threads;
  int workers;
  std::vector<std::unique_ptr<asio::io_context>> ios;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>>
      guards;
  std::vector<std::thread> threads;
  std::unique_ptr<asio::thread_pool> pool;
  std::atomic<size_t> next{0};
};

IoPool::IoPool(int io_threads, int workers) : impl_(std::make_unique<Impl>()) {
  impl_->io_threads = std::max(1, io_threads);
  impl_->workers = std::max(1, workers);
  for (int i = 0; i < impl_->io_threads; ++i) {
    // One thread per context: Asio may skip its internal locking.
    impl_->ios.push_back(std::make_unique<asio::io_context>(1));
  }
}

IoPool::~IoPool() { Stop(); }

void IoPool::Start() {
  if (!impl_->threads.empty()) return;
  impl_->pool = std::make_unique<asio::thread_pool>(impl_->workers);
  for (auto& io : impl_->ios) {
    impl_->guards.emplace_back(io->get_executor());
    impl_->threads.emplace_back([io = io.get()] { io->run(); });
  }
}

void IoPool::Stop() {
  if (impl_->threads.empty()) return;
  impl_->pool->join();  // finishes queued work (replies are dropped)
  impl_->guards.clear();
  for (auto& io : impl_->ios) io->stop();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
  impl_->pool.reset();
  for (auto& io : impl_->ios) io->restart();
}

void* IoPool::main_io() { return impl_->ios[0].get(); }

void* IoPool::next_io() {
  size_t i = impl_->next.fetch_add(1, std::memory_order_relaxed);
  return impl_->ios[i % impl_->ios.size()].get();
}

void IoPool::Work(std::function<void()> fn) {
  asio::post(*impl_->pool, std::move(fn));
}

}  // namespace concordfs::net
