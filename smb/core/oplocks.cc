#include "smb/core/oplocks.h"

#include <algorithm>
#include <atomic>
#include <memory>

#include "smb/info/nt_status.h"

namespace concordfs::smb {
namespace {

constexpr uint32_t kR = kLeaseRead;
constexpr uint32_t kH = kLeaseHandle;
constexpr uint32_t kW = kLeaseWrite;

uint32_t OplockBits(uint8_t level) {
  switch (level) {
    case kOplockLevelII:
      return kR;
    case kOplockExclusive:
      return kR | kW;
    case kOplockBatch:
      return kR | kW | kH;
    default:
      return 0;
  }
}

uint8_t OplockLevelOf(uint32_t bits) {
  if (bits == (kR | kW | kH)) return kOplockBatch;
  if (bits == (kR | kW)) return kOplockExclusive;
  if (bits == kR) return kOplockLevelII;
  return kOplockNone;
}

// Calls `done` when the last of `n` breaks completes.
struct Join {
  std::atomic<int> n{0};
  std::function<void()> done;
};

}  // namespace

bool IsOplockStatOpen(uint32_t access) {
  // SYNCHRONIZE, FILE_READ_ATTRIBUTES, FILE_WRITE_ATTRIBUTES.
  return (access & ~(0x00100000u | 0x80u | 0x100u)) == 0;
}

bool IsLeaseStatOpen(uint32_t access) {
  return IsOplockStatOpen(access & ~0x00020000u);  // and READ_CONTROL
}

void OplockTable::Actions::Run() {
  for (auto& [send, notice] : notices) {
    if (send) send(notice);
  }
  for (auto& fn : done) fn();
}

OplockTable::OplockTable(std::chrono::milliseconds break_timeout,
                         locking::CacheBreaks* hub)
    : break_timeout_(break_timeout), hub_(hub) {
  timer_ = std::thread([this] { TimerLoop(); });
}

OplockTable::~OplockTable() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  timer_cv_.notify_all();
  timer_.join();
}

OplockTable::Holder* OplockTable::FindHolder(File& f, uint64_t holder_id) {
  for (Holder& h : f.holders) {
    if (h.id == holder_id) return &h;
  }
  return nullptr;
}

OplockTable::OpenRec* OplockTable::FindOpen(File& f, uint64_t open_id) {
  for (OpenRec& o : f.opens) {
    if (o.open_id == open_id) return &o;
  }
  return nullptr;
}

void OplockTable::SendBreakLocked(File& f, Holder& h, Actions* a) {
  if (h.opens.empty()) return;
  OpenRec* o = FindOpen(f, h.opens.front());
  if (!o) return;
  BreakNotice n;
  n.session_id = o->session_id;
  if (h.is_lease) {
    n.lease = true;
    n.lease_key = h.lease_key;
    n.current = h.state;
    n.new_state = h.break_to;
    n.epoch = h.version >= 2 ? h.epoch : 0;
    n.ack_required = h.breaking;
  } else {
    n.persistent = o->persistent;
    n.volatile_id = o->open_id;
    n.oplock_level = h.break_to & kR ? kOplockLevelII : kOplockNone;
  }
  a->notices.emplace_back(o->sender, std::move(n));
}

uint32_t OplockTable::NormalizeTarget(const Holder& h, uint32_t target) {
  target &= h.state;
  // An oplock can only go to level II or none; a lease without read
  // caching keeps nothing.
  if (target != h.state && !(target & kR)) target = 0;
  if (!h.is_lease && target != h.state) target = (target & kR) ? kR : 0;
  return target;
}

bool OplockTable::StartBreakLocked(File& f, Holder& h, uint32_t target,
                                   Actions* a, bool chained) {
  bool ack = h.is_lease ? (h.state & (kW | kH)) != 0 : (h.state & kW) != 0;
  // A break that continues an acknowledged one keeps its epoch.
  if (h.is_lease && h.version >= 2 && !chained) ++h.epoch;
  h.break_to = target;
  if (!ack) {
    SendBreakLocked(f, h, a);
    h.state = target;
    return false;
  }
  h.breaking = true;
  h.deadline = std::chrono::steady_clock::now() + break_timeout_;
  SendBreakLocked(f, h, a);
  timer_cv_.notify_all();
  return true;
}

bool OplockTable::BreakLocked(File& f, Holder& h, uint32_t target,
                              std::function<void()>* waiter, Actions* a) {
  // Already compatible (even while a break for someone else is out).
  if ((h.state & ~target) == 0) return false;
  target = NormalizeTarget(h, target);
  if (target == h.state) return false;
  std::function<void()> done =
      waiter && *waiter ? std::move(*waiter) : std::function<void()>();
  if (h.breaking) {
    // No second notification while one is out: this request's needs are
    // met by the break that follows the acknowledgement.
    h.queue.push_back({target, std::move(done)});
    return true;
  }
  if (!StartBreakLocked(f, h, target, a)) return false;
  h.queue.push_back({target, std::move(done)});
  return true;
}

void OplockTable::FinishBreakLocked(File& f, Holder& h, uint32_t state,
                                    Actions* a) {
  h.state = state;
  h.breaking = false;
  // What every waiting request together needs; while that is not reached
  // the holder stays in its break and they all wait (Windows releases the
  // opens behind a break when the whole break is over).
  uint32_t want = h.state;
  for (const Pending& p : h.queue) want &= p.target;
  uint32_t target = NormalizeTarget(h, want);
  if (target != h.state) {
    // A break that follows an acknowledgement takes handle caching first
    // and read caching in a break of its own: RH -> R, then R -> none.
    if (h.is_lease && (h.state & kH) && (h.state & kR) && !(target & kR)) {
      target = kR;
    }
    if (StartBreakLocked(f, h, target, a, /*chained=*/true)) return;
    // Sent without an acknowledgement needed: already at `target`.
    if (h.state & ~want) return FinishBreakLocked(f, h, h.state, a);
  }
  for (Pending& p : h.queue) {
    if (p.done) a->done.push_back(std::move(p.done));
  }
  h.queue.clear();
}

bool OplockTable::BreakAllLocked(uint64_t file, const std::string& except_lease,
                                 const Target& target,
                                 std::function<void()> done, Actions* a,
                                 uint32_t wait_mask) {
  auto it = files_.find(file);
  if (it == files_.end()) return true;
  File& f = it->second;
  auto join = std::make_shared<Join>();
  join->done = std::move(done);
  int waiting = 0;
  for (Holder& h : f.holders) {
    if (!except_lease.empty() && h.is_lease && h.lease_id == except_lease) {
      continue;
    }
    std::function<void()> w = [join] {
      if (join->n.fetch_sub(1) == 1 && join->done) join->done();
    };
    // Only a break of caching in `wait_mask` is waited for; the others
    // are sent and the caller goes on.
    bool wait = (h.state & wait_mask) != 0;
    if (BreakLocked(f, h, target(h.state, h.is_lease), wait ? &w : nullptr,
                    a) &&
        wait) {
      ++waiting;
    }
  }
  join->n.store(waiting);
  return waiting == 0;
}

bool OplockTable::BreakAll(uint64_t file, const std::string& except_lease,
                           const Target& target, std::function<void()> done,
                           uint32_t wait_mask) {
  if (!Active()) return true;
  Actions a;
  bool now;
  {
    std::lock_guard lk(mu_);
    now = BreakAllLocked(file, except_lease, target, std::move(done), &a,
                         wait_mask);
  }
  a.Run();
  return now;
}

bool OplockTable::BreakForOpen(uint64_t file, const OpenIntent& intent,
                               std::function<void()> done) {
  return BreakAll(
      file, intent.lease_id,
      [&intent](uint32_t state, bool lease) -> uint32_t {
        // A sharing violation costs only the handle caching that may be
        // keeping the conflicting open alive.
        if (intent.break_handles) return state & ~kH;
        bool stat = lease ? IsLeaseStatOpen(intent.access)
                          : IsOplockStatOpen(intent.access);
        if (stat && !intent.overwrite && !intent.deleting) return state;
        uint32_t t = state & ~kW;
        if (intent.overwrite) t &= ~kR;
        if (intent.deleting) t &= ~kH;
        return t;
      },
      std::move(done),
      // An open waits only for write caching to be given up (or, after a
      // sharing violation or for delete-on-close, handle caching); read
      // and handle caching are broken without delaying it, as Windows
      // does.
      intent.break_handles ? kH
      : intent.deleting    ? (kW | kH)
                           : kW);
}

bool OplockTable::BreakForRename(uint64_t file, const std::string& lease_id,
                                 std::function<void()> done) {
  return BreakAll(
      file, lease_id,
      [](uint32_t state, bool lease) -> uint32_t {
        return lease ? state & ~kH : state;
      },
      std::move(done), kH);
}

bool OplockTable::OthersHoldHandles(uint64_t file,
                                    const std::string& lease_id) {
  std::lock_guard lk(mu_);
  auto it = files_.find(file);
  if (it == files_.end()) return false;
  for (const Holder& h : it->second.holders) {
    if (!lease_id.empty() && h.is_lease && h.lease_id == lease_id) continue;
    if (h.state & kH) return true;
  }
  return false;
}

bool OplockTable::LeaseKeyClash(const std::string& lease_id, uint64_t file) {
  std::lock_guard lk(mu_);
  auto it = leases_.find(lease_id);
  return it != leases_.end() && it->second != file;
}

GrantResult OplockTable::Grant(const GrantRequest& req) {
  GrantResult res;
  Actions a;
  {
    std::lock_guard lk(mu_);
    File& f = files_[req.file];
    OpenRec rec;
    rec.open_id = req.open_id;
    rec.persistent = req.persistent;
    rec.session_id = req.session_id;
    rec.stat_open = req.stat_open;
    rec.sender = req.sender;
    bool use_lease = req.lease && req.leasing;
    if (use_lease) rec.lease_id = req.client_guid + req.lease->key;
    open_files_[req.open_id] = req.file;

    // Another open that is not this lease's (and not a stat open), or an
    // open of another protocol, rules out write caching.
    bool others = req.foreign_opens;
    for (const OpenRec& o : f.opens) {
      if (o.stat_open && !o.holder) continue;
      if (use_lease && o.lease_id == rec.lease_id) continue;
      others = true;
    }
    uint32_t others_hold = 0;        // what other grants still hold
    uint32_t other_leases_hold = 0;  // ... other leases
    bool other_oplocks = false;      // another open holds an oplock
    for (const Holder& h : f.holders) {
      if (use_lease && h.is_lease && h.lease_id == rec.lease_id) continue;
      others_hold |= h.state;
      if (h.is_lease) {
        other_leases_hold |= h.state;
      } else if (h.state) {
        other_oplocks = true;
      }
    }

    if (use_lease) {
      const LeaseRequest& lr = *req.lease;
      uint32_t want = lr.state & (kR | kH | kW);
      if (!(want & kR)) want = 0;  // H or W without R is not grantable
      Holder* h = nullptr;
      for (Holder& x : f.holders) {
        if (x.is_lease && x.lease_id == rec.lease_id) h = &x;
      }
      bool fresh = h == nullptr;
      if (!h) {
        f.holders.emplace_back();
        h = &f.holders.back();
        h->id = next_holder_++;
        h->is_lease = true;
        h->lease_id = rec.lease_id;
        h->lease_key = lr.key;
        h->version = lr.version;
        h->parent_key = lr.parent_key;
        h->epoch = lr.version >= 2 ? lr.epoch : 0;
        leases_[rec.lease_id] = req.file;
        AddGrants(1);
      }
      if (!h->breaking) {
        // A lease changes only to a superset of what it holds (asking for
        // less keeps what is held). A new lease gets what can be shared of
        // what it asked for; an existing one is upgraded only if all of it
        // can be.
        uint32_t ask = (want & h->state) == h->state ? want : h->state;
        uint32_t grant = ask;
        if (others || req.foreign_locks || (others_hold & kW)) grant &= ~kW;
        if (others_hold & kW) grant &= ~(kR | kH);
        // Another protocol's writer may write without the server seeing it
        // (a local passthrough open): no read caching next to one.
        if (req.foreign_writers) grant &= ~kR;
        // Handle caching does not mix with another open's oplock.
        if (other_oplocks) grant &= ~kH;
        if (!(grant & kR)) grant = 0;
        if (!fresh && grant != ask) grant = h->state;
        if (grant != h->state) {
          if (h->version >= 2) ++h->epoch;
          h->state = grant;
        }
      }
      h->opens.push_back(req.open_id);
      rec.holder = h->id;
      res.oplock = kOplockLease;
      res.lease = true;
      res.lease_key = h->lease_key;
      res.lease_state = h->state;
      res.version = h->version;
      res.epoch = h->epoch;
      res.parent_key = h->parent_key;
      if (h->breaking) res.lease_flags |= kLeaseFlagBreakInProgress;
      if (h->version >= 2 && !h->parent_key.empty()) {
        res.lease_flags |= kLeaseFlagParentKeySet;
      }
    } else {
      uint8_t level = req.oplock;
      if (level == kOplockLease) level = kOplockNone;
      uint32_t bits = OplockBits(level);
      if (bits && (others || req.foreign_locks)) bits = kR;
      if (req.foreign_writers) bits = 0;  // see the lease case
      // No oplock next to a write-caching grant or a lease that caches
      // handles.
      if ((others_hold & kW) || (other_leases_hold & kH)) bits = 0;
      if (bits) {
        f.holders.emplace_back();
        Holder& h = f.holders.back();
        h.id = next_holder_++;
        h.state = bits;
        h.opens.push_back(req.open_id);
        rec.holder = h.id;
        AddGrants(1);
      }
      res.oplock = OplockLevelOf(bits);
    }
    f.opens.push_back(std::move(rec));
  }
  a.Run();
  return res;
}

void OplockTable::DropHolderIfUnusedLocked(File& f, uint64_t holder_id,
                                           Actions* a) {
  for (auto it = f.holders.begin(); it != f.holders.end(); ++it) {
    if (it->id != holder_id) continue;
    if (!it->opens.empty()) return;
    // Anyone waiting for this break may go on: the grant is gone.
    timer_cv_.notify_all();
    for (auto& p : it->queue) {
      if (p.done) a->done.push_back(std::move(p.done));
    }
    if (it->is_lease) leases_.erase(it->lease_id);
    f.holders.erase(it);
    AddGrants(-1);
    return;
  }
}

void OplockTable::Close(uint64_t file, uint64_t open_id) {
  Actions a;
  {
    std::lock_guard lk(mu_);
    CloseLocked(file, open_id, &a);
  }
  a.Run();
}

void OplockTable::CloseLocked(uint64_t file, uint64_t open_id, Actions* a) {
  open_files_.erase(open_id);
  auto it = files_.find(file);
  if (it == files_.end()) return;
  File& f = it->second;
  uint64_t holder = 0;
  for (auto o = f.opens.begin(); o != f.opens.end(); ++o) {
    if (o->open_id == open_id) {
      holder = o->holder;
      f.opens.erase(o);
      break;
    }
  }
  if (holder) {
    if (Holder* h = FindHolder(f, holder)) {
      h->opens.erase(std::remove(h->opens.begin(), h->opens.end(), open_id),
                     h->opens.end());
      DropHolderIfUnusedLocked(f, holder, a);
    }
  }
  if (f.opens.empty() && f.holders.empty()) files_.erase(it);
}

void OplockTable::BreakReadersForWrite(uint64_t file, uint64_t open_id) {
  if (!Active()) return;
  Actions a;
  {
    std::lock_guard lk(mu_);
    auto it = files_.find(file);
    if (it == files_.end()) return;
    // A lease is not broken by its own opens; a level II oplock is, even
    // by the open that holds it (Windows breaks every level II on a write).
    std::string lease;
    if (OpenRec* o = FindOpen(it->second, open_id)) lease = o->lease_id;
    (void)BreakAllLocked(
        file, lease,
        [](uint32_t state, bool) { return state & kW ? state : state & ~kR; },
        [] {}, &a);
  }
  a.Run();
}

uint32_t OplockTable::AckOplock(uint64_t open_id, uint8_t level,
                                uint8_t* granted) {
  Actions a;
  uint32_t status = kStatusSuccess;
  {
    std::lock_guard lk(mu_);
    auto fit = open_files_.find(open_id);
    if (fit == open_files_.end()) return kStatusInvalidOplockProtocol;
    File& f = files_[fit->second];
    OpenRec* o = FindOpen(f, open_id);
    Holder* h = o && o->holder ? FindHolder(f, o->holder) : nullptr;
    if (!h || h->is_lease || !h->breaking) {
      return kStatusInvalidOplockProtocol;
    }
    uint32_t bits = OplockBits(level);
    if (level == kOplockLease) return kStatusInvalidParameter;
    if ((bits & ~h->break_to) ||
        (level != kOplockNone && level != kOplockLevelII)) {
      // Acknowledging more than the break allows ends the oplock.
      FinishBreakLocked(f, *h, 0, &a);
      status = kStatusInvalidOplockProtocol;
    } else {
      FinishBreakLocked(f, *h, bits, &a);
      *granted = OplockLevelOf(h->state);
    }
  }
  a.Run();
  return status;
}

uint32_t OplockTable::AckLease(const std::string& lease_id, uint32_t state) {
  Actions a;
  {
    std::lock_guard lk(mu_);
    auto lit = leases_.find(lease_id);
    if (lit == leases_.end()) return kStatusObjectNameNotFound;
    File& f = files_[lit->second];
    Holder* h = nullptr;
    for (Holder& x : f.holders) {
      if (x.is_lease && x.lease_id == lease_id) h = &x;
    }
    if (!h) return kStatusObjectNameNotFound;
    if (!h->breaking) return kStatusUnsuccessful;
    if (state & ~h->break_to) return kStatusRequestNotAccepted;
    FinishBreakLocked(f, *h, state, &a);
  }
  a.Run();
  return kStatusSuccess;
}

uint8_t OplockTable::OplockOf(uint64_t open_id) {
  std::lock_guard lk(mu_);
  auto fit = open_files_.find(open_id);
  if (fit == open_files_.end()) return kOplockNone;
  File& f = files_[fit->second];
  OpenRec* o = FindOpen(f, open_id);
  Holder* h = o && o->holder ? FindHolder(f, o->holder) : nullptr;
  if (!h) return kOplockNone;
  return h->is_lease ? kOplockLease : OplockLevelOf(h->state);
}

bool OplockTable::Rebind(uint64_t open_id, uint64_t session_id,
                         BreakSender sender, bool* breaking) {
  std::lock_guard lk(mu_);
  if (breaking) *breaking = false;
  auto fit = open_files_.find(open_id);
  if (fit == open_files_.end()) return false;
  File& f = files_[fit->second];
  OpenRec* o = FindOpen(f, open_id);
  if (!o) return false;
  o->session_id = session_id;
  o->sender = std::move(sender);
  Holder* h = o->holder ? FindHolder(f, o->holder) : nullptr;
  if (breaking && h) *breaking = h->breaking;
  return true;
}

std::optional<GrantResult> OplockTable::LeaseOf(const std::string& lease_id) {
  std::lock_guard lk(mu_);
  auto lit = leases_.find(lease_id);
  if (lit == leases_.end()) return std::nullopt;
  for (Holder& x : files_[lit->second].holders) {
    if (!x.is_lease || x.lease_id != lease_id) continue;
    GrantResult g;
    g.oplock = kOplockLease;
    g.lease = true;
    g.lease_key = x.lease_key;
    g.lease_state = x.state;
    g.version = x.version;
    g.epoch = x.epoch;
    g.parent_key = x.parent_key;
    if (!x.parent_key.empty()) g.lease_flags |= kLeaseFlagParentKeySet;
    return g;
  }
  return std::nullopt;
}

uint32_t OplockTable::LeaseStateOf(const std::string& lease_id) {
  std::lock_guard lk(mu_);
  auto lit = leases_.find(lease_id);
  if (lit == leases_.end()) return 0;
  for (Holder& x : files_[lit->second].holders) {
    if (x.is_lease && x.lease_id == lease_id) return x.state;
  }
  return 0;
}

void OplockTable::AddGrants(int delta) {
  grants_.fetch_add(delta, std::memory_order_acq_rel);
  if (hub_) hub_->GrantsChanged(delta);
}

bool OplockTable::Active() const {
  return grants_.load(std::memory_order_acquire) > 0;
}

bool OplockTable::Break(uint64_t file, locking::CacheAccess access,
                        std::function<void()> done) {
  return BreakAll(
      file, "",
      [access](uint32_t state, bool) -> uint32_t {
        switch (access) {
          case locking::CacheAccess::kRead:
          case locking::CacheAccess::kOpenRead:
          case locking::CacheAccess::kLock:
            return state & ~kW;
          case locking::CacheAccess::kOpenWrite:
          case locking::CacheAccess::kWrite:
            return state & ~(kW | kR);
          case locking::CacheAccess::kRemove:
            return state & ~kH;
        }
        return 0;
      },
      std::move(done));
}

void OplockTable::TimerLoop() {
  std::unique_lock lk(mu_);
  while (!stop_) {
    auto now = std::chrono::steady_clock::now();
    auto next = now + std::chrono::hours(1);
    Actions a;
    for (auto& [id, f] : files_) {
      for (Holder& h : f.holders) {
        if (!h.breaking) continue;
        if (h.deadline <= now) {
          // No acknowledgement in time: the client keeps no caching.
          FinishBreakLocked(f, h, 0, &a);
        } else {
          next = std::min(next, h.deadline);
        }
      }
    }
    if (!a.notices.empty() || !a.done.empty()) {
      lk.unlock();
      a.Run();
      lk.lock();
      continue;
    }
    timer_cv_.wait_until(lk, next);
  }
}

}  // namespace concordfs::smb
