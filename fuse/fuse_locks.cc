// Local fcntl and flock locks, through the lock manager. The one place that
// maps lock-manager statuses to errno values for FUSE.
//
// A blocking request (F_SETLKW, flock without LOCK_NB) is queued in the lock
// manager and answered from its grant callback, so no FUSE thread waits. A
// FUSE interrupt (the process got a signal) cancels the waiter, which then
// answers EINTR. The callback and the interrupt may race with the handler
// that queued the request; PendingLock orders them.
#include <sys/file.h>

#include <cstring>
#include <memory>
#include <mutex>
#include <optional>

#include "fuse/fuse_internal.h"

namespace concordfs::fuse_internal {
namespace {

using locking::LockRequest;
using locking::LockStatus;

int ErrnoOf(LockStatus s, bool flock) {
  switch (s) {
    case LockStatus::kGranted:
      return 0;
    case LockStatus::kConflict:
    case LockStatus::kGrace:  // a reclaimed NFS lock may still come back
      return flock ? EWOULDBLOCK : EAGAIN;
    case LockStatus::kDeadlock:
      return EDEADLK;
    case LockStatus::kNoResources:
      return ENOLCK;
    case LockStatus::kCancelled:
      return EINTR;
    case LockStatus::kInvalidRange:
      return EINVAL;
    case LockStatus::kQueued:
    case LockStatus::kNotFound:
      break;
  }
  return EIO;
}

std::string OwnerBytes(uint64_t lock_owner) {
  std::string s(sizeof(lock_owner), '\0');
  std::memcpy(s.data(), &lock_owner, sizeof(lock_owner));
  return s;
}

LockRequest PosixRequest(fuse_req_t req, fuse_ino_t ino, uint64_t owner) {
  LockRequest r;
  r.file = ino;
  r.owner.protocol = locking::Protocol::kLocal;
  r.owner.owner = OwnerBytes(owner);
  r.flavor = locking::Flavor::kPosix;
  r.pid = static_cast<uint32_t>(fuse_req_ctx(req)->pid);
  return r;
}

LockRequest FlockRequest(fuse_req_t req, fuse_ino_t ino, uint64_t owner) {
  LockRequest r;
  r.file = ino;
  r.owner.protocol = locking::Protocol::kLocal;
  r.owner.open = owner;
  r.flavor = locking::Flavor::kFlock;
  r.range = locking::Range::All();
  r.pid = static_cast<uint32_t>(fuse_req_ctx(req)->pid);
  return r;
}

// Orders the grant callback against the handler that queued the request.
struct PendingLock {
  std::mutex mu;
  fuse_req_t req = nullptr;
  bool armed = false;  // the handler is done; the callback may reply
  std::optional<LockStatus> early;  // a result that came before arming
  bool flock = false;
};

void OnInterrupt(fuse_req_t req, void* data) {
  uint64_t waiter = reinterpret_cast<uintptr_t>(data);
  FuseFrontend* fe = Frontend(req);
  // Cancel runs the callback, which replies; not from inside libfuse's
  // interrupt handling.
  fe->Post([fe, waiter] { fe->locks()->Cancel(waiter); });
}

// Takes the lock, replying now or from the grant callback.
void LockAndReply(fuse_req_t req, const LockRequest& r, bool block,
                  bool flock) {
  FuseFrontend* fe = Frontend(req);
  if (!block) {
    fuse_reply_err(req, ErrnoOf(fe->locks()->Lock(r).status, flock));
    return;
  }
  auto pl = std::make_shared<PendingLock>();
  pl->req = req;
  pl->flock = flock;
  auto cb = [pl](LockStatus s) {
    std::lock_guard<std::mutex> l(pl->mu);
    if (!pl->armed) {
      pl->early = s;
      return;
    }
    fuse_reply_err(pl->req, ErrnoOf(s, pl->flock));
  };
  locking::LockResult res = fe->locks()->Lock(r, cb);
  if (res.status != LockStatus::kQueued) {
    fuse_reply_err(req, ErrnoOf(res.status, flock));
    return;
  }
  std::lock_guard<std::mutex> l(pl->mu);
  if (pl->early) {
    fuse_reply_err(req, ErrnoOf(*pl->early, flock));
    return;
  }
  // Held under pl->mu so the callback cannot reply (and free `req`) while
  // the interrupt function is being attached; OnInterrupt only posts.
  fuse_req_interrupt_func(req, OnInterrupt,
                          reinterpret_cast<void*>(res.waiter_id));
  pl->armed = true;
}

}  // namespace

void OpGetLk(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi,
             struct flock* lock) {
  LockRequest r = PosixRequest(req, ino, fi->lock_owner);
  auto range = locking::Range::FromPosix(lock->l_start, lock->l_len);
  if (!range || lock->l_start < 0) return fuse_reply_err(req, EINVAL), void();
  r.range = *range;
  r.mode = lock->l_type == F_RDLCK ? locking::LockMode::kShared
                                   : locking::LockMode::kExclusive;
  locking::LockResult res = Frontend(req)->locks()->Test(r);
  struct flock out = *lock;
  if (res.status == LockStatus::kConflict && res.holder) {
    const locking::Lock& h = *res.holder;
    out.l_type = h.mode == locking::LockMode::kShared ? F_RDLCK : F_WRLCK;
    out.l_whence = SEEK_SET;
    out.l_start = static_cast<off_t>(h.range.first);
    out.l_len = static_cast<off_t>(h.range.PosixLength());
    // Holders from other protocols have no local pid; report 0.
    out.l_pid = h.owner.protocol == locking::Protocol::kLocal
                    ? static_cast<pid_t>(h.pid)
                    : 0;
  } else if (res.status == LockStatus::kGranted) {
    out.l_type = F_UNLCK;
  } else {
    return fuse_reply_err(req, ErrnoOf(res.status, false)), void();
  }
  fuse_reply_lock(req, &out);
}

void OpSetLk(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi,
             struct flock* lock, int sleep) {
  LockRequest r = PosixRequest(req, ino, fi->lock_owner);
  auto range = locking::Range::FromPosix(lock->l_start, lock->l_len);
  if (!range || lock->l_start < 0) return fuse_reply_err(req, EINVAL), void();
  r.range = *range;
  if (lock->l_type == F_UNLCK) {
    Frontend(req)->locks()->Unlock(r);
    return fuse_reply_err(req, 0), void();
  }
  r.mode = lock->l_type == F_RDLCK ? locking::LockMode::kShared
                                   : locking::LockMode::kExclusive;
  BreakCaching(Frontend(req), ino, locking::CacheAccess::kLock);
  LockAndReply(req, r, sleep != 0, false);
}

void OpFlock(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi, int op) {
  LockRequest r = FlockRequest(req, ino, fi->lock_owner);
  int kind = op & (LOCK_SH | LOCK_EX | LOCK_UN);
  if (kind == LOCK_UN) {
    Frontend(req)->locks()->Unlock(r);
    return fuse_reply_err(req, 0), void();
  }
  r.mode = kind == LOCK_SH ? locking::LockMode::kShared
                           : locking::LockMode::kExclusive;
  BreakCaching(Frontend(req), ino, locking::CacheAccess::kLock);
  LockAndReply(req, r, (op & LOCK_NB) == 0, true);
}

void DropPosixLocks(FuseFrontend* fe, fuse_ino_t ino, uint64_t lock_owner) {
  locking::ReleaseFilter f;
  f.protocol = locking::Protocol::kLocal;
  f.client = 0;
  f.owner = OwnerBytes(lock_owner);
  f.file = ino;
  f.flavor = locking::Flavor::kPosix;
  fe->locks()->Release(f);
}

void DropFlock(FuseFrontend* fe, fuse_ino_t ino, uint64_t lock_owner) {
  locking::ReleaseFilter f;
  f.protocol = locking::Protocol::kLocal;
  f.client = 0;
  f.open = lock_owner;
  f.file = ino;
  f.flavor = locking::Flavor::kFlock;
  fe->locks()->Release(f);
}

}  // namespace concordfs::fuse_internal
