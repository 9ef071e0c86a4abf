// nlm_lockcli: a small NLM v4 client for scripted cross-protocol lock
// tests. It speaks NLM through libnfs's raw API (a client library nobody
// here wrote) to the daemon, and plays the client's NLM service itself so
// that blocked locks can be granted by the server's GRANTED callback: a
// TCP+UDP listener on 127.0.0.1, registered (PMAP SET, NLM v4) with the
// portmapper on 127.0.0.1:PMAP_PORT, which is where the server looks the
// client's NLM port up. Run it where that portmapper belongs to the test
// (smb_lock_matrix_test.py runs rpcbind in a private network namespace).
//
//   nlm_lockcli [OPTIONS] NFS_PORT PMAP_PORT FILE_NAME
//
// FILE_NAME names a file in the root of the export (default "/"); its handle
// comes from MOUNT + LOOKUP. Options, for servers other than concordfs
// (tools/lock_harness.py passes them):
//   --host ADDR        the server's IPv4 address (127.0.0.1)
//   --mount-port P     its MOUNT port (NFS_PORT)
//   --nlm-port P       its NLM port (NFS_PORT)
//   --export PATH      the export to mount ("/")
//   --caller NAME      caller_name of every request (nlm-lockcli); Ganesha
//                      looks the client up by this name: "localhost"
//   --takeover         when the server's own NLM service is registered with
//                      the same portmapper (client and server on one host),
//                      replace that mapping by ours (PMAP UNSET + SET from a
//                      reserved port) and put it back at exit
// A GRANTED_MSG callback (Ganesha's) is answered by a GRANTED_RES call to
// the server's NLM port. Then one command a line on stdin, one answer
// line each on stdout ("ready" first). Commands (x: exclusive, s: shared):
//   test SVID OFFSET LEN x|s    granted, or denied with the holder:
//                               "denied excl=E svid=S oh=H off=O len=L"
//   lock SVID OFFSET LEN x|s    non-blocking: granted, denied, ...
//   lockw SVID OFFSET LEN x|s   blocking: blocked, granted, deadlck, ...
//   cancel SVID OFFSET LEN x|s  granted, denied, ...
//   unlock SVID OFFSET LEN      granted, ...
// answers are the nlm4_stats names in lower case ("rpc-error ..." when the
// call itself failed). The owner is caller "nlm-lockcli", svid SVID and
// owner handle "oh-SVID". Whenever the server's GRANTED callback arrives,
// an extra line "callback granted svid=S off=O len=L excl=E" is printed
// (at any time, also between a command and its answer); the callback is
// answered NLM4_GRANTED, so the lock is then held.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iostream>
#include <mutex>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

// libnfs.h first: the raw headers need its definitions.
// clang-format off
#include <nfsc/libnfs.h>
#include <nfsc/libnfs-raw.h>
#include <nfsc/libnfs-raw-mount.h>
#include <nfsc/libnfs-raw-nfs.h>
#include <nfsc/libnfs-raw-nlm.h>
#include <nfsc/libnfs-raw-portmap.h>

#include "rpc/xdr.h"
// clang-format on

namespace {

constexpr uint32_t kNlmProg = 100021;
constexpr uint32_t kNlmGranted = 5;
constexpr uint32_t kNlmGrantedMsg = 10;
constexpr uint32_t kNlmGrantedRes = 15;
constexpr uint32_t kPmapProg = 100000;

// Set once from the command line, before any thread starts.
std::string g_host = "127.0.0.1";
std::string g_caller = "nlm-lockcli";
uint16_t g_nlm_port = 0;

sockaddr_in HostAddr(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  ::inet_pton(AF_INET, g_host.c_str(), &a.sin_addr);
  return a;
}

// Answer lines come from the main thread and callback lines from the
// listener thread: one mutex keeps each line whole.
std::mutex g_out_mu;
void Say(const char* fmt, ...) {
  std::lock_guard<std::mutex> lk(g_out_mu);
  va_list ap;
  va_start(ap, fmt);
  std::vprintf(fmt, ap);
  va_end(ap);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

// ---- XDR, enough to decode a GRANTED call and encode its reply ----

// Decoding: the project's own XDR decoder (rpc/xdr.h).
using XdrIn = concordfs::rpc::XdrDecoder;

class XdrOut {
 public:
  XdrOut& U32(uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) b_.push_back(static_cast<char>(v >> s));
    return *this;
  }
  XdrOut& CallHeader(uint32_t xid, uint32_t prog, uint32_t vers,
                     uint32_t proc) {  // AUTH_NONE
    for (uint32_t v : {xid, 0u, 2u, prog, vers, proc, 0u, 0u, 0u, 0u}) U32(v);
    return *this;
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

// ---- synchronous calls over a libnfs raw RPC context ----

class Rpc {
 public:
  Rpc() : rpc_(rpc_init_context()) {}
  ~Rpc() { rpc_destroy_context(rpc_); }
  Rpc(const Rpc&) = delete;
  Rpc& operator=(const Rpc&) = delete;

  bool Connect(uint16_t port, int program, int version) {
    int rc = Call([&](rpc_context* r, rpc_cb cb, void* priv) {
      return rpc_connect_port_async(r, g_host.c_str(), port, program, version,
                                    cb, priv);
    });
    return rc == RPC_STATUS_SUCCESS;
  }
  // Issues one call and services the context until its callback ran;
  // `on_reply(data)` sees libnfs's decoded result on success. Returns the
  // RPC status (or RPC_STATUS_TIMEOUT after 20 s, -1 if not issued).
  int Call(const std::function<int(rpc_context*, rpc_cb, void*)>& issue,
           std::function<void(void*)> on_reply = nullptr) {
    done_ = false;
    on_reply_ = std::move(on_reply);
    if (issue(rpc_, &Rpc::Callback, this) != 0) return -1;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!done_) {
      if (std::chrono::steady_clock::now() > deadline) {
        return RPC_STATUS_TIMEOUT;
      }
      pollfd p{rpc_get_fd(rpc_), static_cast<short>(rpc_which_events(rpc_)), 0};
      int n = ::poll(&p, 1, 100);
      if (n < 0) return RPC_STATUS_ERROR;
      if (rpc_service(rpc_, n > 0 ? p.revents : 0) < 0) {
        return RPC_STATUS_ERROR;
      }
    }
    return status_;
  }
  std::string error() { return rpc_get_error(rpc_); }

 private:
  static void Callback(rpc_context*, int status, void* data, void* priv) {
    auto* self = static_cast<Rpc*>(priv);
    self->status_ = status;
    if (status == RPC_STATUS_SUCCESS && self->on_reply_) self->on_reply_(data);
    self->done_ = true;
  }

  rpc_context* rpc_;
  bool done_ = false;
  int status_ = 0;
  std::function<void(void*)> on_reply_;
};

// The handle of `name` in the root of `export_path` (empty on failure).
std::string LookUp(uint16_t mount_port, uint16_t port,
                   const std::string& export_path, const std::string& name) {
  Rpc mnt;
  if (!mnt.Connect(mount_port, MOUNT_PROGRAM, MOUNT_V3)) return {};
  std::string root_path = export_path;
  std::string root;
  mnt.Call(
      [&](rpc_context* r, rpc_cb cb, void* priv) {
        return rpc_mount3_mnt_async(r, cb, root_path.data(), priv);
      },
      [&](void* data) {
        auto* res = static_cast<mountres3*>(data);
        if (res->fhs_status != MNT3_OK) return;
        const fhandle3& h = res->mountres3_u.mountinfo.fhandle;
        root.assign(h.fhandle3_val, h.fhandle3_len);
      });
  if (root.empty()) return {};
  Rpc nfs;
  if (!nfs.Connect(port, NFS_PROGRAM, NFS_V3)) return {};
  LOOKUP3args args{};
  args.what.dir.data.data_len = static_cast<u_int>(root.size());
  args.what.dir.data.data_val = root.data();
  std::string n = name;
  args.what.name = n.data();
  std::string fh;
  nfs.Call(
      [&](rpc_context* r, rpc_cb cb, void* priv) {
        return rpc_nfs3_lookup_async(r, cb, &args, priv);
      },
      [&](void* data) {
        auto* res = static_cast<LOOKUP3res*>(data);
        if (res->status != NFS3_OK) return;
        const nfs_fh3& h = res->LOOKUP3res_u.resok.object;
        fh.assign(h.data.data_val, h.data.data_len);
      });
  return fh;
}

// ---- the client's NLM service: receives GRANTED callbacks ----

class CallbackListener {
 public:
  ~CallbackListener() { Stop(); }

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
    // UDP on the same port number: one port to register for both.
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

  // PMAP SET of NLM v4 over TCP and UDP at the portmapper on `pmap_port`.
  bool Register(uint16_t pmap_port) {
    Rpc pm;
    if (!pm.Connect(pmap_port, PMAP_PROGRAM, PMAP_V2)) return false;
    for (int proto : {IPPROTO_TCP, IPPROTO_UDP}) {
      bool ok = false;
      int rc = pm.Call(
          [&](rpc_context* r, rpc_cb cb, void* priv) {
            return rpc_pmap2_set_async(r, kNlmProg, NLM_V4, proto, port_, cb,
                                       priv);
          },
          [&](void* data) { ok = *static_cast<uint32_t*>(data) != 0; });
      if (rc != RPC_STATUS_SUCCESS || !ok) return false;
    }
    return true;
  }

  uint16_t port() const { return port_; }

 private:
  struct Conn {
    int fd;
    std::string in;
  };

  void Loop() {
    std::vector<Conn> conns;
    for (;;) {
      std::vector<pollfd> fds{
          {wake_[0], POLLIN, 0}, {tcp_, POLLIN, 0}, {udp_, POLLIN, 0}};
      for (const Conn& c : conns) fds.push_back({c.fd, POLLIN, 0});
      if (::poll(fds.data(), fds.size(), 1000) < 0) continue;
      if (fds[0].revents != 0) break;
      std::vector<Conn> keep;
      for (size_t i = 0; i < conns.size(); ++i) {
        if (fds[3 + i].revents == 0 || ServeTcp(&conns[i])) {
          keep.push_back(std::move(conns[i]));
        } else {
          ::close(conns[i].fd);
        }
      }
      if (fds[1].revents & POLLIN) {
        int fd = ::accept4(tcp_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd >= 0) keep.push_back({fd, {}});
      }
      if (fds[2].revents & POLLIN) ServeUdp();
      conns = std::move(keep);
    }
    for (const Conn& c : conns) ::close(c.fd);
  }

  // Reads what arrived on a connection and answers every whole record;
  // false when the peer closed it.
  bool ServeTcp(Conn* c) {
    char buf[65536];
    ssize_t n = ::recv(c->fd, buf, sizeof(buf), 0);
    if (n <= 0) return false;
    c->in.append(buf, static_cast<size_t>(n));
    // Record marking: the server sends one-fragment records.
    while (c->in.size() >= 4) {
      size_t len = XdrIn(c->in).U32() & 0x7fffffffu;
      if (c->in.size() < 4 + len) break;
      std::string reply = Handle(std::string_view(c->in).substr(4, len));
      c->in.erase(0, 4 + len);
      if (reply.empty()) continue;
      std::string out =
          XdrOut()
              .U32(0x80000000u | static_cast<uint32_t>(reply.size()))
              .str() +
          reply;
      (void)!::send(c->fd, out.data(), out.size(), MSG_NOSIGNAL);
    }
    return true;
  }

  void ServeUdp() {
    char buf[65536];
    sockaddr_in from{};
    socklen_t flen = sizeof(from);
    ssize_t n = ::recvfrom(udp_, buf, sizeof(buf), 0,
                           reinterpret_cast<sockaddr*>(&from), &flen);
    if (n <= 0) return;
    std::string reply = Handle(std::string_view(buf, static_cast<size_t>(n)));
    if (!reply.empty()) {
      ::sendto(udp_, reply.data(), reply.size(), 0,
               reinterpret_cast<sockaddr*>(&from), flen);
    }
  }

  // One call message; returns the whole reply message ("" for none).
  std::string Handle(std::string_view msg) {
    XdrIn in(msg);
    uint32_t xid = in.U32();
    uint32_t type = in.U32();
    in.U32();  // rpcvers
    uint32_t prog = in.U32(), vers = in.U32(), proc = in.U32();
    in.U32();
    in.Opaque(400);  // credential
    in.U32();
    in.Opaque(400);  // verifier
    if (!in.ok() || type != 0 /* CALL */) return {};
    XdrOut reply;
    reply.U32(xid).U32(1).U32(0).U32(0).U32(0);  // accepted, AUTH_NONE
    if (proc == 0) return reply.U32(0).str();
    if (prog != kNlmProg || vers != NLM_V4 ||
        (proc != kNlmGranted && proc != kNlmGrantedMsg)) {
      return reply.U32(3 /* PROC_UNAVAIL */).str();
    }
    std::string cookie(in.Opaque());
    bool exclusive = in.U32() != 0;
    in.Opaque();  // caller_name: the server's
    in.Opaque();  // file handle
    std::string oh(in.Opaque());
    uint32_t svid = in.U32();
    uint64_t offset = in.U64();
    uint64_t len = in.U64();
    if (!in.ok()) return reply.U32(4 /* GARBAGE_ARGS */).str();
    Say("callback granted svid=%u off=%llu len=%llu excl=%d", svid,
        static_cast<unsigned long long>(offset),
        static_cast<unsigned long long>(len), exclusive ? 1 : 0);
    // GRANTED_MSG (Ganesha's) is settled by a GRANTED_RES call, sent and
    // its reply awaited before anything else happens here, so an UNLOCK
    // cannot overtake it.
    if (proc == kNlmGrantedMsg) {
      XdrOut res;
      res.CallHeader(xid ^ 0x5a5a5a5au, kNlmProg, NLM_V4, kNlmGrantedRes)
          .Opaque(cookie)
          .U32(NLM4_GRANTED);
      CallServer(xid ^ 0x5a5a5a5au, res.str());
      return {};
    }
    return reply.U32(0).Opaque(cookie).U32(NLM4_GRANTED).str();
  }

  // One call to the server's NLM port over a fresh TCP connection, waiting
  // up to 2 s for the reply with `xid`.
  static void CallServer(uint32_t xid, const std::string& call) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in to = HostAddr(g_nlm_port);
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to))) {
      std::fprintf(stderr, "nlm_lockcli: GRANTED_RES: connect: %s\n",
                   std::strerror(errno));
      if (fd >= 0) ::close(fd);
      return;
    }
    std::string rec =
        XdrOut().U32(0x80000000u | static_cast<uint32_t>(call.size())).str() +
        call;
    bool ok = ::send(fd, rec.data(), rec.size(), MSG_NOSIGNAL) ==
              static_cast<ssize_t>(rec.size());
    std::string in;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (ok) {
      if (in.size() >= 8) {
        XdrIn h(in);
        size_t len = h.U32() & 0x7fffffffu;
        uint32_t rxid = h.U32();
        if (in.size() >= 4 + len) {
          if (rxid == xid) {
            ::close(fd);
            return;
          }
          in.erase(0, 4 + len);
          continue;
        }
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                      deadline - std::chrono::steady_clock::now())
                      .count();
      pollfd p{fd, POLLIN, 0};
      if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) break;
      char buf[4096];
      ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) break;
      in.append(buf, static_cast<size_t>(n));
    }
    std::fprintf(stderr, "nlm_lockcli: no reply to GRANTED_RES\n");
    ::close(fd);
  }

  int tcp_ = -1, udp_ = -1, wake_[2] = {-1, -1};
  uint16_t port_ = 0;
  std::thread thread_;
};

// ---- NLM v4 calls ----

// nlm4_stats 2 (RFC 1813 / XNFS): the server is out of lock resources.
constexpr int kNlm4DeniedNoResources = 2;

const char* StatName(int st) {
  switch (st) {
    case NLM4_GRANTED:
      return "granted";
    case NLM4_DENIED:
      return "denied";
    case kNlm4DeniedNoResources:
      return "denied_no_resources";
    case NLM4_BLOCKED:
      return "blocked";
    case NLM4_DENIED_GRACE_PERIOD:
      return "denied_grace_period";
    case NLM4_DEADLCK:
      return "deadlck";
    case NLM4_ROFS:
      return "rofs";
    case NLM4_STALE_FH:
      return "stale_fh";
    case NLM4_FBIG:
      return "fbig";
    case NLM4_FAILED:
      return "failed";
  }
  return "unknown";
}

class NlmClient {
 public:
  explicit NlmClient(std::string fh) : fh_(std::move(fh)) {}

  bool Connect(uint16_t port) {
    return rpc_.Connect(port, NLM_PROGRAM, NLM_V4);
  }

  // Runs one command line; prints its answer line.
  void Run(const std::string& line) {
    std::istringstream in(line);
    std::string op, type;
    uint32_t svid = 0;
    uint64_t off = 0, len = 0;
    in >> op >> svid >> off >> len;
    if (op != "unlock") in >> type;
    if (in.fail() || (op != "unlock" && type != "x" && type != "s")) {
      Say("usage-error %s", line.c_str());
      return;
    }
    bool excl = type == "x";
    std::string oh = "oh-" + std::to_string(svid);
    nlm4_lock lock = Alock(svid, oh, off, len);
    if (op == "test") {
      Test(lock, excl);
    } else if (op == "lock" || op == "lockw") {
      NLM4_LOCKargs args{};
      args.cookie = NextCookie();
      args.block = op == "lockw";
      args.exclusive = excl;
      args.lock = lock;
      args.state = 1;
      Answer<NLM4_LOCKres>([&](rpc_context* r, rpc_cb cb, void* priv) {
        return rpc_nlm4_lock_async(r, cb, &args, priv);
      });
    } else if (op == "cancel") {
      NLM4_CANCargs args{};
      args.cookie = NextCookie();
      args.block = true;
      args.exclusive = excl;
      args.lock = lock;
      Answer<NLM4_CANCres>([&](rpc_context* r, rpc_cb cb, void* priv) {
        return rpc_nlm4_cancel_async(r, cb, &args, priv);
      });
    } else if (op == "unlock") {
      NLM4_UNLOCKargs args{};
      args.cookie = NextCookie();
      args.lock = lock;
      Answer<NLM4_UNLOCKres>([&](rpc_context* r, rpc_cb cb, void* priv) {
        return rpc_nlm4_unlock_async(r, cb, &args, priv);
      });
    } else {
      Say("usage-error %s", line.c_str());
    }
  }

 private:
  // The pointers refer to `fh_` and `oh`, which outlive the call.
  nlm4_lock Alock(uint32_t svid, const std::string& oh, uint64_t off,
                  uint64_t len) {
    nlm4_lock l{};
    l.caller_name = const_cast<char*>(g_caller.c_str());
    l.fh.data.data_len = static_cast<u_int>(fh_.size());
    l.fh.data.data_val = fh_.data();
    l.oh = const_cast<char*>(oh.c_str());
    l.svid = svid;
    l.l_offset = off;
    l.l_len = len;
    return l;
  }
  nlm_cookie NextCookie() {
    cookie_ = "lockcli-" + std::to_string(++seq_);
    nlm_cookie c{};
    c.data.data_len = static_cast<u_int>(cookie_.size());
    c.data.data_val = cookie_.data();
    return c;
  }
  bool CookieMatches(const nlm_cookie& c) const {
    return std::string(c.data.data_val, c.data.data_len) == cookie_;
  }

  void Test(nlm4_lock lock, bool excl) {
    NLM4_TESTargs args{};
    args.cookie = NextCookie();
    args.exclusive = excl;
    args.lock = lock;
    std::string answer;
    int rc = rpc_.Call(
        [&](rpc_context* r, rpc_cb cb, void* priv) {
          return rpc_nlm4_test_async(r, cb, &args, priv);
        },
        [&](void* data) {
          auto* res = static_cast<NLM4_TESTres*>(data);
          if (!CookieMatches(res->cookie)) {
            answer = "bad-cookie";
            return;
          }
          int st = res->reply.status;
          answer = StatName(st);
          if (st != NLM4_DENIED) return;
          const nlm4_holder& h = res->reply.nlm4_testreply_u.lock.holder;
          std::string oh = h.oh != nullptr ? h.oh : "";
          char buf[256];
          std::snprintf(
              buf, sizeof(buf), " excl=%d svid=%u oh=%s off=%llu len=%llu",
              h.exclusive ? 1 : 0, h.svid, oh.empty() ? "-" : oh.c_str(),
              static_cast<unsigned long long>(h.l_offset),
              static_cast<unsigned long long>(h.l_len));
          answer += buf;
        });
    SayResult(rc, answer);
  }

  // For the calls whose result is {cookie, stat}.
  template <typename Res>
  void Answer(const std::function<int(rpc_context*, rpc_cb, void*)>& issue) {
    std::string answer;
    int rc = rpc_.Call(issue, [&](void* data) {
      auto* res = static_cast<Res*>(data);
      answer =
          CookieMatches(res->cookie) ? StatName(res->status) : "bad-cookie";
    });
    SayResult(rc, answer);
  }

  void SayResult(int rc, const std::string& answer) {
    if (rc == RPC_STATUS_SUCCESS) {
      Say("%s", answer.c_str());
    } else {
      Say("rpc-error %d %s", rc, rpc_.error().c_str());
    }
  }

  Rpc rpc_;
  std::string fh_;
  std::string cookie_;
  uint32_t seq_ = 0;
};

// ---- --takeover: the portmapper names our NLM service, then the old one ----

// One portmap v2 call to 127.0.0.1:PMAP_PORT over UDP from a reserved port
// (rpcbind lets only such callers change a mapping the superuser made).
// Returns the result word, or -1.
int64_t PmapCall(uint16_t pmap_port, uint32_t proc, uint32_t prot,
                 uint32_t port) {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  for (uint16_t p = 1023; p >= 600; --p) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(p);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0) break;
    if (errno != EADDRINUSE) break;
  }
  static uint32_t xid = static_cast<uint32_t>(::getpid()) << 12;
  ++xid;
  XdrOut call;
  call.CallHeader(xid, kPmapProg, 2, proc);
  for (uint32_t v : {kNlmProg, static_cast<uint32_t>(NLM_V4), prot, port}) {
    call.U32(v);
  }
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  to.sin_port = htons(pmap_port);
  for (int attempt = 0; attempt < 4; ++attempt) {
    if (::sendto(fd, call.str().data(), call.str().size(), 0,
                 reinterpret_cast<sockaddr*>(&to), sizeof(to)) < 0) {
      break;
    }
    pollfd p{fd, POLLIN, 0};
    while (::poll(&p, 1, 1000) > 0) {
      char buf[512];
      ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
      if (n < 0) break;
      XdrIn r(std::string_view(buf, static_cast<size_t>(n)));
      if (r.U32() != xid || r.U32() != 1) continue;
      uint32_t reply_stat = r.U32();
      r.U32();
      r.Opaque(400);  // verifier
      uint32_t accept_stat = r.U32();
      uint32_t result = r.U32();
      ::close(fd);
      if (!r.ok() || reply_stat != 0 || accept_stat != 0) return -1;
      return result;
    }
  }
  ::close(fd);
  return -1;
}

constexpr uint32_t kPmapSet = 1, kPmapUnset = 2, kPmapGetPort = 3;
struct Takeover {
  uint16_t pmap_port = 0;
  int64_t old_tcp = 0, old_udp = 0;
  bool active = false;
} g_takeover;

void RestorePortmap() {
  if (!g_takeover.active) return;
  g_takeover.active = false;
  uint16_t pm = g_takeover.pmap_port;
  PmapCall(pm, kPmapUnset, 0, 0);
  if (g_takeover.old_tcp > 0) {
    PmapCall(pm, kPmapSet, IPPROTO_TCP, g_takeover.old_tcp);
  }
  if (g_takeover.old_udp > 0) {
    PmapCall(pm, kPmapSet, IPPROTO_UDP, g_takeover.old_udp);
  }
}

bool TakeOverPortmap(uint16_t pmap_port, uint16_t port) {
  g_takeover.pmap_port = pmap_port;
  g_takeover.old_tcp = PmapCall(pmap_port, kPmapGetPort, IPPROTO_TCP, 0);
  g_takeover.old_udp = PmapCall(pmap_port, kPmapGetPort, IPPROTO_UDP, 0);
  if (g_takeover.old_tcp < 0) return false;
  g_takeover.active = true;
  std::atexit(RestorePortmap);
  PmapCall(pmap_port, kPmapUnset, 0, 0);
  return PmapCall(pmap_port, kPmapSet, IPPROTO_TCP, port) == 1 &&
         PmapCall(pmap_port, kPmapSet, IPPROTO_UDP, port) == 1 &&
         PmapCall(pmap_port, kPmapGetPort, IPPROTO_TCP, 0) == port;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> pos;
  uint16_t mount_port = 0;
  std::string export_path = "/";
  bool takeover = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    bool has_value = i + 1 < argc;
    if (a == "--host" && has_value) {
      g_host = argv[++i];
    } else if (a == "--mount-port" && has_value) {
      mount_port = static_cast<uint16_t>(std::atoi(argv[++i]));
    } else if (a == "--nlm-port" && has_value) {
      g_nlm_port = static_cast<uint16_t>(std::atoi(argv[++i]));
    } else if (a == "--export" && has_value) {
      export_path = argv[++i];
    } else if (a == "--caller" && has_value) {
      g_caller = argv[++i];
    } else if (a == "--takeover") {
      takeover = true;
    } else {
      pos.push_back(a);
    }
  }
  in_addr probe{};
  if (pos.size() != 3 || ::inet_pton(AF_INET, g_host.c_str(), &probe) != 1) {
    std::fprintf(stderr,
                 "usage: %s [--host ADDR] [--mount-port P] [--nlm-port P] "
                 "[--export PATH] [--caller NAME] [--takeover] NFS_PORT "
                 "PMAP_PORT FILE_NAME\n",
                 argv[0]);
    return 2;
  }
  auto nfs_port = static_cast<uint16_t>(std::atoi(pos[0].c_str()));
  auto pmap_port = static_cast<uint16_t>(std::atoi(pos[1].c_str()));
  if (mount_port == 0) mount_port = nfs_port;
  if (g_nlm_port == 0) g_nlm_port = nfs_port;
  std::string fh = LookUp(mount_port, nfs_port, export_path, pos[2]);
  if (fh.empty()) {
    Say("error: no handle for %s in %s (MOUNT on %s:%u, LOOKUP on port %u)",
        pos[2].c_str(), export_path.c_str(), g_host.c_str(), mount_port,
        nfs_port);
    return 1;
  }
  CallbackListener listener;
  if (!listener.Start()) {
    Say("error: callback listener: %s", std::strerror(errno));
    return 1;
  }
  if (takeover ? !TakeOverPortmap(pmap_port, listener.port())
               : !listener.Register(pmap_port)) {
    Say("error: PMAP SET of NLM v4 at 127.0.0.1:%u refused or failed",
        pmap_port);
    return 1;
  }
  NlmClient nlm(fh);
  if (!nlm.Connect(g_nlm_port)) {
    Say("error: NLM connect to %s:%u", g_host.c_str(), g_nlm_port);
    return 1;
  }
  Say("ready callback-port=%u", listener.port());
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.empty()) continue;
    nlm.Run(line);
  }
  RestorePortmap();
  return 0;
}
