// NLM (program 100021, mostly v4) and NSM (100024 v1) against the real
// daemon, through libnfs's raw NLM4/NSM API (a client library nobody here
// wrote), with local fcntl/flock locks taken through the FUSE mount in the
// same lock manager: TEST/LOCK/UNLOCK semantics and ranges, cross-protocol
// exclusion both ways, blocking locks with GRANTED callbacks, CANCEL,
// deadlocks across protocols, the _MSG/_RES procedures, versions 1 and 3,
// caller names bound to addresses, FREE_ALL / SM_NOTIFY / SM_STAT, restarts
// with a grace period and SM_NOTIFY to the hosts that held locks, and
// retransmissions (the duplicate request cache).
//
// Setting: at start the binary moves itself into a private network and
// mount namespace (only loopback; / made private and a tmpfs on /run, so
// nothing reaches the host's rpcbind), runs Debian's `rpcbind -f -w` there
// on 127.0.0.1:111, and plays the NFS client's side of the callbacks:
// FakeClient answers NLM GRANTED and records SM_NOTIFY as the client's
// lockd/statd would, registered with that rpcbind. The daemon runs with
// `portmapper: off` (the fixture's default): port 111 belongs to rpcbind
// and the daemon finds the client's services through it, as it would find
// a remote client's. libnfs has no FREE_ALL, _MSG or v1/v3 calls; those
// and the retransmission tests use a small raw UDP client (RawUdp).
// Expected values follow the Open Group XNFS NLM/NSM specification and
// DESIGN.md "The lock model".
#include <net/if.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include "tests/integration/nfs/nfs_fixture.h"
// clang-format off
#include <nfsc/libnfs-raw-nlm.h>
#include <nfsc/libnfs-raw-nsm.h>
#include <nfsc/libnfs-raw-portmap.h>
// clang-format on

namespace cfs_nfs_test {
namespace {

// FakeClient::Reset(kNoAnswer): GRANTED calls get no reply at all.
constexpr uint32_t kNoAnswer = 0xffffffffu;

using Clock = std::chrono::steady_clock;
using Fh = std::string;  // an NFS file handle's bytes

constexpr uint32_t kNlmProg = 100021;
constexpr uint32_t kNsmProg = 100024;
constexpr uint32_t kNlmFreeAll = 23;
constexpr uint64_t kU64Max = UINT64_MAX;

int64_t MsSince(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t)
      .count();
}
int64_t MsBetween(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(b - a).count();
}
void SleepMs(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}
std::string HostName() {
  char h[256] = {};
  ::gethostname(h, sizeof(h) - 1);
  return h;
}

// ---- XDR, enough for the calls and callbacks here ----

class XdrOut {
 public:
  XdrOut& U32(uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) b_.push_back(static_cast<char>(v >> s));
    return *this;
  }
  XdrOut& U64(uint64_t v) {
    U32(static_cast<uint32_t>(v >> 32));
    return U32(static_cast<uint32_t>(v));
  }
  XdrOut& Opaque(std::string_view s) {
    U32(static_cast<uint32_t>(s.size()));
    b_.append(s);
    b_.append((4 - s.size() % 4) % 4, '\0');
    return *this;
  }
  const std::string& str() const { return b_; }

 private:
  std::string b_;
};

class XdrIn {
 public:
  explicit XdrIn(std::string_view s) : s_(s) {}
  uint32_t U32() {
    if (!ok_ || s_.size() - pos_ < 4) {
      ok_ = false;
      return 0;
    }
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      v = (v << 8) | static_cast<uint8_t>(s_[pos_ + i]);
    }
    pos_ += 4;
    return v;
  }
  uint64_t U64() {
    uint64_t hi = U32();
    return (hi << 32) | U32();
  }
  std::string Opaque(size_t max = 4096) {
    uint32_t n = U32();
    size_t padded = (static_cast<size_t>(n) + 3) & ~size_t{3};
    if (!ok_ || n > max || s_.size() - pos_ < padded) {
      ok_ = false;
      return {};
    }
    std::string v(s_.substr(pos_, n));
    pos_ += padded;
    return v;
  }
  std::string_view Rest() const { return s_.substr(pos_); }
  bool ok() const { return ok_; }

 private:
  std::string_view s_;
  size_t pos_ = 0;
  bool ok_ = true;
};

// A whole RPC call message with AUTH_SYS uid/gid 0.
std::string CallMsg(uint32_t xid, uint32_t prog, uint32_t vers, uint32_t proc,
                    std::string_view args) {
  XdrOut cred;
  cred.U32(0).Opaque("nlm-test").U32(0).U32(0).U32(0);
  XdrOut x;
  x.U32(xid).U32(0 /* CALL */).U32(2).U32(prog).U32(vers).U32(proc);
  x.U32(1 /* AUTH_SYS */).Opaque(cred.str());
  x.U32(0).U32(0);  // verifier: AUTH_NONE
  return x.str() + std::string(args);
}

// The results of an accepted, successful reply to `xid`, else nullopt.
std::optional<std::string> ResultsOf(std::string_view msg, uint32_t xid) {
  XdrIn in(msg);
  if (in.U32() != xid || in.U32() != 1 /* REPLY */ ||
      in.U32() != 0 /* MSG_ACCEPTED */) {
    return std::nullopt;
  }
  in.U32();
  in.Opaque(400);
  if (in.U32() != 0 /* SUCCESS */ || !in.ok()) return std::nullopt;
  return std::string(in.Rest());
}

// ---- the NLM owner and lock arguments ----

struct NlmOwner {
  std::string caller;  // caller_name: the client host
  uint32_t svid = 0;   // the client process
  std::string oh;      // owner handle
};

struct Holder {
  bool exclusive = false;
  uint32_t svid = 0;
  std::string oh;
  uint64_t offset = 0;
  uint64_t len = 0;
};

// A raw UDP client for what libnfs lacks (FREE_ALL) and for sending one
// call twice with the same xid. Calls come from 127.0.0.1 (an ephemeral
// port), like libnfs's.
class RawUdp {
 public:
  // `from`: the source address (any 127/8 address reaches the daemon).
  explicit RawUdp(uint16_t port, const char* from = "127.0.0.1") {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in src{};
    src.sin_family = AF_INET;
    ::inet_pton(AF_INET, from, &src.sin_addr);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&src), sizeof(src)) != 0) {
      ADD_FAILURE() << "bind " << from << ": " << std::strerror(errno);
    }
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  }
  ~RawUdp() { ::close(fd_); }
  RawUdp(const RawUdp&) = delete;
  RawUdp& operator=(const RawUdp&) = delete;

  static uint32_t NewXid() {
    static std::atomic<uint32_t> next{static_cast<uint32_t>(
        (static_cast<uint32_t>(::getpid()) << 16) ^
        static_cast<uint32_t>(Clock::now().time_since_epoch().count()))};
    return next.fetch_add(7919);
  }

  // Sends `msg` (a whole call with `xid`) and returns the results of the
  // reply with that xid; nullopt on timeout or a rejected call.
  std::optional<std::string> Exchange(const std::string& msg, uint32_t xid,
                                      int timeout_ms = 3000) {
    if (::send(fd_, msg.data(), msg.size(), 0) !=
        static_cast<ssize_t>(msg.size())) {
      return std::nullopt;
    }
    auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (Clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      char buf[65536];
      ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n < 4) continue;
      std::string_view reply(buf, static_cast<size_t>(n));
      if (XdrIn(reply).U32() != xid) continue;  // an older reply
      return ResultsOf(reply, xid);
    }
    return std::nullopt;
  }
  // A one-way call (the _MSG procedures are answered by a _RES call).
  void Post(uint32_t prog, uint32_t vers, uint32_t proc,
            const std::string& args) {
    std::string msg = CallMsg(NewXid(), prog, vers, proc, args);
    (void)!::send(fd_, msg.data(), msg.size(), 0);
  }
  std::optional<std::string> Call(uint32_t prog, uint32_t vers, uint32_t proc,
                                  const std::string& args) {
    uint32_t xid = NewXid();
    return Exchange(CallMsg(xid, prog, vers, proc, args), xid);
  }

 private:
  int fd_ = -1;
};

// NLM argument encodings for RawUdp: nlm4_lock (v4) or nlm_lock (v1, v3:
// 32-bit offset and length).
std::string RawAlock(uint32_t vers, const NlmOwner& o, const Fh& fh,
                     uint64_t off, uint64_t len) {
  XdrOut x;
  x.Opaque(o.caller).Opaque(fh).Opaque(o.oh).U32(o.svid);
  if (vers >= 4) {
    x.U64(off).U64(len);
  } else {
    x.U32(static_cast<uint32_t>(off)).U32(static_cast<uint32_t>(len));
  }
  return x.str();
}
std::string RawLockArgs(uint32_t vers, const std::string& cookie, bool block,
                        bool excl, const NlmOwner& o, const Fh& fh,
                        uint64_t off, uint64_t len) {
  XdrOut x;
  x.Opaque(cookie).U32(block).U32(excl);
  return x.str() + RawAlock(vers, o, fh, off, len) +
         XdrOut().U32(0 /* reclaim */).U32(1 /* state */).str();
}
std::string RawTestArgs(uint32_t vers, const std::string& cookie, bool excl,
                        const NlmOwner& o, const Fh& fh, uint64_t off,
                        uint64_t len) {
  return XdrOut().Opaque(cookie).U32(excl).str() +
         RawAlock(vers, o, fh, off, len);
}
std::string RawUnlockArgs(uint32_t vers, const std::string& cookie,
                          const NlmOwner& o, const Fh& fh, uint64_t off,
                          uint64_t len) {
  return XdrOut().Opaque(cookie).str() + RawAlock(vers, o, fh, off, len);
}
std::string RawLockArgs(const std::string& cookie, bool block, bool excl,
                        const NlmOwner& o, const Fh& fh, uint64_t off,
                        uint64_t len) {
  return RawLockArgs(4, cookie, block, excl, o, fh, off, len);
}
// nlm4_res: cookie, stat. -1 when undecodable.
int RawStat(const std::optional<std::string>& res) {
  if (!res) return -1;
  XdrIn in(*res);
  in.Opaque();
  uint32_t s = in.U32();
  return in.ok() ? static_cast<int>(s) : -1;
}

// ---- NLM4 / NSM through libnfs ----

// One synchronous libnfs NLM v4 connection. Each call returns the nlm4_stats
// of the reply, or -1 when the RPC itself failed; every reply must echo the
// call's cookie.
class Nlm {
 public:
  bool Connect(uint16_t port) {
    if (rpc_.Connect(port, NLM_PROGRAM, NLM_V4)) return true;
    ADD_FAILURE() << "NLM connect: " << rpc_.error();
    return false;
  }

  int Null() {
    return rpc_.Call([&](rpc_context* r, rpc_cb cb, void* priv) {
      return rpc_nlm4_null_async(r, cb, priv);
    });
  }

  int Test(const NlmOwner& o, const Fh& fh, uint64_t off, uint64_t len,
           bool excl, Holder* holder = nullptr) {
    NLM4_TESTargs args{};
    args.cookie = NextCookie();
    args.exclusive = excl;
    args.lock = Alock(o, fh, off, len);
    int st = -1;
    int rc = rpc_.Call(
        [&](rpc_context* r, rpc_cb cb, void* priv) {
          return rpc_nlm4_test_async(r, cb, &args, priv);
        },
        [&](int status, void* data) {
          if (status != RPC_STATUS_SUCCESS) return;
          auto* res = static_cast<NLM4_TESTres*>(data);
          CheckCookie(res->cookie);
          st = res->reply.status;
          if (st == NLM4_DENIED && holder != nullptr) {
            const nlm4_holder& h = res->reply.nlm4_testreply_u.lock.holder;
            holder->exclusive = h.exclusive != 0;
            holder->svid = h.svid;
            holder->oh = h.oh != nullptr ? h.oh : "";
            holder->offset = h.l_offset;
            holder->len = h.l_len;
          }
        });
    return rc == RPC_STATUS_SUCCESS ? st : -1;
  }

  int Lock(const NlmOwner& o, const Fh& fh, uint64_t off, uint64_t len,
           bool excl, bool block = false, bool reclaim = false) {
    NLM4_LOCKargs args{};
    args.cookie = NextCookie();
    args.block = block;
    args.exclusive = excl;
    args.lock = Alock(o, fh, off, len);
    args.reclaim = reclaim;
    args.state = 1;
    return Simple<NLM4_LOCKres>([&](rpc_context* r, rpc_cb cb, void* priv) {
      return rpc_nlm4_lock_async(r, cb, &args, priv);
    });
  }

  int Cancel(const NlmOwner& o, const Fh& fh, uint64_t off, uint64_t len,
             bool excl, bool block = true) {
    NLM4_CANCargs args{};
    args.cookie = NextCookie();
    args.block = block;
    args.exclusive = excl;
    args.lock = Alock(o, fh, off, len);
    return Simple<NLM4_CANCres>([&](rpc_context* r, rpc_cb cb, void* priv) {
      return rpc_nlm4_cancel_async(r, cb, &args, priv);
    });
  }

  int Unlock(const NlmOwner& o, const Fh& fh, uint64_t off, uint64_t len) {
    NLM4_UNLOCKargs args{};
    args.cookie = NextCookie();
    args.lock = Alock(o, fh, off, len);
    return Simple<NLM4_UNLOCKres>([&](rpc_context* r, rpc_cb cb, void* priv) {
      return rpc_nlm4_unlock_async(r, cb, &args, priv);
    });
  }

 private:
  // The pointers refer to `o` and `fh`, which outlive the call.
  static nlm4_lock Alock(const NlmOwner& o, const Fh& fh, uint64_t off,
                         uint64_t len) {
    nlm4_lock l{};
    l.caller_name = const_cast<char*>(o.caller.c_str());
    l.fh.data.data_len = static_cast<u_int>(fh.size());
    l.fh.data.data_val = const_cast<char*>(fh.data());
    l.oh = const_cast<char*>(o.oh.c_str());
    l.svid = o.svid;
    l.l_offset = off;
    l.l_len = len;
    return l;
  }
  nlm_cookie NextCookie() {
    cookie_ = "cookie-" + std::to_string(++seq_);
    nlm_cookie c{};
    c.data.data_len = static_cast<u_int>(cookie_.size());
    c.data.data_val = cookie_.data();
    return c;
  }
  void CheckCookie(const nlm_cookie& c) {
    EXPECT_EQ(std::string(c.data.data_val, c.data.data_len), cookie_)
        << "the reply must echo the call's cookie";
  }
  // For the results that are {cookie, stat}.
  template <typename Res>
  int Simple(const std::function<int(rpc_context*, rpc_cb, void*)>& issue) {
    int st = -1;
    int rc = rpc_.Call(issue, [&](int status, void* data) {
      if (status != RPC_STATUS_SUCCESS) return;
      auto* res = static_cast<Res*>(data);
      CheckCookie(res->cookie);
      st = res->status;
    });
    return rc == RPC_STATUS_SUCCESS ? st : -1;
  }

  RawRpc rpc_;
  std::string cookie_;
  uint32_t seq_ = 0;
};

// NSM v1 on the daemon's port.
class Nsm {
 public:
  bool Connect(uint16_t port) {
    if (rpc_.Connect(port, NSM_PROGRAM, NSM_V1)) return true;
    ADD_FAILURE() << "NSM connect: " << rpc_.error();
    return false;
  }
  // SM_STAT: the server's state number (nullopt if the call failed or the
  // result was not STAT_SUCC).
  std::optional<int> Stat() {
    std::string name = "client-stat";
    NSM1_STATargs args{};
    args.mon_name = name.data();
    std::optional<int> state;
    rpc_.Call(
        [&](rpc_context* r, rpc_cb cb, void* priv) {
          return rpc_nsm1_stat_async(r, cb, &args, priv);
        },
        [&](int status, void* data) {
          if (status != RPC_STATUS_SUCCESS) return;
          auto* res = static_cast<NSM1_STATres*>(data);
          EXPECT_EQ(res->res, NSM_STAT_SUCC);
          if (res->res == NSM_STAT_SUCC) state = res->state;
        });
    return state;
  }
  // SM_NOTIFY: `mon_name` restarted with `state`.
  int Notify(const std::string& mon_name, int state) {
    std::string name = mon_name;
    NSM1_NOTIFYargs args{};
    args.mon_name = name.data();
    args.state = state;
    return rpc_.Call([&](rpc_context* r, rpc_cb cb, void* priv) {
      return rpc_nsm1_notify_async(r, cb, &args, priv);
    });
  }

 private:
  RawRpc rpc_;
};

// Creates `name` in the export's root over NFS (MOUNT + CREATE, mode 0666)
// and returns its handle ("" on failure).
Fh MakeFile(uint16_t port, const std::string& name) {
  RawRpc mnt;
  if (!mnt.Connect(port, MOUNT_PROGRAM, MOUNT_V3)) return {};
  std::string root_path = "/";
  Fh root;
  mnt.Call(
      [&](rpc_context* r, rpc_cb cb, void* priv) {
        return rpc_mount3_mnt_async(r, cb, root_path.data(), priv);
      },
      [&](int status, void* data) {
        if (status != RPC_STATUS_SUCCESS) return;
        auto* res = static_cast<mountres3*>(data);
        if (res->fhs_status != MNT3_OK) return;
        const fhandle3& h = res->mountres3_u.mountinfo.fhandle;
        root = Fh(h.fhandle3_val, h.fhandle3_len);
      });
  if (root.empty()) return {};
  RawRpc nfs;
  if (!nfs.Connect(port, NFS_PROGRAM, NFS_V3)) return {};
  CREATE3args args{};
  args.where.dir.data.data_len = static_cast<u_int>(root.size());
  args.where.dir.data.data_val = root.data();
  std::string n = name;
  args.where.name = n.data();
  args.how.mode = UNCHECKED;
  args.how.createhow3_u.obj_attributes.mode.set_it = 1;
  args.how.createhow3_u.obj_attributes.mode.set_mode3_u.mode = 0666;
  Fh fh;
  nfs.Call(
      [&](rpc_context* r, rpc_cb cb, void* priv) {
        return rpc_nfs3_create_async(r, cb, &args, priv);
      },
      [&](int status, void* data) {
        if (status != RPC_STATUS_SUCCESS) return;
        auto* res = static_cast<CREATE3res*>(data);
        if (res->status != NFS3_OK) return;
        const post_op_fh3& h = res->CREATE3res_u.resok.obj;
        if (h.handle_follows) {
          fh = Fh(h.post_op_fh3_u.handle.data.data_val,
                  h.post_op_fh3_u.handle.data.data_len);
        }
      });
  return fh;
}

// ---- the client's side of the callbacks ----

struct GrantedCall {
  uint32_t vers = 0;
  bool tcp = false;
  std::string cookie;
  bool exclusive = false;
  std::string caller;
  Fh fh;
  std::string oh;
  uint32_t svid = 0;
  uint64_t offset = 0;
  uint64_t len = 0;
  Clock::time_point at;
};

// An NLM _RES call (the answer to a _MSG request): nlm4_res, or
// nlm4_testres with the holder when DENIED.
struct ResCall {
  uint32_t proc = 0;
  std::string cookie;
  uint32_t stat = 0;
  Holder holder;
};

struct NotifyCall {
  std::string mon_name;
  int32_t state = 0;
  Clock::time_point at;
};

// What an NFS client's lockd (NLM GRANTED) and statd (SM_NOTIFY) would
// receive from the server: one port, TCP and UDP, served by a thread,
// registered with the namespace's rpcbind. Records every call.
class FakeClient {
 public:
  ~FakeClient() { Stop(); }

  bool Start() {
    tcp_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(tcp_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(tcp_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
        ::listen(tcp_, 16) != 0) {
      return false;
    }
    socklen_t len = sizeof(a);
    ::getsockname(tcp_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    udp_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (::bind(udp_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
      return false;
    }
    if (::pipe2(wake_, O_CLOEXEC) != 0) return false;
    thread_ = std::thread([this] { Loop(); });
    return true;
  }

  void Stop() {
    if (!thread_.joinable()) return;
    char c = 'x';
    (void)!::write(wake_[1], &c, 1);
    thread_.join();
    for (int fd : {tcp_, udp_, wake_[0], wake_[1]}) ::close(fd);
  }

  // PMAP SET of NLM v1/3/4 and NSM v1, TCP and UDP, through libnfs.
  bool Register() {
    RawRpc pm;
    if (!pm.Connect(111, PMAP_PROGRAM, PMAP_V2)) return false;
    struct Reg {
      uint32_t prog, vers;
    };
    for (Reg r : {Reg{kNlmProg, 1}, Reg{kNlmProg, 3}, Reg{kNlmProg, 4},
                  Reg{kNsmProg, 1}}) {
      for (int proto : {IPPROTO_TCP, IPPROTO_UDP}) {
        bool ok = false;
        int rc = pm.Call(
            [&](rpc_context* rpc, rpc_cb cb, void* priv) {
              return rpc_pmap2_set_async(rpc, static_cast<int>(r.prog),
                                         static_cast<int>(r.vers), proto, port_,
                                         cb, priv);
            },
            [&](int status, void* data) {
              ok = status == RPC_STATUS_SUCCESS &&
                   *static_cast<uint32_t*>(data) != 0;
            });
        if (rc != RPC_STATUS_SUCCESS || !ok) return false;
      }
    }
    return true;
  }

  uint16_t port() const { return port_; }

  // Forgets what was received; GRANTED is answered with `granted_reply`.
  void Reset(uint32_t granted_reply = NLM4_GRANTED) {
    std::lock_guard<std::mutex> lk(mu_);
    granted_.clear();
    notify_.clear();
    res_.clear();
    granted_reply_ = granted_reply;
  }

  std::vector<GrantedCall> Granted(const NlmOwner& o) {
    std::lock_guard<std::mutex> lk(mu_);
    std::vector<GrantedCall> out;
    for (const GrantedCall& g : granted_) {
      if (g.svid == o.svid && g.oh == o.oh) out.push_back(g);
    }
    return out;
  }
  // The first GRANTED for owner `o` (its svid and oh), waiting up to
  // `timeout_ms` for it.
  std::optional<GrantedCall> WaitGranted(const NlmOwner& o,
                                         int timeout_ms = 5000) {
    std::unique_lock<std::mutex> lk(mu_);
    std::optional<GrantedCall> found;
    cv_.wait_for(lk, std::chrono::milliseconds(timeout_ms), [&] {
      for (const GrantedCall& g : granted_) {
        if (g.svid == o.svid && g.oh == o.oh) {
          found = g;
          return true;
        }
      }
      return false;
    });
    return found;
  }
  // Waits until `n` SM_NOTIFY calls arrived; returns those there are.
  std::vector<NotifyCall> WaitNotify(size_t n, int timeout_ms = 5000) {
    std::unique_lock<std::mutex> lk(mu_);
    cv_.wait_for(lk, std::chrono::milliseconds(timeout_ms),
                 [&] { return notify_.size() >= n; });
    return notify_;
  }
  // The first _RES call `proc` with `cookie`, waiting for it.
  std::optional<ResCall> WaitRes(uint32_t proc, const std::string& cookie,
                                 int timeout_ms = 5000) {
    std::unique_lock<std::mutex> lk(mu_);
    std::optional<ResCall> found;
    cv_.wait_for(lk, std::chrono::milliseconds(timeout_ms), [&] {
      for (const ResCall& r : res_) {
        if (r.proc == proc && r.cookie == cookie) {
          found = r;
          return true;
        }
      }
      return false;
    });
    return found;
  }
  std::vector<NotifyCall> Notifies() {
    std::lock_guard<std::mutex> lk(mu_);
    return notify_;
  }

 private:
  void Loop() {
    struct Conn {
      int fd;
      std::string in;
    };
    std::vector<Conn> conns;
    for (;;) {
      std::vector<pollfd> fds{
          {wake_[0], POLLIN, 0}, {tcp_, POLLIN, 0}, {udp_, POLLIN, 0}};
      for (const Conn& c : conns) fds.push_back({c.fd, POLLIN, 0});
      if (::poll(fds.data(), fds.size(), 1000) < 0) continue;
      if (fds[0].revents != 0) break;
      // Connections accepted now are polled from the next round on.
      std::vector<Conn> fresh;
      if (fds[1].revents & POLLIN) {
        int fd = ::accept4(tcp_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd >= 0) fresh.push_back({fd, {}});
      }
      if (fds[2].revents & POLLIN) {
        char buf[65536];
        sockaddr_in from{};
        socklen_t flen = sizeof(from);
        ssize_t n = ::recvfrom(udp_, buf, sizeof(buf), 0,
                               reinterpret_cast<sockaddr*>(&from), &flen);
        if (n > 0) {
          std::string reply =
              Handle(std::string_view(buf, static_cast<size_t>(n)), false);
          if (!reply.empty()) {
            ::sendto(udp_, reply.data(), reply.size(), 0,
                     reinterpret_cast<sockaddr*>(&from), flen);
          }
        }
      }
      std::vector<Conn> keep;
      for (size_t i = 0; i < conns.size(); ++i) {
        Conn& c = conns[i];
        if (fds[3 + i].revents == 0) {
          keep.push_back(std::move(c));
          continue;
        }
        char buf[65536];
        ssize_t n = ::recv(c.fd, buf, sizeof(buf), 0);
        if (n <= 0) {
          ::close(c.fd);
          continue;
        }
        c.in.append(buf, static_cast<size_t>(n));
        // Record marking: one-fragment records are all the daemon sends.
        while (c.in.size() >= 4) {
          uint32_t mark = XdrIn(c.in).U32();
          size_t len = mark & 0x7fffffffu;
          if (c.in.size() < 4 + len) break;
          std::string reply = Handle(std::string_view(c.in).substr(4, len),
                                     /*tcp=*/true);
          c.in.erase(0, 4 + len);
          if (!reply.empty()) {
            std::string out =
                XdrOut()
                    .U32(0x80000000u | static_cast<uint32_t>(reply.size()))
                    .str() +
                reply;
            (void)!::send(c.fd, out.data(), out.size(), MSG_NOSIGNAL);
          }
        }
        keep.push_back(std::move(c));
      }
      for (Conn& c : fresh) keep.push_back(std::move(c));
      conns = std::move(keep);
    }
    for (const Conn& c : conns) ::close(c.fd);
  }

  // One call; returns the whole reply message ("" for none).
  std::string Handle(std::string_view msg, bool tcp) {
    XdrIn in(msg);
    uint32_t xid = in.U32();
    uint32_t type = in.U32();
    in.U32();  // rpcvers
    uint32_t prog = in.U32(), vers = in.U32(), proc = in.U32();
    in.U32();
    in.Opaque(400);  // credential
    in.U32();
    in.Opaque(400);  // verifier
    if (!in.ok() || type != 0) return {};
    XdrOut reply;
    reply.U32(xid).U32(1).U32(0).U32(0).U32(0);  // accepted, AUTH_NONE
    if (proc == 0) return reply.U32(0).str();
    if (prog == kNlmProg && (proc == 5 || proc == 10)) {  // GRANTED(_MSG)
      GrantedCall g;
      g.vers = vers;
      g.tcp = tcp;
      g.at = Clock::now();
      g.cookie = in.Opaque();
      g.exclusive = in.U32() != 0;
      g.caller = in.Opaque();
      g.fh = in.Opaque();
      g.oh = in.Opaque();
      g.svid = in.U32();
      if (vers >= 4) {
        g.offset = in.U64();
        g.len = in.U64();
      } else {
        g.offset = in.U32();
        g.len = in.U32();
      }
      if (!in.ok()) return reply.U32(4 /* GARBAGE_ARGS */).str();
      uint32_t answer;
      {
        std::lock_guard<std::mutex> lk(mu_);
        granted_.push_back(g);
        answer = granted_reply_;
      }
      cv_.notify_all();
      if (proc == 10) return {};  // answered with GRANTED_RES, not here
      if (answer == kNoAnswer) return {};  // a client that never answers
      return reply.U32(0).Opaque(g.cookie).U32(answer).str();
    }
    if (prog == kNlmProg && proc >= 11 && proc <= 15) {  // _RES
      ResCall r;
      r.proc = proc;
      r.cookie = in.Opaque();
      r.stat = in.U32();
      if (proc == 11 && r.stat == NLM4_DENIED && vers >= 4) {
        r.holder.exclusive = in.U32() != 0;
        r.holder.svid = in.U32();
        r.holder.oh = in.Opaque();
        r.holder.offset = in.U64();
        r.holder.len = in.U64();
      }
      if (!in.ok()) return {};
      {
        std::lock_guard<std::mutex> lk(mu_);
        res_.push_back(r);
      }
      cv_.notify_all();
      return {};  // one-way: nothing goes back to the server's NFS socket
    }
    if (prog == kNsmProg && proc == 6) {  // SM_NOTIFY
      NotifyCall n;
      n.mon_name = in.Opaque();
      n.state = static_cast<int32_t>(in.U32());
      n.at = Clock::now();
      if (!in.ok()) return reply.U32(4).str();
      {
        std::lock_guard<std::mutex> lk(mu_);
        notify_.push_back(n);
      }
      cv_.notify_all();
      return reply.U32(0).str();
    }
    return reply.U32(3 /* PROC_UNAVAIL */).str();
  }

  int tcp_ = -1, udp_ = -1, wake_[2] = {-1, -1};
  uint16_t port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<GrantedCall> granted_;  // GUARDED_BY(mu_)
  std::vector<NotifyCall> notify_;    // GUARDED_BY(mu_)
  std::vector<ResCall> res_;          // GUARDED_BY(mu_)
  uint32_t granted_reply_ = NLM4_GRANTED;
};

// ---- the private network namespace, rpcbind and the FakeClient ----

bool g_env_ok = false;
std::string g_env_error;
pid_t g_guardian = -1;  // runs rpcbind
int g_guardian_fd = -1;
FakeClient* g_client = nullptr;

bool LoopbackUp() {
  int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ifreq r{};
  std::strncpy(r.ifr_name, "lo", IFNAMSIZ - 1);
  bool ok = ::ioctl(s, SIOCGIFFLAGS, &r) == 0;
  r.ifr_flags |= IFF_UP;
  ok = ok && ::ioctl(s, SIOCSIFFLAGS, &r) == 0;
  ::close(s);
  return ok;
}

class CallbackEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    g_env_ok = Prepare();
    if (!g_env_ok) ADD_FAILURE() << "test environment: " << g_env_error;
  }
  void TearDown() override {
    if (g_client != nullptr) {
      g_client->Stop();
      delete g_client;
      g_client = nullptr;
    }
    if (g_guardian > 0) {
      ::close(g_guardian_fd);  // the guardian stops rpcbind and exits
      int status;
      ::waitpid(g_guardian, &status, 0);
      g_guardian = -1;
    }
  }

 private:
  bool Fail(const std::string& what) {
    g_env_error = what + ": " + std::strerror(errno);
    return false;
  }
  // Runs before any test, while the process is still single-threaded.
  bool Prepare() {
    if (::unshare(CLONE_NEWNET | CLONE_NEWNS) != 0) return Fail("unshare");
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
      return Fail("make / private");
    }
    if (::mount("tmpfs", "/run", "tmpfs", 0, "mode=0755") != 0) {
      return Fail("tmpfs on /run");
    }
    ::mkdir("/run/rpcbind", 0755);
    if (!LoopbackUp()) return Fail("loopback up");
    // rpcbind drops root for its own user, which clears a parent-death
    // signal; so a guardian child (root) runs it and kills it when the
    // pipe from this process reaches EOF: at TearDown, or when this process
    // dies in any way (the other holders of the write end are children that
    // die with it, or exec'd daemons, which do not inherit it).
    int guard[2];
    if (::pipe2(guard, O_CLOEXEC) != 0) return Fail("pipe");
    g_guardian = ::fork();
    if (g_guardian == 0) {
      ::close(guard[1]);
      pid_t rpcbind = ::fork();
      if (rpcbind == 0) {
        int fd = ::open("/run/rpcbind.log", O_WRONLY | O_CREAT, 0644);
        ::dup2(fd, 1);
        ::dup2(fd, 2);
        ::execl("/usr/sbin/rpcbind", "rpcbind", "-f", "-w", nullptr);
        ::_exit(127);
      }
      char c;
      ssize_t n;
      do {
        n = ::read(guard[0], &c, 1);
      } while (n > 0 || (n < 0 && errno == EINTR));
      ::kill(rpcbind, SIGKILL);
      int status;
      ::waitpid(rpcbind, &status, 0);
      ::_exit(0);
    }
    ::close(guard[0]);
    g_guardian_fd = guard[1];
    auto deadline = Clock::now() + std::chrono::seconds(10);
    while (!TcpConnects(111)) {
      if (Clock::now() > deadline) return Fail("rpcbind did not start");
      SleepMs(20);
    }
    g_client = new FakeClient();
    if (!g_client->Start()) return Fail("callback receiver");
    if (!g_client->Register()) {
      g_env_error = "PMAP SET of the callback receiver refused";
      return false;
    }
    return true;
  }
};

[[maybe_unused]] ::testing::Environment* const kEnv =
    ::testing::AddGlobalTestEnvironment(new CallbackEnvironment);

// ---- a local process holding fcntl locks on the FUSE mount ----

// A forked child with the file open that runs fcntl commands sent to it;
// POSIX locks belong to a process, so it is an owner distinct from this
// process and from every NLM owner. Send() returns at once (an F_SETLKW may
// wait); Await() collects the answer.
class LocalProcess {
 public:
  struct Reply {
    int err = -1;  // errno of fcntl (0 = success); -1: no answer yet
    short type = F_UNLCK;
    int64_t start = 0;
    int64_t len = 0;
    int32_t pid = 0;
  };

  explicit LocalProcess(const std::string& path) {
    int to[2], from[2];
    if (::pipe2(to, O_CLOEXEC) != 0 || ::pipe2(from, O_CLOEXEC) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      ::close(to[1]);
      ::close(from[0]);
      int fd = ::open(path.c_str(), O_RDWR);
      Reply r;
      r.err = fd < 0 ? errno : 0;
      (void)!::write(from[1], &r, sizeof(r));
      Cmd c;
      while (::read(to[0], &c, sizeof(c)) == sizeof(c)) {
        if (c.op == 'X') ::_exit(0);
        Reply rep;
        if (c.op == 'F') {  // flock(2); `type` holds the LOCK_* operation
          rep.err = ::flock(fd, c.type) == 0 ? 0 : errno;
          (void)!::write(from[1], &rep, sizeof(rep));
          continue;
        }
        struct flock fl {};
        fl.l_type = c.type;
        fl.l_whence = SEEK_SET;
        fl.l_start = c.start;
        fl.l_len = c.len;
        int cmd = c.op == 'S' ? F_SETLK : c.op == 'W' ? F_SETLKW : F_GETLK;
        rep.err = ::fcntl(fd, cmd, &fl) == 0 ? 0 : errno;
        rep.type = fl.l_type;
        rep.start = fl.l_start;
        rep.len = fl.l_len;
        rep.pid = fl.l_pid;
        (void)!::write(from[1], &rep, sizeof(rep));
      }
      ::_exit(0);
    }
    ::close(to[0]);
    ::close(from[1]);
    to_ = to[1];
    from_ = from[0];
    Reply r = Await(10000);
    if (r.err != 0) {
      ADD_FAILURE() << "local open of " << path << ": " << r.err;
    } else {
      ok_ = true;
    }
  }
  ~LocalProcess() { Kill(); }
  LocalProcess(const LocalProcess&) = delete;
  LocalProcess& operator=(const LocalProcess&) = delete;

  bool ok() const { return ok_; }
  pid_t pid() const { return pid_; }

  // op: 'S' F_SETLK, 'W' F_SETLKW, 'G' F_GETLK; 'F' flock(type).
  void Send(char op, short type, int64_t start, int64_t len) {
    Cmd c{op, type, start, len};
    (void)!::write(to_, &c, sizeof(c));
  }
  // The answer to the last Send, or err == -1 after `timeout_ms`.
  Reply Await(int timeout_ms) {
    Reply r;
    pollfd p{from_, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) == 1 &&
        ::read(from_, &r, sizeof(r)) == sizeof(r)) {
      return r;
    }
    return Reply{};
  }
  // fcntl and its errno (or -1: no answer in time).
  int Do(char op, short type, int64_t start, int64_t len,
         int timeout_ms = 5000) {
    Send(op, type, start, len);
    return Await(timeout_ms).err;
  }
  Reply GetLk(short type, int64_t start, int64_t len) {
    Send('G', type, start, len);
    return Await(5000);
  }
  // Exits normally (the kernel closes the file: its locks go).
  void Exit() {
    if (pid_ <= 0) return;
    Cmd c{'X', 0, 0, 0};
    (void)!::write(to_, &c, sizeof(c));
    Reap();
  }
  void Kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    Reap();
  }

 private:
  struct Cmd {
    char op;
    short type;
    int64_t start;
    int64_t len;
  };
  void Reap() {
    int status;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    ::close(to_);
    ::close(from_);
  }

  pid_t pid_ = -1;
  int to_ = -1, from_ = -1;
  bool ok_ = false;
};

// ---- the test fixture ----

class NlmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(g_env_ok) << g_env_error;
    g_client->Reset();
  }

  // Starts the daemon (with the FUSE mount if `mount`), creates `file` and
  // connects `nlm_`.
  void StartDaemon(bool mount, const std::string& file = "f",
                   const std::string& nfs_extra = "") {
    if (mount) mnt_ = d_.EnableMount();
    ASSERT_TRUE(d_.Start(nfs_extra));
    fh_ = MakeFile(d_.port(), file);
    ASSERT_FALSE(fh_.empty()) << "could not create " << file;
    path_ = mnt_ + "/" + file;
    ASSERT_TRUE(nlm_.Connect(d_.port()));
  }

  void TearDown() override { ::unsetenv("CONCORDFS_BOOT_ID"); }

  // Stops the daemon (cleanly, or with SIGKILL) and starts it again with
  // a grace period of `grace_s` seconds. With `settle`, a crash comes 200
  // ms after the last call, as for any lock held a while; without, right
  // after the last reply.
  void RestartWithGrace(bool crash, int grace_s, bool settle = true) {
    if (crash && settle) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    crash ? d_.Kill() : d_.Stop();
    std::string cfg_path = d_.dir() + "/concordfs.yaml";
    std::string cfg;
    {
      std::ifstream in(cfg_path);
      cfg.assign(std::istreambuf_iterator<char>(in), {});
    }
    size_t at = cfg.find("grace_period: ");
    ASSERT_NE(at, std::string::npos);
    size_t end = cfg.find('}', at);
    cfg.replace(at, end - at, "grace_period: " + std::to_string(grace_s));
    std::ofstream(cfg_path) << cfg;
    ASSERT_TRUE(d_.Restart());
  }

  // Runs concordctl (CFS_CTL_BIN) on the daemon's admin socket; its
  // output.
  std::string Ctl(const std::string& args) {
    const char* bin = std::getenv("CFS_CTL_BIN");
    if (bin == nullptr) {
      ADD_FAILURE() << "set CFS_CTL_BIN to the concordctl binary";
      return "";
    }
    std::string cmd = std::string(bin) + " --socket " + d_.dir() +
                      "/data/admin.sock " + args + " 2>&1";
    std::string out;
    if (FILE* p = ::popen(cmd.c_str(), "r")) {
      char buf[512];
      size_t n;
      while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
      ::pclose(p);
    }
    return out;
  }

  NfsDaemon d_;
  std::string mnt_;
  std::string path_;  // the file on the FUSE mount
  Fh fh_;
  Nlm nlm_;
};

const NlmOwner kA{"client-a", 101, "oh-a"};
const NlmOwner kB{"client-b", 202, "oh-b"};
const NlmOwner kC{"client-c", 303, "oh-c"};

// ---- 1. the procedures themselves ----

TEST_F(NlmTest, TestLockUnlockOnOneFile) {
  StartDaemon(false);
  EXPECT_EQ(nlm_.Null(), RPC_STATUS_SUCCESS);
  EXPECT_EQ(nlm_.Test(kA, fh_, 0, 100, true), NLM4_GRANTED);
  ASSERT_EQ(nlm_.Lock(kA, fh_, 0, 100, true), NLM4_GRANTED);

  Holder h;
  ASSERT_EQ(nlm_.Test(kB, fh_, 50, 10, true, &h), NLM4_DENIED);
  EXPECT_TRUE(h.exclusive);
  EXPECT_EQ(h.svid, kA.svid);
  EXPECT_EQ(h.oh, kA.oh);
  EXPECT_EQ(h.offset, 0u);
  EXPECT_EQ(h.len, 100u);
  // A shared request conflicts with an exclusive lock too.
  EXPECT_EQ(nlm_.Test(kB, fh_, 99, 1, false), NLM4_DENIED);
  EXPECT_EQ(nlm_.Test(kB, fh_, 100, 10, true), NLM4_GRANTED);
  EXPECT_EQ(nlm_.Lock(kB, fh_, 0, 1, true), NLM4_DENIED);
  // The owner's own locks never conflict with it.
  EXPECT_EQ(nlm_.Test(kA, fh_, 0, 100, true), NLM4_GRANTED);
  EXPECT_EQ(nlm_.Lock(kA, fh_, 0, 100, true), NLM4_GRANTED);
  EXPECT_EQ(nlm_.Lock(kA, fh_, 20, 10, false), NLM4_GRANTED);  // downgrade

  ASSERT_EQ(nlm_.Unlock(kA, fh_, 0, 100), NLM4_GRANTED);
  EXPECT_EQ(nlm_.Test(kB, fh_, 0, 100, true), NLM4_GRANTED);
  EXPECT_EQ(nlm_.Lock(kB, fh_, 0, 100, true), NLM4_GRANTED);
  // Unlocking what one does not hold is fine (and changes nothing).
  EXPECT_EQ(nlm_.Unlock(kA, fh_, 0, 100), NLM4_GRANTED);
  EXPECT_EQ(nlm_.Test(kC, fh_, 0, 1, false), NLM4_DENIED);
}

TEST_F(NlmTest, OwnerIsCallerSvidAndOh) {
  StartDaemon(false);
  ASSERT_EQ(nlm_.Lock(kA, fh_, 0, 10, true), NLM4_GRANTED);
  // Same host, another process; same host and process, another handle;
  // another host with the same svid and oh: all other owners.
  NlmOwner other_svid{kA.caller, kA.svid + 1, kA.oh};
  NlmOwner other_oh{kA.caller, kA.svid, "oh-a2"};
  NlmOwner other_host{"client-a2", kA.svid, kA.oh};
  for (const NlmOwner& o : {other_svid, other_oh, other_host}) {
    SCOPED_TRACE(o.caller + "/" + std::to_string(o.svid) + "/" + o.oh);
    EXPECT_EQ(nlm_.Test(o, fh_, 5, 1, false), NLM4_DENIED);
    EXPECT_EQ(nlm_.Lock(o, fh_, 5, 1, false), NLM4_DENIED);
    // Their unlock does not release A's lock.
    EXPECT_EQ(nlm_.Unlock(o, fh_, 0, 10), NLM4_GRANTED);
  }
  EXPECT_EQ(nlm_.Test(kB, fh_, 0, 10, true), NLM4_DENIED);
}

TEST_F(NlmTest, SharedLocksCoexistAndBlockExclusive) {
  StartDaemon(false);
  ASSERT_EQ(nlm_.Lock(kA, fh_, 200, 100, false), NLM4_GRANTED);
  ASSERT_EQ(nlm_.Lock(kB, fh_, 250, 100, false), NLM4_GRANTED);
  EXPECT_EQ(nlm_.Test(kC, fh_, 0, 0, false), NLM4_GRANTED);
  Holder h;
  ASSERT_EQ(nlm_.Test(kC, fh_, 260, 10, true, &h), NLM4_DENIED);
  EXPECT_FALSE(h.exclusive);
  EXPECT_TRUE(h.svid == kA.svid || h.svid == kB.svid) << h.svid;
  EXPECT_EQ(nlm_.Lock(kC, fh_, 260, 10, true), NLM4_DENIED);
  // A's upgrade conflicts with B's shared lock where they overlap only.
  EXPECT_EQ(nlm_.Lock(kA, fh_, 250, 10, true), NLM4_DENIED);
  EXPECT_EQ(nlm_.Lock(kA, fh_, 200, 50, true), NLM4_GRANTED);
  ASSERT_EQ(nlm_.Test(kB, fh_, 210, 1, false, &h), NLM4_DENIED);
  EXPECT_TRUE(h.exclusive);
  EXPECT_EQ(h.offset, 200u);
  EXPECT_EQ(h.len, 50u);
}

TEST_F(NlmTest, RangesSplitToEofAndNear2To64) {
  StartDaemon(false);
  // POSIX split: unlocking the middle leaves two locks.
  ASSERT_EQ(nlm_.Lock(kA, fh_, 0, 100, true), NLM4_GRANTED);
  ASSERT_EQ(nlm_.Unlock(kA, fh_, 40, 20), NLM4_GRANTED);
  Holder h;
  EXPECT_EQ(nlm_.Test(kB, fh_, 40, 20, true), NLM4_GRANTED);
  ASSERT_EQ(nlm_.Test(kB, fh_, 10, 1, true, &h), NLM4_DENIED);
  EXPECT_EQ(h.offset, 0u);
  EXPECT_EQ(h.len, 40u);
  ASSERT_EQ(nlm_.Test(kB, fh_, 70, 1, true, &h), NLM4_DENIED);
  EXPECT_EQ(h.offset, 60u);
  EXPECT_EQ(h.len, 40u);
  // Adjacent ranges of one owner merge.
  ASSERT_EQ(nlm_.Lock(kA, fh_, 40, 20, true), NLM4_GRANTED);
  ASSERT_EQ(nlm_.Test(kB, fh_, 50, 1, true, &h), NLM4_DENIED);
  EXPECT_EQ(h.offset, 0u);
  EXPECT_EQ(h.len, 100u);
  ASSERT_EQ(nlm_.Unlock(kA, fh_, 0, 0), NLM4_GRANTED);  // everything

  // Length 0: to the end of the file, whatever the offset.
  ASSERT_EQ(nlm_.Lock(kA, fh_, 1000, 0, true), NLM4_GRANTED);
  ASSERT_EQ(nlm_.Test(kB, fh_, 1ULL << 62, 1, false, &h), NLM4_DENIED);
  EXPECT_EQ(h.offset, 1000u);
  EXPECT_EQ(h.len, 0u);
  ASSERT_EQ(nlm_.Test(kB, fh_, kU64Max, 1, false, &h), NLM4_DENIED);
  EXPECT_EQ(nlm_.Test(kB, fh_, 0, 1000, true), NLM4_GRANTED);
  ASSERT_EQ(nlm_.Unlock(kA, fh_, 1000, 0), NLM4_GRANTED);
  EXPECT_EQ(nlm_.Test(kB, fh_, 0, 0, true), NLM4_GRANTED);

  // The last byte (offset 2^64-1, length 1) and ranges ending exactly at
  // 2^64-1 are valid; one byte further overflows: NLM4_FBIG.
  ASSERT_EQ(nlm_.Lock(kA, fh_, kU64Max - 9, 10, true), NLM4_GRANTED);
  ASSERT_EQ(nlm_.Test(kB, fh_, kU64Max, 1, true, &h), NLM4_DENIED);
  EXPECT_EQ(h.offset, kU64Max - 9);
  // A range that ends at the last byte is "to EOF": l_len 0 (as Linux's
  // lockd encodes it too).
  EXPECT_EQ(h.len, 0u);
  EXPECT_EQ(nlm_.Lock(kB, fh_, kU64Max - 9, 11, true), NLM4_FBIG);
  EXPECT_EQ(nlm_.Test(kB, fh_, kU64Max, 2, true), NLM4_FBIG);
  EXPECT_EQ(nlm_.Lock(kB, fh_, kU64Max, kU64Max, true), NLM4_FBIG);
  EXPECT_EQ(nlm_.Unlock(kA, fh_, kU64Max - 9, 11), NLM4_FBIG);
  EXPECT_EQ(nlm_.Test(kB, fh_, kU64Max, 1, true), NLM4_DENIED);
  ASSERT_EQ(nlm_.Unlock(kA, fh_, kU64Max - 9, 10), NLM4_GRANTED);
  EXPECT_EQ(nlm_.Lock(kB, fh_, kU64Max, 1, true), NLM4_GRANTED);
}

TEST_F(NlmTest, BadHandleIsStale) {
  StartDaemon(false);
  Fh bad = fh_;
  bad[bad.size() - 1] = static_cast<char>(bad[bad.size() - 1] ^ 0x5a);
  EXPECT_EQ(nlm_.Test(kA, bad, 0, 1, true), NLM4_STALE_FH);
  EXPECT_EQ(nlm_.Lock(kA, bad, 0, 1, true), NLM4_STALE_FH);
  EXPECT_EQ(nlm_.Unlock(kA, bad, 0, 1), NLM4_STALE_FH);
  EXPECT_EQ(nlm_.Lock(kA, Fh("short"), 0, 1, true), NLM4_STALE_FH);
  EXPECT_EQ(nlm_.Lock(kA, fh_, 0, 1, true), NLM4_GRANTED);
}

// ---- 2. NLM and local (FUSE) locks exclude each other ----

TEST_F(NlmTest, NlmLockStopsLocalFcntlUntilUnlock) {
  StartDaemon(true);
  ASSERT_EQ(nlm_.Lock(kA, fh_, 0, 100, true), NLM4_GRANTED);
  LocalProcess local(path_);
  ASSERT_TRUE(local.ok());
  EXPECT_EQ(local.Do('S', F_WRLCK, 50, 10), EAGAIN);
  EXPECT_EQ(local.Do('S', F_RDLCK, 99, 1), EAGAIN);
  EXPECT_EQ(local.Do('S', F_WRLCK, 100, 10), 0);  // next to it: free

  LocalProcess::Reply g = local.GetLk(F_RDLCK, 0, 0);
  ASSERT_EQ(g.err, 0);
  EXPECT_EQ(g.type, F_WRLCK);
  EXPECT_EQ(g.start, 0);
  EXPECT_EQ(g.len, 100);
  EXPECT_EQ(g.pid, 0) << "an NLM holder has no local pid";

  // F_SETLKW waits, and gets the range right after the NLM UNLOCK.
  local.Send('W', F_WRLCK, 50, 10);
  EXPECT_EQ(local.Await(500).err, -1) << "F_SETLKW did not wait";
  auto t0 = Clock::now();
  ASSERT_EQ(nlm_.Unlock(kA, fh_, 0, 100), NLM4_GRANTED);
  LocalProcess::Reply r = local.Await(5000);
  EXPECT_EQ(r.err, 0);
  EXPECT_LT(MsSince(t0), 1000) << "F_SETLKW granted late";
  // Now the local process holds it: NLM sees it.
  Holder h;
  ASSERT_EQ(nlm_.Test(kB, fh_, 0, 0, true, &h), NLM4_DENIED);
  EXPECT_EQ(h.svid, static_cast<uint32_t>(local.pid()));
}

TEST_F(NlmTest, LocalFcntlLockStopsNlm) {
  StartDaemon(true);
  LocalProcess local(path_);
  ASSERT_TRUE(local.ok());
  ASSERT_EQ(local.Do('S', F_WRLCK, 0, 100), 0);
  EXPECT_EQ(nlm_.Lock(kA, fh_, 10, 10, true), NLM4_DENIED);
  EXPECT_EQ(nlm_.Lock(kA, fh_, 99, 1, false), NLM4_DENIED);
  EXPECT_EQ(nlm_.Lock(kA, fh_, 100, 1, true), NLM4_GRANTED);
  Holder h;
  ASSERT_EQ(nlm_.Test(kA, fh_, 0, 0, false, &h), NLM4_DENIED);
  EXPECT_TRUE(h.exclusive);
  EXPECT_EQ(h.svid, static_cast<uint32_t>(local.pid()))
      << "the local holder's pid, as the server reports it";
  EXPECT_EQ(h.offset, 0u);
  EXPECT_EQ(h.len, 100u);

  // Shared + shared across protocols.
  ASSERT_EQ(local.Do('S', F_RDLCK, 0, 100), 0);  // downgrade
  EXPECT_EQ(nlm_.Lock(kB, fh_, 10, 10, false), NLM4_GRANTED);
  EXPECT_EQ(nlm_.Lock(kC, fh_, 10, 10, true), NLM4_DENIED);
  EXPECT_EQ(local.Do('S', F_WRLCK, 0, 100), EAGAIN);  // B's shared lock
  ASSERT_EQ(nlm_.Unlock(kB, fh_, 10, 10), NLM4_GRANTED);
  EXPECT_EQ(local.Do('S', F_WRLCK, 0, 100), 0);

  // Unlock locally: NLM gets the range.
  ASSERT_EQ(local.Do('S', F_UNLCK, 0, 0), 0);
  EXPECT_EQ(nlm_.Lock(kC, fh_, 10, 10, true), NLM4_GRANTED);
}

// DESIGN.md: a local flock conflicts with every remote lock, both ways.
TEST_F(NlmTest, LocalFlockAndNlmExcludeEachOther) {
  StartDaemon(true);
  LocalProcess local(path_);
  ASSERT_TRUE(local.ok());
  ASSERT_EQ(local.Do('F', LOCK_EX | LOCK_NB, 0, 0), 0);
  EXPECT_EQ(nlm_.Lock(kA, fh_, 1000, 1, false), NLM4_DENIED);
  EXPECT_EQ(nlm_.Test(kA, fh_, 0, 0, false), NLM4_DENIED);
  ASSERT_EQ(local.Do('F', LOCK_SH | LOCK_NB, 0, 0), 0);  // convert
  EXPECT_EQ(nlm_.Lock(kA, fh_, 1000, 1, false), NLM4_GRANTED);
  EXPECT_EQ(nlm_.Lock(kB, fh_, 1000, 1, true), NLM4_DENIED);
  EXPECT_EQ(local.Do('F', LOCK_EX | LOCK_NB, 0, 0), EWOULDBLOCK);
  ASSERT_EQ(nlm_.Unlock(kA, fh_, 1000, 1), NLM4_GRANTED);
  ASSERT_EQ(local.Do('F', LOCK_UN, 0, 0), 0);
  ASSERT_EQ(nlm_.Lock(kA, fh_, 1000, 1, true), NLM4_GRANTED);
  EXPECT_EQ(local.Do('F', LOCK_SH | LOCK_NB, 0, 0), EWOULDBLOCK);
}

TEST_F(NlmTest, BlockedNlmGrantedWhenLocalUnlocksOrExits) {
  StartDaemon(true);
  for (bool exit : {false, true}) {
    SCOPED_TRACE(exit ? "local process exits" : "local process unlocks");
    g_client->Reset();
    NlmOwner waiter = exit ? kB : kA;
    LocalProcess local(path_);
    ASSERT_TRUE(local.ok());
    ASSERT_EQ(local.Do('S', F_WRLCK, 0, 100), 0);
    ASSERT_EQ(nlm_.Lock(waiter, fh_, 10, 10, true, /*block=*/true),
              NLM4_BLOCKED);
    SleepMs(300);
    EXPECT_TRUE(g_client->Granted(waiter).empty()) << "granted too early";
    auto t0 = Clock::now();
    if (exit) {
      local.Exit();
    } else {
      ASSERT_EQ(local.Do('S', F_UNLCK, 0, 100), 0);
    }
    std::optional<GrantedCall> g = g_client->WaitGranted(waiter, 5000);
    ASSERT_TRUE(g.has_value()) << "no GRANTED callback";
    EXPECT_LT(MsBetween(t0, g->at), 1000) << "GRANTED late";
    EXPECT_EQ(g->vers, 4u);
    EXPECT_TRUE(g->exclusive);
    EXPECT_EQ(g->caller, HostName()) << "caller_name: the server's name";
    EXPECT_EQ(g->fh, fh_);
    EXPECT_EQ(g->svid, waiter.svid);
    EXPECT_EQ(g->oh, waiter.oh);
    EXPECT_EQ(g->offset, 10u);
    EXPECT_EQ(g->len, 10u);
    // The client took the grant: the lock is held.
    Holder h;
    ASSERT_EQ(nlm_.Test(kC, fh_, 0, 0, true, &h), NLM4_DENIED);
    EXPECT_EQ(h.svid, waiter.svid);
    ASSERT_EQ(nlm_.Unlock(waiter, fh_, 0, 0), NLM4_GRANTED);
  }
}

// ---- 3. blocking NLM behind NLM ----

TEST_F(NlmTest, BlockedNlmGrantedInOrderAfterUnlock) {
  StartDaemon(false);
  ASSERT_EQ(nlm_.Lock(kA, fh_, 0, 100, true), NLM4_GRANTED);
  ASSERT_EQ(nlm_.Lock(kB, fh_, 0, 10, true, true), NLM4_BLOCKED);
  // A retransmitted request (new xid) is the same waiter: one GRANTED.
  ASSERT_EQ(nlm_.Lock(kB, fh_, 0, 10, true, true), NLM4_BLOCKED);
  ASSERT_EQ(nlm_.Lock(kC, fh_, 5, 10, false, true), NLM4_BLOCKED);
  // Still refused to a non-blocking request while the waiters wait.
  EXPECT_EQ(nlm_.Lock(kC, fh_, 50, 1, true), NLM4_DENIED);
  SleepMs(300);
  EXPECT_TRUE(g_client->Granted(kB).empty());

  auto t0 = Clock::now();
  ASSERT_EQ(nlm_.Unlock(kA, fh_, 0, 100), NLM4_GRANTED);
  std::optional<GrantedCall> g = g_client->WaitGranted(kB, 5000);
  ASSERT_TRUE(g.has_value()) << "no GRANTED for the first waiter";
  EXPECT_LT(MsBetween(t0, g->at), 1000);
  EXPECT_EQ(g->offset, 0u);
  EXPECT_EQ(g->len, 10u);
  EXPECT_TRUE(g->exclusive);
  EXPECT_TRUE(g->tcp) << "GRANTED over the transport of the LOCK";
  // C's shared request overlaps B's exclusive lock: it keeps waiting.
  SleepMs(300);
  EXPECT_TRUE(g_client->Granted(kC).empty()) << "C granted over B's lock";
  Holder h;
  ASSERT_EQ(nlm_.Test(kA, fh_, 0, 1, false, &h), NLM4_DENIED);
  EXPECT_EQ(h.svid, kB.svid);

  t0 = Clock::now();
  ASSERT_EQ(nlm_.Unlock(kB, fh_, 0, 10), NLM4_GRANTED);
  g = g_client->WaitGranted(kC, 5000);
  ASSERT_TRUE(g.has_value()) << "no GRANTED for the second waiter";
  EXPECT_LT(MsBetween(t0, g->at), 1000);
  EXPECT_FALSE(g->exclusive);
  SleepMs(200);
  EXPECT_EQ(g_client->Granted(kB).size(), 1u) << "one GRANTED per waiter";
  ASSERT_EQ(nlm_.Test(kA, fh_, 5, 1, true, &h), NLM4_DENIED);
  EXPECT_EQ(h.svid, kC.svid);
  EXPECT_FALSE(h.exclusive);
}

TEST_F(NlmTest, CancelRemovesTheWaiter) {
  StartDaemon(false);
  ASSERT_EQ(nlm_.Lock(kA, fh_, 0, 100, true), NLM4_GRANTED);
  ASSERT_EQ(nlm_.Lock(kB, fh_, 0, 10, true, true), NLM4_BLOCKED);
  ASSERT_EQ(nlm_.Cancel(kB, fh_, 0, 10, true), NLM4_GRANTED);
  ASSERT_EQ(nlm_.Unlock(kA, fh_, 0, 100), NLM4_GRANTED);
  SleepMs(1000);
  EXPECT_TRUE(g_client->Granted(kB).empty()) << "GRANTED after CANCEL";
  EXPECT_EQ(nlm_.Test(kC, fh_, 0, 10, true), NLM4_GRANTED)
      << "the cancelled request took the lock";
  EXPECT_EQ(nlm_.Lock(kC, fh_, 0, 10, true), NLM4_GRANTED);
  // Cancelling nothing (or an already granted lock) is answered, and does
  // not release anything.
  EXPECT_EQ(nlm_.Cancel(kC, fh_, 0, 10, true), NLM4_GRANTED);
  EXPECT_EQ(nlm_.Test(kA, fh_, 0, 10, true), NLM4_DENIED);
}

TEST_F(NlmTest, GrantRefusedByTheClientIsReleased) {
  StartDaemon(false);
  g_client->Reset(NLM4_DENIED);  // the client no longer wants the lock
  ASSERT_EQ(nlm_.Lock(kA, fh_, 0, 100, true), NLM4_GRANTED);
  ASSERT_EQ(nlm_.Lock(kB, fh_, 0, 10, true, true), NLM4_BLOCKED);
  ASSERT_EQ(nlm_.Unlock(kA, fh_, 0, 100), NLM4_GRANTED);
  ASSERT_TRUE(g_client->WaitGranted(kB, 5000).has_value());
  auto deadline = Clock::now() + std::chrono::seconds(3);
  int st = -1;
  while (Clock::now() < deadline) {
    st = nlm_.Test(kC, fh_, 0, 10, true);
    if (st == NLM4_GRANTED) break;
    SleepMs(50);
  }
  EXPECT_EQ(st, NLM4_GRANTED) << "a refused grant must not stay held";
}

// A client that never answers GRANTED loses the lock once the grant
// timeout passes, and the next waiter is granted.
TEST_F(NlmTest, GrantNeverAcceptedIsTakenBack) {
  StartDaemon(false, "f",
              "  grant_timeout_ms: 1000\n"
              "  exports:\n"
              "    - {path: /, clients: [127.0.0.0/8], squash: none}\n");
  g_client->Reset(kNoAnswer);
  ASSERT_EQ(nlm_.Lock(kA, fh_, 0, 100, true), NLM4_GRANTED);
  ASSERT_EQ(nlm_.Lock(kB, fh_, 0, 10, true, true), NLM4_BLOCKED);
  ASSERT_EQ(nlm_.Lock(kC, fh_, 0, 10, true, true), NLM4_BLOCKED);
  auto unlocked = Clock::now();
  ASSERT_EQ(nlm_.Unlock(kA, fh_, 0, 100), NLM4_GRANTED);
  ASSERT_TRUE(g_client->WaitGranted(kB, 5000).has_value());
  // B never answers: after about a second its lock goes to C.
  std::optional<GrantedCall> c = g_client->WaitGranted(kC, 10000);
  ASSERT_TRUE(c.has_value()) << "the next waiter was never granted";
  auto waited =
      std::chrono::duration_cast<std::chrono::milliseconds>(c->at - unlocked)
          .count();
  EXPECT_GE(waited, 900);
  EXPECT_LT(waited, 5000);
}

// The asynchronous procedures: each _MSG request is answered by a _RES
// call to the client's NLM service (found through its portmapper).
TEST_F(NlmTest, MsgProceduresAnswerWithResCalls) {
  StartDaemon(false);
  RawUdp udp(d_.port());
  udp.Post(kNlmProg, 4, 7 /* LOCK_MSG */,
           RawLockArgs("msg-1", false, true, kA, fh_, 0, 100));
  std::optional<ResCall> r = g_client->WaitRes(12 /* LOCK_RES */, "msg-1");
  ASSERT_TRUE(r.has_value()) << "no LOCK_RES";
  EXPECT_EQ(r->stat, static_cast<uint32_t>(NLM4_GRANTED));
  EXPECT_EQ(nlm_.Test(kB, fh_, 0, 1, false), NLM4_DENIED);

  udp.Post(kNlmProg, 4, 6 /* TEST_MSG */,
           RawTestArgs(4, "msg-2", true, kB, fh_, 50, 1));
  r = g_client->WaitRes(11 /* TEST_RES */, "msg-2");
  ASSERT_TRUE(r.has_value()) << "no TEST_RES";
  EXPECT_EQ(r->stat, static_cast<uint32_t>(NLM4_DENIED));
  EXPECT_EQ(r->holder.svid, kA.svid);
  EXPECT_EQ(r->holder.oh, kA.oh);
  EXPECT_EQ(r->holder.offset, 0u);
  EXPECT_EQ(r->holder.len, 100u);

  udp.Post(kNlmProg, 4, 9 /* UNLOCK_MSG */,
           RawUnlockArgs(4, "msg-3", kA, fh_, 0, 100));
  r = g_client->WaitRes(14 /* UNLOCK_RES */, "msg-3");
  ASSERT_TRUE(r.has_value()) << "no UNLOCK_RES";
  EXPECT_EQ(r->stat, static_cast<uint32_t>(NLM4_GRANTED));
  EXPECT_EQ(nlm_.Test(kB, fh_, 0, 100, true), NLM4_GRANTED);
}

// Versions 1 and 3 (32-bit offsets) share the one lock table with v4.
TEST_F(NlmTest, Versions1And3ShareTheTable) {
  StartDaemon(false);
  RawUdp udp(d_.port());
  for (uint32_t vers : {1u, 3u}) {
    SCOPED_TRACE("NLM version " + std::to_string(vers));
    ASSERT_EQ(RawStat(udp.Call(
                  kNlmProg, vers, 2,
                  RawLockArgs(vers, "v", false, true, kA, fh_, 100, 50))),
              NLM4_GRANTED);
    Holder h;
    ASSERT_EQ(nlm_.Test(kB, fh_, 0, 0, false, &h), NLM4_DENIED);
    EXPECT_EQ(h.offset, 100u);
    EXPECT_EQ(h.len, 50u);
    // nlm_testres: cookie, stat, holder {exclusive, svid, oh, u32, u32}.
    std::optional<std::string> res = udp.Call(
        kNlmProg, vers, 1, RawTestArgs(vers, "t", true, kB, fh_, 0, 0));
    ASSERT_TRUE(res.has_value());
    XdrIn in(*res);
    EXPECT_EQ(in.Opaque(), "t");
    EXPECT_EQ(in.U32(), static_cast<uint32_t>(NLM4_DENIED));
    EXPECT_EQ(in.U32(), 1u);  // exclusive
    EXPECT_EQ(in.U32(), kA.svid);
    EXPECT_EQ(in.Opaque(), kA.oh);
    EXPECT_EQ(in.U32(), 100u);
    EXPECT_EQ(in.U32(), 50u);
    EXPECT_TRUE(in.ok());
    EXPECT_TRUE(in.Rest().empty());
    ASSERT_EQ(RawStat(udp.Call(kNlmProg, vers, 4,
                               RawUnlockArgs(vers, "u", kA, fh_, 100, 50))),
              NLM4_GRANTED);
    EXPECT_EQ(nlm_.Test(kB, fh_, 0, 0, true), NLM4_GRANTED);
  }
}

// A caller_name belongs to the address it first came from: calls naming it
// from another address neither take locks in its name nor release its
// locks (FREE_ALL, SM_NOTIFY).
TEST_F(NlmTest, HostNameIsBoundToItsAddress) {
  StartDaemon(false);
  ASSERT_EQ(nlm_.Lock(kA, fh_, 0, 10, true), NLM4_GRANTED);
  RawUdp other(d_.port(), "127.0.0.2");
  std::string free_a = XdrOut().Opaque(kA.caller).U32(3).str();
  ASSERT_TRUE(other.Call(kNlmProg, 4, kNlmFreeAll, free_a).has_value());
  EXPECT_EQ(nlm_.Test(kB, fh_, 0, 1, false), NLM4_DENIED)
      << "FREE_ALL from another address released the host's locks";
  ASSERT_TRUE(other.Call(kNsmProg, 1, 6 /* SM_NOTIFY */, free_a).has_value());
  EXPECT_EQ(nlm_.Test(kB, fh_, 0, 1, false), NLM4_DENIED)
      << "SM_NOTIFY from another address released the host's locks";
  NlmOwner impostor{kA.caller, 7, "oh-x"};
  EXPECT_NE(
      RawStat(other.Call(kNlmProg, 4, 2,
                         RawLockArgs("i", false, true, impostor, fh_, 50, 10))),
      NLM4_GRANTED);
  EXPECT_EQ(nlm_.Test(kB, fh_, 50, 10, true), NLM4_GRANTED);
  // Another name from that address is fine; and from the host's own
  // address FREE_ALL works.
  EXPECT_EQ(RawStat(other.Call(kNlmProg, 4, 2,
                               RawLockArgs("j", false, true, kC, fh_, 50, 10))),
            NLM4_GRANTED);
  RawUdp own(d_.port());
  ASSERT_TRUE(own.Call(kNlmProg, 4, kNlmFreeAll, free_a).has_value());
  EXPECT_EQ(nlm_.Test(kB, fh_, 0, 10, true), NLM4_GRANTED);
}

// ---- 4. deadlocks across protocols ----

TEST_F(NlmTest, DeadlockClosedByNlm) {
  StartDaemon(true);
  LocalProcess local(path_);
  ASSERT_TRUE(local.ok());
  ASSERT_EQ(local.Do('S', F_WRLCK, 0, 10), 0);                 // local: A
  ASSERT_EQ(nlm_.Lock(kA, fh_, 100, 10, true), NLM4_GRANTED);  // NLM: B
  local.Send('W', F_WRLCK, 100, 10);  // local waits for B
  ASSERT_EQ(local.Await(500).err, -1) << "F_SETLKW did not wait";
  // NLM waiting for A would close the cycle.
  EXPECT_EQ(nlm_.Lock(kA, fh_, 0, 10, true, true), NLM4_DEADLCK);
  EXPECT_EQ(nlm_.Lock(kA, fh_, 0, 10, true), NLM4_DENIED);  // non-blocking
  // Breaking it: the local waiter gets B.
  ASSERT_EQ(nlm_.Unlock(kA, fh_, 100, 10), NLM4_GRANTED);
  EXPECT_EQ(local.Await(5000).err, 0);
  SleepMs(200);
  EXPECT_TRUE(g_client->Granted(kA).empty()) << "a DEADLCK'd request waits";
}

TEST_F(NlmTest, DeadlockClosedByLocalProcess) {
  StartDaemon(true);
  LocalProcess local(path_);
  ASSERT_TRUE(local.ok());
  ASSERT_EQ(local.Do('S', F_WRLCK, 0, 10), 0);
  ASSERT_EQ(nlm_.Lock(kA, fh_, 100, 10, true), NLM4_GRANTED);
  ASSERT_EQ(nlm_.Lock(kA, fh_, 0, 10, true, true), NLM4_BLOCKED);
  EXPECT_EQ(local.Do('W', F_WRLCK, 100, 10, 5000), EDEADLK);
  // The NLM waiter is still there and gets A when the local lock goes.
  ASSERT_EQ(local.Do('S', F_UNLCK, 0, 10), 0);
  EXPECT_TRUE(g_client->WaitGranted(kA, 5000).has_value());
}

// ---- 5. FREE_ALL, SM_NOTIFY, SM_STAT ----

TEST_F(NlmTest, FreeAllReleasesOnlyThatHost) {
  StartDaemon(false);
  Fh g = MakeFile(d_.port(), "g");
  ASSERT_FALSE(g.empty());
  NlmOwner a2{kA.caller, 999, "oh-a-other-process"};
  ASSERT_EQ(nlm_.Lock(kA, fh_, 0, 10, true), NLM4_GRANTED);
  ASSERT_EQ(nlm_.Lock(a2, fh_, 20, 10, false), NLM4_GRANTED);
  ASSERT_EQ(nlm_.Lock(kA, g, 0, 0, true), NLM4_GRANTED);
  ASSERT_EQ(nlm_.Lock(kB, fh_, 100, 10, true), NLM4_GRANTED);
  // C waits behind A: freeing A grants C.
  ASSERT_EQ(nlm_.Lock(kC, g, 0, 1, true, true), NLM4_BLOCKED);

  RawUdp udp(d_.port());
  std::string args = XdrOut().Opaque(kA.caller).U32(7).str();
  ASSERT_TRUE(udp.Call(kNlmProg, 4, kNlmFreeAll, args).has_value())
      << "FREE_ALL not answered";
  EXPECT_EQ(nlm_.Test(kC, fh_, 0, 30, true), NLM4_GRANTED);
  EXPECT_TRUE(g_client->WaitGranted(kC, 5000).has_value());
  Holder h;
  ASSERT_EQ(nlm_.Test(kC, fh_, 100, 1, false, &h), NLM4_DENIED);
  EXPECT_EQ(h.svid, kB.svid) << "another host's lock went too";
  // A host that never locked anything: nothing happens.
  std::string none = XdrOut().Opaque("client-never").U32(7).str();
  ASSERT_TRUE(udp.Call(kNlmProg, 4, kNlmFreeAll, none).has_value());
  EXPECT_EQ(nlm_.Test(kC, fh_, 100, 1, false), NLM4_DENIED);
}

TEST_F(NlmTest, SmNotifyFromAClientReleasesItsLocks) {
  StartDaemon(false);
  ASSERT_EQ(nlm_.Lock(kA, fh_, 0, 10, true), NLM4_GRANTED);
  ASSERT_EQ(nlm_.Lock(kB, fh_, 100, 10, true), NLM4_GRANTED);
  ASSERT_EQ(nlm_.Lock(kC, fh_, 100, 1, true, true), NLM4_BLOCKED);
  Nsm nsm;
  ASSERT_TRUE(nsm.Connect(d_.port()));
  ASSERT_EQ(nsm.Notify(kB.caller, 5), RPC_STATUS_SUCCESS);
  EXPECT_TRUE(g_client->WaitGranted(kC, 5000).has_value())
      << "B's lock not released by SM_NOTIFY";
  EXPECT_EQ(nlm_.Test(kA, fh_, 105, 5, true), NLM4_GRANTED);
  EXPECT_EQ(nlm_.Test(kC, fh_, 0, 1, false), NLM4_DENIED) << "A's lock went";
}

TEST_F(NlmTest, SmStatIsOddAndGrowsAcrossRestarts) {
  StartDaemon(false);
  std::optional<int> s0, s1, s2;
  {
    Nsm nsm;
    ASSERT_TRUE(nsm.Connect(d_.port()));
    s0 = nsm.Stat();
    ASSERT_TRUE(s0.has_value());
    EXPECT_EQ(*s0 % 2, 1) << *s0;
    EXPECT_EQ(nsm.Stat(), s0) << "the state changes only at restarts";
  }
  RestartWithGrace(/*crash=*/false, 0);
  {
    Nsm nsm;
    ASSERT_TRUE(nsm.Connect(d_.port()));
    s1 = nsm.Stat();
    ASSERT_TRUE(s1.has_value());
    EXPECT_EQ(*s1 % 2, 1) << *s1;
    EXPECT_GT(*s1, *s0);
  }
  RestartWithGrace(/*crash=*/true, 0);
  {
    Nsm nsm;
    ASSERT_TRUE(nsm.Connect(d_.port()));
    s2 = nsm.Stat();
    ASSERT_TRUE(s2.has_value());
    EXPECT_EQ(*s2 % 2, 1) << *s2;
    EXPECT_GT(*s2, *s1);
  }
}

// ---- 6. restart, grace, reclaim, SM_NOTIFY to the clients ----

TEST_F(NlmTest, CleanRestartGraceAndReclaim) {
  StartDaemon(true);
  ASSERT_EQ(nlm_.Lock(kA, fh_, 0, 100, true), NLM4_GRANTED);
  ASSERT_EQ(nlm_.Lock(kB, fh_, 1000, 100, true), NLM4_GRANTED);
  std::optional<int> before;
  {
    Nsm nsm;
    ASSERT_TRUE(nsm.Connect(d_.port()));
    before = nsm.Stat();
    ASSERT_TRUE(before.has_value());
  }
  g_client->Reset();
  // A long grace period: it must end because everyone reclaimed.
  RestartWithGrace(/*crash=*/false, 60);
  auto started = Clock::now();
  Nsm nsm;
  ASSERT_TRUE(nsm.Connect(d_.port()));
  std::optional<int> after = nsm.Stat();
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(*after % 2, 1);
  EXPECT_GT(*after, *before);

  // Each host that held locks hears of the restart (one SM_NOTIFY each,
  // naming the server, with its new state).
  std::vector<NotifyCall> notes = g_client->WaitNotify(2, 5000);
  SleepMs(200);
  notes = g_client->Notifies();
  EXPECT_EQ(notes.size(), 2u) << "one SM_NOTIFY per host that held locks";
  for (const NotifyCall& n : notes) {
    EXPECT_EQ(n.mon_name, HostName());
    EXPECT_EQ(n.state, *after);
  }

  Nlm nlm;
  ASSERT_TRUE(nlm.Connect(d_.port()));
  // New conflicting locks wait for the reclaims.
  EXPECT_EQ(nlm.Lock(kC, fh_, 0, 10, true), NLM4_DENIED_GRACE_PERIOD);
  EXPECT_EQ(nlm.Lock(kC, fh_, 1050, 100, false), NLM4_DENIED_GRACE_PERIOD);
  // TEST behind an unreclaimed lock: its answer may still change (grace).
  EXPECT_EQ(nlm.Test(kC, fh_, 0, 10, true), NLM4_DENIED_GRACE_PERIOD);
  EXPECT_EQ(nlm.Test(kC, fh_, 5000, 10, true), NLM4_GRANTED);
  // DESIGN.md: only where a new lock conflicts with an unreclaimed one.
  EXPECT_EQ(nlm.Lock(kC, fh_, 5000, 10, true), NLM4_GRANTED);
  {
    LocalProcess local(path_);
    ASSERT_TRUE(local.ok());
    EXPECT_EQ(local.Do('S', F_WRLCK, 1000, 1), EAGAIN);
    EXPECT_EQ(local.Do('S', F_RDLCK, 50, 1), EAGAIN);
    EXPECT_EQ(local.Do('S', F_WRLCK, 6000, 1), 0);
  }

  // The owners reclaim; a reclaimed lock is an ordinary lock again.
  EXPECT_EQ(nlm.Lock(kA, fh_, 0, 100, true, false, /*reclaim=*/true),
            NLM4_GRANTED);
  EXPECT_EQ(nlm.Lock(kC, fh_, 0, 10, true), NLM4_DENIED);
  EXPECT_EQ(nlm.Lock(kB, fh_, 1000, 100, true, false, true), NLM4_GRANTED);
  Holder h;
  ASSERT_EQ(nlm.Test(kC, fh_, 1000, 1, false, &h), NLM4_DENIED);
  EXPECT_EQ(h.svid, kB.svid);
  EXPECT_EQ(h.offset, 1000u);
  EXPECT_EQ(h.len, 100u);

  // Everyone reclaimed: the grace period is over long before 60 s.
  ASSERT_EQ(nlm.Unlock(kA, fh_, 0, 100), NLM4_GRANTED);
  EXPECT_EQ(nlm.Lock(kC, fh_, 0, 10, true), NLM4_GRANTED);
  {
    LocalProcess local(path_);
    ASSERT_TRUE(local.ok());
    EXPECT_EQ(local.Do('S', F_WRLCK, 50, 10), 0);
    EXPECT_EQ(local.Do('S', F_WRLCK, 1000, 1), EAGAIN);
  }
  EXPECT_LT(MsSince(started), 20000);
}

TEST_F(NlmTest, CrashRestartUnreclaimedLockExpiresWithGrace) {
  constexpr int kGrace = 3;
  StartDaemon(true);
  ASSERT_EQ(nlm_.Lock(kA, fh_, 0, 100, true), NLM4_GRANTED);
  g_client->Reset();
  RestartWithGrace(/*crash=*/true, kGrace);
  auto started = Clock::now();
  std::vector<NotifyCall> notes = g_client->WaitNotify(1, 5000);
  ASSERT_EQ(notes.size(), 1u) << "no SM_NOTIFY after the restart";
  EXPECT_EQ(notes[0].mon_name, HostName());
  EXPECT_EQ(notes[0].state % 2, 1);

  Nlm nlm;
  ASSERT_TRUE(nlm.Connect(d_.port()));
  EXPECT_EQ(nlm.Lock(kC, fh_, 0, 10, true), NLM4_DENIED_GRACE_PERIOD);
  LocalProcess local(path_);
  ASSERT_TRUE(local.ok());
  EXPECT_EQ(local.Do('S', F_WRLCK, 50, 1), EAGAIN);
  // A local waiter on the unreclaimed lock gets it when grace ends (A
  // never reclaims), with no other request needed to notice the end.
  local.Send('W', F_WRLCK, 50, 1);
  LocalProcess::Reply r = local.Await((kGrace + 3) * 1000);
  EXPECT_EQ(r.err, 0) << "local F_SETLKW not granted when grace ended";
  if (r.err == -1) {
    // Nudge the server (any lock request notices the deadline).
    EXPECT_EQ(nlm.Lock(kC, fh_, 5000, 1, true), NLM4_GRANTED);
    r = local.Await(2000);
    EXPECT_EQ(r.err, 0) << "local F_SETLKW not granted after a nudge";
  }
  int64_t waited = MsSince(started);
  EXPECT_GE(waited, (kGrace - 1) * 1000) << "grace ended early";
  // After grace, new locks work; A's late reclaim is refused.
  EXPECT_EQ(nlm.Lock(kC, fh_, 0, 10, true), NLM4_GRANTED);
  EXPECT_NE(nlm.Lock(kA, fh_, 0, 100, true, false, /*reclaim=*/true),
            NLM4_GRANTED);
}

TEST_F(NlmTest, BlockingLockDuringGraceIsRefused) {
  StartDaemon(false);
  ASSERT_EQ(nlm_.Lock(kA, fh_, 0, 100, true), NLM4_GRANTED);
  RestartWithGrace(/*crash=*/false, 60);
  Nlm nlm;
  ASSERT_TRUE(nlm.Connect(d_.port()));
  // XNFS: during the grace period the server accepts only reclaims; a
  // blocking request is no exception (it would otherwise be queued behind
  // a lock that may never come back, or be granted over a reclaim).
  int st = nlm.Lock(kC, fh_, 0, 10, true, /*block=*/true);
  EXPECT_EQ(st, NLM4_DENIED_GRACE_PERIOD);
  if (st == NLM4_BLOCKED) nlm.Cancel(kC, fh_, 0, 10, true);
  EXPECT_EQ(nlm.Lock(kA, fh_, 0, 100, true, false, true), NLM4_GRANTED);
}

// ---- 6b. crashes right after a grant (locks.persist: written, the default)
// The daemon inherits CONCORDFS_BOOT_ID: the same value across a restart is a
// daemon-only crash, a different one a crash of the host (a reboot).

TEST_F(NlmTest, DaemonKilledRightAfterTheGrantRestoresTheLock) {
  ::setenv("CONCORDFS_BOOT_ID", "boot-a", 1);
  StartDaemon(true);
  ASSERT_EQ(nlm_.Lock(kA, fh_, 0, 100, true), NLM4_GRANTED);
  RestartWithGrace(/*crash=*/true, 60, /*settle=*/false);
  Nlm nlm;
  ASSERT_TRUE(nlm.Connect(d_.port()));
  // The grant's record was in the store before its reply: restored.
  EXPECT_EQ(nlm.Lock(kC, fh_, 10, 10, true), NLM4_DENIED_GRACE_PERIOD);
  {
    LocalProcess local(path_);
    ASSERT_TRUE(local.ok());
    EXPECT_EQ(local.Do('S', F_WRLCK, 50, 1), EAGAIN);
    // Not strict: a lock that conflicts with nothing restored is granted.
    EXPECT_EQ(local.Do('S', F_WRLCK, 5000, 1), 0);
  }
  EXPECT_EQ(Ctl("grace status").find("strict"), std::string::npos);
  EXPECT_EQ(nlm.Lock(kA, fh_, 0, 100, true, false, /*reclaim=*/true),
            NLM4_GRANTED);
  // Everything reclaimed: grace is over; A's lock is an ordinary lock.
  EXPECT_EQ(Ctl("grace status"), "not in grace\n");
  EXPECT_EQ(nlm.Lock(kC, fh_, 10, 10, true), NLM4_DENIED);
}

TEST_F(NlmTest, HostCrashMakesGraceStrictUntilItEnds) {
  ::setenv("CONCORDFS_BOOT_ID", "boot-a", 1);
  StartDaemon(true);
  Fh g = MakeFile(d_.port(), "g");
  ASSERT_FALSE(g.empty());
  ASSERT_EQ(nlm_.Lock(kA, fh_, 0, 100, true), NLM4_GRANTED);
  ::setenv("CONCORDFS_BOOT_ID", "boot-b", 1);  // the host rebooted
  RestartWithGrace(/*crash=*/true, 60, /*settle=*/false);
  EXPECT_NE(d_.Log().find("STRICT grace period"), std::string::npos)
      << d_.Log();
  Nlm nlm;
  ASSERT_TRUE(nlm.Connect(d_.port()));
  // Records of the last grants may be lost: nothing new, anywhere.
  EXPECT_EQ(nlm.Lock(kC, g, 0, 10, true), NLM4_DENIED_GRACE_PERIOD);
  int st = nlm.Lock(kC, g, 0, 10, true, /*block=*/true);
  EXPECT_EQ(st, NLM4_DENIED_GRACE_PERIOD);
  if (st == NLM4_BLOCKED) nlm.Cancel(kC, g, 0, 10, true);
  LocalProcess local_g(mnt_ + "/g");
  ASSERT_TRUE(local_g.ok());
  EXPECT_EQ(local_g.Do('S', F_WRLCK, 0, 1), EAGAIN);
  EXPECT_EQ(local_g.Do('S', F_RDLCK, 7000, 1), EAGAIN);
  {
    LocalProcess local(path_);
    ASSERT_TRUE(local.ok());
    EXPECT_EQ(local.Do('S', F_WRLCK, 5000, 1), EAGAIN);
  }
  // Reclaims are granted; with everything reclaimed grace stays strict.
  EXPECT_EQ(nlm.Lock(kA, fh_, 0, 100, true, false, /*reclaim=*/true),
            NLM4_GRANTED);
  EXPECT_EQ(nlm.Lock(kB, g, 500, 10, true, false, /*reclaim=*/true),
            NLM4_GRANTED);
  EXPECT_EQ(nlm.Lock(kC, g, 0, 10, true), NLM4_DENIED_GRACE_PERIOD);
  std::string status = Ctl("grace status");
  EXPECT_NE(status.find("in grace"), std::string::npos) << status;
  EXPECT_NE(status.find("strict"), std::string::npos) << status;
  EXPECT_NE(status.find("host went down"), std::string::npos) << status;
  // A local F_SETLKW waits for the end of grace.
  local_g.Send('W', F_WRLCK, 100, 1);
  EXPECT_EQ(local_g.Await(500).err, -1) << "F_SETLKW granted in strict grace";
  std::string ended = Ctl("grace end");
  EXPECT_EQ(ended, "grace ended\n");
  EXPECT_EQ(local_g.Await(5000).err, 0) << "F_SETLKW not granted at grace end";
  EXPECT_EQ(nlm.Lock(kC, g, 0, 10, true), NLM4_GRANTED);
  EXPECT_EQ(local_g.Do('S', F_WRLCK, 200, 1), 0);
  // The reclaimed locks are held.
  EXPECT_EQ(nlm.Lock(kC, fh_, 0, 10, true), NLM4_DENIED);
  EXPECT_EQ(nlm.Lock(kC, g, 505, 1, true), NLM4_DENIED);
}

TEST_F(NlmTest, CleanStopThenRebootIsNotStrict) {
  ::setenv("CONCORDFS_BOOT_ID", "boot-a", 1);
  StartDaemon(true);
  Fh g = MakeFile(d_.port(), "g");
  ASSERT_FALSE(g.empty());
  ASSERT_EQ(nlm_.Lock(kA, fh_, 0, 100, true), NLM4_GRANTED);
  ::setenv("CONCORDFS_BOOT_ID", "boot-b", 1);
  RestartWithGrace(/*crash=*/false, 60);
  EXPECT_EQ(d_.Log().find("STRICT grace period"), std::string::npos);
  Nlm nlm;
  ASSERT_TRUE(nlm.Connect(d_.port()));
  EXPECT_EQ(nlm.Lock(kC, g, 0, 10, true), NLM4_GRANTED);
  {
    LocalProcess local(mnt_ + "/g");
    ASSERT_TRUE(local.ok());
    EXPECT_EQ(local.Do('S', F_WRLCK, 100, 1), 0);
  }
  std::string status = Ctl("grace status");
  EXPECT_NE(status.find("in grace"), std::string::npos) << status;
  EXPECT_EQ(status.find("strict"), std::string::npos) << status;
  EXPECT_EQ(nlm.Lock(kC, fh_, 10, 10, true), NLM4_DENIED_GRACE_PERIOD);
  EXPECT_EQ(nlm.Lock(kA, fh_, 0, 100, true, false, /*reclaim=*/true),
            NLM4_GRANTED);
  EXPECT_EQ(Ctl("grace status"), "not in grace\n");
}

// ---- 7. retransmissions (the duplicate request cache) ----

TEST_F(NlmTest, RetransmittedLockIsAppliedOnce) {
  StartDaemon(false);
  RawUdp udp(d_.port());
  uint32_t lock_xid = RawUdp::NewXid();
  std::string lock = CallMsg(lock_xid, kNlmProg, 4, 2,
                             RawLockArgs("c1", false, true, kA, fh_, 0, 100));
  ASSERT_EQ(RawStat(udp.Exchange(lock, lock_xid)), NLM4_GRANTED);
  ASSERT_EQ(RawStat(udp.Exchange(lock, lock_xid)), NLM4_GRANTED);
  ASSERT_EQ(nlm_.Unlock(kA, fh_, 0, 100), NLM4_GRANTED);
  // A late duplicate of the LOCK must not take the lock again.
  EXPECT_EQ(RawStat(udp.Exchange(lock, lock_xid)), NLM4_GRANTED)
      << "the duplicate gets the original reply";
  EXPECT_EQ(nlm_.Test(kB, fh_, 0, 100, true), NLM4_GRANTED)
      << "the retransmitted LOCK was applied again";
  // The same call with a new xid is a new request.
  uint32_t xid2 = RawUdp::NewXid();
  ASSERT_EQ(RawStat(udp.Exchange(
                CallMsg(xid2, kNlmProg, 4, 2,
                        RawLockArgs("c1", false, true, kA, fh_, 0, 100)),
                xid2)),
            NLM4_GRANTED);
  EXPECT_EQ(nlm_.Test(kB, fh_, 0, 100, true), NLM4_DENIED);
}

TEST_F(NlmTest, RetransmittedBlockingLockOverUdpGetsOneGrant) {
  StartDaemon(false);
  ASSERT_EQ(nlm_.Lock(kA, fh_, 0, 100, true), NLM4_GRANTED);
  RawUdp udp(d_.port());
  uint32_t xid = RawUdp::NewXid();
  std::string lock = CallMsg(xid, kNlmProg, 4, 2,
                             RawLockArgs("c2", true, true, kB, fh_, 0, 10));
  ASSERT_EQ(RawStat(udp.Exchange(lock, xid)), NLM4_BLOCKED);
  ASSERT_EQ(RawStat(udp.Exchange(lock, xid)), NLM4_BLOCKED);
  auto t0 = Clock::now();
  ASSERT_EQ(nlm_.Unlock(kA, fh_, 0, 100), NLM4_GRANTED);
  std::optional<GrantedCall> g = g_client->WaitGranted(kB, 5000);
  ASSERT_TRUE(g.has_value());
  EXPECT_LT(MsBetween(t0, g->at), 1000);
  EXPECT_FALSE(g->tcp) << "GRANTED over the transport of the LOCK (UDP)";
  SleepMs(500);
  EXPECT_EQ(g_client->Granted(kB).size(), 1u);
  EXPECT_EQ(nlm_.Test(kC, fh_, 0, 10, true), NLM4_DENIED);
}

}  // namespace
}  // namespace cfs_nfs_test
