// LockManager: the one lock table of concordfs. Every byte-range lock, from
// a local fcntl/flock (FUSE), an NLM request or an SMB LOCK, is granted,
// refused, queued and released here, so a lock taken one way blocks
// conflicting locks taken any other way. Semantics: DESIGN.md "The lock
// model" and locking/conflict.h.
//
// Structure: files are spread over shards, each with its own mutex and map
// of per-file state (an IntervalIndex of held locks and a FIFO of waiters),
// so locks on different files do not contend. A blocking request never
// blocks a thread: it is queued and its callback runs later, when the lock
// is granted (kGranted) or the wait ends (kCancelled). Callbacks are invoked
// after every manager mutex is released, on the thread whose action caused
// them; they must not block (front ends post to their own executors) and
// may call back into the manager.
//
// Deadlocks: a global wait-for graph over owners of every protocol (its own
// mutex, taken only on blocking paths, after a shard mutex) is walked with a
// bound before a request is queued.
//
// Durable (NLM) locks are saved through a LockStore before a grant is
// returned; saves from concurrent requests are written together, in order
// (group commit), with no manager mutex held. After a restart Start()
// restores them and begins a grace period: a new lock is refused where it
// conflicts with a restored lock not reclaimed yet, and grace ends early
// once every restored lock is reclaimed. When the store says saves may have
// been lost (LockStore::StrictGraceReason) grace is strict instead: every
// new lock of every protocol is refused (a local blocking request waits)
// until the grace period is over or EndGrace() is called; reclaims succeed.
//
// Thread-safe. Lock order: shard mutex -> graph mutex -> client mutex ->
// persistence queue mutex (held only to enqueue; the store is written with
// no mutex held).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "locking/lock_store.h"
#include "locking/lock_types.h"
#include "util/clock.h"

namespace concordfs::locking {

struct LockLimits {
  size_t per_file = 1 << 20;
  size_t per_client = 1 << 20;  // remote clients (NLM hosts, SMB sessions)
  size_t total = 1 << 24;
};

struct LockManagerOptions {
  LockLimits limits;
  Clock* clock = nullptr;      // nullptr: Clock::Default()
  LockStore* store = nullptr;  // nullptr: durable locks are not persisted
  NanoTime grace_period = 90 * kNanosPerSecond;
  size_t shards = 64;
  size_t deadlock_walk_limit = 1024;  // owners visited before giving up
};

// Called once for a queued request: kGranted, kCancelled, or kNoResources
// (persistence failed after the grant was decided).
using GrantCallback = std::function<void(LockStatus)>;

// Which locks/waiters Release() drops. Unset fields match anything.
struct ReleaseFilter {
  Protocol protocol = Protocol::kLocal;
  std::optional<uint64_t> client;
  std::optional<std::string> owner;
  std::optional<uint64_t> open;
  std::optional<FileId> file;
  std::optional<Flavor> flavor;
};

struct LockInfo {
  FileId file = 0;
  Lock lock;
};
struct WaiterInfo {
  FileId file = 0;
  uint64_t id = 0;
  Lock wanted;  // `since` = when it started waiting
};

struct LockCounters {
  // held[protocol-1][flavor-1]
  uint64_t held[4][3] = {};
  uint64_t waiters = 0;
  uint64_t grants = 0, denials = 0, deadlocks = 0, grace_denials = 0;
  uint64_t cancels = 0, no_resources = 0;
  bool in_grace = false;
  bool strict_grace = false;  // in grace, and grace is strict
  uint64_t unreclaimed = 0;
};

class LockManager {
 public:
  // Inside the class `Lock` names the method; the held-lock type is this.
  using HeldLock = ::concordfs::locking::Lock;

  explicit LockManager(LockManagerOptions opts = {});
  ~LockManager();
  LockManager(const LockManager&) = delete;
  LockManager& operator=(const LockManager&) = delete;

  // Bumps the persisted epoch, restores durable locks and, if any were
  // restored or the store may have lost some, starts the grace period
  // (strict in the second case). Without a store: no-op.
  Status Start();
  uint64_t epoch() const { return epoch_; }

  // Would `req` be granted now? kGranted, or kConflict with the holder.
  LockResult Test(const LockRequest& req);

  // Takes a lock. Without `on_grant`: granted or refused now. With it: a
  // conflicting request is queued (kQueued, waiter_id set) and `on_grant`
  // runs when it is granted or cancelled; a request granted at once returns
  // kGranted and `on_grant` is not called.
  LockResult Lock(const LockRequest& req, GrantCallback on_grant = nullptr);

  // POSIX/flock: releases the range (splitting as needed; unlocking nothing
  // is fine). Windows: removes one lock matching exactly (kNotFound if none).
  LockStatus Unlock(const LockRequest& req);

  // Removes a waiter; its callback gets kCancelled. False if not waiting.
  bool Cancel(uint64_t waiter_id);
  // Cancels the waiter of this owner with the same file, range and mode
  // (NLM_CANCEL names the request, not a waiter id).
  bool CancelMatching(const LockRequest& req);

  // Drops every lock and waiter that matches; returns locks dropped.
  size_t Release(const ReleaseFilter& f);

  // SMB I/O check: the first lock of another owner (or, for writes, the
  // owner's own shared lock) that forbids this access, or nullopt.
  std::optional<HeldLock> CheckIo(FileId file, const Owner& owner,
                                  const Range& range, bool write);

  bool InGrace();
  // When the grace period ends at the latest (0 if not in grace). Someone
  // must call InGrace() then so that waiters behind unreclaimed locks wake
  // (the daemon runs a timer for it).
  NanoTime GraceEnd() const { return grace_active_ ? grace_end_.load() : 0; }
  // Ends grace now: unreclaimed restored locks are dropped.
  void EndGrace();
  // Whether grace is on and strict (every new lock refused), and why it is
  // strict (the store's reason; empty if grace after Start was not strict).
  bool StrictGrace() const { return grace_active_ && strict_grace_; }
  const std::string& StrictGraceReason() const { return strict_reason_; }

  void List(std::vector<LockInfo>* locks, std::vector<WaiterInfo>* waiters);
  LockCounters Counters();

  // Internal state (lock_manager_internal.h); named here for helpers.
  struct Shard;
  struct FileState;
  struct Waiter;
  class Graph;
  class PersistQueue;
  struct Pending;  // callbacks and saves gathered under a shard mutex

 private:
  Shard& ShardOf(FileId f);
  size_t ShardIndex(FileId f) const;
  LockResult LockLocked(Shard& s, const LockRequest& req, GrantCallback cb,
                        Pending* p);
  LockResult QueueLocked(Shard& s, FileState& fs, const LockRequest& req,
                         GrantCallback cb, const HeldLock& holder);
  std::vector<Owner> BlockersLocked(FileState& fs, const HeldLock& want);
  LockStatus ApplyLocked(Shard& s, FileState& fs, const LockRequest& req,
                         Pending* p);
  LockStatus ApplyPosixLocked(Shard& s, FileState& fs, FileId file,
                              const HeldLock& want, bool unlock, Pending* p);
  LockStatus UnlockWindowsLocked(Shard& s, FileState& fs,
                                 const LockRequest& req, Pending* p);
  void ReclaimLocked(FileState& fs, const HeldLock& want);
  std::vector<HeldLock> OwnerLocksLocked(FileState& fs, const Owner& o);
  // Puts an owner's locks on a file back as they were (failed save).
  void RestoreOwner(FileId file, const Owner& o,
                    const std::vector<HeldLock>& before);
  void RemoveLocked(Shard& s, FileState& fs, uint64_t first, uint64_t id,
                    const HeldLock& l);
  void WakeLocked(Shard& s, FileId file, FileState& fs, Pending* p);
  void SnapshotDurable(FileState& fs, FileId file, const Owner& o, Pending* p);
  size_t ReleaseLocked(Shard& s, FileId file, FileState& fs,
                       const ReleaseFilter& f, Pending* p);
  // Runs after the shard mutex is released: writes durable changes, then
  // calls the callbacks. Returns the persistence result.
  Status Finish(Pending* p);
  void MaybeEndGrace();
  bool ReserveLocked(Shard& s, const Owner& o, FileState& fs, int64_t delta);
  void AccountLocked(Shard& s, const Owner& o, const HeldLock& l,
                     int64_t delta);

  LockManagerOptions opts_;
  Clock* clock_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::unique_ptr<Graph> graph_;
  std::unique_ptr<PersistQueue> persist_;
  std::atomic<uint64_t> next_id_{1};
  uint64_t epoch_ = 0;

  // Grace: active flag read on every operation; the rest under grace_mu_.
  std::atomic<bool> grace_active_{false};
  std::atomic<NanoTime> grace_end_{0};
  std::atomic<int64_t> unreclaimed_{0};
  // Set by Start only, before any lock call.
  bool strict_grace_ = false;
  std::string strict_reason_;

  // Totals for limits, reserved by shards in chunks to avoid contention.
  std::atomic<int64_t> total_reserved_{0};
  int64_t quota_chunk_ = 1;  // how much total quota a shard takes at once
  std::mutex client_mu_;     // per remote client lock counts
  std::map<std::pair<Protocol, uint64_t>, int64_t>
      client_counts_;  // GUARDED_BY

  std::atomic<uint64_t> deadlocks_{0}, grace_denials_{0}, cancels_{0},
      no_resources_{0};
};

}  // namespace concordfs::locking
