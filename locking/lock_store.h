// LockStore: the persistence interface of the lock manager. Durable locks
// (NLM) are saved per (file, owner) as the full list of that owner's durable
// locks on the file, so merges and splits are one overwrite. The daemon
// provides a LevelDB-backed store; MemoryLockStore serves tests.
//
// Implementations must be thread-safe. Saves are applied atomically and in
// the order they were made. How durable a save is when Save returns is the
// store's to document (the daemon's has three modes, see
// daemon/lock_store.h: written to the store but synced shortly after,
// synced, or written behind); Flush() waits for everything saved so far.
// A store that may lose saves a client was already answered for (a host
// crash before the sync, a crash while writing behind) must say so at the
// next start through StrictGraceReason(): the manager then refuses every
// new lock for the whole grace period, so that no lock whose record was
// lost can be granted to another owner before its holder reclaims it (the
// NSM host list, which tells holders to reclaim, is always synced). A save
// that only removes locks need never be synced: a lost unlock brings back a
// lock its owner never reclaims, dropped when grace ends.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "locking/lock_types.h"

namespace concordfs::locking {

struct PersistedLocks {
  FileId file = 0;
  Owner owner;
  std::vector<Lock> locks;  // empty: the owner has no durable lock there
};

class LockStore {
 public:
  virtual ~LockStore() = default;
  // Applies all changes atomically (possibly later: see above).
  virtual Status Save(const std::vector<PersistedLocks>& changes) = 0;
  // Waits until every earlier Save is written (synced as the store's
  // policy says); the last write error, if any.
  virtual Status Flush() { return Status::Ok(); }
  virtual Status LoadAll(std::vector<PersistedLocks>* out) = 0;
  // Increments and persists the server's boot counter; returns the new one.
  // A store that tracks runs also records here that a run has begun.
  virtual Result<uint64_t> NextEpoch() = 0;
  // Why saves answered before the previous run ended may be missing from
  // LoadAll (empty: none can be). Called after NextEpoch.
  virtual std::string StrictGraceReason() { return {}; }
  // At a clean stop, after the last lock call: writes everything saved and
  // records that the run ended cleanly (synced).
  virtual Status MarkCleanStop() { return Flush(); }
};

// Byte encoding of PersistedLocks, shared by every store (pure functions).
std::string EncodeOwnerKey(FileId file, const Owner& owner);
std::string EncodeLocks(const std::vector<Lock>& locks);
Status DecodePersisted(std::string_view key, std::string_view value,
                       PersistedLocks* out);

// Keeps everything in memory; survives a LockManager being dropped and
// rebuilt (a simulated restart), not a process exit.
class MemoryLockStore : public LockStore {
 public:
  Status Save(const std::vector<PersistedLocks>& changes) override;
  Status LoadAll(std::vector<PersistedLocks>* out) override;
  Result<uint64_t> NextEpoch() override;
  // Makes the next Save fail (tests of persistence failures).
  void FailNextSave() { fail_next_ = true; }
  // What StrictGraceReason() answers (tests of strict grace).
  void SetStrictGraceReason(std::string r) {
    std::lock_guard<std::mutex> l(mu_);
    strict_reason_ = std::move(r);
  }
  std::string StrictGraceReason() override {
    std::lock_guard<std::mutex> l(mu_);
    return strict_reason_;
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::string> data_;  // GUARDED_BY(mu_)
  uint64_t epoch_ = 0;                       // GUARDED_BY(mu_)
  bool fail_next_ = false;                   // GUARDED_BY(mu_)
  std::string strict_reason_;                // GUARDED_BY(mu_)
};

}  // namespace concordfs::locking
