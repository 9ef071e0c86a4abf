// GroupCommit: makes the metadata writes that operations have made durable
// (MetadataStore::Sync) with one sync for many concurrent callers, without
// stalling operations that are still in their locked sections.
//
// Why not leave grouping to the store alone: LevelDB's writer queue makes
// every write wait while a synced write is in progress, so an operation that
// holds a directory's inode lock for its (unsynced) write waits out a whole
// fsync, and operations in one directory pass their locked sections one
// fsync at a time. Here one caller at a time (the leader) syncs, and before
// it starts it waits, at most `max_wait`, for the counted LockedSets of
// InodeLocks to be released: their writes then join this sync instead of
// queueing behind it. A caller returns once a sync that started after it
// called has finished, so everything it wrote before calling is durable.
//
// Thread-safe. Never call Sync while holding a counted LockedSet (it would
// only delay the commit by `max_wait`).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

#include "metadata/metadata_store.h"
#include "util/status.h"
#include "vfs/inode_locks.h"

namespace concordfs {

class GroupCommit {
 public:
  GroupCommit(MetadataStore* md, InodeLocks* locks,
              std::chrono::microseconds max_wait)
      : md_(md), locks_(locks), max_wait_(max_wait) {}

  // Returns when every metadata write that returned before this call is
  // durable, or the failure of the sync that was to cover it.
  Status Sync();

 private:
  MetadataStore* const md_;
  InodeLocks* const locks_;
  const std::chrono::microseconds max_wait_;

  std::mutex mu_;
  std::condition_variable done_cv_;
  bool syncing_ = false;    // GUARDED_BY(mu_): a leader is at work
  uint64_t requested_ = 0;  // GUARDED_BY(mu_): tickets handed out
  uint64_t started_ = 0;    // GUARDED_BY(mu_): highest ticket a sync covers
  uint64_t finished_ = 0;   // GUARDED_BY(mu_): highest ticket synced
  Status last_;             // GUARDED_BY(mu_): outcome of the last sync
};

}  // namespace concordfs
