// nlm_bench: NLM v4 (program 100021) workloads driven through libnfs's raw
// NLM calls, for scripts/bench_nfs.sh to run against concordfs and
// NFS-Ganesha side by side.
//
//   nlm_bench [options] --nlm-port N nfs://HOST/EXPORT?version=3&nfsport=...
//
// The NFS URL is only used (libnfs's high-level API) to create the files and
// get their handles; every lock call goes to the server's NLM service on
// 127.0.0.1:N over one TCP connection. Each figure prints one JSON object per
// line on stdout, like nfs_bench:
//   {"name": "pairs_monitored", "value": 5123.4, "unit": "pairs/s"}
// ("value": null for a percentile that fell on an iteration that timed out).
//
// Workloads:
//   pairs         LOCK+UNLOCK pairs (exclusive, non-blocking, a distinct small
//                 range every time) on one file, for a fixed time: one owner
//                 with one request in flight, and --parallel owners (svids)
//                 each with one in flight; each both while the client holds
//                 another lock on another file ("monitored": the server
//                 already watches the host through its NSM) and while it
//                 holds none ("unmonitored": the first lock and the last
//                 unlock of a host are when a server SM_MONs / SM_UNMONs it).
//   wakeup-nlm    a blocked waiter (LOCK block=true -> BLOCKED) behind another
//                 NLM owner of the same client: time from sending the holder's
//                 UNLOCK to the GRANTED callback arriving here.
//   wakeup-local  the same behind a local fcntl lock taken by this process on
//                 the file under --local-dir (the export's root as a local
//                 directory: a FUSE mount of concordfs, or the directory a
//                 Ganesha FSAL VFS export serves): time from the local
//                 F_UNLCK to the GRANTED callback. --pause-max spreads the
//                 unlocks over a server's polling cycle, if it polls.
//
// Callbacks: the bench serves NLM v4 itself, on a TCP and a UDP socket of
// 127.0.0.1: GRANTED is answered at once with NLM4_GRANTED; GRANTED_MSG (what
// Ganesha sends) with a GRANTED_RES call to the server's NLM port over TCP,
// waiting for its reply before anything else is sent. With --register the
// portmapper at 127.0.0.1:111 names these sockets for NLM v4 (tcp and udp)
// during the run: in a network namespace where the client and the servers
// share one rpcbind, that mapping otherwise names a server's own NLM service
// (the previous mapping is put back at exit, also after an error). The
// caller_name must resolve to 127.0.0.1 for Ganesha, which looks the client's
// portmapper and address up by that name (and takes a numeric "127.0.0.1" as
// an error, because it asks for an IPv6 address first); the default,
// "localhost", does.
//
// Everything it creates lives in /nlm-bench-PID in the export, removed at the
// end. Any unexpected answer ends the run with exit status 1 and a message;
// bad arguments exit 2.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
// libnfs.h needs struct timeval declared first.
#include <nfsc/libnfs.h>
// The raw headers after libnfs.h (they use its types).
#include <nfsc/libnfs-raw-nfs.h>
#include <nfsc/libnfs-raw-nlm.h>
#include <nfsc/libnfs-raw.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

constexpr uint32_t kPmapProgram = 100000;
constexpr uint32_t kPmapSet = 1, kPmapUnset = 2, kPmapGetPort = 3;
constexpr uint32_t kIpProtoTcp = 6, kIpProtoUdp = 17;
constexpr uint32_t kNlmProgram = 100021, kNlmVersion = 4;
constexpr uint32_t kNlmGranted = 5, kNlmGrantedMsg = 10, kNlmGrantedRes = 15;

const char* const kWorkloads[] = {"pairs", "wakeup-nlm", "wakeup-local"};

struct Options {
  std::string url;
  int nlm_port = 0;
  std::string caller = "localhost";
  std::string local_dir;
  double pair_seconds = 2;  // per pairs figure
  int parallel = 16;        // owners in flight for the parallel figures
  int iterations = 200;     // wakeup-nlm
  int local_iterations = 200;
  double wait_timeout = 15;  // seconds per wakeup iteration
  double pause_max = 0;      // wakeup-local: random pause before each iteration
  int timeout_s = 30;        // no reply for this long = error
  bool register_callback = false;
  bool verbose = false;  // every wakeup iteration on stderr
  std::set<std::string> workloads;
  std::string label;  // in messages: which server
};

std::string g_label = "nlm_bench";

[[noreturn]] void Fail(const std::string& what, const std::string& detail) {
  std::fprintf(stderr, "%s: %s failed: %s\n", g_label.c_str(), what.c_str(),
               detail.c_str());
  std::exit(1);
}

[[noreturn]] void FailErrno(const std::string& what) {
  Fail(what, std::strerror(errno));
}

double Since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

void Report(const std::string& name, double value, const char* unit) {
  if (std::isfinite(value)) {
    std::printf("{\"name\": \"%s\", \"value\": %.3f, \"unit\": \"%s\"}\n",
                name.c_str(), value, unit);
  } else {
    std::printf("{\"name\": \"%s\", \"value\": null, \"unit\": \"%s\"}\n",
                name.c_str(), unit);
  }
  std::fflush(stdout);
}

// ---- XDR, for the portmapper calls and the callback service ----

class XdrOut {
 public:
  void U32(uint32_t v) {
    uint32_t n = htonl(v);
    buf_.append(reinterpret_cast<const char*>(&n), 4);
  }
  void U64(uint64_t v) {
    U32(static_cast<uint32_t>(v >> 32));
    U32(static_cast<uint32_t>(v));
  }
  void Opaque(std::string_view v) {
    U32(static_cast<uint32_t>(v.size()));
    buf_.append(v);
    buf_.append((4 - v.size() % 4) % 4, '\0');
  }
  // A call header with AUTH_NONE credentials and verifier.
  void CallHeader(uint32_t xid, uint32_t prog, uint32_t vers, uint32_t proc) {
    for (uint32_t v : {xid, 0u, 2u, prog, vers, proc, 0u, 0u, 0u, 0u}) U32(v);
  }
  // An accepted reply header (AUTH_NONE verifier) with `accept_stat`.
  void ReplyHeader(uint32_t xid, uint32_t accept_stat) {
    for (uint32_t v : {xid, 1u, 0u, 0u, 0u, accept_stat}) U32(v);
  }
  std::string& str() { return buf_; }

 private:
  std::string buf_;
};

class XdrIn {
 public:
  explicit XdrIn(std::string_view in) : in_(in) {}
  uint32_t U32() {
    if (in_.size() < 4) {
      ok_ = false;
      return 0;
    }
    uint32_t n;
    std::memcpy(&n, in_.data(), 4);
    in_.remove_prefix(4);
    return ntohl(n);
  }
  uint64_t U64() {
    uint64_t hi = U32();
    return hi << 32 | U32();
  }
  std::string_view Opaque() {
    uint32_t len = U32();
    uint64_t padded = (uint64_t{len} + 3) / 4 * 4;
    if (!ok_ || padded > in_.size()) {
      ok_ = false;
      return {};
    }
    std::string_view v = in_.substr(0, len);
    in_.remove_prefix(padded);
    return v;
  }
  bool ok() const { return ok_; }

 private:
  std::string_view in_;
  bool ok_ = true;
};

sockaddr_in Loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  return a;
}

uint16_t LocalPort(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    FailErrno("getsockname");
  }
  return ntohs(a.sin_port);
}

// One portmap v2 call to 127.0.0.1:111 over UDP, from a reserved port when
// we may bind one (rpcbind lets only such callers change a mapping owned by
// the superuser). Returns the result word, or nullopt with `*error` set.
std::optional<uint32_t> TryPmapCall(uint32_t proc, uint32_t prog, uint32_t vers,
                                    uint32_t prot, uint32_t port,
                                    std::string* error) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = std::strerror(errno);
    return std::nullopt;
  }
  for (uint16_t p = 1023; p >= 600; --p) {
    sockaddr_in a = Loopback(p);
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) break;
    if (errno != EADDRINUSE) break;  // not root: any port will do
  }
  static uint32_t xid = static_cast<uint32_t>(getpid()) << 12;
  ++xid;
  XdrOut call;
  call.CallHeader(xid, kPmapProgram, 2, proc);
  for (uint32_t v : {prog, vers, prot, port}) call.U32(v);
  sockaddr_in to = Loopback(111);
  *error = "no answer from the portmapper at 127.0.0.1:111";
  for (int attempt = 0; attempt < 4; ++attempt) {
    if (sendto(fd, call.str().data(), call.str().size(), 0,
               reinterpret_cast<sockaddr*>(&to), sizeof to) < 0) {
      *error = std::strerror(errno);
      break;
    }
    pollfd pfd{fd, POLLIN, 0};
    while (poll(&pfd, 1, 1000) > 0) {
      char buf[512];
      ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n < 0) break;  // e.g. ECONNREFUSED: try again, then give up
      XdrIn r(std::string_view(buf, n));
      if (r.U32() != xid || r.U32() != 1) continue;  // not our reply
      uint32_t reply_stat = r.U32();
      r.U32();
      r.Opaque();  // verifier
      uint32_t accept_stat = r.U32();
      uint32_t result = r.U32();
      close(fd);
      if (!r.ok() || reply_stat != 0 || accept_stat != 0) {
        *error = "rejected by the portmapper at 127.0.0.1:111";
        return std::nullopt;
      }
      return result;
    }
  }
  close(fd);
  return std::nullopt;
}

uint32_t PmapCall(uint32_t proc, uint32_t prog, uint32_t vers, uint32_t prot,
                  uint32_t port) {
  std::string error;
  std::optional<uint32_t> r = TryPmapCall(proc, prog, vers, prot, port, &error);
  if (!r) {
    const char* names[] = {"", "PMAP SET", "PMAP UNSET", "PMAP GETPORT"};
    Fail(names[proc], error);
  }
  return *r;
}

// --register: the portmapper names our callback service for NLM v4 until
// exit (also after Fail: atexit), then names what it named before.
struct Takeover {
  uint32_t old_tcp = 0, old_udp = 0;
  bool active = false;
};
Takeover g_takeover;

// Also runs at exit: warns, never exits.
void RestorePortmap() {
  if (!g_takeover.active) return;
  g_takeover.active = false;
  std::string error;
  bool ok = TryPmapCall(kPmapUnset, kNlmProgram, kNlmVersion, 0, 0, &error) &&
            (g_takeover.old_tcp == 0 ||
             TryPmapCall(kPmapSet, kNlmProgram, kNlmVersion, kIpProtoTcp,
                         g_takeover.old_tcp, &error)) &&
            (g_takeover.old_udp == 0 ||
             TryPmapCall(kPmapSet, kNlmProgram, kNlmVersion, kIpProtoUdp,
                         g_takeover.old_udp, &error));
  if (!ok) {
    std::fprintf(stderr, "%s: restoring the NLM v4 mapping failed: %s\n",
                 g_label.c_str(), error.c_str());
  }
}

void TakeOverPortmap(uint16_t tcp_port, uint16_t udp_port) {
  g_takeover.old_tcp =
      PmapCall(kPmapGetPort, kNlmProgram, kNlmVersion, kIpProtoTcp, 0);
  g_takeover.old_udp =
      PmapCall(kPmapGetPort, kNlmProgram, kNlmVersion, kIpProtoUdp, 0);
  g_takeover.active = true;
  std::atexit(RestorePortmap);
  PmapCall(kPmapUnset, kNlmProgram, kNlmVersion, 0, 0);
  if (!PmapCall(kPmapSet, kNlmProgram, kNlmVersion, kIpProtoTcp, tcp_port) ||
      !PmapCall(kPmapSet, kNlmProgram, kNlmVersion, kIpProtoUdp, udp_port)) {
    Fail("PMAP SET of NLM v4", "refused (is another mapping left?)");
  }
  if (PmapCall(kPmapGetPort, kNlmProgram, kNlmVersion, kIpProtoTcp, 0) !=
      tcp_port) {
    Fail("PMAP SET of NLM v4", "the portmapper names another port");
  }
}

// ---- The NLM callback service ----

// A lock owner of this client: svid and owner handle (libnfs declares
// nlm4_oh as a C string; its XDR form is the same as opaque's).
struct Owner {
  uint32_t svid;
  std::string oh;
};

struct Range {
  uint64_t offset;
  uint64_t length;
};

// Serves NLM v4 GRANTED and GRANTED_MSG on a TCP listener and a UDP socket
// of 127.0.0.1 and records when each expected grant arrived, by svid. A grant
// for an owner that is not waiting (any more) is refused with NLM4_DENIED,
// as a client refuses a lock it no longer wants: the server then drops it.
class CallbackService {
 public:
  explicit CallbackService(uint16_t server_nlm_port)
      : server_nlm_port_(server_nlm_port) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    udp_fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (listen_fd_ < 0 || udp_fd_ < 0) FailErrno("socket");
    sockaddr_in a = Loopback(0);
    if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        listen(listen_fd_, 64) != 0 ||
        bind(udp_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      FailErrno("binding the callback service");
    }
  }
  ~CallbackService() {
    for (Conn& c : conns_) close(c.fd);
    close(listen_fd_);
    close(udp_fd_);
    if (server_fd_ >= 0) close(server_fd_);
  }
  CallbackService(const CallbackService&) = delete;
  CallbackService& operator=(const CallbackService&) = delete;

  uint16_t tcp_port() const { return LocalPort(listen_fd_); }
  uint16_t udp_port() const { return LocalPort(udp_fd_); }

  // Appends the descriptors to poll; Handle() takes the same slice back.
  void AddFds(std::vector<pollfd>* fds) const {
    fds->push_back({listen_fd_, POLLIN, 0});
    fds->push_back({udp_fd_, POLLIN, 0});
    for (const Conn& c : conns_) fds->push_back({c.fd, POLLIN, 0});
  }
  void Handle(const pollfd* fds) {
    size_t n = 2 + conns_.size();
    if (fds[0].revents) Accept();
    if (fds[1].revents) ReadUdp();
    std::vector<int> ready;
    for (size_t i = 2; i < n; ++i) {
      if (fds[i].revents) ready.push_back(fds[i].fd);
    }
    for (int fd : ready) ReadConn(fd);
  }

  // Grants for `o` are taken (and timed) until Abandon(o.svid).
  void Expect(const Owner& o) { expected_[o.svid] = o.oh; }
  void Abandon(uint32_t svid) { expected_.erase(svid); }

  // When the last grant for `svid` arrived (nullopt: none yet).
  std::optional<Clock::time_point> GrantTime(uint32_t svid) const {
    auto it = grants_.find(svid);
    if (it == grants_.end()) return std::nullopt;
    return it->second;
  }
  uint64_t calls() const { return calls_; }
  uint64_t refused() const { return refused_; }

 private:
  struct Conn {
    int fd;
    std::string in;
  };

  void Accept() {
    for (;;) {
      int fd =
          accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd < 0) return;
      conns_.push_back({fd, {}});
    }
  }

  void ReadUdp() {
    for (;;) {
      char buf[65536];
      sockaddr_in from{};
      socklen_t len = sizeof from;
      ssize_t n = recvfrom(udp_fd_, buf, sizeof buf, 0,
                           reinterpret_cast<sockaddr*>(&from), &len);
      if (n < 0) return;
      std::string reply;
      if (OnCall(std::string_view(buf, n), &reply)) {
        sendto(udp_fd_, reply.data(), reply.size(), 0,
               reinterpret_cast<sockaddr*>(&from), len);
      }
    }
  }

  void ReadConn(int fd) {
    auto it = std::find_if(conns_.begin(), conns_.end(),
                           [fd](const Conn& c) { return c.fd == fd; });
    bool closed = false;
    for (;;) {
      char buf[65536];
      ssize_t n = read(fd, buf, sizeof buf);
      if (n > 0) {
        it->in.append(buf, n);
        continue;
      }
      closed = n == 0 || (errno != EAGAIN && errno != EINTR);
      break;
    }
    // Record marking: 4-byte headers, high bit on the last fragment.
    std::string& in = it->in;
    for (;;) {
      std::string record;
      size_t at = 0;
      bool complete = false;
      while (in.size() >= at + 4) {
        uint32_t mark;
        std::memcpy(&mark, in.data() + at, 4);
        mark = ntohl(mark);
        size_t len = mark & 0x7fffffff;
        if (in.size() < at + 4 + len) break;
        record.append(in, at + 4, len);
        at += 4 + len;
        if (mark & 0x80000000u) {
          complete = true;
          break;
        }
      }
      if (!complete) break;
      in.erase(0, at);
      std::string reply;
      if (OnCall(record, &reply)) {
        uint32_t mark =
            htonl(0x80000000u | static_cast<uint32_t>(reply.size()));
        reply.insert(0, reinterpret_cast<const char*>(&mark), 4);
        // Small replies on loopback: the socket buffer takes them whole.
        if (write(fd, reply.data(), reply.size()) < 0) closed = true;
      }
    }
    if (closed) {
      close(fd);
      conns_.erase(it);
    }
  }

  // Handles one call message; returns whether `reply` is to be sent.
  bool OnCall(std::string_view msg, std::string* reply) {
    XdrIn in(msg);
    uint32_t xid = in.U32();
    uint32_t type = in.U32();
    uint32_t rpcvers = in.U32();
    uint32_t prog = in.U32();
    uint32_t vers = in.U32();
    uint32_t proc = in.U32();
    in.U32();
    in.Opaque();  // credentials
    in.U32();
    in.Opaque();  // verifier
    if (!in.ok() || type != 0 || rpcvers != 2) return false;
    ++calls_;
    XdrOut out;
    if (prog != kNlmProgram || vers != kNlmVersion) {
      out.ReplyHeader(xid, prog != kNlmProgram ? 1 /* PROG_UNAVAIL */
                                               : 2 /* PROG_MISMATCH */);
      if (prog == kNlmProgram) {
        out.U32(kNlmVersion);
        out.U32(kNlmVersion);
      }
      *reply = std::move(out.str());
      return true;
    }
    if (proc == 0) {
      out.ReplyHeader(xid, 0);
      *reply = std::move(out.str());
      return true;
    }
    if (proc != kNlmGranted && proc != kNlmGrantedMsg) {
      out.ReplyHeader(xid, 3 /* PROC_UNAVAIL */);
      *reply = std::move(out.str());
      return true;
    }
    // nlm4_testargs: cookie, exclusive, alock (caller_name, fh, oh, svid,
    // offset, length).
    std::string cookie(in.Opaque());
    in.U32();
    in.Opaque();
    in.Opaque();
    std::string_view oh = in.Opaque();
    uint32_t svid = in.U32();
    in.U64();
    in.U64();
    if (!in.ok()) {
      out.ReplyHeader(xid, 4 /* GARBAGE_ARGS */);
      *reply = std::move(out.str());
      return true;
    }
    auto waiting = expected_.find(svid);
    nlmstat4 answer = NLM4_DENIED;
    if (waiting != expected_.end() && waiting->second == oh) {
      grants_[svid] = Clock::now();
      answer = NLM4_GRANTED;
    } else {
      ++refused_;
    }
    if (proc == kNlmGranted) {
      out.ReplyHeader(xid, 0);
      out.Opaque(cookie);
      out.U32(answer);
      *reply = std::move(out.str());
      return true;
    }
    // GRANTED_MSG: no reply; the answer is a GRANTED_RES call to the
    // server's NLM service. It goes over TCP and we wait for the server's
    // (void) reply, so that it is processed before anything we send next:
    // an UNLOCK that overtook it would leave a server that waits for the
    // GRANTED_RES (Ganesha does, up to 5 s, before sending further grants)
    // waiting in vain.
    XdrOut res;
    res.CallHeader(xid ^ 0x5a5a5a5a, kNlmProgram, kNlmVersion, kNlmGrantedRes);
    res.Opaque(cookie);
    res.U32(answer);
    CallServer(xid ^ 0x5a5a5a5a, res.str());
    return false;
  }

  // One call to the server's NLM service over a TCP connection of our own
  // (kept open), waiting up to 2 s for its reply.
  void CallServer(uint32_t xid, const std::string& call) {
    if (server_fd_ < 0) {
      server_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in to = Loopback(server_nlm_port_);
      if (server_fd_ < 0 ||
          connect(server_fd_, reinterpret_cast<sockaddr*>(&to), sizeof to)) {
        FailErrno("connecting to the server's NLM port for GRANTED_RES");
      }
    }
    std::string rec = call;
    uint32_t mark = htonl(0x80000000u | static_cast<uint32_t>(rec.size()));
    rec.insert(0, reinterpret_cast<const char*>(&mark), 4);
    bool ok = write(server_fd_, rec.data(), rec.size()) ==
              static_cast<ssize_t>(rec.size());
    std::string in;
    auto t0 = Clock::now();
    while (ok) {
      // A reply record: mark, xid, REPLY, ...; ours is small.
      if (in.size() >= 12) {
        uint32_t len, rxid;
        std::memcpy(&len, in.data(), 4);
        std::memcpy(&rxid, in.data() + 4, 4);
        len = ntohl(len) & 0x7fffffff;
        if (in.size() >= 4 + len) {
          if (ntohl(rxid) == xid) return;
          in.erase(0, 4 + len);
          continue;
        }
      }
      pollfd p{server_fd_, POLLIN, 0};
      int left = 2000 - static_cast<int>(Since(t0) * 1000);
      if (left <= 0 || poll(&p, 1, left) <= 0) break;
      char buf[4096];
      ssize_t n = read(server_fd_, buf, sizeof buf);
      if (n <= 0) break;
      in.append(buf, n);
    }
    std::fprintf(stderr, "%s: no reply to GRANTED_RES\n", g_label.c_str());
    close(server_fd_);
    server_fd_ = -1;
  }

  uint16_t server_nlm_port_;
  int listen_fd_ = -1;
  int udp_fd_ = -1;
  int server_fd_ = -1;  // to the server's NLM service, for GRANTED_RES
  std::vector<Conn> conns_;
  std::map<uint32_t, std::string> expected_;  // waiting owners: svid -> oh
  std::map<uint32_t, Clock::time_point> grants_;
  uint64_t calls_ = 0;
  uint64_t refused_ = 0;
};

// ---- The NLM client ----

// One TCP connection to the server's NLM service (libnfs raw context), the
// callback service, and the poll loop that drives both.
class NlmClient {
 public:
  using Reply = std::function<void(nlmstat4)>;

  NlmClient(const Options& opt, CallbackService* callbacks)
      : opt_(opt), callbacks_(callbacks) {
    rpc_ = rpc_init_context();
    if (!rpc_) Fail("rpc_init_context", "out of memory");
    bool connected = false;
    int rc = rpc_connect_port_async(
        rpc_, "127.0.0.1", opt.nlm_port, kNlmProgram, kNlmVersion,
        [](rpc_context* rpc, int status, void* data, void* priv) {
          if (status != RPC_STATUS_SUCCESS) {
            Fail("connecting to the NLM service",
                 data ? static_cast<const char*>(data) : rpc_get_error(rpc));
          }
          *static_cast<bool*>(priv) = true;
        },
        &connected);
    if (rc != 0) Fail("connecting to the NLM service", rpc_get_error(rpc_));
    WaitFor([&] { return connected; }, opt.timeout_s, "connect to NLM");
  }
  ~NlmClient() { rpc_destroy_context(rpc_); }
  NlmClient(const NlmClient&) = delete;
  NlmClient& operator=(const NlmClient&) = delete;

  void Lock(const std::string& fh, const Owner& o, Range r, bool block,
            Reply done) {
    NLM4_LOCKargs a{};
    std::string cookie = NextCookie();
    a.cookie.data.data_len = cookie.size();
    a.cookie.data.data_val = cookie.data();
    a.block = block;
    a.exclusive = 1;
    Fill(&a.lock, fh, o, r);
    auto* p = new Pending{this, "NLM4_LOCK", std::move(done)};
    if (rpc_nlm4_lock_async(rpc_, &NlmClient::OnLock, &a, p) != 0) {
      Fail("NLM4_LOCK", rpc_get_error(rpc_));
    }
  }
  void Unlock(const std::string& fh, const Owner& o, Range r, Reply done) {
    NLM4_UNLOCKargs a{};
    std::string cookie = NextCookie();
    a.cookie.data.data_len = cookie.size();
    a.cookie.data.data_val = cookie.data();
    Fill(&a.lock, fh, o, r);
    auto* p = new Pending{this, "NLM4_UNLOCK", std::move(done)};
    if (rpc_nlm4_unlock_async(rpc_, &NlmClient::OnUnlock, &a, p) != 0) {
      Fail("NLM4_UNLOCK", rpc_get_error(rpc_));
    }
  }
  // Synchronous forms: the status of the reply.
  nlmstat4 LockSync(const std::string& fh, const Owner& o, Range r,
                    bool block) {
    std::optional<nlmstat4> st;
    Lock(fh, o, r, block, [&](nlmstat4 s) { st = s; });
    WaitFor([&] { return st.has_value(); }, opt_.timeout_s, "NLM4_LOCK");
    return *st;
  }
  void UnlockSync(const std::string& fh, const Owner& o, Range r) {
    std::optional<nlmstat4> st;
    Unlock(fh, o, r, [&](nlmstat4 s) { st = s; });
    WaitFor([&] { return st.has_value(); }, opt_.timeout_s, "NLM4_UNLOCK");
    Expect("NLM4_UNLOCK", *st, NLM4_GRANTED);
  }

  static void Expect(const char* what, nlmstat4 got, nlmstat4 want) {
    if (got != want) {
      Fail(what, std::string("answered ") + nlmstat4_to_str(got) +
                     " instead of " + nlmstat4_to_str(want));
    }
  }

  // Polls the NLM connection and the callback service once (at most
  // `max_ms`) and runs what arrived.
  void PollOnce(int max_ms) {
    std::vector<pollfd> fds;
    fds.push_back(
        {rpc_get_fd(rpc_), static_cast<short>(rpc_which_events(rpc_)), 0});
    callbacks_->AddFds(&fds);
    int n = poll(fds.data(), fds.size(), max_ms);
    if (n < 0 && errno != EINTR) FailErrno("poll");
    if (n > 0) callbacks_->Handle(fds.data() + 1);
    if (rpc_service(rpc_, n > 0 ? fds[0].revents : 0) < 0) {
      Fail("the NLM connection", rpc_get_error(rpc_));
    }
  }

  // Runs the loop until `done()`; false when `seconds` passed first.
  bool WaitUntil(const std::function<bool()>& done, double seconds) {
    auto t0 = Clock::now();
    while (!done()) {
      double left = seconds - Since(t0);
      if (left <= 0) return false;
      PollOnce(static_cast<int>(std::min(left * 1000 + 1, 100.0)));
    }
    return true;
  }
  void WaitFor(const std::function<bool()>& done, double seconds,
               const char* what) {
    if (!WaitUntil(done, seconds)) Fail(what, "no answer in time");
  }

 private:
  struct Pending {
    NlmClient* client;
    const char* what;
    Reply done;
  };

  std::string NextCookie() {
    uint64_t c = ++cookie_;
    return std::string(reinterpret_cast<const char*>(&c), sizeof c);
  }

  // The argument structures only need to live until the call is queued:
  // libnfs encodes them at once.
  void Fill(nlm4_lock* l, const std::string& fh, const Owner& o, Range r) {
    l->caller_name = const_cast<char*>(opt_.caller.c_str());
    l->fh.data.data_len = fh.size();
    l->fh.data.data_val = const_cast<char*>(fh.data());
    l->oh = const_cast<char*>(o.oh.c_str());
    l->svid = o.svid;
    l->l_offset = r.offset;
    l->l_len = r.length;
  }

  template <typename Res>
  static void Finish(int status, void* data, void* priv) {
    std::unique_ptr<Pending> p(static_cast<Pending*>(priv));
    if (status != RPC_STATUS_SUCCESS) {
      Fail(p->what, data ? static_cast<const char*>(data) : "cancelled");
    }
    p->done(static_cast<Res*>(data)->status);
  }
  static void OnLock(rpc_context*, int status, void* data, void* priv) {
    Finish<NLM4_LOCKres>(status, data, priv);
  }
  static void OnUnlock(rpc_context*, int status, void* data, void* priv) {
    Finish<NLM4_UNLOCKres>(status, data, priv);
  }

  const Options& opt_;
  CallbackService* callbacks_;
  rpc_context* rpc_ = nullptr;
  uint64_t cookie_ = static_cast<uint64_t>(getpid()) << 32;
};

// Nearest-rank percentile; +inf entries are iterations that timed out.
double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  size_t rank = static_cast<size_t>(std::ceil(q * v.size()));
  double x = v[std::max<size_t>(rank, 1) - 1];
  return std::isinf(x) ? NAN : x;
}

class Bench {
 public:
  explicit Bench(const Options& opt)
      : opt_(opt), dir_("/nlm-bench-" + std::to_string(getpid())) {}

  void Run() {
    OpenFiles();
    CallbackService callbacks(static_cast<uint16_t>(opt_.nlm_port));
    if (opt_.register_callback) {
      TakeOverPortmap(callbacks.tcp_port(), callbacks.udp_port());
    }
    {
      NlmClient c(opt_, &callbacks);
      if (Want("pairs")) {
        // Unmonitored first: nothing of this client is locked anywhere.
        Report("pairs_unmonitored", Pairs(c, false, 1), "pairs/s");
        Report("pairs_monitored", Pairs(c, true, 1), "pairs/s");
        std::string p = std::to_string(opt_.parallel);
        Report("pairs" + p + "_unmonitored", Pairs(c, false, opt_.parallel),
               "pairs/s");
        Report("pairs" + p + "_monitored", Pairs(c, true, opt_.parallel),
               "pairs/s");
      }
      if (Want("wakeup-nlm")) Wakeup(c, callbacks, false);
      if (Want("wakeup-local")) Wakeup(c, callbacks, true);
      std::fprintf(stderr,
                   "%s: %llu callback call(s) received, %llu grant(s) "
                   "refused\n",
                   g_label.c_str(),
                   static_cast<unsigned long long>(callbacks.calls()),
                   static_cast<unsigned long long>(callbacks.refused()));
    }
    RestorePortmap();
    CloseFiles();
  }

 private:
  bool Want(const char* w) const { return opt_.workloads.count(w) != 0; }

  void Check(const std::string& what, int rc) {
    if (rc < 0) Fail(what, nfs_get_error(nfs_));
  }

  // Creates the files through NFS and keeps their handles.
  void OpenFiles() {
    nfs_ = nfs_init_context();
    if (!nfs_) Fail("nfs_init_context", "out of memory");
    nfs_url* url = nfs_parse_url_dir(nfs_, opt_.url.c_str());
    if (!url) Fail("parsing URL " + opt_.url, nfs_get_error(nfs_));
    nfs_set_timeout(nfs_, opt_.timeout_s * 1000);
    Check("mount", nfs_mount(nfs_, url->server, url->path));
    nfs_destroy_url(url);
    Check("mkdir " + dir_, nfs_mkdir(nfs_, dir_.c_str()));
    for (const char* name : {"pairs", "held", "wakeup"}) {
      std::string path = dir_ + "/" + name;
      nfsfh* fh = nullptr;
      Check("create " + path, nfs_creat(nfs_, path.c_str(), 0644, &fh));
      // nfs_get_fh's struct nfs_fh is not in the public headers; it has the
      // layout of nfs_fh3 (length, bytes), as libnfs's own tools assume.
      const nfs_fh3* h = reinterpret_cast<const nfs_fh3*>(nfs_get_fh(fh));
      handles_[name] = std::string(h->data.data_val, h->data.data_len);
      Check("close", nfs_close(nfs_, fh));
    }
  }

  void CloseFiles() {
    for (const auto& [name, fh] : handles_) {
      std::string path = dir_ + "/" + name;
      Check("unlink " + path, nfs_unlink(nfs_, path.c_str()));
    }
    Check("rmdir " + dir_, nfs_rmdir(nfs_, dir_.c_str()));
    nfs_umount(nfs_);
    nfs_destroy_context(nfs_);
  }

  Owner MakeOwner(uint32_t svid) const {
    return Owner{svid, "nlmbench-" + std::to_string(getpid()) + "-" +
                           std::to_string(svid)};
  }

  // LOCK+UNLOCK pairs by `owners` owners, each with one request in flight,
  // started for pair_seconds; pairs per second to the last reply.
  double Pairs(NlmClient& c, bool monitored, int owners) {
    const std::string& held_fh = handles_.at("held");
    const std::string& fh = handles_.at("pairs");
    Owner holder = MakeOwner(1);
    Range held_range{0, 1};
    if (monitored) {
      NlmClient::Expect("NLM4_LOCK (held)",
                        c.LockSync(held_fh, holder, held_range, false),
                        NLM4_GRANTED);
    }
    struct State {
      Owner owner;
      uint64_t next = 0;
      Range range{0, 0};
    };
    std::vector<State> states;
    for (int k = 0; k < owners; ++k) states.push_back({MakeOwner(100 + k)});
    uint64_t pairs = 0;
    int active = owners;
    auto t0 = Clock::now();
    std::function<void(State&)> start = [&](State& s) {
      // A distinct 16-byte range each time; owners never overlap.
      s.range =
          Range{(uint64_t{s.owner.svid} << 24) + (s.next++ % 65536) * 16, 16};
      c.Lock(fh, s.owner, s.range, false, [&](nlmstat4 st) {
        NlmClient::Expect("NLM4_LOCK", st, NLM4_GRANTED);
        c.Unlock(fh, s.owner, s.range, [&](nlmstat4 st2) {
          NlmClient::Expect("NLM4_UNLOCK", st2, NLM4_GRANTED);
          ++pairs;
          if (Since(t0) < opt_.pair_seconds) {
            start(s);
          } else {
            --active;
          }
        });
      });
    };
    for (State& s : states) start(s);
    c.WaitFor([&] { return active == 0; }, opt_.pair_seconds + opt_.timeout_s,
              "LOCK+UNLOCK pairs");
    double secs = Since(t0);
    if (monitored) c.UnlockSync(held_fh, holder, held_range);
    std::fprintf(stderr, "%s: %d owner(s), %s: %llu pairs in %.2f s\n",
                 g_label.c_str(), owners,
                 monitored ? "monitored" : "unmonitored",
                 static_cast<unsigned long long>(pairs), secs);
    return pairs / secs;
  }

  // Takes (or gives back) the local fcntl lock; retries briefly while the
  // server is still letting go of the NLM lock.
  void LocalLock(int fd, Range r, bool lock) {
    struct flock fl {};
    fl.l_type = lock ? F_WRLCK : F_UNLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = static_cast<off_t>(r.offset);
    fl.l_len = static_cast<off_t>(r.length);
    auto t0 = Clock::now();
    while (fcntl(fd, F_SETLK, &fl) != 0) {
      if ((errno != EAGAIN && errno != EACCES) || Since(t0) > 5) {
        FailErrno(lock ? "local fcntl(F_SETLK, F_WRLCK)"
                       : "local fcntl(F_SETLK, F_UNLCK)");
      }
      usleep(1000);
    }
  }

  // A waiter blocked behind a holder (another NLM owner, or a local fcntl
  // lock); the time from releasing the holder to the GRANTED callback.
  void Wakeup(NlmClient& c, CallbackService& callbacks, bool local) {
    const std::string& fh = handles_.at("wakeup");
    Owner holder = MakeOwner(2);
    Range range{0, 8};
    int fd = -1;
    int iterations = local ? opt_.local_iterations : opt_.iterations;
    if (local) {
      std::string path = opt_.local_dir + dir_ + "/wakeup";
      fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
      if (fd < 0) FailErrno("open " + path);
    }
    std::vector<double> ms;
    int timeouts = 0;
    std::mt19937_64 rng(getpid());
    auto wall = Clock::now();
    for (int i = 0; i < iterations; ++i) {
      if (local && opt_.pause_max > 0) {
        // Start at a random moment: the unlock then meets a server that
        // polls for local unlocks at a random point of its cycle, as an
        // application's would. (The pause comes before the local lock, which
        // is held only for the blocking LOCK's round trip: NFS-Ganesha 4.3
        // was seen to lose the blocked lock, and then die with SIGSEGV on
        // the next lock call for the file, after its poller had tried to
        // grant it while the local lock was still held.)
        std::uniform_real_distribution<double> pause(0, opt_.pause_max);
        c.WaitUntil([] { return false; }, pause(rng));
      }
      if (local) {
        LocalLock(fd, range, true);
      } else {
        NlmClient::Expect("NLM4_LOCK (holder)",
                          c.LockSync(fh, holder, range, false), NLM4_GRANTED);
      }
      // A new waiter every time: a late grant for an earlier one (after a
      // timeout) cannot pass for this one's, and is refused.
      Owner waiter = MakeOwner((local ? 2000000 : 1000) + i);
      callbacks.Expect(waiter);
      NlmClient::Expect("NLM4_LOCK (blocking waiter)",
                        c.LockSync(fh, waiter, range, true), NLM4_BLOCKED);
      auto t0 = Clock::now();
      bool unlocked = true;
      if (local) {
        LocalLock(fd, range, false);
      } else {
        unlocked = false;
        c.Unlock(fh, holder, range, [&](nlmstat4 st) {
          NlmClient::Expect("NLM4_UNLOCK (holder)", st, NLM4_GRANTED);
          unlocked = true;
        });
      }
      bool granted = c.WaitUntil(
          [&] {
            auto at = callbacks.GrantTime(waiter.svid);
            return at && *at >= t0;
          },
          opt_.wait_timeout);
      double latency = granted ? std::chrono::duration<double, std::milli>(
                                     *callbacks.GrantTime(waiter.svid) - t0)
                                     .count()
                               : INFINITY;
      if (opt_.verbose) {
        std::fprintf(stderr, "%s: %s iteration %d: %.3f ms\n", g_label.c_str(),
                     local ? "wakeup_local" : "wakeup_nlm", i, latency);
      }
      ms.push_back(latency);
      callbacks.Abandon(waiter.svid);
      c.WaitFor([&] { return unlocked; }, opt_.timeout_s,
                "NLM4_UNLOCK (holder)");
      if (granted) {
        c.UnlockSync(fh, waiter, range);
      } else {
        // The waiter is abandoned, not cancelled: if its grant still comes,
        // it is refused. (NFS-Ganesha 4.3 was seen to die with SIGSEGV on
        // the CANCEL of a blocked lock that its poller had stopped trying
        // to grant, which is how such a timeout came about there.)
        ++timeouts;
        std::fprintf(stderr,
                     "%s: %s iteration %d: no GRANTED within %.0f s; the "
                     "waiter is left blocked\n",
                     g_label.c_str(), local ? "wakeup_local" : "wakeup_nlm", i,
                     opt_.wait_timeout);
      }
    }
    if (fd >= 0) close(fd);
    std::string name = local ? "wakeup_local" : "wakeup_nlm";
    std::fprintf(stderr,
                 "%s: %s: %d iterations in %.1f s, %d timed out (%.0f s)\n",
                 g_label.c_str(), name.c_str(), iterations, Since(wall),
                 timeouts, opt_.wait_timeout);
    Report(name + "_p50", Percentile(ms, 0.50), "ms");
    Report(name + "_p99", Percentile(ms, 0.99), "ms");
    Report(name + "_timeouts", timeouts, "iterations");
  }

  const Options& opt_;
  std::string dir_;
  nfs_context* nfs_ = nullptr;
  std::map<std::string, std::string> handles_;  // name -> NFS handle bytes
};

[[noreturn]] void Usage(int status) {
  std::fprintf(
      status ? stderr : stdout,
      "usage: nlm_bench [options] --nlm-port N nfs://HOST/EXPORT?version=3"
      "&nfsport=N&mountport=M\n"
      "  --nlm-port N          the server's NLM port on 127.0.0.1 (TCP)\n"
      "  --workloads LIST      comma-separated, from pairs,wakeup-nlm,"
      "wakeup-local (default: pairs,wakeup-nlm, and wakeup-local with "
      "--local-dir)\n"
      "  --local-dir DIR       the export's root as a local directory "
      "(wakeup-local)\n"
      "  --caller NAME         caller_name of every request (localhost)\n"
      "  --seconds S           duration of each pairs figure (2)\n"
      "  --parallel N          owners in flight for the parallel pairs "
      "figures (16)\n"
      "  --iterations N        wakeup-nlm iterations (200)\n"
      "  --local-iterations N  wakeup-local iterations (200)\n"
      "  --wait-timeout S      longest wait for a GRANTED callback (15)\n"
      "  --pause-max S         wakeup-local: pause a random 0..S s before "
      "each iteration (0)\n"
      "  --timeout S           seconds without a reply before giving up (30)\n"
      "  --register            name the bench's callback service for NLM v4 "
      "in the portmapper at 127.0.0.1:111 during the run (the wakeup "
      "workloads need the GRANTED callbacks)\n"
      "  --label TEXT          name used in messages\n"
      "  --verbose             print every wakeup iteration on stderr\n");
  std::exit(status);
}

double Number(const char* flag, const char* text) {
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(text, &end);
  if (errno || !*text || *end || !(v > 0)) {
    std::fprintf(stderr, "nlm_bench: %s needs a positive number, not '%s'\n",
                 flag, text);
    Usage(2);
  }
  return v;
}

Options Parse(int argc, char** argv) {
  Options opt;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") Usage(0);
    if (a == "--register") {
      opt.register_callback = true;
      continue;
    }
    if (a == "--verbose") {
      opt.verbose = true;
      continue;
    }
    if (a.rfind("--", 0) != 0) {
      if (!opt.url.empty()) Usage(2);
      opt.url = a;
      continue;
    }
    if (i + 1 >= argc) Usage(2);
    const char* v = argv[++i];
    if (a == "--workloads") {
      std::stringstream ss(v);
      for (std::string w; std::getline(ss, w, ',');) {
        if (std::find(std::begin(kWorkloads), std::end(kWorkloads), w) ==
            std::end(kWorkloads)) {
          std::fprintf(stderr, "nlm_bench: unknown workload '%s'\n", w.c_str());
          Usage(2);
        }
        opt.workloads.insert(w);
      }
    } else if (a == "--nlm-port") {
      opt.nlm_port = static_cast<int>(std::min(Number(a.c_str(), v), 65535.0));
    } else if (a == "--local-dir") {
      opt.local_dir = v;
    } else if (a == "--caller") {
      opt.caller = v;
    } else if (a == "--seconds") {
      opt.pair_seconds = Number(a.c_str(), v);
    } else if (a == "--parallel") {
      opt.parallel = static_cast<int>(std::min(Number(a.c_str(), v), 256.0));
    } else if (a == "--iterations") {
      opt.iterations = static_cast<int>(std::min(Number(a.c_str(), v), 1e6));
    } else if (a == "--local-iterations") {
      opt.local_iterations =
          static_cast<int>(std::min(Number(a.c_str(), v), 1e6));
    } else if (a == "--pause-max") {
      opt.pause_max = Number(a.c_str(), v);
    } else if (a == "--wait-timeout") {
      opt.wait_timeout = Number(a.c_str(), v);
    } else if (a == "--timeout") {
      opt.timeout_s = static_cast<int>(std::min(Number(a.c_str(), v), 3600.0));
    } else if (a == "--label") {
      opt.label = v;
    } else {
      std::fprintf(stderr, "nlm_bench: unknown option %s\n", a.c_str());
      Usage(2);
    }
  }
  if (opt.url.empty() || opt.nlm_port <= 0) Usage(2);
  if (opt.workloads.empty()) {
    opt.workloads = {"pairs", "wakeup-nlm"};
    if (!opt.local_dir.empty()) opt.workloads.insert("wakeup-local");
  }
  if (opt.workloads.count("wakeup-local") && opt.local_dir.empty()) {
    std::fprintf(stderr, "nlm_bench: wakeup-local needs --local-dir\n");
    Usage(2);
  }
  if (!opt.label.empty()) g_label = "nlm_bench (" + opt.label + ")";
  return opt;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt = Parse(argc, argv);
  Bench(opt).Run();
  return 0;
}
