// Malformed and hostile input to the real daemon's NFS port, with raw
// sockets to 127.0.0.1 (no RPC library: every byte is written here by hand).
//
// TCP record marking (RFC 5531 section 11): truncated records, garbage, an
// absurd record length, multi-fragment records. RPC-level rejections with
// their exact layouts (RFC 5531 section 9): RPC_MISMATCH (2, 2),
// PROG_UNAVAIL, PROG_MISMATCH (3, 3) for NFS, PROC_UNAVAIL, GARBAGE_ARGS,
// AUTH_ERROR. The same over UDP where it applies; garbage datagrams get no
// answer. After every abuse the daemon is still running, a connection that
// was opened before the abuse still works, a new connection works, and UDP
// still answers.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "tests/integration/nfs/nfs_fixture.h"

namespace cfs_nfs_test {
namespace {

using Clock = std::chrono::steady_clock;
using W = std::vector<uint32_t>;

constexpr uint32_t kNfsProg = 100003;
constexpr uint32_t kMountProg = 100005;
constexpr int kReplyTimeoutMs = 5000;
// How long the server may take to close a connection it must close.
constexpr int kCloseTimeoutMs = 3000;

// ---- hand-written XDR ----

struct Xdr {
  std::string s;
  Xdr& U32(uint32_t v) {
    for (int i = 0; i < 4; ++i)
      s.push_back(static_cast<char>(v >> (24 - 8 * i)));
    return *this;
  }
  Xdr& Opaque(std::string_view b) {
    U32(static_cast<uint32_t>(b.size()));
    s.append(b);
    s.append((4 - b.size() % 4) % 4, '\0');
    return *this;
  }
  Xdr& Raw(std::string_view b) {
    s.append(b);
    return *this;
  }
};

struct CallSpec {
  uint32_t xid = 1;
  uint32_t rpcvers = 2;
  uint32_t prog = kNfsProg;
  uint32_t vers = 3;
  uint32_t proc = 0;
  uint32_t cred_flavor = 0;
  std::string cred;
  std::string args;
};

std::string CallMsg(const CallSpec& c) {
  Xdr x;
  x.U32(c.xid).U32(0).U32(c.rpcvers).U32(c.prog).U32(c.vers).U32(c.proc);
  x.U32(c.cred_flavor).Opaque(c.cred);
  x.U32(0).Opaque("");  // verifier AUTH_NONE
  x.Raw(c.args);
  return x.s;
}

std::string NullCall(uint32_t xid, uint32_t prog = kNfsProg,
                     uint32_t vers = 3) {
  CallSpec c;
  c.xid = xid;
  c.prog = prog;
  c.vers = vers;
  return CallMsg(c);
}

std::string AuthSysBody(uint32_t ngroups) {
  Xdr x;
  x.U32(1).Opaque("malformed-test").U32(1000).U32(1000).U32(ngroups);
  for (uint32_t i = 0; i < ngroups; ++i) x.U32(2000 + i);
  return x.s;
}

std::string Mark(uint32_t v) { return Xdr().U32(v).s; }
std::string Record(std::string_view msg) {
  return Mark(0x80000000u | static_cast<uint32_t>(msg.size())) +
         std::string(msg);
}

W Words(std::string_view s) {
  W w;
  for (size_t i = 0; i + 4 <= s.size(); i += 4) {
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) v = (v << 8) | static_cast<uint8_t>(s[i + k]);
    w.push_back(v);
  }
  return w;
}

// The accepted SUCCESS reply to a NULL call.
W NullReply(uint32_t xid) { return {xid, 1, 0, 0, 0, 0}; }

uint32_t g_xid = 0x5000;
uint32_t NextXid() { return ++g_xid; }

// ---- sockets ----

sockaddr_in Loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  return a;
}

int RemainingMs(Clock::time_point deadline) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                  Clock::now())
                .count();
  return ms < 0 ? 0 : static_cast<int>(ms);
}

class TcpConn {
 public:
  explicit TcpConn(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a = Loopback(port);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
    int one = 1;
    if (fd_ >= 0)
      ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }
  ~TcpConn() { Close(); }
  TcpConn(const TcpConn&) = delete;
  TcpConn& operator=(const TcpConn&) = delete;

  bool ok() const { return fd_ >= 0; }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  // Sends all of `b`; false if the peer is gone.
  bool Send(std::string_view b) {
    while (!b.empty()) {
      ssize_t n = ::send(fd_, b.data(), b.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      b.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
  bool SendRecord(std::string_view msg) { return Send(Record(msg)); }

  // One whole record (reassembling fragments); nullopt on timeout or close.
  std::optional<std::string> RecvRecord(int timeout_ms = kReplyTimeoutMs) {
    auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    std::string rec;
    while (true) {
      std::string mark;
      if (!RecvExact(4, deadline, &mark)) return std::nullopt;
      uint32_t m = Words(mark)[0];
      std::string frag;
      if (!RecvExact(m & 0x7fffffffu, deadline, &frag)) return std::nullopt;
      rec += frag;
      if (m & 0x80000000u) return rec;
    }
  }

  // A reply to `msg` sent on this connection, as words.
  std::optional<W> Roundtrip(std::string_view msg) {
    if (!SendRecord(msg)) return std::nullopt;
    auto r = RecvRecord();
    if (!r) return std::nullopt;
    return Words(*r);
  }

  // True once the server has closed the connection (EOF or reset) within
  // the timeout. Data the server sends first is read and ignored.
  bool WaitClosed(int timeout_ms = kCloseTimeoutMs) {
    auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    char buf[4096];
    while (true) {
      pollfd p{fd_, POLLIN, 0};
      int n = ::poll(&p, 1, RemainingMs(deadline));
      if (n <= 0) return false;  // timeout: still open
      ssize_t got = ::recv(fd_, buf, sizeof(buf), 0);
      if (got == 0) return true;
      if (got < 0) return errno == ECONNRESET || errno == EPIPE;
    }
  }

 private:
  bool RecvExact(size_t n, Clock::time_point deadline, std::string* out) {
    out->clear();
    while (out->size() < n) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, RemainingMs(deadline)) <= 0) return false;
      char buf[65536];
      size_t want = std::min(sizeof(buf), n - out->size());
      ssize_t got = ::recv(fd_, buf, want, 0);
      if (got <= 0) return false;
      out->append(buf, static_cast<size_t>(got));
    }
    return true;
  }

  int fd_ = -1;
};

class UdpSock {
 public:
  explicit UdpSock(uint16_t port) : to_(Loopback(port)) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  }
  ~UdpSock() { ::close(fd_); }
  UdpSock(const UdpSock&) = delete;
  UdpSock& operator=(const UdpSock&) = delete;

  bool Send(std::string_view b) {
    return ::sendto(fd_, b.data(), b.size(), 0,
                    reinterpret_cast<const sockaddr*>(&to_),
                    sizeof(to_)) == static_cast<ssize_t>(b.size());
  }
  // The next datagram whose first word is `xid` (others are skipped).
  std::optional<std::string> Recv(uint32_t xid, int timeout_ms) {
    auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (true) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, RemainingMs(deadline)) <= 0) return std::nullopt;
      char buf[65536];
      ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n < 0) return std::nullopt;
      std::string d(buf, static_cast<size_t>(n));
      if (n >= 4 && Words(d)[0] == xid) return d;
    }
  }
  // Anything at all within the timeout.
  bool AnythingWithin(int timeout_ms) {
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, timeout_ms) > 0;
  }
  std::optional<W> Roundtrip(std::string_view msg, uint32_t xid) {
    if (!Send(msg)) return std::nullopt;
    auto r = Recv(xid, kReplyTimeoutMs);
    if (!r) return std::nullopt;
    return Words(*r);
  }

 private:
  sockaddr_in to_;
  int fd_;
};

// ---- fixture: one daemon for the suite ----

class NfsMalformedTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    daemon_ = new NfsDaemon();
    if (!daemon_->Start()) {
      delete daemon_;
      daemon_ = nullptr;
    }
  }
  static void TearDownTestSuite() {
    delete daemon_;
    daemon_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(nullptr, daemon_) << "the daemon did not start";
    ASSERT_TRUE(daemon_->Running()) << "the daemon is gone:\n"
                                    << daemon_->Log();
    // A well-behaved client connected before the abuse.
    bystander_ = std::make_unique<TcpConn>(port());
    ASSERT_TRUE(bystander_->ok());
    ExpectNullWorks(*bystander_, "bystander before the abuse");
  }

  void TearDown() override {
    if (daemon_ == nullptr) return;
    ExpectServing("after the abuse");
  }

  static uint16_t port() { return daemon_->port(); }

  static void ExpectNullWorks(TcpConn& c, const std::string& who) {
    uint32_t xid = NextXid();
    auto r = c.Roundtrip(NullCall(xid));
    ASSERT_TRUE(r.has_value()) << who << ": no reply to NULL";
    EXPECT_EQ(NullReply(xid), *r) << who;
  }

  // The daemon runs and answers the bystander, a new connection and UDP.
  void ExpectServing(const std::string& when) {
    ASSERT_TRUE(daemon_->Running()) << "the daemon died " << when << ":\n"
                                    << daemon_->Log();
    if (bystander_) ExpectNullWorks(*bystander_, "bystander " + when);
    TcpConn fresh(port());
    ASSERT_TRUE(fresh.ok()) << "cannot connect " << when;
    ExpectNullWorks(fresh, "new connection " + when);
    UdpSock u(port());
    uint32_t xid = NextXid();
    auto r = u.Roundtrip(NullCall(xid), xid);
    ASSERT_TRUE(r.has_value()) << "no UDP reply " << when;
    EXPECT_EQ(NullReply(xid), *r);
  }

  // Sends one call on a new connection and returns the reply words.
  static W TcpReply(const std::string& msg) {
    TcpConn c(port());
    EXPECT_TRUE(c.ok());
    auto r = c.Roundtrip(msg);
    EXPECT_TRUE(r.has_value()) << "no reply";
    return r.value_or(W{});
  }
  static W UdpReply(const std::string& msg, uint32_t xid) {
    UdpSock u(port());
    auto r = u.Roundtrip(msg, xid);
    EXPECT_TRUE(r.has_value()) << "no UDP reply";
    return r.value_or(W{});
  }

  static NfsDaemon* daemon_;
  std::unique_ptr<TcpConn> bystander_;
};

NfsDaemon* NfsMalformedTest::daemon_ = nullptr;

// ---- record marking ----

TEST_F(NfsMalformedTest, TruncatedRecordThenClose) {
  TcpConn c(port());
  ASSERT_TRUE(c.ok());
  // The fragment header announces 100 bytes; 10 arrive, then the close.
  ASSERT_TRUE(c.Send(Mark(0x80000000u | 100) + std::string(10, 'x')));
  c.Close();
}

TEST_F(NfsMalformedTest, StalledTruncatedRecordDoesNotBlockOthers) {
  TcpConn c(port());
  ASSERT_TRUE(c.Send(Mark(0x80000000u | 100) + std::string(10, 'x')));
  // Half a record mark on a second connection.
  TcpConn c2(port());
  ASSERT_TRUE(c2.Send(std::string("\x80\x00", 2)));
  // While both stall, everybody else is served.
  ExpectServing("while two connections stall mid-record");
  // The rest of the record arrives: garbage, answered or closed, but no
  // harm done.
  ASSERT_TRUE(c.Send(std::string(90, 'y')));
}

TEST_F(NfsMalformedTest, GarbageBytesCloseTheConnection) {
  // A record whose message type is neither CALL nor REPLY.
  TcpConn c(port());
  ASSERT_TRUE(c.SendRecord(std::string(32, '\xde')));
  EXPECT_TRUE(c.WaitClosed()) << "a non-call record did not close";
}

TEST_F(NfsMalformedTest, RandomGarbageStreamsAreSurvived) {
  std::mt19937 rng(20240521);
  for (int i = 0; i < 20; ++i) {
    TcpConn c(port());
    ASSERT_TRUE(c.ok());
    std::string junk(1 + rng() % 300, '\0');
    for (char& ch : junk) ch = static_cast<char>(rng());
    if (i % 2 == 0) {
      // Framed as a record so that the RPC decoder sees it.
      junk = Record(junk);
    }
    c.Send(junk);
    // Whatever comes back (a rejection, a close or nothing) is fine.
    c.WaitClosed(50);
  }
}

TEST_F(NfsMalformedTest, ReplyMessageClosesTheConnection) {
  TcpConn c(port());
  // A well-formed REPLY sent to the server.
  ASSERT_TRUE(c.SendRecord(Xdr().U32(77).U32(1).U32(0).U32(0).U32(0).U32(0).s));
  EXPECT_TRUE(c.WaitClosed());
}

TEST_F(NfsMalformedTest, HugeRecordMarkClosesPromptly) {
  for (uint32_t mark : {0x7fffffffu, 0xffffffffu, 0x80000000u | (64u << 20)}) {
    TcpConn c(port());
    ASSERT_TRUE(c.ok());
    auto start = Clock::now();
    ASSERT_TRUE(c.Send(Mark(mark)));
    EXPECT_TRUE(c.WaitClosed())
        << std::hex << "record mark 0x" << mark << " did not close";
    EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(kCloseTimeoutMs));
  }
}

TEST_F(NfsMalformedTest, ManySmallFragmentsBeyondTheLimitClose) {
  // Fragments that each look small but add up to more than any record the
  // server accepts (1 MiB + 64 KiB by default): closed, not buffered
  // forever.
  TcpConn c(port());
  std::string frag = Mark(60000) + std::string(60000, 'f');
  bool closed = false;
  for (int i = 0; i < 40 && !closed; ++i) {
    if (!c.Send(frag)) closed = true;
  }
  EXPECT_TRUE(closed || c.WaitClosed())
      << "a 2.4 MB multi-fragment record was accepted";
}

TEST_F(NfsMalformedTest, MultiFragmentRecordGetsOneReply) {
  TcpConn c(port());
  uint32_t xid = NextXid();
  std::string msg = NullCall(xid);
  ASSERT_EQ(40u, msg.size());
  // Three fragments, only the last marked last.
  std::string wire = Mark(5) + msg.substr(0, 5) + Mark(17) + msg.substr(5, 17) +
                     Mark(0x80000000u | 18) + msg.substr(22);
  ASSERT_TRUE(c.Send(wire));
  auto r = c.RecvRecord();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(NullReply(xid), Words(*r));
  EXPECT_EQ(24u, r->size());
  // Exactly one reply: the next thing on the connection answers the next
  // call.
  ExpectNullWorks(c, "same connection after a fragmented call");
}

TEST_F(NfsMalformedTest, EmptyFragmentsAreAllowed) {
  TcpConn c(port());
  uint32_t xid = NextXid();
  std::string msg = NullCall(xid);
  std::string wire = Mark(0) + Mark(20) + msg.substr(0, 20) + Mark(0) +
                     Mark(0x80000000u | 20) + msg.substr(20);
  ASSERT_TRUE(c.Send(wire));
  auto r = c.RecvRecord();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(NullReply(xid), Words(*r));
}

TEST_F(NfsMalformedTest, FragmentedCallsSentByteByByte) {
  TcpConn c(port());
  uint32_t xid = NextXid();
  std::string wire = Record(NullCall(xid));
  for (char ch : wire) ASSERT_TRUE(c.Send(std::string(1, ch)));
  auto r = c.RecvRecord();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(NullReply(xid), Words(*r));
}

TEST_F(NfsMalformedTest, PipelinedCallsAreAllAnswered) {
  TcpConn c(port());
  std::string wire;
  std::vector<uint32_t> xids;
  for (int i = 0; i < 50; ++i) {
    xids.push_back(NextXid());
    wire += Record(NullCall(xids.back()));
  }
  ASSERT_TRUE(c.Send(wire));
  std::vector<uint32_t> got;
  for (int i = 0; i < 50; ++i) {
    auto r = c.RecvRecord();
    ASSERT_TRUE(r.has_value()) << "reply " << i << " missing";
    W w = Words(*r);
    ASSERT_EQ(6u, w.size());
    got.push_back(w[0]);
  }
  std::sort(got.begin(), got.end());
  EXPECT_EQ(xids, got);
}

// ---- RPC-level rejections (TCP) ----

TEST_F(NfsMalformedTest, RpcVersion3IsRpcMismatch) {
  CallSpec c;
  c.xid = NextXid();
  c.rpcvers = 3;
  EXPECT_EQ((W{c.xid, 1, 1, 0, 2, 2}), TcpReply(CallMsg(c)));
}

TEST_F(NfsMalformedTest, UnknownProgramIsProgUnavail) {
  CallSpec c;
  c.xid = NextXid();
  c.prog = 100099;
  EXPECT_EQ((W{c.xid, 1, 0, 0, 0, 1}), TcpReply(CallMsg(c)));
  c.prog = 100000;  // portmapper: off in this configuration
  EXPECT_EQ((W{c.xid, 1, 0, 0, 0, 1}), TcpReply(CallMsg(c)));
}

TEST_F(NfsMalformedTest, NfsVersion2IsProgMismatch3To3) {
  for (uint32_t v : {2u, 4u}) {
    CallSpec c;
    c.xid = NextXid();
    c.vers = v;
    EXPECT_EQ((W{c.xid, 1, 0, 0, 0, 2, 3, 3}), TcpReply(CallMsg(c)))
        << "NFS version " << v;
  }
  // MOUNT serves 1 to 3.
  CallSpec m;
  m.xid = NextXid();
  m.prog = kMountProg;
  m.vers = 4;
  EXPECT_EQ((W{m.xid, 1, 0, 0, 0, 2, 1, 3}), TcpReply(CallMsg(m)));
  m.vers = 3;
  EXPECT_EQ(NullReply(m.xid), TcpReply(CallMsg(m)));
}

TEST_F(NfsMalformedTest, UnknownProcedureIsProcUnavail) {
  CallSpec c;
  c.xid = NextXid();
  c.proc = 99;
  EXPECT_EQ((W{c.xid, 1, 0, 0, 0, 3}), TcpReply(CallMsg(c)));
  c.proc = 22;  // one past COMMIT
  EXPECT_EQ((W{c.xid, 1, 0, 0, 0, 3}), TcpReply(CallMsg(c)));
  c.prog = kMountProg;
  c.proc = 6;
  EXPECT_EQ((W{c.xid, 1, 0, 0, 0, 3}), TcpReply(CallMsg(c)));
}

TEST_F(NfsMalformedTest, GetattrWithTruncatedArgumentsIsGarbageArgs) {
  CallSpec c;
  c.xid = NextXid();
  c.proc = 1;  // GETATTR
  // nfs_fh3 announces 28 bytes, carries 10.
  c.args = Xdr().U32(28).Raw(std::string(10, 'h')).s;
  EXPECT_EQ((W{c.xid, 1, 0, 0, 0, 4}), TcpReply(CallMsg(c)));
  c.args.clear();
  EXPECT_EQ((W{c.xid, 1, 0, 0, 0, 4}), TcpReply(CallMsg(c)));
  // A handle longer than NFS3_FHSIZE (64).
  c.args = Xdr().Opaque(std::string(65, 'h')).s;
  EXPECT_EQ((W{c.xid, 1, 0, 0, 0, 4}), TcpReply(CallMsg(c)));
}

TEST_F(NfsMalformedTest, WellFormedGetattrOfAForgedHandleIsBadHandle) {
  CallSpec c;
  c.xid = NextXid();
  c.proc = 1;
  c.args = Xdr().Opaque(std::string(28, 'h')).s;
  // SUCCESS at the RPC level, NFS3ERR_BADHANDLE (10001) in the results.
  EXPECT_EQ((W{c.xid, 1, 0, 0, 0, 0, 10001}), TcpReply(CallMsg(c)));
}

TEST_F(NfsMalformedTest, AuthSysWith17GroupsIsBadCred) {
  CallSpec c;
  c.xid = NextXid();
  c.cred_flavor = 1;
  c.cred = AuthSysBody(17);
  EXPECT_EQ((W{c.xid, 1, 1, 1, 1}), TcpReply(CallMsg(c)));
  // 16 are fine.
  c.cred = AuthSysBody(16);
  EXPECT_EQ(NullReply(c.xid), TcpReply(CallMsg(c)));
}

TEST_F(NfsMalformedTest, OversizedCredentialIsBadCred) {
  CallSpec c;
  c.xid = NextXid();
  c.cred_flavor = 1;
  c.cred = std::string(401, 'c');
  EXPECT_EQ((W{c.xid, 1, 1, 1, 1}), TcpReply(CallMsg(c)));
}

TEST_F(NfsMalformedTest, RpcsecGssIsAnAuthError) {
  CallSpec c;
  c.xid = NextXid();
  c.cred_flavor = 6;  // RPCSEC_GSS: gss_proc, seq, service, handle
  c.cred = Xdr().U32(1).U32(0).U32(1).U32(1).Opaque("").s;
  W w = TcpReply(CallMsg(c));
  ASSERT_EQ(5u, w.size());
  EXPECT_EQ((W{c.xid, 1, 1, 1}), W(w.begin(), w.begin() + 4));
  // AUTH_BADCRED (1), AUTH_REJECTEDCRED (2) or AUTH_TOOWEAK (5).
  EXPECT_TRUE(w[4] == 1 || w[4] == 2 || w[4] == 5) << "auth_stat " << w[4];
}

TEST_F(NfsMalformedTest, RejectionsKeepTheConnectionOpen) {
  TcpConn c(port());
  CallSpec bad;
  bad.xid = NextXid();
  bad.rpcvers = 3;
  auto r = c.Roundtrip(CallMsg(bad));
  ASSERT_TRUE(r.has_value());
  bad.rpcvers = 2;
  bad.cred_flavor = 1;
  bad.cred = AuthSysBody(17);
  ASSERT_TRUE(c.Roundtrip(CallMsg(bad)).has_value());
  ExpectNullWorks(c, "same connection after rejections");
}

// ---- UDP ----

TEST_F(NfsMalformedTest, UdpRejections) {
  CallSpec c;
  c.xid = NextXid();
  c.rpcvers = 3;
  EXPECT_EQ((W{c.xid, 1, 1, 0, 2, 2}), UdpReply(CallMsg(c), c.xid));
  c = CallSpec();
  c.xid = NextXid();
  c.prog = 100099;
  EXPECT_EQ((W{c.xid, 1, 0, 0, 0, 1}), UdpReply(CallMsg(c), c.xid));
  c = CallSpec();
  c.xid = NextXid();
  c.vers = 2;
  EXPECT_EQ((W{c.xid, 1, 0, 0, 0, 2, 3, 3}), UdpReply(CallMsg(c), c.xid));
  c = CallSpec();
  c.xid = NextXid();
  c.proc = 99;
  EXPECT_EQ((W{c.xid, 1, 0, 0, 0, 3}), UdpReply(CallMsg(c), c.xid));
  c = CallSpec();
  c.xid = NextXid();
  c.proc = 1;
  c.args = Xdr().U32(28).Raw("short").s;
  EXPECT_EQ((W{c.xid, 1, 0, 0, 0, 4}), UdpReply(CallMsg(c), c.xid));
  c = CallSpec();
  c.xid = NextXid();
  c.cred_flavor = 1;
  c.cred = AuthSysBody(17);
  EXPECT_EQ((W{c.xid, 1, 1, 1, 1}), UdpReply(CallMsg(c), c.xid));
  c = CallSpec();
  c.xid = NextXid();
  c.cred_flavor = 6;
  c.cred = Xdr().U32(1).U32(0).U32(1).U32(1).Opaque("").s;
  W w = UdpReply(CallMsg(c), c.xid);
  ASSERT_EQ(5u, w.size());
  EXPECT_EQ((W{c.xid, 1, 1, 1}), W(w.begin(), w.begin() + 4));
}

TEST_F(NfsMalformedTest, UdpGarbageIsIgnored) {
  UdpSock u(port());
  std::mt19937 rng(7);
  std::vector<std::string> junk = {
      std::string(),
      std::string("abc"),
      Xdr().U32(NextXid()).s,
      Xdr().U32(NextXid()).U32(1).U32(0).U32(0).U32(0).U32(0).s,  // a REPLY
      Xdr().U32(NextXid()).U32(7).s,
      std::string(65000, '\xff'),
  };
  for (int i = 0; i < 20; ++i) {
    std::string j(rng() % 200, '\0');
    for (char& ch : j) ch = static_cast<char>(rng());
    if (j.size() >= 8) j[4] = j[5] = j[6] = '\x7f';  // never a CALL
    junk.push_back(j);
  }
  for (const std::string& j : junk) ASSERT_TRUE(u.Send(j)) << j.size();
  EXPECT_FALSE(u.AnythingWithin(500)) << "garbage datagrams were answered";
  // The same socket is still answered.
  uint32_t xid = NextXid();
  auto r = u.Roundtrip(NullCall(xid), xid);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(NullReply(xid), *r);
}

TEST_F(NfsMalformedTest, UdpMultiFragmentMarksAreNotUsed) {
  // Over UDP a datagram is one message without a record mark: one with a
  // record mark in front is not a call (its "message type" is the xid).
  UdpSock u(port());
  uint32_t xid = NextXid();
  ASSERT_TRUE(u.Send(Record(NullCall(xid))));
  EXPECT_FALSE(u.Recv(xid, 300).has_value());
  auto r = u.Roundtrip(NullCall(xid), xid);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(NullReply(xid), *r);
}

// ---- many abusers at once ----

TEST_F(NfsMalformedTest, ManyAbusiveConnectionsAtOnce) {
  std::vector<std::unique_ptr<TcpConn>> conns;
  for (int i = 0; i < 100; ++i) {
    auto c = std::make_unique<TcpConn>(port());
    ASSERT_TRUE(c->ok()) << i;
    switch (i % 4) {
      case 0:
        c->Send(Mark(0x80000000u | 1000) + "partial");
        break;
      case 1:
        c->Send(Mark(0x7fffffffu));
        break;
      case 2:
        c->SendRecord(std::string(12, '\x01'));
        break;
      case 3:
        break;  // connected, silent
    }
    conns.push_back(std::move(c));
  }
  ExpectServing("while 100 abusive connections are open");
}

// Resident memory of a process in KiB (0 if unknown).
long RssKiB(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return 0;
}

// A record mark costs the client 4 bytes; it must not make the server
// commit the announced length (up to max_record_size, about 1 MiB) before
// any of the data arrives, or a few thousand idle connections exhaust its
// memory.
TEST_F(NfsMalformedTest, AnnouncedButUnsentRecordsDoNotPinMemory) {
  long before = RssKiB(daemon_->pid());
  ASSERT_GT(before, 0);
  std::vector<std::unique_ptr<TcpConn>> conns;
  for (int i = 0; i < 200; ++i) {
    auto c = std::make_unique<TcpConn>(port());
    ASSERT_TRUE(c->ok()) << i;
    ASSERT_TRUE(c->Send(Mark(0x80000000u | (1u << 20))));
    conns.push_back(std::move(c));
  }
  ExpectServing("with 200 connections announcing 1 MiB records");
  long after = RssKiB(daemon_->pid());
  EXPECT_LT(after - before, 64 * 1024)
      << "200 connections that sent 4 bytes each grew the daemon from "
      << before / 1024 << " MiB to " << after / 1024 << " MiB";
}

}  // namespace
}  // namespace cfs_nfs_test
