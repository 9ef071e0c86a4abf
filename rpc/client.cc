#include "rpc/client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <random>

namespace concordfs::rpc {
namespace {

uint32_t NextXid() {
  static std::atomic<uint32_t> xid{
      static_cast<uint32_t>(std::random_device{}())};
  return xid.fetch_add(1, std::memory_order_relaxed);
}

socklen_t ToSockaddr(const Peer& p, sockaddr_storage* ss) {
  std::memset(ss, 0, sizeof(*ss));
  if (p.family == AF_INET6) {
    auto* s6 = reinterpret_cast<sockaddr_in6*>(ss);
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(p.port);
    std::memcpy(&s6->sin6_addr, p.addr, 16);
    return sizeof(*s6);
  }
  auto* s4 = reinterpret_cast<sockaddr_in*>(ss);
  s4->sin_family = AF_INET;
  s4->sin_port = htons(p.port);
  std::memcpy(&s4->sin_addr, p.addr, 4);
  return sizeof(*s4);
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

int64_t MsLeft(std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return left.count() < 0 ? 0 : left.count();
}

// Waits for `events` on `fd` until `deadline`. False on timeout.
bool WaitFor(int fd, short events,
             std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, static_cast<int>(MsLeft(deadline)));
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return false;
  }
}

Status BindReserved(int fd, int family) {
  for (uint16_t port = 1023; port >= 600; --port) {
    sockaddr_storage ss;
    Peer any;
    any.family = family;
    any.port = port;
    socklen_t len = ToSockaddr(any, &ss);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0) {
      return Status::Ok();
    }
    if (errno != EADDRINUSE) return Status::Error(errno, "bind reserved port");
  }
  return Status::Error(EADDRINUSE, "no free reserved port");
}

Result<std::string> Finish(std::string_view record, uint32_t xid,
                           bool* matched) {
  ParsedReply r = ParseReply(record);
  *matched = r.xid == xid;
  if (!*matched) return Status::Error(EPROTO, "reply for another call");
  if (!r.ok) return Status::Error(EPROTO, r.error);
  return std::string(r.results);
}

Result<std::string> CallUdp(const Peer& to, const std::string& msg,
                            uint32_t xid, const CallOptions& opts) {
  Fd fd(::socket(to.family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return Status::Error(errno, "socket");
  if (opts.reserved_port) {
    if (Status st = BindReserved(fd.get(), to.family); !st.ok()) return st;
  }
  sockaddr_storage ss;
  socklen_t len = ToSockaddr(to, &ss);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    return Status::Error(errno, "connect " + to.ToString());
  }
  std::string buf(65536, '\0');
  for (int attempt = 0; attempt < std::max(1, opts.attempts); ++attempt) {
    if (::send(fd.get(), msg.data(), msg.size(), 0) < 0) {
      return Status::Error(errno, "send to " + to.ToString());
    }
    auto deadline = std::chrono::steady_clock::now() + opts.timeout;
    while (WaitFor(fd.get(), POLLIN, deadline)) {
      ssize_t n = ::recv(fd.get(), buf.data(), buf.size(), 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        return Status::Error(errno, "call to " + to.ToString());
      }
      bool matched = false;
      auto r = Finish(std::string_view(buf.data(), n), xid, &matched);
      if (matched) return r;
    }
  }
  return Status::Error(ETIMEDOUT, "no answer from " + to.ToString());
}

Status ReadFull(int fd, char* p, size_t n,
                std::chrono::steady_clock::time_point deadline) {
  while (n > 0) {
    if (!WaitFor(fd, POLLIN, deadline)) {
      return Status::Error(ETIMEDOUT, "reply timed out");
    }
    ssize_t got = ::recv(fd, p, n, 0);
    if (got == 0) return Status::Error(ECONNRESET, "connection closed");
    if (got < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return Status::Error(errno, "recv");
    }
    p += got;
    n -= static_cast<size_t>(got);
  }
  return Status::Ok();
}

Result<std::string> CallTcpOnce(const Peer& to, const std::string& msg,
                                uint32_t xid, const CallOptions& opts) {
  Fd fd(::socket(to.family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (fd.get() < 0) return Status::Error(errno, "socket");
  if (opts.reserved_port) {
    if (Status st = BindReserved(fd.get(), to.family); !st.ok()) return st;
  }
  auto deadline = std::chrono::steady_clock::now() + opts.timeout;
  sockaddr_storage ss;
  socklen_t len = ToSockaddr(to, &ss);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    if (errno != EINPROGRESS) {
      return Status::Error(errno, "connect " + to.ToString());
    }
    if (!WaitFor(fd.get(), POLLOUT, deadline)) {
      return Status::Error(ETIMEDOUT, "connect " + to.ToString());
    }
    int err = 0;
    socklen_t el = sizeof(err);
    ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &el);
    if (err != 0) return Status::Error(err, "connect " + to.ToString());
  }
  std::string rec(4, '\0');
  uint32_t mark = static_cast<uint32_t>(msg.size()) | 0x80000000u;
  for (int i = 0; i < 4; ++i) rec[i] = static_cast<char>(mark >> (24 - 8 * i));
  rec += msg;
  size_t off = 0;
  while (off < rec.size()) {
    if (!WaitFor(fd.get(), POLLOUT, deadline)) {
      return Status::Error(ETIMEDOUT, "send to " + to.ToString());
    }
    ssize_t n =
        ::send(fd.get(), rec.data() + off, rec.size() - off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return Status::Error(errno, "send to " + to.ToString());
    }
    off += static_cast<size_t>(n);
  }
  std::string reply;
  for (;;) {
    char h[4];
    if (Status st = ReadFull(fd.get(), h, 4, deadline); !st.ok()) return st;
    uint32_t m = LoadU32(h);
    size_t n = m & 0x7fffffffu;
    if (reply.size() + n > (16u << 20)) {
      return Status::Error(EPROTO, "oversized reply");
    }
    size_t at = reply.size();
    reply.resize(at + n);
    if (Status st = ReadFull(fd.get(), reply.data() + at, n, deadline);
        !st.ok()) {
      return st;
    }
    if (m & 0x80000000u) break;
  }
  bool matched = false;
  return Finish(reply, xid, &matched);
}

}  // namespace

Result<std::string> Call(const Peer& to, uint32_t prog, uint32_t vers,
                         uint32_t proc, std::string_view args,
                         const CallOptions& opts) {
  uint32_t xid = NextXid();
  std::string msg;
  AppendCallHeader(&msg, xid, prog, vers, proc, opts.cred);
  msg.append(args);
  if (opts.transport == Transport::kUdp) return CallUdp(to, msg, xid, opts);
  Result<std::string> r = Status::Error(ETIMEDOUT);
  for (int attempt = 0; attempt < std::max(1, opts.attempts); ++attempt) {
    r = CallTcpOnce(to, msg, xid, opts);
    if (r.ok() || r.code() == EPROTO || r.code() == ECONNREFUSED) return r;
  }
  return r;
}

}  // namespace concordfs::rpc
