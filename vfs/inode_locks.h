// InodeLocks: striped mutexes that serialize read-modify-write sequences on
// inodes. A LockedSet takes the stripes of several inodes in ascending
// stripe order, so two operations never deadlock. Lock order across the vfs:
// Vfs::rename_mu_ -> stripes (ascending) -> OpenFileTable's mutex.
//
// Metadata commits happen under these locks (like an inode lock in a kernel
// filesystem); data reads and writes to the content store never do.
//
// InodeLocks also counts the LockedSets that are taking or holding stripes
// (their sections end with an unsynced metadata write), so a group commit
// can let them finish before it syncs (GroupCommit, vfs/group_commit.h).
// Thread-safe.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <initializer_list>
#include <mutex>
#include <vector>

#include "metadata/records.h"

namespace concordfs {

class InodeLocks {
 public:
  static constexpr size_t kStripes = 1024;

  size_t StripeOf(InodeId id) const {
    // Multiplicative hash: consecutive ids land on different stripes.
    return static_cast<size_t>((id * 0x9E3779B97F4A7C15ULL) >> 54) % kStripes;
  }
  std::mutex& stripe(size_t i) { return stripes_[i]; }

  // Counted sections (see LockedSet): entered before the first stripe is
  // taken, left when the set is released.
  void Enter() { busy_.fetch_add(1); }
  void Leave() {
    if (busy_.fetch_sub(1) == 1 && idle_waiters_.load() > 0) {
      std::lock_guard<std::mutex> l(idle_mu_);
      idle_cv_.notify_all();
    }
  }
  // Waits until no counted section is open, or until `deadline`; true if
  // it saw none.
  bool WaitIdle(std::chrono::steady_clock::time_point deadline) {
    if (busy_.load() == 0) return true;
    idle_waiters_.fetch_add(1);
    std::unique_lock<std::mutex> l(idle_mu_);
    bool idle =
        idle_cv_.wait_until(l, deadline, [&] { return busy_.load() == 0; });
    idle_waiters_.fetch_sub(1);
    return idle;
  }

 private:
  std::array<std::mutex, kStripes> stripes_;
  std::atomic<int> busy_{0};
  std::atomic<int> idle_waiters_{0};
  std::mutex idle_mu_;  // only for idle_cv_
  std::condition_variable idle_cv_;
};

// Holds the stripes of a set of inodes; released on destruction. A counted
// set (the default) keeps a group commit waiting for its release (briefly):
// background work that must not delay commits passes `counted` false.
class LockedSet {
 public:
  LockedSet(InodeLocks* locks, std::initializer_list<InodeId> ids,
            bool counted = true)
      : LockedSet(locks, std::vector<InodeId>(ids), counted) {}
  LockedSet(InodeLocks* locks, std::vector<InodeId> ids, bool counted = true)
      : locks_(locks), counted_(counted) {
    if (counted_) locks_->Enter();
    Lock(std::move(ids));
  }
  ~LockedSet() { Release(); }
  // Drops every lock now (e.g. before waiting for a sync); idempotent.
  void Release() {
    Unlock();
    if (counted_) {
      counted_ = false;
      locks_->Leave();
    }
  }
  LockedSet(const LockedSet&) = delete;
  LockedSet& operator=(const LockedSet&) = delete;

  // True if the stripe of `id` is held.
  bool Holds(InodeId id) const {
    size_t s = locks_->StripeOf(id);
    return std::binary_search(held_.begin(), held_.end(), s);
  }
  // Re-locks so that `ids` are held as well (all locks are dropped and
  // retaken in order). Callers must re-validate what they read before.
  // Returns true if nothing had to be dropped.
  bool Extend(std::initializer_list<InodeId> ids) {
    std::vector<InodeId> all = ids_;
    bool missing = false;
    for (InodeId id : ids) {
      if (id == kInvalidInode) continue;
      all.push_back(id);
      if (!Holds(id)) missing = true;
    }
    if (!missing) return true;
    Unlock();
    Lock(std::move(all));
    return false;
  }

 private:
  void Lock(std::vector<InodeId> ids) {
    ids_ = std::move(ids);
    held_.clear();
    for (InodeId id : ids_) {
      if (id != kInvalidInode) held_.push_back(locks_->StripeOf(id));
    }
    std::sort(held_.begin(), held_.end());
    held_.erase(std::unique(held_.begin(), held_.end()), held_.end());
    for (size_t s : held_) locks_->stripe(s).lock();
  }
  void Unlock() {
    for (auto it = held_.rbegin(); it != held_.rend(); ++it) {
      locks_->stripe(*it).unlock();
    }
    held_.clear();
  }

  InodeLocks* locks_;
  bool counted_;  // inside InodeLocks' count until released
  std::vector<InodeId> ids_;
  std::vector<size_t> held_;  // sorted stripe indexes
};

}  // namespace concordfs
