// LOCK: SMB byte-range locks on the lock manager's Windows flavour (locks
// of one open stack and never merge; an unlock must match exactly), so they
// exclude local fcntl/flock and NLM locks on the same bytes. Several
// elements apply all or nothing; a single blocking element that conflicts
// goes asynchronous (interim STATUS_PENDING) and is answered when the
// manager grants it, or CANCELLED by SMB2 CANCEL, close or disconnect.
#include "smb/core/connection.h"
#include "smb/info/nt_status.h"
#include "smb/wire/le.h"

namespace concordfs::smb {
namespace {

constexpr uint32_t kLockShared = 0x1;
constexpr uint32_t kLockExclusive = 0x2;
constexpr uint32_t kLockUnlock = 0x4;
constexpr uint32_t kLockFailImmediately = 0x10;

struct Element {
  uint64_t offset = 0;
  uint64_t length = 0;
  uint32_t flags = 0;
};

// The one place lock-manager statuses become SMB statuses.
uint32_t LockStatusToNt(locking::LockStatus s) {
  using locking::LockStatus;
  switch (s) {
    case LockStatus::kGranted:
      return kStatusSuccess;
    case LockStatus::kConflict:
    case LockStatus::kDeadlock:
    case LockStatus::kGrace:
      return kStatusLockNotGranted;
    case LockStatus::kNoResources:
      return kStatusInsufficientResources;
    case LockStatus::kCancelled:
      return kStatusCancelled;
    case LockStatus::kInvalidRange:
      return kStatusInvalidLockRange;
    case LockStatus::kNotFound:
      return kStatusRangeNotLocked;
    case LockStatus::kQueued:
      return kStatusPending;
  }
  return kStatusInternalError;
}

}  // namespace

locking::LockRequest SmbLockRequest(const Open& o, const locking::Range& range,
                                    bool exclusive) {
  locking::LockRequest req;
  req.file = o.ino;
  req.owner = ShareOwner(o.owner_session, o.fid.volatile_id);
  req.flavor = locking::Flavor::kWindows;
  req.mode =
      exclusive ? locking::LockMode::kExclusive : locking::LockMode::kShared;
  req.range = range;
  return req;
}

void SmbConnection::Lock(Call* c) {
  LeReader r(c->msg);
  if (!StructureSizeIs(c, &r, 48)) return;
  uint16_t count = r.U16();
  uint32_t lock_sequence = r.U32();
  SmbFileId fid = ReadFileId(&r);
  std::vector<Element> els;
  for (uint16_t i = 0; i < count && r.ok(); ++i) {
    Element e;
    e.offset = r.U64();
    e.length = r.U64();
    e.flags = r.U32();
    r.Skip(4);
    els.push_back(e);
  }
  if (!r.ok() || count == 0) {
    c->status = kStatusInvalidParameter;
    return;
  }
  Open* o = OpenOrClosed(c, fid);
  if (!o) return;
  if (!st_->locks) {
    c->status = kStatusNotSupported;
    return;
  }
  if (o->is_dir || o->pipe) {
    c->status = kStatusInvalidParameter;
    return;
  }
  // Lock sequence replay (MS-SMB2 3.3.5.14) for resilient and durable
  // opens, and on SMB 3.x for every open when multichannel is offered (a
  // LOCK may be resent on another channel): a LOCK resent with the number
  // its bucket (1..64) already holds succeeded before and is answered
  // again without being applied. Other opens are not checked (as Windows
  // does).
  uint8_t* seq_slot = nullptr;
  uint8_t seq_value = lock_sequence & 0xF;
  uint32_t bucket = lock_sequence >> 4;
  bool checked =
      o->resilient || (dialect_ >= kDialect300 &&
                       (o->durable || (server_caps_ & kCapMultiChannel)));
  if (checked && bucket >= 1 && bucket <= 64) {
    seq_slot = &o->lock_sequence[bucket - 1];
    if (*seq_slot == seq_value) {
      LeWriter w(&c->body);
      w.U16(4);
      w.U16(0);
      return;
    }
    *seq_slot = 0xFF;  // not a replay: invalid until this one succeeds
  }
  auto done = [c, seq_slot, seq_value] {
    if (seq_slot) *seq_slot = seq_value;
    LeWriter w(&c->body);
    w.U16(4);
    w.U16(0);
  };

  // Unlocks: applied in order; the first element that is not an exact
  // unlock, or names no lock, stops the request (earlier ones stay done).
  if (els[0].flags & kLockUnlock) {
    for (const Element& e : els) {
      if (e.flags != kLockUnlock) {
        c->status = kStatusInvalidParameter;
        return;
      }
      auto range = locking::Range::FromSmb(e.offset, e.length);
      if (!range) {
        c->status = kStatusRangeNotLocked;
        return;
      }
      // Shared or exclusive: the manager matches the range exactly.
      locking::LockStatus st =
          st_->locks->Unlock(SmbLockRequest(*o, *range, true));
      if (st != locking::LockStatus::kGranted) {
        c->status = LockStatusToNt(st);
        return;
      }
    }
    return done();
  }

  // Locks: shared or exclusive, never unlock; several only if each fails
  // immediately.
  for (const Element& e : els) {
    uint32_t mode = e.flags & ~kLockFailImmediately;
    if ((mode != kLockShared && mode != kLockExclusive) ||
        (els.size() > 1 && !(e.flags & kLockFailImmediately))) {
      c->status = kStatusInvalidParameter;
      return;
    }
  }
  // Other opens' read caching goes (level II oplocks, read leases).
  BreakReaders(*o);
  std::vector<locking::LockRequest> taken;
  for (size_t i = 0; i < els.size(); ++i) {
    const Element& e = els[i];
    auto range = locking::Range::FromSmb(e.offset, e.length);
    uint32_t status = kStatusSuccess;
    if (!range) status = kStatusInvalidLockRange;
    locking::LockRequest req =
        range ? SmbLockRequest(*o, *range, e.flags & kLockExclusive)
              : locking::LockRequest{};
    bool blocking = !(e.flags & kLockFailImmediately);
    if (status == kStatusSuccess && blocking) {
      // One element that may wait: queue it and answer when granted.
      uint64_t async_id = st_->next_async_id.fetch_add(1);
      auto post = transport_->Poster();
      uint64_t vid = o->fid.volatile_id;
      uint32_t slot = seq_slot ? bucket : 0;
      locking::LockResult res = st_->locks->Lock(
          req,
          [this, post, async_id, vid, slot, seq_value](locking::LockStatus s) {
            post([this, async_id, s, vid, slot, seq_value] {
              std::string body;
              Open* open = AnyOpen(vid);
              if (s == locking::LockStatus::kGranted && slot && open) {
                open->lock_sequence[slot - 1] = seq_value;
              }
              if (s == locking::LockStatus::kGranted) {
                LeWriter w(&body);
                w.U16(4);
                w.U16(0);
              }
              CompleteAsync(async_id, LockStatusToNt(s), std::move(body));
            });
          });
      if (res.status == locking::LockStatus::kQueued) {
        c->req.async_id = async_id;
        c->go_async = true;
        Pending p;
        p.message_id = c->req.message_id;
        p.session_id = c->session->id;
        p.command = kLock;
        locking::LockManager* lm = st_->locks;
        uint64_t waiter = res.waiter_id;
        p.cancel = [lm, waiter] { lm->Cancel(waiter); };
        p.closed_status = kStatusRangeNotLocked;
        pending_[async_id] = std::move(p);
        o->lock_async_ids.push_back(async_id);
        return;
      }
      status = LockStatusToNt(res.status);
    } else if (status == kStatusSuccess) {
      status = LockStatusToNt(st_->locks->Lock(req).status);
    }
    if (status != kStatusSuccess) {
      // All or nothing: undo what this request took.
      for (const locking::LockRequest& t : taken) st_->locks->Unlock(t);
      c->status = status;
      return;
    }
    taken.push_back(req);
  }
  done();
}

}  // namespace concordfs::smb
