#include "rpc/nlm/nlm.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "rpc/client.h"
#include "rpc/portmap/portmap.h"
#include "util/coding.h"
#include "util/file_util.h"
#include "util/log.h"

namespace concordfs::rpc {

using locking::LockMode;
using locking::LockRequest;
using locking::LockResult;
using locking::LockStatus;
using locking::Owner;
using locking::Protocol;

namespace {

// nlm4_stats (versions 1 and 3 stop at kDeniedGrace).
enum NlmStat : uint32_t {
  kGranted = 0,
  kDenied = 1,
  kDeniedNolocks = 2,
  kBlocked = 3,
  kDeniedGrace = 4,
  kDeadlck = 5,
  kRofs = 6,
  kStaleFh = 7,
  kFbig = 8,
  kFailed = 9,
};

enum NlmProc : uint32_t {
  kNull = 0,
  kTest = 1,
  kLock = 2,
  kCancel = 3,
  kUnlock = 4,
  kGrantedProc = 5,
  kTestMsg = 6,
  kLockMsg = 7,
  kCancelMsg = 8,
  kUnlockMsg = 9,
  kGrantedMsg = 10,
  kTestRes = 11,
  kLockRes = 12,
  kCancelRes = 13,
  kUnlockRes = 14,
  kGrantedRes = 15,
  kShare = 20,
  kUnshare = 21,
  kNmLock = 22,
  kFreeAll = 23,
};

constexpr uint32_t kMaxStr = 1024;  // LM_MAXSTRLEN / MAXNETOBJ_SZ

// Versions 1 and 3 know fewer codes: map the v4-only ones down.
uint32_t ForVersion(NlmStat s, uint32_t vers) {
  if (vers >= 4 || s <= kDeniedGrace) return s;
  return s == kDeadlck ? kDenied : kDeniedNolocks;
}

// The one place lock-manager results become nlm_stats.
NlmStat StatOf(LockStatus s) {
  switch (s) {
    case LockStatus::kGranted:
      return kGranted;
    case LockStatus::kConflict:
    case LockStatus::kCancelled:
    case LockStatus::kNotFound:
      return kDenied;
    case LockStatus::kQueued:
      return kBlocked;
    case LockStatus::kDeadlock:
      return kDeadlck;
    case LockStatus::kGrace:
      return kDeniedGrace;
    case LockStatus::kNoResources:
      return kDeniedNolocks;
    case LockStatus::kInvalidRange:
      return kFbig;
  }
  return kFailed;
}

// nlm4_lock / nlm_lock.
struct Alock {
  std::string caller;
  std::string fh;
  std::string oh;
  int32_t svid = 0;
  uint64_t offset = 0;
  uint64_t length = 0;
};

bool ReadAlock(XdrDecoder& d, uint32_t vers, Alock* a) {
  a->caller = std::string(d.String(kMaxStr));
  a->fh = std::string(d.Opaque(kMaxStr));
  a->oh = std::string(d.Opaque(kMaxStr));
  a->svid = d.I32();
  if (vers >= 4) {
    a->offset = d.U64();
    a->length = d.U64();
  } else {
    a->offset = d.U32();
    a->length = d.U32();
  }
  return d.ok();
}

void PutAlock(XdrEncoder& e, uint32_t vers, const Alock& a) {
  e.String(a.caller);
  e.Opaque(a.fh);
  e.Opaque(a.oh);
  e.I32(a.svid);
  if (vers >= 4) {
    e.U64(a.offset);
    e.U64(a.length);
  } else {
    e.U32(static_cast<uint32_t>(a.offset));
    e.U32(static_cast<uint32_t>(a.length));
  }
}

// The owner bytes of an NLM lock: svid then oh.
std::string OwnerBytes(const Alock& a) {
  std::string s;
  PutU32(&s, static_cast<uint32_t>(a.svid));
  s.append(a.oh);
  return s;
}

Peer WithPort(Peer p, uint16_t port) {
  p.port = port;
  return p;
}

}  // namespace

uint64_t NlmClientId(std::string_view caller) {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (unsigned char c : caller) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h == 0 ? 1 : h;
}

// ---- CallbackWorkers ----

CallbackWorkers::CallbackWorkers(int threads) {
  for (int i = 0; i < threads; ++i) {
    threads_.emplace_back([this] {
      for (;;) {
        std::function<void()> fn;
        {
          std::unique_lock<std::mutex> lk(mu_);
          cv_.wait(lk, [this] { return stop_ || !queue_.empty(); });
          if (stop_) return;
          fn = std::move(queue_.front());
          queue_.pop_front();
        }
        fn();
      }
    });
  }
}

CallbackWorkers::~CallbackWorkers() { Stop(); }

void CallbackWorkers::Post(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (stop_) return;
    queue_.push_back(std::move(fn));
  }
  cv_.notify_one();
}

void CallbackWorkers::Stop() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (stop_ && threads_.empty()) return;
    stop_ = true;
    queue_.clear();
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

// ---- NsmState ----

Result<std::unique_ptr<NsmState>> NsmState::Open(const std::string& dir) {
  auto s = std::unique_ptr<NsmState>(new NsmState());
  s->dir_ = dir;
  int64_t old = 0;
  {
    std::ifstream f(dir + "/nsm-state");
    if (f) f >> old;
  }
  if (old < 0 || old > INT32_MAX - 4) old = 0;
  // Odd while running, larger than any earlier value.
  s->state_ = static_cast<int32_t>(old % 2 == 0 ? old + 1 : old + 2);
  CFS_RETURN_IF_ERROR(s->SaveState());
  std::ifstream h(dir + "/nsm-hosts");
  std::string line;
  while (std::getline(h, line)) {
    std::istringstream in(line);
    std::string name, addr;
    Peer p;
    if (in >> name >> addr && Peer::Parse(addr, 0, &p)) s->hosts_[name] = p;
  }
  return s;
}

Status NsmState::SaveState() {
  return WriteFileAtomically(dir_ + "/nsm-state",
                             std::to_string(state_) + "\n");
}

void NsmState::SaveHostsLocked() {
  std::string data;
  for (const auto& [name, p] : hosts_) {
    data += name + " " + p.AddressString() + "\n";
  }
  Status st = WriteFileAtomically(dir_ + "/nsm-hosts", data);
  if (!st.ok()) CFS_LOG_WARN_IN(LogComponent::kNsm, "{}", st.ToString());
}

void NsmState::Monitor(const std::string& name, const Peer& addr) {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = hosts_.find(name);
  if (it != hosts_.end() && it->second.SameAddress(addr)) return;
  hosts_[name] = addr;
  SaveHostsLocked();
}

void NsmState::Forget(const std::string& name) {
  std::lock_guard<std::mutex> lk(mu_);
  if (hosts_.erase(name) > 0) SaveHostsLocked();
}

std::vector<std::pair<std::string, Peer>> NsmState::Hosts() const {
  std::lock_guard<std::mutex> lk(mu_);
  return {hosts_.begin(), hosts_.end()};
}

void NsmState::Close() {
  std::lock_guard<std::mutex> lk(mu_);
  if (state_ % 2 == 1) ++state_;
  Status st = SaveState();
  if (!st.ok()) CFS_LOG_WARN_IN(LogComponent::kNsm, "{}", st.ToString());
}

int32_t NsmState::Bump() {
  std::lock_guard<std::mutex> lk(mu_);
  state_ += 2;
  Status st = SaveState();
  if (!st.ok()) CFS_LOG_WARN_IN(LogComponent::kNsm, "{}", st.ToString());
  return state_;
}

// ---- NLM ----

struct NlmProgram::Pending {
  uint64_t waiter = 0;
  uint32_t vers = 4;
  Transport transport = Transport::kTcp;
  Peer peer;
  bool msg = false;  // the client uses the _MSG procedures
  bool exclusive = true;
  Alock alock;
  LockRequest request;
  std::string cookie;
};

// One call's context: version, peer, resolved file and owner.
class NlmCall {
 public:
  NlmCall(NlmProgram* p, const CallContext& ctx) : p_(p), ctx_(ctx) {}

  uint32_t vers() const { return ctx_.header.vers; }

  // Binds/validates the host and resolves the handle. On failure returns
  // the nlm_stat to answer with. `releasing` (UNLOCK, CANCEL, UNSHARE):
  // the caller only gives up what it holds, which it may do also when a
  // reload removed the export or no longer lists the client. Locks stay
  // held across such a reload, as Linux keeps them after `exportfs -u`;
  // knfsd would then refuse the unlock too (stale handle) and keep the lock
  // until the client reboots, which helps nobody.
  std::optional<NlmStat> Resolve(const Alock& a, bool need_access,
                                 bool releasing = false) {
    if (!BindHost(a.caller)) return kFailed;
    std::optional<FileHandle> h = p_->codec_->Decode(a.fh);
    if (!h) return kStaleFh;
    const Export* x = p_->exports_->Current().FindById(h->export_id);
    if (!releasing) {
      // As NFS answers for a removed export: the handle is stale.
      if (x == nullptr) return kStaleFh;
      if (!x->AllowsClient(ctx_.peer)) return kFailed;
    }
    // The inode record alone (not GetAttr, which also asks the content
    // store for the file's allocated size): generation and owner are all
    // a lock needs.
    Result<Inode> inode = p_->vfs_->metadata()->GetInode(h->ino);
    if (!inode.ok() || inode->generation != h->generation) {
      return kStaleFh;
    }
    file_ = h->ino;
    if (need_access && x != nullptr) {
      // As the Linux server does: read access, or owning the file.
      OpContext op{x->MapCredential(ctx_.header), Origin::kNfs};
      if (inode->uid != op.cred.uid &&
          !p_->vfs_->Access(op, h->ino, kMayRead).ok()) {
        return kDenied;
      }
    }
    return std::nullopt;
  }

  // The client's NSM state (LOCK arguments): recorded when its host binds.
  void set_client_state(int32_t state) { client_state_ = state; }

  bool BindHost(const std::string& caller) {
    std::lock_guard<std::mutex> lk(p_->mu_);
    auto it = p_->hosts_.find(caller);
    if (it == p_->hosts_.end()) {
      p_->hosts_.emplace(caller, ctx_.peer);
      if (client_state_) p_->states_[caller] = *client_state_;
      return true;
    }
    if (it->second.SameAddress(ctx_.peer)) {
      if (client_state_) p_->states_[caller] = *client_state_;
      return true;
    }
    CFS_LOG_WARN("caller_name '{}' from {} is bound to {}; refused", caller,
                 ctx_.peer.AddressString(), it->second.AddressString());
    return false;
  }

  std::optional<LockRequest> Request(const Alock& a, bool exclusive) {
    std::optional<locking::Range> r =
        locking::Range::FromPosix(a.offset, a.length);
    if (!r) return std::nullopt;
    LockRequest req;
    req.file = file_;
    req.owner = Owner{Protocol::kNlm, NlmClientId(a.caller), OwnerBytes(a), 0};
    req.flavor = locking::Flavor::kPosix;
    req.mode = exclusive ? LockMode::kExclusive : LockMode::kShared;
    req.range = *r;
    req.pid = static_cast<uint32_t>(a.svid);
    req.durable = true;
    return req;
  }

  locking::FileId file() const { return file_; }

 private:
  NlmProgram* p_;
  const CallContext& ctx_;
  locking::FileId file_ = 0;
  std::optional<int32_t> client_state_;
};

NlmProgram::NlmProgram(Vfs* vfs, locking::LockManager* locks,
                       locking::ShareModeTable* shares,
                       const ExportRegistry* exports, const HandleCodec* codec,
                       NsmState* nsm, NlmOptions opts)
    : vfs_(vfs),
      locks_(locks),
      shares_(shares),
      exports_(exports),
      codec_(codec),
      nsm_(nsm),
      opts_(std::move(opts)) {}

NlmProgram::~NlmProgram() { Stop(); }

void NlmProgram::Stop() { callbacks_.Stop(); }

bool NlmProgram::Quick(uint32_t, uint32_t proc) const {
  switch (proc) {
    case kLock:
    case kNmLock:
    case kLockMsg:
    case kShare:
      // A grant may wait for the lock store's fsync.
      return !opts_.durable_grants;
    default:
      // Tests, unlocks (never synced), cancels and the rest only touch
      // memory (and, for unlocks, an unsynced store write).
      return true;
  }
}

bool NlmProgram::NonIdempotent(uint32_t, uint32_t proc) const {
  switch (proc) {
    case kLock:
    case kCancel:
    case kUnlock:
    case kShare:
    case kUnshare:
    case kNmLock:
      return true;
    default:
      return false;
  }
}

void NlmProgram::SendOneWay(const Peer& to, Transport t, uint32_t vers,
                            uint32_t proc, const std::string& args,
                            std::chrono::milliseconds timeout) {
  if (t == Transport::kUdp && send_udp_) {
    // From the server's own socket, where (macOS) clients expect it.
    static std::atomic<uint32_t> xid{0x4e4c4d00};
    std::string msg;
    AppendCallHeader(&msg, xid.fetch_add(1), kNlmProgram, vers, proc);
    msg += args;
    send_udp_(to, std::move(msg));
    return;
  }
  CallOptions o;
  o.transport = t;
  o.timeout = timeout;
  o.attempts = 1;
  (void)rpc::Call(to, kNlmProgram, vers, proc, args, o);
}

HandlerResult NlmProgram::Call(const CallContext& ctx, XdrDecoder& args,
                               std::string* out) {
  uint32_t proc = ctx.header.proc;
  uint32_t vers = ctx.header.vers;
  if (vers == 2 || (vers == 1 && proc > kGrantedRes)) {
    return {AcceptStat::kProcUnavail};
  }
  if (proc == kNull) return {};
  if (proc >= kTestMsg && proc <= kGrantedMsg) {
    // Asynchronous request: do the work, answer with the _RES call.
    std::string res;
    HandlerResult r = Dispatch(ctx, proc - 5, args, &res);
    if (r.stat != AcceptStat::kSuccess) return r;
    Peer peer = ctx.peer;
    Transport t = ctx.transport;
    uint32_t res_proc = proc + 5;
    auto send = [this, peer, t, vers, res_proc, res = std::move(res)] {
      Result<uint16_t> port = PmapGetPort(
          WithPort(peer, opts_.client_portmap_port), kNlmProgram, vers, t);
      if (!port.ok()) {
        CFS_LOG_WARN("cannot answer {}: {}", peer.AddressString(),
                     port.status().ToString());
        return;
      }
      SendOneWay(WithPort(peer, *port), t, vers, res_proc, res,
                 std::chrono::milliseconds(1000));
    };
    callbacks_.Post(std::move(send));
    return HandlerResult::NoReply();
  }
  return Dispatch(ctx, proc, args, out);
}

HandlerResult NlmProgram::Dispatch(const CallContext& ctx, uint32_t proc,
                                   XdrDecoder& args, std::string* out) {
  XdrEncoder e(out);
  const uint32_t vers = ctx.header.vers;
  const bool via_msg =
      ctx.header.proc >= kTestMsg && ctx.header.proc <= kGrantedMsg;
  NlmCall call(this, ctx);
  auto stat = [&](NlmStat s) { e.U32(ForVersion(s, vers)); };
  switch (proc) {
    case kTest: {
      std::string cookie(args.Opaque(kMaxStr));
      bool exclusive = args.Bool();
      Alock a;
      if (!ReadAlock(args, vers, &a)) return {AcceptStat::kGarbageArgs};
      e.Opaque(cookie);
      if (auto bad = call.Resolve(a, false)) {
        stat(*bad);
        return {};
      }
      std::optional<LockRequest> req = call.Request(a, exclusive);
      if (!req) {
        stat(kFbig);
        return {};
      }
      LockResult r = locks_->Test(*req);
      NlmStat s = StatOf(r.status);
      // Behind a restored lock not reclaimed yet, the answer may still
      // change: say "grace", as the Linux server does.
      if (s == kDenied && r.holder && r.holder->restored) s = kDeniedGrace;
      stat(s);
      if (s == kDenied && r.holder) {
        const locking::Lock& h = *r.holder;
        e.Bool(h.mode == LockMode::kExclusive);
        e.I32(static_cast<int32_t>(h.pid));
        // NLM holders: their oh; others: a readable synthetic owner.
        if (h.owner.protocol == Protocol::kNlm && h.owner.owner.size() >= 4) {
          e.Opaque(std::string_view(h.owner.owner).substr(4));
        } else {
          e.Opaque(std::string(locking::ProtocolName(h.owner.protocol)) + ":" +
                   std::to_string(h.pid));
        }
        uint64_t len = h.range.PosixLength();
        if (vers >= 4) {
          e.U64(h.range.first);
          e.U64(len);
        } else {
          e.U32(static_cast<uint32_t>(h.range.first));
          e.U32(static_cast<uint32_t>(len));
        }
      } else if (s == kDenied) {
        e.Bool(true);
        e.I32(0);
        e.Opaque({});
        vers >= 4 ? (e.U64(0), e.U64(0)) : (e.U32(0), e.U32(0));
      }
      return {};
    }
    case kLock:
    case kNmLock: {
      std::string cookie(args.Opaque(kMaxStr));
      bool block = args.Bool();
      bool exclusive = args.Bool();
      Alock a;
      if (!ReadAlock(args, vers, &a)) return {AcceptStat::kGarbageArgs};
      bool reclaim = args.Bool();
      call.set_client_state(args.I32());  // the client's NSM state
      if (!args.ok()) return {AcceptStat::kGarbageArgs};
      e.Opaque(cookie);
      if (proc == kNmLock) block = false;
      if (auto bad = call.Resolve(a, true)) {
        stat(*bad);
        return {};
      }
      std::optional<LockRequest> req = call.Request(a, exclusive);
      if (!req) {
        stat(kFbig);
        return {};
      }
      req->reclaim = reclaim;
      if (proc == kLock && nsm_ != nullptr) nsm_->Monitor(a.caller, ctx.peer);
      if (breaks_) breaks_->BreakNoWait(req->file, locking::CacheAccess::kLock);
      if (!block) {
        LockStatus ls = locks_->Lock(*req).status;
        CFS_LOG_DEBUG("LOCK {} {}..{} by {} svid {} reclaim {}: {}", req->file,
                      req->range.first, req->range.last, a.caller, a.svid,
                      reclaim, locking::LockStatusName(ls));
        stat(StatOf(ls));
        return {};
      }
      // A retransmitted blocking request that is already queued.
      {
        std::lock_guard<std::mutex> lk(mu_);
        for (const auto& [id, p] : pending_) {
          if (p->request.file == req->file && p->request.owner == req->owner &&
              p->request.range == req->range && p->request.mode == req->mode) {
            stat(kBlocked);
            return {};
          }
        }
      }
      auto pend = std::make_shared<Pending>();
      pend->vers = vers;
      pend->transport = ctx.transport;
      pend->peer = ctx.peer;
      pend->msg = via_msg;
      pend->exclusive = exclusive;
      pend->alock = a;
      pend->request = *req;
      pend->cookie = cookie;
      // The grant callback may run before Lock returns: hold the map lock
      // until the waiter is registered.
      std::unique_lock<std::mutex> lk(mu_);
      LockResult r = locks_->Lock(*req, [this, pend](LockStatus s) {
        callbacks_.Post([this, pend, s] {
          {
            std::lock_guard<std::mutex> g(mu_);
            pending_.erase(pend->waiter);
          }
          if (s != LockStatus::kGranted) return;
          SendGranted(pend);
        });
      });
      if (r.status == LockStatus::kQueued) {
        pend->waiter = r.waiter_id;
        pending_[r.waiter_id] = pend;
      }
      lk.unlock();
      CFS_LOG_DEBUG("LOCK(block) {} {}..{} by {} svid {} reclaim {}: {}",
                    req->file, req->range.first, req->range.last, a.caller,
                    a.svid, reclaim, locking::LockStatusName(r.status));
      stat(StatOf(r.status));
      return {};
    }
    case kCancel: {
      std::string cookie(args.Opaque(kMaxStr));
      args.Bool();  // block
      bool exclusive = args.Bool();
      Alock a;
      if (!ReadAlock(args, vers, &a)) return {AcceptStat::kGarbageArgs};
      e.Opaque(cookie);
      if (auto bad = call.Resolve(a, false, /*releasing=*/true)) {
        stat(*bad);
        return {};
      }
      std::optional<LockRequest> req = call.Request(a, exclusive);
      if (!req) {
        stat(kFbig);
        return {};
      }
      // Nothing to cancel is fine: the request may have been granted.
      locks_->CancelMatching(*req);
      stat(kGranted);
      return {};
    }
    case kUnlock: {
      std::string cookie(args.Opaque(kMaxStr));
      Alock a;
      if (!ReadAlock(args, vers, &a)) return {AcceptStat::kGarbageArgs};
      e.Opaque(cookie);
      if (auto bad = call.Resolve(a, false, /*releasing=*/true)) {
        stat(*bad);
        return {};
      }
      std::optional<LockRequest> req = call.Request(a, true);
      if (!req) {
        stat(kFbig);
        return {};
      }
      locks_->Unlock(*req);
      CFS_LOG_DEBUG("UNLOCK {} {}..{} by {} svid {}", req->file,
                    req->range.first, req->range.last, a.caller, a.svid);
      stat(kGranted);
      return {};
    }
    case kGrantedProc: {
      // Only clients receive GRANTED; a server has nothing waiting.
      std::string cookie(args.Opaque(kMaxStr));
      args.Bool();
      Alock a;
      if (!ReadAlock(args, vers, &a)) return {AcceptStat::kGarbageArgs};
      e.Opaque(cookie);
      stat(kDenied);
      return {};
    }
    case kTestRes:
    case kLockRes:
    case kCancelRes:
    case kUnlockRes:
      return {};  // answers to our calls we never make
    case kGrantedRes: {
      std::string cookie(args.Opaque(kMaxStr));
      uint32_t s = args.U32();
      if (!args.ok()) return {AcceptStat::kGarbageArgs};
      if (s != kGranted) {
        // The client did not take a grant we sent with GRANTED_MSG: the
        // cookie names the waiter whose lock we give back.
        Decoder d(cookie);
        uint64_t id = d.U64();
        CFS_LOG_INFO("{} refused the grant of waiter {}",
                     ctx.peer.AddressString(), id);
        std::lock_guard<std::mutex> lk(mu_);
        auto it = granted_msgs_.find(id);
        if (it != granted_msgs_.end()) {
          locks_->Unlock(it->second);
          granted_msgs_.erase(it);
        }
      } else {
        std::lock_guard<std::mutex> lk(mu_);
        Decoder d(cookie);
        granted_msgs_.erase(d.U64());
      }
      return {};
    }
    case kShare:
    case kUnshare: {
      std::string cookie(args.Opaque(kMaxStr));
      std::string caller(args.String(kMaxStr));
      std::string fh(args.Opaque(kMaxStr));
      std::string oh(args.Opaque(kMaxStr));
      uint32_t mode = args.U32();    // fsh_mode: deny none/read/write/both
      uint32_t access = args.U32();  // fsh_access: none/r/w/rw
      args.Bool();                   // reclaim
      if (!args.ok() || mode > 3 || access > 3) {
        return {AcceptStat::kGarbageArgs};
      }
      e.Opaque(cookie);
      Alock a;
      a.caller = caller;
      a.fh = fh;
      a.oh = oh;
      if (auto bad = call.Resolve(a, proc == kShare, proc == kUnshare)) {
        stat(*bad);
        e.I32(0);
        return {};
      }
      Owner o{Protocol::kNlm, NlmClientId(caller), oh, 0};
      if (proc == kUnshare) {
        shares_->Close(call.file(), o);
        stat(kGranted);
      } else {
        locking::ShareOpen so;
        so.owner = o;
        so.access = ((access & 1) ? locking::kAccessRead : 0) |
                    ((access & 2) ? locking::kAccessWrite : 0);
        uint32_t deny = ((mode & 1) ? locking::kAccessRead : 0) |
                        ((mode & 2) ? locking::kAccessWrite : 0);
        so.share = locking::kShareAll & ~deny;
        stat(shares_->Open(call.file(), so) ? kDenied : kGranted);
      }
      e.I32(0);  // sequence
      return {};
    }
    case kFreeAll: {
      std::string name(args.String(kMaxStr));
      args.I32();  // state
      if (!args.ok()) return {AcceptStat::kGarbageArgs};
      ReleaseHost(name, ctx.peer);
      return {};
    }
  }
  return {AcceptStat::kProcUnavail};
}

void NlmProgram::SendGranted(const std::shared_ptr<Pending>& p) {
  std::string cookie;
  PutU64(&cookie, p->waiter);
  std::string args;
  XdrEncoder e(&args);
  e.Opaque(cookie);
  e.Bool(p->exclusive);
  Alock a = p->alock;
  a.caller = opts_.server_name;
  PutAlock(e, p->vers, a);
  for (int attempt = 0; attempt < opts_.granted_attempts; ++attempt) {
    Result<uint16_t> port =
        PmapGetPort(WithPort(p->peer, opts_.client_portmap_port), kNlmProgram,
                    p->vers, p->transport);
    if (!port.ok()) {
      CFS_LOG_DEBUG("GRANTED to {}: {}", p->peer.AddressString(),
                    port.status().ToString());
      std::this_thread::sleep_for(opts_.granted_timeout);
      continue;
    }
    Peer to = WithPort(p->peer, *port);
    if (p->msg) {
      // Asynchronous client: GRANTED_MSG; its GRANTED_RES settles it.
      {
        std::lock_guard<std::mutex> lk(mu_);
        granted_msgs_[p->waiter] = p->request;
      }
      SendOneWay(to, p->transport, p->vers, kGrantedMsg, args,
                 opts_.granted_timeout);
      return;
    }
    CallOptions o;
    o.transport = p->transport;
    o.timeout = opts_.granted_timeout;
    o.attempts = 1;
    Result<std::string> r =
        rpc::Call(to, kNlmProgram, p->vers, kGrantedProc, args, o);
    if (!r.ok()) {
      CFS_LOG_DEBUG("GRANTED to {}: {}", to.ToString(), r.status().ToString());
      continue;
    }
    XdrDecoder d(*r);
    d.Opaque(kMaxStr);
    uint32_t s = d.U32();
    if (d.ok() && s == kGranted) return;
    CFS_LOG_INFO("{} did not take its granted lock (stat {}); released",
                 p->peer.AddressString(), s);
    locks_->Unlock(p->request);
    return;
  }
  CFS_LOG_WARN("{} never answered GRANTED; lock released",
               p->peer.AddressString());
  locks_->Unlock(p->request);
}

int64_t NlmProgram::ReleaseHost(const std::string& name, const Peer& from) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = hosts_.find(name);
    std::optional<Peer> bound;
    if (it != hosts_.end()) bound = it->second;
    if (!bound && nsm_ != nullptr) {
      for (const auto& [n, addr] : nsm_->Hosts()) {
        if (n == name) bound = addr;
      }
    }
    if (bound && !bound->SameAddress(from)) {
      CFS_LOG_WARN(
          "release of host '{}' asked by {} (bound to {}); "
          "refused",
          name, from.AddressString(), bound->AddressString());
      return -1;
    }
    if (it != hosts_.end()) hosts_.erase(it);
    states_.erase(name);
  }
  uint64_t id = NlmClientId(name);
  locking::ReleaseFilter f;
  f.protocol = Protocol::kNlm;
  f.client = id;
  size_t n = locks_->Release(f);
  shares_->CloseClient(Protocol::kNlm, id);
  if (nsm_ != nullptr) nsm_->Forget(name);
  CFS_LOG_INFO("released {} lock(s) of host '{}'", n, name);
  return static_cast<int64_t>(n);
}

std::vector<NlmHostInfo> NlmProgram::Hosts() const {
  std::map<std::string, NlmHostInfo> by_name;
  {
    std::lock_guard<std::mutex> lk(mu_);
    for (const auto& [name, peer] : hosts_) {
      NlmHostInfo& h = by_name[name];
      h.name = name;
      h.address = peer.AddressString();
      h.bound = true;
    }
    for (const auto& [name, state] : states_) {
      auto it = by_name.find(name);
      if (it != by_name.end()) it->second.nsm_state = state;
    }
  }
  // NsmState takes its own mutex; not nested in mu_ (no order to keep).
  if (nsm_ != nullptr) {
    for (const auto& [name, peer] : nsm_->Hosts()) {
      NlmHostInfo& h = by_name[name];
      h.name = name;
      if (h.address.empty()) h.address = peer.AddressString();
      h.monitored = true;
    }
  }
  std::vector<NlmHostInfo> out;
  out.reserve(by_name.size());
  for (auto& [name, h] : by_name) out.push_back(std::move(h));
  return out;
}

void NlmProgram::NotifyRestart(uint32_t) {
  if (nsm_ == nullptr) return;
  int32_t state = nsm_->state();
  for (const auto& [name, addr] : nsm_->Hosts()) {
    Peer host = addr;
    callbacks_.Post([this, host, state, name = name] {
      Result<uint16_t> port =
          PmapGetPort(WithPort(host, opts_.client_portmap_port), kNsmProgram, 1,
                      Transport::kUdp, 3);
      if (!port.ok()) {
        CFS_LOG_WARN_IN(LogComponent::kNsm,
                        "cannot notify '{}' at {}: no status monitor", name,
                        host.AddressString());
        return;
      }
      CallOptions o;
      o.timeout = std::chrono::milliseconds(1000);
      o.attempts = 3;
      std::string note;
      XdrEncoder n(&note);
      n.String(opts_.server_name);
      n.I32(state);
      Result<std::string> s = rpc::Call(WithPort(host, *port), kNsmProgram, 1,
                                        6 /* SM_NOTIFY */, note, o);
      if (s.ok()) {
        CFS_LOG_INFO_IN(LogComponent::kNsm, "notified '{}' of state {}", name,
                        state);
      } else {
        CFS_LOG_WARN_IN(LogComponent::kNsm, "notifying '{}': {}", name,
                        s.status().ToString());
      }
    });
  }
}

// ---- NSM ----

HandlerResult NsmProgram::Call(const CallContext& ctx, XdrDecoder& args,
                               std::string* out) {
  XdrEncoder e(out);
  enum : uint32_t {
    kSmNull = 0,
    kSmStat = 1,
    kSmMon = 2,
    kSmUnmon = 3,
    kSmUnmonAll = 4,
    kSmSimuCrash = 5,
    kSmNotify = 6,
  };
  constexpr uint32_t kStatSucc = 0, kStatFail = 1;
  switch (ctx.header.proc) {
    case kSmNull:
      return {};
    case kSmStat: {
      args.String(kMaxStr);
      if (!args.ok()) return {AcceptStat::kGarbageArgs};
      e.U32(kStatSucc);
      e.I32(state_->state());
      return {};
    }
    case kSmMon: {
      std::string mon_name(args.String(kMaxStr));
      std::string my_name(args.String(kMaxStr));
      uint32_t prog = args.U32(), vers = args.U32(), proc = args.U32();
      args.Fixed(16);  // priv
      if (!args.ok()) return {AcceptStat::kGarbageArgs};
      // Only local services may ask to be told about other hosts.
      if (!ctx.peer.IsLoopback()) {
        e.U32(kStatFail);
        e.I32(state_->state());
        return {};
      }
      {
        std::lock_guard<std::mutex> lk(mu_);
        monitors_[mon_name] = {my_name, std::to_string(prog),
                               std::to_string(vers), std::to_string(proc)};
      }
      e.U32(kStatSucc);
      e.I32(state_->state());
      return {};
    }
    case kSmUnmon: {
      std::string mon_name(args.String(kMaxStr));
      args.String(kMaxStr);
      args.U32();
      args.U32();
      args.U32();
      if (!args.ok()) return {AcceptStat::kGarbageArgs};
      if (ctx.peer.IsLoopback()) {
        std::lock_guard<std::mutex> lk(mu_);
        monitors_.erase(mon_name);
      }
      e.I32(state_->state());
      return {};
    }
    case kSmUnmonAll: {
      args.String(kMaxStr);
      args.U32();
      args.U32();
      args.U32();
      if (!args.ok()) return {AcceptStat::kGarbageArgs};
      if (ctx.peer.IsLoopback()) {
        std::lock_guard<std::mutex> lk(mu_);
        monitors_.clear();
      }
      e.I32(state_->state());
      return {};
    }
    case kSmSimuCrash:
      if (ctx.peer.IsLoopback()) {
        state_->Bump();
        if (nlm_ != nullptr) nlm_->NotifyRestart();
      }
      return {};
    case kSmNotify: {
      std::string mon_name(args.String(kMaxStr));
      int32_t state = args.I32();
      if (!args.ok()) return {AcceptStat::kGarbageArgs};
      CFS_LOG_INFO_IN(LogComponent::kNsm, "'{}' from {} reports state {}",
                      mon_name, ctx.peer.AddressString(), state);
      // A client restarted: its old locks are gone with its processes.
      if (nlm_ != nullptr) nlm_->ReleaseHost(mon_name, ctx.peer);
      return {};
    }
  }
  return {AcceptStat::kProcUnavail};
}

}  // namespace concordfs::rpc
