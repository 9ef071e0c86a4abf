// LockManager: requests, grants, unlocks and the POSIX / flock / Windows
// application rules. Waking, releasing, grace, persistence and listing are in
// lock_manager_support.cc.
#include "locking/lock_manager.h"

#include "locking/conflict.h"
#include "locking/lock_manager_internal.h"

namespace concordfs::locking {

using HeldLock = Lock;

namespace {

constexpr int64_t kQuotaChunk = 256;

bool IsRemote(Protocol p) { return p == Protocol::kNlm || p == Protocol::kSmb; }

HeldLock WantOf(const LockRequest& r, NanoTime now) {
  HeldLock l;
  l.owner = r.owner;
  l.flavor = r.flavor;
  l.mode = r.mode;
  l.range = r.flavor == Flavor::kFlock ? Range::All() : r.range;
  l.pid = r.pid;
  l.durable = r.durable;
  l.since = now;
  return l;
}

bool ValidRange(const Range& r) { return r.zero_length || r.first <= r.last; }

}  // namespace

LockManager::LockManager(LockManagerOptions opts)
    : opts_(opts),
      clock_(opts.clock ? opts.clock : Clock::Default()),
      graph_(std::make_unique<Graph>()),
      persist_(std::make_unique<PersistQueue>(opts.store)) {
  if (opts_.shards == 0) opts_.shards = 1;
  // Small totals are enforced exactly (chunk 1); large ones cheaply.
  quota_chunk_ = std::clamp<int64_t>(
      static_cast<int64_t>(opts_.limits.total / (4 * opts_.shards)), 1,
      kQuotaChunk);
  for (size_t i = 0; i < opts_.shards; ++i) {
    shards_.push_back(std::make_unique<Shard>());
  }
}

LockManager::~LockManager() = default;

size_t LockManager::ShardIndex(FileId f) const {
  return (f * 0x9E3779B97F4A7C15ULL >> 32) % shards_.size();
}

LockManager::Shard& LockManager::ShardOf(FileId f) {
  return *shards_[ShardIndex(f)];
}

// ---- accounting and limits ----

bool LockManager::ReserveLocked(Shard& s, const Owner& o, FileState& fs,
                                int64_t delta) {
  if (delta <= 0) return true;
  if (fs.locks.size() + delta > opts_.limits.per_file) return false;
  if (IsRemote(o.protocol)) {
    std::lock_guard<std::mutex> l(client_mu_);
    auto it = client_counts_.find({o.protocol, o.client});
    int64_t have = it == client_counts_.end() ? 0 : it->second;
    if (have + delta > static_cast<int64_t>(opts_.limits.per_client)) {
      return false;
    }
  }
  int64_t need = s.used + delta - s.reserved;
  if (need <= 0) return true;
  const int64_t limit = static_cast<int64_t>(opts_.limits.total);
  // Take a chunk when there is room for it, else exactly what is needed.
  for (int64_t grab : {std::max(need, quota_chunk_), need}) {
    if (total_reserved_.fetch_add(grab) + grab <= limit) {
      s.reserved += grab;
      return true;
    }
    total_reserved_.fetch_sub(grab);
  }
  return false;
}

void LockManager::AccountLocked(Shard& s, const Owner& o, const HeldLock& l,
                                int64_t delta) {
  s.used += delta;
  s.held[static_cast<int>(o.protocol) - 1][static_cast<int>(l.flavor) - 1] +=
      delta;
  if (l.restored) unreclaimed_.fetch_add(delta);
  if (IsRemote(o.protocol)) {
    std::lock_guard<std::mutex> g(client_mu_);
    auto key = std::make_pair(o.protocol, o.client);
    if ((client_counts_[key] += delta) == 0) client_counts_.erase(key);
  }
  // Keep at most half a chunk of unused quota, so other shards can use it.
  int64_t spare = s.reserved - std::max<int64_t>(s.used, 0);
  if (spare > quota_chunk_ / 2) {
    int64_t give = spare - quota_chunk_ / 2;
    s.reserved -= give;
    total_reserved_.fetch_sub(give);
  }
}

// ---- inserting and removing single locks ----

void LockManager::RemoveLocked(Shard& s, FileState& fs, uint64_t first,
                               uint64_t id, const HeldLock& l) {
  HeldLock copy = l;  // `l` may live in the index
  auto it = fs.by_owner.find(copy.owner);
  if (it != fs.by_owner.end()) {
    it->second.erase({first, id});
    if (it->second.empty()) fs.by_owner.erase(it);
  }
  fs.locks.Erase(first, id);
  AccountLocked(s, copy.owner, copy, -1);
}

namespace {

// Inserts `l` into `fs` (the caller has reserved room).
void InsertLock(LockManager::Shard& s, LockManager::FileState& fs, HeldLock l) {
  uint64_t id = s.next_lock_id++;
  fs.by_owner[l.owner].insert({l.range.first, id});
  uint64_t first = l.range.first, last = l.range.last;
  fs.locks.Insert(first, last, id, std::move(l));
}

}  // namespace

// ---- applying a grantable request ----

// The first held lock that forbids `want`, if any.
static const HeldLock* FirstConflict(LockManager::FileState& fs,
                                     const HeldLock& want) {
  const HeldLock* found = nullptr;
  fs.locks.Query(want.range.first, want.range.last,
                 [&](uint64_t, uint64_t, uint64_t, HeldLock& h) {
                   if (!Conflicts(h, want)) return true;
                   found = &h;
                   return false;
                 });
  return found;
}

LockStatus LockManager::ApplyLocked(Shard& s, FileState& fs,
                                    const LockRequest& req, Pending* p) {
  HeldLock want = WantOf(req, clock_->Now());
  if (want.flavor == Flavor::kWindows) {
    if (!ReserveLocked(s, want.owner, fs, 1)) return LockStatus::kNoResources;
    Owner o = want.owner;
    InsertLock(s, fs, want);
    AccountLocked(s, o, want, +1);
    if (want.durable) SnapshotDurable(fs, req.file, o, p);
    return LockStatus::kGranted;
  }
  return ApplyPosixLocked(s, fs, req.file, want, /*unlock=*/false, p);
}

LockStatus LockManager::ApplyPosixLocked(Shard& s, FileState& fs, FileId file,
                                         const HeldLock& want, bool unlock,
                                         Pending* p) {
  const Range& r = want.range;
  uint64_t lo = r.first > 0 ? r.first - 1 : 0;
  uint64_t hi = r.last < kToEof ? r.last + 1 : kToEof;
  struct Touched {
    uint64_t first, id;
    HeldLock lock;
  };
  std::vector<Touched> removed;
  std::vector<HeldLock> remnants;
  Range merged = r;
  bool durable_change = want.durable;
  // With `merge`, same-mode locks of the owner that touch r join the new
  // lock (Linux); without, they are trimmed like other-mode locks.
  auto plan = [&](bool merge) {
    removed.clear();
    remnants.clear();
    merged = r;
    durable_change = want.durable;
    auto owner_it = fs.by_owner.find(want.owner);
    if (owner_it == fs.by_owner.end()) return;
    auto& set = owner_it->second;
    auto it = set.lower_bound({lo, 0});
    if (it != set.begin()) --it;  // the lock starting before may reach in
    for (; it != set.end() && it->first <= hi; ++it) {
      HeldLock* l = fs.locks.Find(it->first, it->second);
      if (!l || l->flavor != want.flavor || l->range.last < lo) continue;
      bool overlaps = l->range.first <= r.last && r.first <= l->range.last;
      if (merge && !unlock && l->mode == want.mode) {
        merged.first = std::min(merged.first, l->range.first);
        merged.last = std::max(merged.last, l->range.last);
      } else if (!overlaps) {
        continue;  // an adjacent lock that does not merge stays as it is
      } else {
        if (l->range.first < r.first) {
          HeldLock left = *l;
          left.range = Range{l->range.first, r.first - 1, false};
          remnants.push_back(left);
        }
        if (l->range.last > r.last) {
          HeldLock right = *l;
          right.range = Range{r.last + 1, l->range.last, false};
          remnants.push_back(right);
        }
      }
      durable_change |= l->durable;
      removed.push_back({it->first, it->second, *l});
    }
  };
  plan(true);
  if (!unlock && !(merged == r)) {
    // A merged range can newly "contain" another owner's zero-byte lock
    // (Windows rule); then the pieces are kept apart instead.
    HeldLock m = want;
    m.range = merged;
    if (FirstConflict(fs, m)) plan(false);
  }
  int64_t delta = static_cast<int64_t>(remnants.size()) + (unlock ? 0 : 1) -
                  static_cast<int64_t>(removed.size());
  if (!ReserveLocked(s, want.owner, fs, delta)) return LockStatus::kNoResources;
  for (const Touched& t : removed) RemoveLocked(s, fs, t.first, t.id, t.lock);
  for (HeldLock& l : remnants) {
    InsertLock(s, fs, l);
    AccountLocked(s, l.owner, l, +1);
  }
  if (!unlock) {
    HeldLock l = want;
    l.range = merged;
    InsertLock(s, fs, l);
    AccountLocked(s, l.owner, l, +1);
  }
  if (durable_change) SnapshotDurable(fs, file, want.owner, p);
  return LockStatus::kGranted;
}

// ---- the public operations ----

LockResult LockManager::Test(const LockRequest& req) {
  MaybeEndGrace();
  if (!ValidRange(req.range)) return {LockStatus::kInvalidRange, {}, 0};
  HeldLock want = WantOf(req, 0);
  Shard& s = ShardOf(req.file);
  std::lock_guard<std::mutex> l(s.mu);
  auto it = s.files.find(req.file);
  if (it == s.files.end()) return {};
  const HeldLock* c = FirstConflict(it->second, want);
  if (!c) return {};
  return {LockStatus::kConflict, *c, 0};
}

LockResult LockManager::Lock(const LockRequest& req, GrantCallback on_grant) {
  MaybeEndGrace();
  if (!ValidRange(req.range)) return {LockStatus::kInvalidRange, {}, 0};
  Pending p;
  LockResult r;
  {
    Shard& s = ShardOf(req.file);
    std::lock_guard<std::mutex> l(s.mu);
    r = LockLocked(s, req, std::move(on_grant), &p);
  }
  Status st = Finish(&p);
  if (r.status == LockStatus::kGranted && !st.ok() && p.undo) {
    // Not durable, so not granted: the owner's locks go back as they were.
    RestoreOwner(p.undo->file, p.undo->owner, p.undo->before);
    no_resources_++;
    return {LockStatus::kNoResources, {}, 0};
  }
  if (r.status == LockStatus::kGranted && grace_active_) MaybeEndGrace();
  return r;
}

LockResult LockManager::LockLocked(Shard& s, const LockRequest& req,
                                   GrantCallback cb, Pending* p) {
  FileState& fs = s.files[req.file];
  HeldLock want = WantOf(req, clock_->Now());
  if (req.reclaim) ReclaimLocked(fs, want);
  const bool refuse = !cb || req.owner.protocol != Protocol::kLocal;
  if (strict_grace_ && grace_active_ && !req.reclaim) {
    // Strict grace: a lock whose record was lost may still be reclaimed
    // anywhere, so nothing new is granted; a local F_SETLKW waits for the
    // end of grace (EndGrace wakes it), queued like any waiter.
    const HeldLock* c = FirstConflict(fs, want);
    if (refuse) {
      grace_denials_++;
      std::optional<HeldLock> holder;
      if (c) holder = *c;
      if (fs.idle()) s.files.erase(req.file);
      return {LockStatus::kGrace, std::move(holder), 0};
    }
    LockResult r = QueueLocked(s, fs, req, std::move(cb), c ? *c : want);
    if (!c) r.holder.reset();
    return r;
  }
  if (want.flavor == Flavor::kFlock) {
    // Linux flock: same mode is a no-op; a conversion drops the old lock
    // first, even if the new one then has to wait or fails.
    auto it = fs.by_owner.find(want.owner);
    if (it != fs.by_owner.end()) {
      auto [first, id] = *it->second.begin();
      HeldLock* old = fs.locks.Find(first, id);
      if (old && old->flavor == Flavor::kFlock) {
        if (old->mode == want.mode) return {};
        if (FirstConflict(fs, want)) {
          bool durable = old->durable;
          RemoveLocked(s, fs, first, id, *old);
          if (durable) SnapshotDurable(fs, req.file, want.owner, p);
          WakeLocked(s, req.file, fs, p);
        }
      }
    }
  }
  const HeldLock* c = FirstConflict(fs, want);
  // During grace a request blocked by a restored lock is refused, also a
  // blocking one from a remote client (it must not queue behind a lock its
  // owner is about to reclaim); a local F_SETLKW waits instead.
  if (c && grace_active_ && !req.reclaim && c->restored && refuse) {
    grace_denials_++;
    return {LockStatus::kGrace, *c, 0};
  }
  if (c && grace_active_ && !req.reclaim && refuse) {
    // Any restored lock in the way also means "grace", not "conflict".
    bool restored = false;
    fs.locks.Query(want.range.first, want.range.last,
                   [&](uint64_t, uint64_t, uint64_t, HeldLock& h) {
                     restored = h.restored && Conflicts(h, want);
                     return !restored;
                   });
    if (restored) {
      grace_denials_++;
      return {LockStatus::kGrace, *c, 0};
    }
  }
  if (c) {
    HeldLock holder = *c;
    if (!cb) {
      s.denials++;
      if (fs.idle()) s.files.erase(req.file);
      return {LockStatus::kConflict, holder, 0};
    }
    return QueueLocked(s, fs, req, std::move(cb), holder);
  }
  if (req.durable) {
    p->undo =
        Pending::Undo{req.file, req.owner, OwnerLocksLocked(fs, req.owner)};
  }
  LockStatus st = ApplyLocked(s, fs, req, p);
  if (st != LockStatus::kGranted) {
    no_resources_++;
    if (fs.idle()) s.files.erase(req.file);
    return {st, {}, 0};
  }
  s.grants++;
  // A downgrade or a trimmed lock may let waiters in (as in Linux).
  if (!fs.waiters.empty()) WakeLocked(s, req.file, fs, p);
  return {};
}

LockResult LockManager::QueueLocked(Shard& s, FileState& fs,
                                    const LockRequest& req, GrantCallback cb,
                                    const HeldLock& holder) {
  HeldLock want = WantOf(req, clock_->Now());
  std::vector<Owner> blockers = BlockersLocked(fs, want);
  for (const Owner& b : blockers) {
    if (b == want.owner) {  // a Windows open waiting on itself
      deadlocks_++;
      return {LockStatus::kDeadlock, holder, 0};
    }
  }
  uint64_t id = next_id_.fetch_add(1) * shards_.size() + ShardIndex(req.file);
  if (!graph_->AddIfNoCycle(id, want.owner, blockers,
                            opts_.deadlock_walk_limit)) {
    deadlocks_++;
    return {LockStatus::kDeadlock, holder, 0};
  }
  fs.waiters.push_back(Waiter{id, req, std::move(cb), want.since});
  s.waiter_files[id] = req.file;
  s.waiting++;
  return {LockStatus::kQueued, holder, id};
}

std::vector<Owner> LockManager::BlockersLocked(FileState& fs,
                                               const HeldLock& want) {
  std::vector<Owner> out;
  fs.locks.Query(want.range.first, want.range.last,
                 [&](uint64_t, uint64_t, uint64_t, HeldLock& h) {
                   if (Conflicts(h, want) && std::find(out.begin(), out.end(),
                                                       h.owner) == out.end()) {
                     out.push_back(h.owner);
                   }
                   return true;
                 });
  return out;
}

LockStatus LockManager::Unlock(const LockRequest& req) {
  if (!ValidRange(req.range)) return LockStatus::kInvalidRange;
  Pending p;
  LockStatus result = LockStatus::kGranted;
  {
    Shard& s = ShardOf(req.file);
    std::lock_guard<std::mutex> l(s.mu);
    auto it = s.files.find(req.file);
    if (it == s.files.end()) {
      return req.flavor == Flavor::kWindows ? LockStatus::kNotFound
                                            : LockStatus::kGranted;
    }
    FileState& fs = it->second;
    if (req.flavor == Flavor::kWindows) {
      result = UnlockWindowsLocked(s, fs, req, &p);
    } else {
      HeldLock want = WantOf(req, 0);
      result = ApplyPosixLocked(s, fs, req.file, want, /*unlock=*/true, &p);
    }
    WakeLocked(s, req.file, fs, &p);
    if (fs.idle()) s.files.erase(it);
  }
  (void)Finish(&p);  // an unlock is not refused for a failed save
  return result;
}

LockStatus LockManager::UnlockWindowsLocked(Shard& s, FileState& fs,
                                            const LockRequest& req,
                                            Pending* p) {
  auto it = fs.by_owner.find(req.owner);
  if (it == fs.by_owner.end()) return LockStatus::kNotFound;
  // Stacked identical locks: an exclusive one goes first.
  std::pair<uint64_t, uint64_t> best{0, 0};
  bool found = false, best_excl = false;
  for (auto k = it->second.lower_bound({req.range.first, 0});
       k != it->second.end() && k->first == req.range.first; ++k) {
    HeldLock* l = fs.locks.Find(k->first, k->second);
    if (!l || l->flavor != Flavor::kWindows || !(l->range == req.range)) {
      continue;
    }
    bool excl = l->mode == LockMode::kExclusive;
    if (!found || (excl && !best_excl)) {
      best = *k;
      found = true;
      best_excl = excl;
    }
  }
  if (!found) return LockStatus::kNotFound;
  HeldLock* l = fs.locks.Find(best.first, best.second);
  bool durable = l->durable;
  RemoveLocked(s, fs, best.first, best.second, *l);
  if (durable) SnapshotDurable(fs, req.file, req.owner, p);
  return LockStatus::kGranted;
}

std::optional<HeldLock> LockManager::CheckIo(FileId file, const Owner& owner,
                                             const Range& range, bool write) {
  Shard& s = ShardOf(file);
  std::lock_guard<std::mutex> l(s.mu);
  auto it = s.files.find(file);
  if (it == s.files.end()) return std::nullopt;
  std::optional<HeldLock> found;
  it->second.locks.Query(range.first, range.last,
                         [&](uint64_t, uint64_t, uint64_t, HeldLock& h) {
                           if (!BlocksIo(h, owner, range, write)) return true;
                           found = h;
                           return false;
                         });
  return found;
}

}  // namespace concordfs::locking
