// LockManager: waking waiters, cancelling, releasing, deadlock graph,
// persistence, restart and grace, listing and counters.
#include <algorithm>

#include "locking/conflict.h"
#include "locking/lock_manager.h"
#include "locking/lock_manager_internal.h"
#include "metrics/metrics.h"
#include "util/log.h"

namespace concordfs::locking {

using HeldLock = Lock;

// ---- wait-for graph ----

bool LockManager::Graph::AddIfNoCycle(uint64_t id, const Owner& owner,
                                      const std::vector<Owner>& blockers,
                                      size_t walk_limit) {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<const Owner*> stack;
  std::unordered_set<const Owner*> seen;
  for (const Owner& b : blockers) stack.push_back(&b);
  size_t steps = 0;
  while (!stack.empty() && steps++ < walk_limit) {
    const Owner* x = stack.back();
    stack.pop_back();
    if (*x == owner) return false;  // the holder waits, transitively, on us
    auto it = by_owner_.find(*x);
    if (it == by_owner_.end()) continue;
    for (uint64_t w : it->second) {
      for (const Owner& b : edges_[w].blockers) {
        if (seen.insert(&b).second) stack.push_back(&b);
      }
    }
  }
  edges_[id] = Edge{owner, blockers};
  by_owner_[owner].push_back(id);
  return true;
}

void LockManager::Graph::Update(uint64_t id, std::vector<Owner> blockers) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = edges_.find(id);
  if (it != edges_.end()) it->second.blockers = std::move(blockers);
}

void LockManager::Graph::Remove(uint64_t id) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = edges_.find(id);
  if (it == edges_.end()) return;
  auto o = by_owner_.find(it->second.owner);
  if (o != by_owner_.end()) {
    std::erase(o->second, id);
    if (o->second.empty()) by_owner_.erase(o);
  }
  edges_.erase(it);
}

// ---- persistence queue ----

uint64_t LockManager::PersistQueue::Enqueue(std::vector<PersistedLocks> c) {
  std::lock_guard<std::mutex> l(mu_);
  for (auto& x : c) pending_.push_back(std::move(x));
  return ++enqueued_;
}

Status LockManager::PersistQueue::FlushThrough(uint64_t seq) {
  std::unique_lock<std::mutex> l(mu_);
  while (written_ < seq) {
    if (flushing_) {
      cv_.wait(l);
      continue;
    }
    flushing_ = true;
    std::vector<PersistedLocks> batch = std::move(pending_);
    pending_.clear();
    uint64_t from = written_ + 1, to = enqueued_;
    l.unlock();
    Status st = store_->Save(batch);
    l.lock();
    if (!st.ok()) {
      CFS_LOG_ERROR("saving durable locks failed: {}", st.ToString());
      failures_.push_back(Failure{from, to, st});
      if (failures_.size() > 64) failures_.pop_front();
    }
    written_ = to;
    flushing_ = false;
    cv_.notify_all();
  }
  for (const Failure& f : failures_) {
    if (seq >= f.from && seq <= f.to) return f.status;
  }
  return Status::Ok();
}

void LockManager::SnapshotDurable(FileState& fs, FileId file, const Owner& o,
                                  Pending* p) {
  if (!opts_.store) return;
  PersistedLocks pl;
  pl.file = file;
  pl.owner = o;
  auto it = fs.by_owner.find(o);
  if (it != fs.by_owner.end()) {
    for (const auto& [first, id] : it->second) {
      HeldLock* l = fs.locks.Find(first, id);
      if (l && l->durable) pl.locks.push_back(*l);
    }
  }
  // Enqueued under the shard mutex, so snapshots of one (file, owner) are
  // written in the order they were taken.
  std::vector<PersistedLocks> one;
  one.push_back(std::move(pl));
  p->persist_seq = persist_->Enqueue(std::move(one));
}

Status LockManager::Finish(Pending* p) {
  Status st;
  if (p->persist_seq != 0) st = persist_->FlushThrough(p->persist_seq);
  for (auto& c : p->callbacks) {
    if (!st.ok() && c.undo) {
      // Not saved, so not granted: the owner's locks go back as they were.
      RestoreOwner(c.undo->file, c.undo->owner, c.undo->before);
      no_resources_++;
      c.status = LockStatus::kNoResources;
    }
    c.cb(c.status);
  }
  return st;
}

// ---- waking, cancelling, releasing ----

void LockManager::WakeLocked(Shard& s, FileId file, FileState& fs, Pending* p) {
  std::vector<HeldLock> ahead;  // wants of waiters that stay blocked
  // In strict grace every waiter (a local F_SETLKW: remote ones are
  // refused) waits for its end; EndGrace wakes them.
  if (strict_grace_ && grace_active_) return;
  for (auto it = fs.waiters.begin(); it != fs.waiters.end();) {
    Waiter& w = *it;
    HeldLock want;
    want.owner = w.req.owner;
    want.flavor = w.req.flavor;
    want.mode = w.req.mode;
    want.range = w.req.flavor == Flavor::kFlock ? Range::All() : w.req.range;
    bool blocked = std::any_of(ahead.begin(), ahead.end(), [&](const auto& a) {
      return Conflicts(a, want) || Conflicts(want, a);
    });
    std::vector<Owner> blockers;
    if (!blocked) {
      blockers = BlockersLocked(fs, want);
      blocked = !blockers.empty();
    }
    if (blocked) {
      if (!blockers.empty()) graph_->Update(w.id, blockers);
      ahead.push_back(want);
      ++it;
      continue;
    }
    std::optional<Pending::Undo> undo;
    if (w.req.durable) {
      undo = Pending::Undo{w.req.file, w.req.owner,
                           OwnerLocksLocked(fs, w.req.owner)};
    }
    LockStatus st = ApplyLocked(s, fs, w.req, p);
    if (st == LockStatus::kGranted) {
      s.grants++;
      metrics::ObserveLockWait(static_cast<uint64_t>(
          std::max<NanoTime>(0, clock_->Now() - w.since)));
    }
    graph_->Remove(w.id);
    s.waiter_files.erase(w.id);
    s.waiting--;
    if (st != LockStatus::kGranted) undo.reset();
    p->callbacks.push_back({std::move(w.cb), st, std::move(undo)});
    it = fs.waiters.erase(it);
  }
  (void)file;
}

bool LockManager::Cancel(uint64_t waiter_id) {
  Shard& s = *shards_[waiter_id % shards_.size()];
  Pending p;
  {
    std::lock_guard<std::mutex> l(s.mu);
    auto wf = s.waiter_files.find(waiter_id);
    if (wf == s.waiter_files.end()) return false;
    FileId file = wf->second;
    FileState& fs = s.files[file];
    for (auto it = fs.waiters.begin(); it != fs.waiters.end(); ++it) {
      if (it->id != waiter_id) continue;
      p.callbacks.push_back({std::move(it->cb), LockStatus::kCancelled, {}});
      fs.waiters.erase(it);
      break;
    }
    graph_->Remove(waiter_id);
    s.waiter_files.erase(wf);
    s.waiting--;
    cancels_++;
    // Waiters behind the cancelled one may now go ahead.
    WakeLocked(s, file, fs, &p);
    if (fs.idle()) s.files.erase(file);
  }
  (void)Finish(&p);
  return true;
}

bool LockManager::CancelMatching(const LockRequest& req) {
  uint64_t id = 0;
  {
    Shard& s = ShardOf(req.file);
    std::lock_guard<std::mutex> l(s.mu);
    auto it = s.files.find(req.file);
    if (it == s.files.end()) return false;
    for (const Waiter& w : it->second.waiters) {
      if (w.req.owner == req.owner && w.req.flavor == req.flavor &&
          w.req.mode == req.mode && w.req.range == req.range) {
        id = w.id;
        break;
      }
    }
  }
  return id != 0 && Cancel(id);
}

static bool Matches(const ReleaseFilter& f, const Owner& o, Flavor fl) {
  return o.protocol == f.protocol && (!f.client || *f.client == o.client) &&
         (!f.owner || *f.owner == o.owner) && (!f.open || *f.open == o.open) &&
         (!f.flavor || *f.flavor == fl);
}

size_t LockManager::ReleaseLocked(Shard& s, FileId file, FileState& fs,
                                  const ReleaseFilter& f, Pending* p) {
  size_t dropped = 0;
  for (auto it = fs.waiters.begin(); it != fs.waiters.end();) {
    if (!Matches(f, it->req.owner, it->req.flavor)) {
      ++it;
      continue;
    }
    graph_->Remove(it->id);
    s.waiter_files.erase(it->id);
    s.waiting--;
    cancels_++;
    p->callbacks.push_back({std::move(it->cb), LockStatus::kCancelled, {}});
    it = fs.waiters.erase(it);
  }
  std::vector<Owner> owners;
  for (const auto& [o, set] : fs.by_owner) {
    if (o.protocol == f.protocol) owners.push_back(o);
  }
  for (const Owner& o : owners) {
    auto set = fs.by_owner[o];  // copy: RemoveLocked edits it
    bool durable = false;
    for (const auto& [first, id] : set) {
      HeldLock* l = fs.locks.Find(first, id);
      if (!l || !Matches(f, o, l->flavor)) continue;
      durable |= l->durable;
      RemoveLocked(s, fs, first, id, *l);
      ++dropped;
    }
    if (durable) SnapshotDurable(fs, file, o, p);
  }
  if (fs.by_owner.empty()) fs.by_owner.clear();
  WakeLocked(s, file, fs, p);
  return dropped;
}

size_t LockManager::Release(const ReleaseFilter& f) {
  size_t dropped = 0;
  Pending p;
  auto visit = [&](Shard& s, std::vector<FileId> files) {
    for (FileId file : files) {
      auto it = s.files.find(file);
      if (it == s.files.end()) continue;
      dropped += ReleaseLocked(s, file, it->second, f, &p);
      if (it->second.idle()) s.files.erase(it);
    }
  };
  if (f.file) {
    Shard& s = ShardOf(*f.file);
    std::lock_guard<std::mutex> l(s.mu);
    visit(s, {*f.file});
  } else {
    for (auto& sp : shards_) {
      std::lock_guard<std::mutex> l(sp->mu);
      std::vector<FileId> files;
      for (const auto& [id, fs] : sp->files) files.push_back(id);
      visit(*sp, std::move(files));
    }
  }
  (void)Finish(&p);
  return dropped;
}

// ---- restart and grace ----

Status LockManager::Start() {
  if (!opts_.store) return Status::Ok();
  CFS_ASSIGN_OR_RETURN(epoch_, opts_.store->NextEpoch());
  std::vector<PersistedLocks> all;
  CFS_RETURN_IF_ERROR(opts_.store->LoadAll(&all));
  int64_t restored = 0;
  for (const PersistedLocks& pl : all) {
    Shard& s = ShardOf(pl.file);
    std::lock_guard<std::mutex> l(s.mu);
    FileState& fs = s.files[pl.file];
    for (HeldLock lock : pl.locks) {
      lock.owner = pl.owner;
      lock.restored = true;
      lock.durable = true;
      lock.since = clock_->Now();
      uint64_t id = s.next_lock_id++;
      fs.by_owner[lock.owner].insert({lock.range.first, id});
      AccountLocked(s, lock.owner, lock, +1);
      fs.locks.Insert(lock.range.first, lock.range.last, id, lock);
      ++restored;
    }
  }
  strict_reason_ = opts_.store->StrictGraceReason();
  strict_grace_ = !strict_reason_.empty();
  if (restored > 0 || strict_grace_) {
    grace_end_ = clock_->Now() + opts_.grace_period;
    grace_active_ = true;
  }
  if (strict_grace_) {
    CFS_LOG_WARN(
        "restored {} durable locks; STRICT grace period of {} s begins: {}; "
        "every new lock is refused until it ends (reclaims only)",
        restored, opts_.grace_period / kNanosPerSecond, strict_reason_);
  } else if (restored > 0) {
    CFS_LOG_INFO("restored {} durable locks; grace period of {} s begins",
                 restored, opts_.grace_period / kNanosPerSecond);
  }
  return Status::Ok();
}

void LockManager::ReclaimLocked(FileState& fs, const HeldLock& want) {
  auto it = fs.by_owner.find(want.owner);
  if (it == fs.by_owner.end()) return;
  for (const auto& [first, id] : it->second) {
    HeldLock* l = fs.locks.Find(first, id);
    if (l && l->restored && Overlaps(l->range, want.range)) {
      l->restored = false;
      unreclaimed_.fetch_sub(1);
    }
  }
}

std::vector<HeldLock> LockManager::OwnerLocksLocked(FileState& fs,
                                                    const Owner& o) {
  std::vector<HeldLock> out;
  auto it = fs.by_owner.find(o);
  if (it == fs.by_owner.end()) return out;
  for (const auto& [first, id] : it->second) {
    if (HeldLock* l = fs.locks.Find(first, id)) out.push_back(*l);
  }
  return out;
}

void LockManager::RestoreOwner(FileId file, const Owner& o,
                               const std::vector<HeldLock>& before) {
  Pending p;
  {
    Shard& s = ShardOf(file);
    std::lock_guard<std::mutex> l(s.mu);
    FileState& fs = s.files[file];
    auto it = fs.by_owner.find(o);
    if (it != fs.by_owner.end()) {
      auto set = it->second;  // copy: RemoveLocked edits it
      for (const auto& [first, id] : set) {
        if (HeldLock* h = fs.locks.Find(first, id)) {
          RemoveLocked(s, fs, first, id, *h);
        }
      }
    }
    for (const HeldLock& h : before) {
      uint64_t id = s.next_lock_id++;
      fs.by_owner[o].insert({h.range.first, id});
      AccountLocked(s, o, h, +1);
      fs.locks.Insert(h.range.first, h.range.last, id, h);
    }
    WakeLocked(s, file, fs, &p);
    if (fs.idle()) s.files.erase(file);
  }
  for (auto& c : p.callbacks) c.cb(c.status);
}

void LockManager::MaybeEndGrace() {
  if (!grace_active_.load(std::memory_order_relaxed)) return;
  // Strict grace never ends early: a lock whose record was lost is not
  // counted as unreclaimed, so "all reclaimed" proves nothing.
  if ((!strict_grace_ && unreclaimed_.load() <= 0) ||
      clock_->Now() >= grace_end_.load()) {
    EndGrace();
  }
}

bool LockManager::InGrace() {
  MaybeEndGrace();
  return grace_active_.load();
}

void LockManager::EndGrace() {
  if (!grace_active_.exchange(false)) return;
  Pending p;
  size_t dropped = 0;
  for (auto& sp : shards_) {
    Shard& s = *sp;
    std::lock_guard<std::mutex> l(s.mu);
    for (auto it = s.files.begin(); it != s.files.end();) {
      FileState& fs = it->second;
      std::vector<std::tuple<uint64_t, uint64_t, HeldLock>> gone;
      fs.locks.ForEach([&](uint64_t f, uint64_t, uint64_t id, HeldLock& h) {
        if (h.restored) gone.emplace_back(f, id, h);
      });
      for (auto& [f, id, h] : gone) {
        RemoveLocked(s, fs, f, id, h);
        SnapshotDurable(fs, it->first, h.owner, &p);
        ++dropped;
      }
      // Waiters of strict grace wait for its end, blocked or not.
      if (!gone.empty() || !fs.waiters.empty()) {
        WakeLocked(s, it->first, fs, &p);
      }
      it = fs.idle() ? s.files.erase(it) : std::next(it);
    }
  }
  if (dropped > 0)
    CFS_LOG_INFO("grace ended; {} unreclaimed locks dropped", dropped);
  (void)Finish(&p);
}

// ---- listing and counters ----

void LockManager::List(std::vector<LockInfo>* locks,
                       std::vector<WaiterInfo>* waiters) {
  if (locks) locks->clear();
  if (waiters) waiters->clear();
  for (auto& sp : shards_) {
    std::lock_guard<std::mutex> l(sp->mu);
    for (auto& [file_id, fs] : sp->files) {
      const FileId file = file_id;  // a binding cannot be captured (clang 14)
      if (locks) {
        fs.locks.ForEach([&](uint64_t, uint64_t, uint64_t, HeldLock& h) {
          locks->push_back(LockInfo{file, h});
        });
      }
      if (!waiters) continue;
      for (const Waiter& w : fs.waiters) {
        WaiterInfo wi;
        wi.file = file;
        wi.id = w.id;
        wi.wanted.owner = w.req.owner;
        wi.wanted.flavor = w.req.flavor;
        wi.wanted.mode = w.req.mode;
        wi.wanted.range = w.req.range;
        wi.wanted.pid = w.req.pid;
        wi.wanted.since = w.since;
        waiters->push_back(wi);
      }
    }
  }
}

LockCounters LockManager::Counters() {
  LockCounters c;
  for (auto& sp : shards_) {
    std::lock_guard<std::mutex> l(sp->mu);
    for (int p = 0; p < 4; ++p) {
      for (int f = 0; f < 3; ++f) c.held[p][f] += sp->held[p][f];
    }
    c.waiters += sp->waiting;
    c.grants += sp->grants;
    c.denials += sp->denials;
  }
  c.deadlocks = deadlocks_;
  c.grace_denials = grace_denials_;
  c.cancels = cancels_;
  c.no_resources = no_resources_;
  c.in_grace = grace_active_;
  c.strict_grace = c.in_grace && strict_grace_;
  c.unreclaimed = static_cast<uint64_t>(std::max<int64_t>(0, unreclaimed_));
  return c;
}

}  // namespace concordfs::locking
