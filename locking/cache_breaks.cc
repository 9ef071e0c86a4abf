#include "locking/cache_breaks.h"

#include <condition_variable>
#include <memory>
#include <mutex>

namespace concordfs::locking {

const char* CacheAccessName(CacheAccess a) {
  switch (a) {
    case CacheAccess::kRead:
      return "read";
    case CacheAccess::kOpenRead:
      return "open-read";
    case CacheAccess::kOpenWrite:
      return "open-write";
    case CacheAccess::kWrite:
      return "write";
    case CacheAccess::kLock:
      return "lock";
    case CacheAccess::kRemove:
      return "remove";
  }
  return "?";
}

void CacheBreaks::Register(CacheBreaker* b) {
  std::unique_lock lk(mu_);
  breaker_.store(b, std::memory_order_release);
}

void CacheBreaks::Unregister(CacheBreaker* b) {
  std::unique_lock lk(mu_);
  if (breaker_.load(std::memory_order_relaxed) == b) {
    breaker_.store(nullptr, std::memory_order_release);
  }
}

bool CacheBreaks::Break(FileId file, CacheAccess access,
                        std::function<void()> done) {
  if (!Active()) return true;
  std::shared_lock lk(mu_);
  CacheBreaker* b = breaker_.load(std::memory_order_relaxed);
  if (!b) return true;
  return b->Break(file, access, std::move(done));
}

bool CacheBreaks::BreakAndWait(FileId file, CacheAccess access,
                               std::chrono::milliseconds limit) {
  if (!Active()) return true;
  struct Wait {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
  };
  auto w = std::make_shared<Wait>();
  bool now = Break(file, access, [w] {
    std::lock_guard lk(w->mu);
    w->done = true;
    w->cv.notify_all();
  });
  if (now) return true;
  std::unique_lock lk(w->mu);
  return w->cv.wait_for(lk, limit, [&] { return w->done; });
}

void CacheBreaks::BreakNoWait(FileId file, CacheAccess access) {
  (void)Break(file, access, [] {});
}

}  // namespace concordfs::locking
