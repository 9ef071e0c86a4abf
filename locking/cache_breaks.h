// CacheBreaks: the one place where a front end asks that client caching
// grants conflicting with an access it is about to make be broken first.
// Caching grants today are SMB oplocks and leases (the SMB server registers
// itself as the Breaker); FUSE and NFS ask before reads, writes, opens,
// byte-range locks and removals that do not come from SMB, so an SMB client
// never keeps cached data, cached byte-range locks or cached handles that
// another protocol's access would contradict.
//
// Ownership: owned by the daemon's backend, next to the lock manager and
// the share-mode table; the breaker is borrowed and must unregister before
// it is destroyed.
//
// Thread safety: all members are thread-safe. Break() never blocks;
// BreakAndWait() blocks the calling thread (FUSE workers only: the wait
// ends when the client acknowledges or the breaker's timeout passes).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <shared_mutex>

#include "locking/lock_types.h"

namespace concordfs::locking {

// What the caller is about to do to the file; decides which caching goes:
//   kRead      read data                  -> write caching
//   kOpenRead  open without write access  -> write caching
//   kOpenWrite open with write access     -> write and read caching
//   kWrite     change data or size        -> write and read caching
//   kLock      take a byte-range lock     -> write caching (so clients
//                                            send their locks to the server)
//   kRemove    unlink or rename the name  -> handle caching
enum class CacheAccess : uint8_t {
  kRead,
  kOpenRead,
  kOpenWrite,
  kWrite,
  kLock,
  kRemove,
};
const char* CacheAccessName(CacheAccess a);

class CacheBreaker {
 public:
  virtual ~CacheBreaker() = default;
  // Starts breaking what conflicts with `access` on `file`. Returns true if
  // there is nothing to wait for (`done` is then dropped); otherwise `done`
  // is called once, on another thread, when every break it waits for is
  // acknowledged or timed out. Breaks that need no acknowledgement are sent
  // and not waited for.
  virtual bool Break(FileId file, CacheAccess access,
                     std::function<void()> done) = 0;
};

class CacheBreaks {
 public:
  void Register(CacheBreaker* b);
  void Unregister(CacheBreaker* b);
  // The breaker reports grants coming and going, so that Active() is one
  // atomic load on the paths of every read and write.
  void GrantsChanged(int64_t delta) {
    grants_.fetch_add(delta, std::memory_order_acq_rel);
  }

  // May any grant exist at all (false: nothing to break)?
  bool Active() const { return grants_.load(std::memory_order_acquire) > 0; }
  // As CacheBreaker::Break; true when nothing needs waiting for.
  bool Break(FileId file, CacheAccess access, std::function<void()> done);
  // Breaks and waits until the breaks are acknowledged or timed out (the
  // breaker bounds every wait by its break timeout; `limit` is a safety
  // net). Returns false if `limit` passed first.
  bool BreakAndWait(FileId file, CacheAccess access,
                    std::chrono::milliseconds limit = std::chrono::minutes(2));
  // Starts the breaks and does not wait (callers that cannot wait and have
  // no way to tell their client to retry).
  void BreakNoWait(FileId file, CacheAccess access);

 private:
  mutable std::shared_mutex mu_;  // held shared while calling breaker_
  std::atomic<CacheBreaker*> breaker_{nullptr};
  std::atomic<int64_t> grants_{0};
};

}  // namespace concordfs::locking
