// FuseLoop: readers of the FUSE device that watch it briefly after a reply.
#include "fuse/fuse_loop.h"

#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>

#include <cerrno>
#include <cstdlib>
#include <thread>

#include "fuse/fuse_internal.h"

namespace concordfs {
namespace {

// Requests served without watching after a watch that found nothing.
constexpr int kSkipAfterMiss = 8;

// Interrupts a reader blocked in read(2) at stop (see the header).
int WakeSignal() { return SIGRTMIN + 5; }
void IgnoreWake(int) {}

}  // namespace

FuseLoop::FuseLoop(fuse_session* se, unsigned threads,
                   std::chrono::microseconds spin)
    : se_(se), threads_(threads == 0 ? 1 : threads), spin_(spin) {}

FuseLoop::~FuseLoop() { Join(); }

void FuseLoop::Start() {
  // Readers take no signals (as libfuse's own workers): the daemon waits
  // for them on its main thread.
  struct sigaction sa = {};
  sa.sa_handler = IgnoreWake;  // no SA_RESTART: a blocked read gets EINTR
  sigemptyset(&sa.sa_mask);
  sigaction(WakeSignal(), &sa, nullptr);
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  running_ = threads_;
  for (unsigned i = 0; i < threads_; ++i) {
    readers_.emplace_back([this] {
      sigset_t wake;
      sigemptyset(&wake);
      sigaddset(&wake, WakeSignal());
      pthread_sigmask(SIG_UNBLOCK, &wake, nullptr);
      Run();
      running_.fetch_sub(1);
    });
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

int FuseLoop::Join() {
  // Readers still reading 100 ms after the session exited are blocked on a
  // connection that outlives the unmount (a file is still open): interrupt
  // them until they have all seen the exit.
  auto waited = std::chrono::steady_clock::now();
  while (running_.load() > 0) {
    if (fuse_session_exited(se_) && std::chrono::steady_clock::now() - waited >
                                        std::chrono::milliseconds(100)) {
      for (std::thread& t : readers_) {
        if (t.joinable()) pthread_kill(t.native_handle(), WakeSignal());
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  for (std::thread& t : readers_) {
    if (t.joinable()) t.join();
  }
  readers_.clear();
  return error_.load();
}

void FuseLoop::Watch() {
  if (spin_.count() <= 0) return;
  if (skip_.load(std::memory_order_relaxed) > 0) {
    skip_.fetch_sub(1, std::memory_order_relaxed);
    return;
  }
  if (watching_.exchange(true, std::memory_order_acquire)) return;
  const auto until = std::chrono::steady_clock::now() + spin_;
  // Unmounting closes the device; a closed descriptor polls as ready and
  // the read then fails, which ends the reader.
  pollfd p{fuse_session_fd(se_), POLLIN, 0};
  bool found = false;
  while (!fuse_session_exited(se_)) {
    if (poll(&p, 1, 0) > 0) {
      found = true;
      break;
    }
    if (std::chrono::steady_clock::now() >= until) break;
    sched_yield();
  }
  if (!found) skip_.store(kSkipAfterMiss, std::memory_order_relaxed);
  watching_.store(false, std::memory_order_release);
}

void FuseLoop::Run() {
  fuse_buf buf = {};
  while (!fuse_session_exited(se_)) {
    Watch();
    // A blocking read: when the watch saw a request another reader may
    // have taken it, and this one then sleeps like the rest.
    int n = fuse_session_receive_buf(se_, &buf);
    if (n == -EINTR || n == -EAGAIN) continue;
    if (n <= 0) {
      // After fuse_session_exit (Stop) a failing read is the expected end.
      if (n < 0 && !fuse_session_exited(se_)) {
        int expected = 0;
        error_.compare_exchange_strong(expected, n);
        fuse_session_exit(se_);
      }
      break;
    }
    fuse_session_process_buf(se_, &buf);
  }
  std::free(buf.mem);
}

}  // namespace concordfs
