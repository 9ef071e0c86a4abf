// Internal state of the LockManager, shared by lock_manager*.cc. Not part of
// the interface. Everything in a Shard is guarded by Shard::mu.
#pragma once

#include <condition_variable>
#include <deque>
#include <list>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "locking/interval_index.h"
#include "locking/lock_manager.h"

namespace concordfs::locking {

struct ClientKey {
  Protocol protocol;
  uint64_t client;
  bool operator==(const ClientKey&) const = default;
};
struct ClientKeyHash {
  size_t operator()(const ClientKey& k) const {
    return std::hash<uint64_t>()(k.client) * 31 +
           static_cast<size_t>(k.protocol);
  }
};

struct LockManager::Waiter {
  uint64_t id = 0;
  LockRequest req;
  GrantCallback cb;
  NanoTime since = 0;
};

struct LockManager::FileState {
  IntervalIndex<HeldLock> locks;
  // Each owner's locks as (first, id), for merging, exact unlock, release.
  std::unordered_map<Owner, std::set<std::pair<uint64_t, uint64_t>>, OwnerHash>
      by_owner;
  std::list<Waiter> waiters;  // FIFO

  bool idle() const { return locks.empty() && waiters.empty(); }
};

struct LockManager::Shard {
  std::mutex mu;
  std::unordered_map<FileId, FileState> files;
  std::unordered_map<uint64_t, FileId> waiter_files;  // waiter id -> file
  std::unordered_map<ClientKey, std::unordered_map<FileId, uint32_t>,
                     ClientKeyHash>
      client_files;  // locks per client per file
  uint64_t next_lock_id = 1;
  int64_t used = 0;      // locks held in this shard
  int64_t reserved = 0;  // quota taken from the manager's total
  uint64_t held[4][3] = {};
  uint64_t waiting = 0;
  // Counted per shard: a shared counter would bounce between cores.
  uint64_t grants = 0, denials = 0;
};

struct LockManager::Pending {
  // An owner's locks on a file before a durable grant, to put back if
  // saving the grant fails.
  struct Undo {
    FileId file = 0;
    Owner owner;
    std::vector<HeldLock> before;
  };
  struct Callback {
    GrantCallback cb;
    LockStatus status;
    std::optional<Undo> undo;  // for durable grants
  };
  std::vector<Callback> callbacks;
  std::optional<Undo> undo;  // the caller's own durable grant
  uint64_t persist_seq = 0;  // durable changes to wait for, 0 = none
};

// The wait-for graph over owners, for deadlock detection.
class LockManager::Graph {
 public:
  // Registers waiter `id` of `owner` blocked by `blockers` unless that
  // closes a cycle (then returns false and registers nothing).
  bool AddIfNoCycle(uint64_t id, const Owner& owner,
                    const std::vector<Owner>& blockers, size_t walk_limit);
  void Update(uint64_t id, std::vector<Owner> blockers);
  void Remove(uint64_t id);

 private:
  struct Edge {
    Owner owner;
    std::vector<Owner> blockers;
  };
  std::mutex mu_;
  std::unordered_map<uint64_t, Edge> edges_;
  std::unordered_map<Owner, std::vector<uint64_t>, OwnerHash> by_owner_;
};

// Ordered group commit of durable lock changes.
class LockManager::PersistQueue {
 public:
  explicit PersistQueue(LockStore* store) : store_(store) {}
  // Called under a shard mutex, so changes enter in the order they happened.
  uint64_t Enqueue(std::vector<PersistedLocks> changes);
  // Waits until everything up to `seq` is written; the caller that finds no
  // writer active writes all that is queued (no mutex held during I/O).
  Status FlushThrough(uint64_t seq);

 private:
  LockStore* store_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<PersistedLocks> pending_;
  uint64_t enqueued_ = 0, written_ = 0;
  bool flushing_ = false;
  struct Failure {
    uint64_t from, to;
    Status status;
  };
  std::deque<Failure> failures_;
};

}  // namespace concordfs::locking
