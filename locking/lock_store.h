// LockStore: the persistence interface of the lock manager. Durable locks
// (NLM) are saved per (file, owner) as the full list of that owner's durable
// locks on the file, so merges and splits are one overwrite. The daemon
// provides a LevelDB-backed store; MemoryLockStore serves tests.
//
// Implementations must be thread-safe. Saves are applied atomically and in
// the order they were made. A store may write them behind (the daemon's
// does, see daemon/lock_store.h): a grant then reaches the disk a bounded
// short time after Save returns, and Flush() waits for everything saved so
// far. That is enough for NLM: after a crash its clients reclaim their
// locks in grace (the NSM host list, which tells them to, is written
// through), so what is restored at start is the locks held before the last
// few milliseconds; the bound is the store's to document. A save that only
// removes locks need never be synced: a lost unlock brings back a lock its
// owner never reclaims, dropped when grace ends.
#pragma once

#include <map>
#include <memory>
#include <mutex>
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
  virtual Result<uint64_t> NextEpoch() = 0;
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

 private:
  std::mutex mu_;
  std::map<std::string, std::string> data_;  // GUARDED_BY(mu_)
  uint64_t epoch_ = 0;                       // GUARDED_BY(mu_)
  bool fail_next_ = false;                   // GUARDED_BY(mu_)
};

}  // namespace concordfs::locking
