// FuseLoop: the threads that read requests from a FUSE session's device and
// run them (instead of libfuse's multi-threaded loop).
//
// Every request is a round trip: the caller sleeps in the kernel until the
// reply, and a reader thread asleep in read(2) must be woken for the
// request. On a virtual machine that wakeup (an idle vCPU leaving halt) is
// often longer than the request itself. So after replying, one thread at a
// time watches the device for up to `spin` (poll with no timeout, yielding
// the CPU in between) before it blocks again: a caller that sends its next
// request at once (open, write, close, lock, unlock...) finds a thread
// awake. A watch that found nothing turns watching off for the next few
// requests, so an idle or slow client costs nothing.
//
// A fixed pool of `threads` readers (a handler may block: an fsync, a wait
// for an SMB lease break), all created by Start. Join returns once every
// thread has ended: after fuse_session_exit and unmounting (which makes
// every read fail) or when the kernel ends the session. Unmounting while a
// process still has a file open leaves the connection (and the readers'
// reads) alive, so once the session has exited Join interrupts readers that
// are still blocked with a signal of their own (no-op handler, no restart).
//
// Thread-safe as far as libfuse is: Start and Join from one thread.
#pragma once

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

struct fuse_session;

namespace concordfs {

class FuseLoop {
 public:
  FuseLoop(fuse_session* se, unsigned threads, std::chrono::microseconds spin);
  ~FuseLoop();
  FuseLoop(const FuseLoop&) = delete;
  FuseLoop& operator=(const FuseLoop&) = delete;

  void Start();
  // Waits for every reader; returns the first error that ended the loop
  // (0: ended by fuse_session_exit or unmount).
  int Join();

 private:
  void Run();
  // Returns once the device has a request, the watch ran out, or another
  // thread is watching already.
  void Watch();

  fuse_session* se_;
  unsigned threads_;
  std::chrono::microseconds spin_;
  std::atomic<bool> watching_{false};
  // Requests left before watching again after a watch found nothing.
  std::atomic<int> skip_{0};
  std::atomic<int> error_{0};
  std::atomic<unsigned> running_{0};  // readers not yet ended
  std::vector<std::thread> readers_;
};

}  // namespace concordfs
