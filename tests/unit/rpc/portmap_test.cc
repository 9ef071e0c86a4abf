// PortmapProgram through a Dispatcher: PMAP version 2 (RFC 1833 section 3)
// and RPCBIND versions 3 and 4 (RFC 1833 section 2), with calls and results
// encoded and decoded by hand; MakeUaddr/ParseUaddr/NetId.
#include "rpc/portmap/portmap.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <tuple>
#include <vector>

#include "tests/unit/rpc/rpc_test_util.h"

namespace concordfs::rpc {
namespace {

using testing::Call;
using testing::Reader;
using testing::Wire;

constexpr uint32_t kNfs = 100003;
constexpr uint32_t kMount = 100005;

// PMAP v2 procedures.
constexpr uint32_t kPmapNull = 0, kPmapSet = 1, kPmapUnset = 2,
                   kPmapGetport = 3, kPmapDump = 4, kPmapCallit = 5;
// RPCBIND v3/v4 procedures.
constexpr uint32_t kRpcbSet = 1, kRpcbUnset = 2, kRpcbGetaddr = 3,
                   kRpcbDump = 4, kRpcbGettime = 6, kRpcbUaddr2taddr = 7,
                   kRpcbTaddr2uaddr = 8, kRpcbGetversaddr = 9,
                   kRpcbGetaddrlist = 11;

std::string Mapping2(uint32_t prog, uint32_t vers, uint32_t prot,
                     uint32_t port) {
  return Wire().U32(prog).U32(vers).U32(prot).U32(port);
}
std::string Rpcb(uint32_t prog, uint32_t vers, std::string_view netid,
                 std::string_view uaddr, std::string_view owner = "test") {
  return Wire().U32(prog).U32(vers).Opaque(netid).Opaque(uaddr).Opaque(owner);
}

Peer V6(const char* text, uint16_t port = 0) {
  Peer p;
  EXPECT_TRUE(Peer::Parse(text, port, &p)) << text;
  return p;
}

class PortmapTest : public ::testing::Test {
 protected:
  PortmapTest() : prog_(&reg_) { d_.Register(&prog_); }

  // Runs one call; returns the results of a SUCCESS reply ("" and a test
  // failure otherwise).
  std::string Results(uint32_t vers, uint32_t proc, const std::string& args,
                      const Peer& from = Peer::Loopback(700)) {
    std::string reply;
    Dispatcher::Outcome o =
        d_.Dispatch(Call(++xid_, kPortmapProgram, vers, proc, args), from,
                    Transport::kUdp, &reply);
    EXPECT_EQ(Dispatcher::Outcome::kReply, o);
    ParsedReply p = ParseReply(reply);
    EXPECT_TRUE(p.ok) << "v" << vers << " proc " << proc << ": " << p.error;
    EXPECT_EQ(xid_, p.xid);
    return std::string(p.results);
  }
  // The reply's error text ("" when it succeeded).
  std::string Error(uint32_t vers, uint32_t proc, const std::string& args) {
    std::string reply;
    d_.Dispatch(Call(++xid_, kPortmapProgram, vers, proc, args),
                Peer::Loopback(), Transport::kTcp, &reply);
    return ParseReply(reply).error;
  }
  bool BoolResult(uint32_t vers, uint32_t proc, const std::string& args,
                  const Peer& from = Peer::Loopback(700)) {
    Reader r(Results(vers, proc, args, from));
    uint32_t v = r.U32();
    EXPECT_TRUE(r.done()) << "a bool result has extra bytes";
    EXPECT_LE(v, 1u);
    return v == 1;
  }
  uint32_t Getport(uint32_t prog, uint32_t vers, uint32_t prot) {
    Reader r(Results(2, kPmapGetport, Mapping2(prog, vers, prot, 0)));
    uint32_t port = r.U32();
    EXPECT_TRUE(r.done());
    return port;
  }
  std::string StringResult(uint32_t vers, uint32_t proc,
                           const std::string& args) {
    Reader r(Results(vers, proc, args));
    std::string s = r.Opaque();
    EXPECT_TRUE(r.done()) << "proc " << proc;
    return s;
  }
  // PMAP DUMP as (prog, vers, prot, port) tuples.
  std::vector<std::tuple<uint32_t, uint32_t, uint32_t, uint32_t>> Dump2() {
    std::vector<std::tuple<uint32_t, uint32_t, uint32_t, uint32_t>> out;
    Reader r(Results(2, kPmapDump, ""));
    while (r.U32() == 1 && !r.bad()) {
      uint32_t a = r.U32(), b = r.U32(), c = r.U32(), d = r.U32();
      out.emplace_back(a, b, c, d);
    }
    EXPECT_TRUE(r.done()) << "bad DUMP list";
    return out;
  }
  std::vector<Mapping> Dump34(uint32_t vers) {
    std::vector<Mapping> out;
    Reader r(Results(vers, kRpcbDump, ""));
    while (r.U32() == 1 && !r.bad()) {
      Mapping m;
      m.prog = r.U32();
      m.vers = r.U32();
      m.netid = r.Opaque();
      m.uaddr = r.Opaque();
      m.owner = r.Opaque();
      out.push_back(m);
    }
    EXPECT_TRUE(r.done()) << "bad RPCB DUMP list";
    return out;
  }

  PortmapRegistry reg_;
  PortmapProgram prog_;
  Dispatcher d_;
  uint32_t xid_ = 1000;
};

TEST_F(PortmapTest, ServesVersionsTwoToFour) {
  for (uint32_t v = 2; v <= 4; ++v) EXPECT_EQ("", Results(v, 0, ""));
  std::string reply;
  d_.Dispatch(Call(1, kPortmapProgram, 5, 0), Peer::Loopback(), Transport::kUdp,
              &reply);
  EXPECT_EQ("PROG_MISMATCH", ParseReply(reply).error);
}

TEST_F(PortmapTest, PmapSetFromLoopbackThenGetportAndDump) {
  EXPECT_TRUE(BoolResult(2, kPmapSet, Mapping2(kNfs, 3, kIpProtoTcp, 2049)));
  EXPECT_TRUE(BoolResult(2, kPmapSet, Mapping2(kNfs, 3, kIpProtoUdp, 2050)));
  EXPECT_EQ(2049u, Getport(kNfs, 3, kIpProtoTcp));
  EXPECT_EQ(2050u, Getport(kNfs, 3, kIpProtoUdp));
  EXPECT_EQ(0u, Getport(kMount, 3, kIpProtoTcp)) << "unregistered program";
  EXPECT_EQ(0u, Getport(kNfs, 3, 99)) << "unknown protocol";
  auto dump = Dump2();
  ASSERT_EQ(2u, dump.size());
  EXPECT_EQ(std::make_tuple(kNfs, 3u, kIpProtoTcp, 2049u), dump[0]);
  EXPECT_EQ(std::make_tuple(kNfs, 3u, kIpProtoUdp, 2050u), dump[1]);
  // Registering the same program/version/protocol again is refused.
  EXPECT_FALSE(BoolResult(2, kPmapSet, Mapping2(kNfs, 3, kIpProtoTcp, 3000)));
  EXPECT_EQ(2049u, Getport(kNfs, 3, kIpProtoTcp));
}

TEST_F(PortmapTest, PmapSetFromLoopbackVariants) {
  EXPECT_TRUE(BoolResult(2, kPmapSet, Mapping2(1, 1, kIpProtoTcp, 1),
                         Peer::V4(0x7f000002, 5)));
  EXPECT_TRUE(
      BoolResult(2, kPmapSet, Mapping2(2, 1, kIpProtoTcp, 1), V6("::1", 5)));
  EXPECT_TRUE(BoolResult(2, kPmapSet, Mapping2(3, 1, kIpProtoTcp, 1),
                         V6("::ffff:127.0.0.1", 5)));
}

TEST_F(PortmapTest, PmapSetFromAnotherHostIsRefused) {
  for (const Peer& from : {Peer::V4(0x0a000001, 600), V6("fd00::1", 600),
                           V6("::ffff:10.0.0.1", 600), V6("::2", 600)}) {
    EXPECT_FALSE(
        BoolResult(2, kPmapSet, Mapping2(kNfs, 3, kIpProtoTcp, 2049), from))
        << from.ToString();
  }
  EXPECT_EQ(0u, Getport(kNfs, 3, kIpProtoTcp));
  EXPECT_TRUE(Dump2().empty());
  EXPECT_TRUE(reg_.Dump().empty());
}

TEST_F(PortmapTest, PmapSetRejectsBadProtocolOrPort) {
  EXPECT_FALSE(BoolResult(2, kPmapSet, Mapping2(kNfs, 3, 99, 2049)));
  EXPECT_FALSE(BoolResult(2, kPmapSet, Mapping2(kNfs, 3, kIpProtoTcp, 70000)));
  EXPECT_TRUE(reg_.Dump().empty());
}

TEST_F(PortmapTest, PmapUnset) {
  ASSERT_TRUE(BoolResult(2, kPmapSet, Mapping2(kNfs, 3, kIpProtoTcp, 2049)));
  ASSERT_TRUE(BoolResult(2, kPmapSet, Mapping2(kNfs, 3, kIpProtoUdp, 2049)));
  ASSERT_TRUE(BoolResult(2, kPmapSet, Mapping2(kNfs, 4, kIpProtoTcp, 2049)));
  // Not from another host.
  EXPECT_FALSE(BoolResult(2, kPmapUnset, Mapping2(kNfs, 3, 0, 0),
                          Peer::V4(0x0a000001, 1)));
  EXPECT_EQ(2049u, Getport(kNfs, 3, kIpProtoTcp));
  // RFC 1833: UNSET removes prog/vers for every protocol; prot and port
  // are ignored.
  EXPECT_TRUE(BoolResult(2, kPmapUnset, Mapping2(kNfs, 3, 0, 0)));
  auto dump = Dump2();
  ASSERT_EQ(1u, dump.size());
  EXPECT_EQ(std::make_tuple(kNfs, 4u, kIpProtoTcp, 2049u), dump[0]);
  EXPECT_FALSE(BoolResult(2, kPmapUnset, Mapping2(kNfs, 3, 0, 0)));
}

TEST_F(PortmapTest, PmapCallitIsNotServed) {
  EXPECT_EQ("PROC_UNAVAIL",
            Error(2, kPmapCallit, Wire().U32(kNfs).U32(3).U32(0).Opaque("")));
  EXPECT_EQ("PROC_UNAVAIL", Error(2, 99, ""));
}

TEST_F(PortmapTest, PmapTruncatedArgumentsAreGarbage) {
  EXPECT_EQ("GARBAGE_ARGS", Error(2, kPmapSet, Wire().U32(kNfs).U32(3)));
  EXPECT_EQ("GARBAGE_ARGS", Error(2, kPmapGetport, ""));
  EXPECT_TRUE(reg_.Dump().empty());
}

TEST_F(PortmapTest, RpcbSetGetaddrUnset) {
  EXPECT_TRUE(
      BoolResult(3, kRpcbSet, Rpcb(kMount, 3, "tcp", "127.0.0.1.3.122")));
  EXPECT_EQ("127.0.0.1.3.122",
            StringResult(3, kRpcbGetaddr, Rpcb(kMount, 3, "tcp", "")));
  EXPECT_EQ("", StringResult(3, kRpcbGetaddr, Rpcb(kMount, 3, "udp", "")));
  EXPECT_EQ("", StringResult(3, kRpcbGetaddr, Rpcb(kNfs, 3, "tcp", "")));
  // Duplicate.
  EXPECT_FALSE(
      BoolResult(3, kRpcbSet, Rpcb(kMount, 3, "tcp", "127.0.0.1.3.123")));
  // PMAP v2 sees the tcp registration.
  EXPECT_EQ(890u, Getport(kMount, 3, kIpProtoTcp));
  // Not from another host.
  EXPECT_FALSE(BoolResult(4, kRpcbUnset, Rpcb(kMount, 3, "tcp", ""),
                          Peer::V4(0xc0a80001, 1)));
  EXPECT_TRUE(BoolResult(4, kRpcbUnset, Rpcb(kMount, 3, "tcp", "")));
  EXPECT_EQ("", StringResult(3, kRpcbGetaddr, Rpcb(kMount, 3, "tcp", "")));
  EXPECT_FALSE(BoolResult(4, kRpcbUnset, Rpcb(kMount, 3, "tcp", "")));
}

TEST_F(PortmapTest, RpcbSetRefusals) {
  EXPECT_FALSE(BoolResult(3, kRpcbSet,
                          Rpcb(kMount, 3, "tcp", "127.0.0.1.3.122"),
                          Peer::V4(0x0a000001, 1)));
  EXPECT_FALSE(BoolResult(3, kRpcbSet, Rpcb(kMount, 3, "tcp", "not-an-addr")));
  EXPECT_FALSE(BoolResult(3, kRpcbSet, Rpcb(kMount, 3, "", "127.0.0.1.3.122")));
  EXPECT_TRUE(reg_.Dump().empty());
  EXPECT_EQ("GARBAGE_ARGS",
            Error(3, kRpcbSet, Wire().U32(kMount).U32(3).Opaque("tcp")));
  EXPECT_EQ("GARBAGE_ARGS",
            Error(4, kRpcbSet,
                  Rpcb(kMount, 3, std::string(65, 't'), "127.0.0.1.3.122")));
}

TEST_F(PortmapTest, GetaddrAnyVersionGetversaddrExactVersion) {
  ASSERT_TRUE(
      BoolResult(4, kRpcbSet, Rpcb(kMount, 3, "tcp", "127.0.0.1.3.122")));
  // v3 GETADDR: a registered version of the program if `vers` is not
  // (the client learns the served range from PROG_MISMATCH).
  EXPECT_EQ("127.0.0.1.3.122",
            StringResult(3, kRpcbGetaddr, Rpcb(kMount, 1, "tcp", "")));
  EXPECT_EQ("127.0.0.1.3.122",
            StringResult(4, kRpcbGetaddr, Rpcb(kMount, 1, "tcp", "")));
  // v4 GETVERSADDR: only the exact version (RFC 1833 section 2.2.1).
  EXPECT_EQ("", StringResult(4, kRpcbGetversaddr, Rpcb(kMount, 1, "tcp", "")));
  EXPECT_EQ("127.0.0.1.3.122",
            StringResult(4, kRpcbGetversaddr, Rpcb(kMount, 3, "tcp", "")));
  // Not a version 3 procedure.
  EXPECT_EQ("PROC_UNAVAIL",
            Error(3, kRpcbGetversaddr, Rpcb(kMount, 3, "tcp", "")));
  EXPECT_EQ("GARBAGE_ARGS", Error(4, kRpcbGetversaddr, Wire().U32(kMount)));
}

TEST_F(PortmapTest, RpcbDumpListsEveryRegistration) {
  ASSERT_TRUE(BoolResult(2, kPmapSet, Mapping2(kNfs, 3, kIpProtoTcp, 2049)));
  ASSERT_TRUE(
      BoolResult(4, kRpcbSet, Rpcb(kMount, 3, "tcp6", "::1.3.122", "me")));
  for (uint32_t v : {3u, 4u}) {
    std::vector<Mapping> dump = Dump34(v);
    ASSERT_EQ(2u, dump.size());
    EXPECT_EQ(kNfs, dump[0].prog);
    EXPECT_EQ(3u, dump[0].vers);
    EXPECT_EQ("tcp", dump[0].netid);
    Peer p;
    ASSERT_TRUE(ParseUaddr(dump[0].uaddr, &p)) << dump[0].uaddr;
    EXPECT_EQ(2049, p.port);
    EXPECT_EQ((Mapping{kMount, 3, "tcp6", "::1.3.122", "me"}), dump[1]);
  }
  // PMAP v2 lists only what it can express (tcp/udp).
  auto dump2 = Dump2();
  ASSERT_EQ(1u, dump2.size());
  EXPECT_EQ(std::make_tuple(kNfs, 3u, kIpProtoTcp, 2049u), dump2[0]);
}

TEST_F(PortmapTest, GetaddrlistDescribesEveryTransport) {
  ASSERT_TRUE(BoolResult(4, kRpcbSet, Rpcb(kNfs, 3, "tcp", "127.0.0.1.8.1")));
  ASSERT_TRUE(BoolResult(4, kRpcbSet, Rpcb(kNfs, 3, "udp", "127.0.0.1.8.1")));
  ASSERT_TRUE(BoolResult(4, kRpcbSet, Rpcb(kNfs, 3, "tcp6", "::1.8.1")));
  ASSERT_TRUE(BoolResult(4, kRpcbSet, Rpcb(kNfs, 4, "tcp", "127.0.0.1.8.2")));
  struct Entry {
    std::string maddr, netid;
    uint32_t semantics;
    std::string protofmly, proto;
  };
  auto list = [&](std::string_view netid) {
    std::vector<Entry> out;
    Reader r(Results(4, kRpcbGetaddrlist, Rpcb(kNfs, 3, netid, "")));
    while (r.U32() == 1 && !r.bad()) {
      Entry e;
      e.maddr = r.Opaque();
      e.netid = r.Opaque();
      e.semantics = r.U32();
      e.protofmly = r.Opaque();
      e.proto = r.Opaque();
      out.push_back(e);
    }
    EXPECT_TRUE(r.done());
    return out;
  };
  std::vector<Entry> all = list("");
  ASSERT_EQ(3u, all.size());
  EXPECT_EQ("127.0.0.1.8.1", all[0].maddr);
  EXPECT_EQ("tcp", all[0].netid);
  EXPECT_EQ(3u, all[0].semantics);  // NC_TPI_COTS_ORD
  EXPECT_EQ("inet", all[0].protofmly);
  EXPECT_EQ("tcp", all[0].proto);
  EXPECT_EQ("udp", all[1].netid);
  EXPECT_EQ(1u, all[1].semantics);  // NC_TPI_CLTS
  EXPECT_EQ("udp", all[1].proto);
  EXPECT_EQ("::1.8.1", all[2].maddr);
  EXPECT_EQ("inet6", all[2].protofmly);
  EXPECT_EQ("tcp", all[2].proto);
  std::vector<Entry> udp = list("udp");
  ASSERT_EQ(1u, udp.size());
  EXPECT_EQ("udp", udp[0].netid);
  EXPECT_TRUE(list("tcp6").size() == 1);
  EXPECT_EQ("PROC_UNAVAIL", Error(3, kRpcbGetaddrlist, Rpcb(kNfs, 3, "", "")));
}

TEST_F(PortmapTest, Uaddr2taddrTaddr2uaddrRoundTrip) {
  for (const char* uaddr :
       {"127.0.0.1.8.1", "10.1.2.3.0.0", "::1.8.1", "fe80::1:2.255.255"}) {
    Reader r(Results(4, kRpcbUaddr2taddr, Wire().Opaque(uaddr)));
    uint32_t maxlen = r.U32();
    std::string sa = r.Opaque();
    ASSERT_TRUE(r.done()) << uaddr;
    ASSERT_GE(sa.size(), sizeof(sockaddr_in)) << uaddr;
    EXPECT_LE(sa.size(), maxlen);
    sa_family_t fam;
    std::memcpy(&fam, sa.data(), sizeof(fam));
    Peer want;
    ASSERT_TRUE(ParseUaddr(uaddr, &want));
    if (want.family == AF_INET) {
      ASSERT_EQ(sizeof(sockaddr_in), sa.size());
      sockaddr_in s;
      std::memcpy(&s, sa.data(), sizeof(s));
      EXPECT_EQ(AF_INET, s.sin_family);
      EXPECT_EQ(want.port, ntohs(s.sin_port));
      EXPECT_EQ(0, std::memcmp(&s.sin_addr, want.addr, 4));
    } else {
      ASSERT_EQ(sizeof(sockaddr_in6), sa.size());
      sockaddr_in6 s;
      std::memcpy(&s, sa.data(), sizeof(s));
      EXPECT_EQ(AF_INET6, s.sin6_family);
      EXPECT_EQ(want.port, ntohs(s.sin6_port));
      EXPECT_EQ(0, std::memcmp(&s.sin6_addr, want.addr, 16));
    }
    // And back.
    EXPECT_EQ(uaddr,
              StringResult(4, kRpcbTaddr2uaddr, Wire().U32(maxlen).Opaque(sa)));
    EXPECT_EQ(uaddr,
              StringResult(3, kRpcbTaddr2uaddr, Wire().U32(maxlen).Opaque(sa)));
  }
}

TEST_F(PortmapTest, MalformedAddressesGiveEmptyResults) {
  Reader r(Results(4, kRpcbUaddr2taddr, Wire().Opaque("nonsense")));
  r.U32();
  EXPECT_EQ("", r.Opaque());
  EXPECT_TRUE(r.done());
  EXPECT_EQ("", StringResult(4, kRpcbTaddr2uaddr,
                             Wire().U32(4).Opaque(std::string(4, '\2'))));
  std::string sa(sizeof(sockaddr_in), '\0');
  uint16_t bogus = 12345;
  std::memcpy(sa.data(), &bogus, 2);
  EXPECT_EQ("", StringResult(4, kRpcbTaddr2uaddr, Wire().U32(16).Opaque(sa)));
  // An AF_INET6 family in a buffer too short for sockaddr_in6.
  sa_family_t six = AF_INET6;
  std::memcpy(sa.data(), &six, sizeof(six));
  EXPECT_EQ("", StringResult(4, kRpcbTaddr2uaddr, Wire().U32(16).Opaque(sa)));
  EXPECT_EQ("GARBAGE_ARGS", Error(4, kRpcbTaddr2uaddr, Wire().U32(16)));
  EXPECT_EQ("GARBAGE_ARGS", Error(4, kRpcbUaddr2taddr, ""));
}

TEST_F(PortmapTest, GettimeIsTheCurrentTime) {
  Reader r(Results(4, kRpcbGettime, ""));
  int64_t t = r.U32();
  EXPECT_TRUE(r.done());
  int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  EXPECT_LE(std::abs(now - t), 60);
}

TEST_F(PortmapTest, UnknownProceduresAreProcUnavail) {
  EXPECT_EQ("PROC_UNAVAIL", Error(3, 5, ""));   // CALLIT
  EXPECT_EQ("PROC_UNAVAIL", Error(4, 10, ""));  // INDIRECT
  EXPECT_EQ("PROC_UNAVAIL", Error(4, 99, ""));
}

// ---- universal addresses ----

TEST(Uaddr, MakesIpv4AndIpv6Forms) {
  EXPECT_EQ("127.0.0.1.8.1", MakeUaddr(Peer::V4(0x7f000001, 2049)));
  EXPECT_EQ("0.0.0.0.0.0", MakeUaddr(Peer::V4(0, 0)));
  EXPECT_EQ("10.0.0.1.255.255", MakeUaddr(Peer::V4(0x0a000001, 65535)));
  EXPECT_EQ("::1.0.111", MakeUaddr(V6("::1", 111)));
  EXPECT_EQ("fe80::1:2.8.1", MakeUaddr(V6("fe80::1:2", 2049)));
}

TEST(Uaddr, ParsesWhatItMakes) {
  for (const char* text : {"127.0.0.1", "0.0.0.0", "::1", "::", "fd00::abcd",
                           "2001:db8::1:0:0:1"}) {
    for (uint16_t port : {0, 1, 255, 256, 2049, 65535}) {
      Peer p;
      ASSERT_TRUE(Peer::Parse(text, port, &p));
      Peer back;
      ASSERT_TRUE(ParseUaddr(MakeUaddr(p), &back)) << MakeUaddr(p);
      EXPECT_TRUE(back.SameAddress(p)) << MakeUaddr(p);
      EXPECT_EQ(back.family, p.family);
      EXPECT_EQ(port, back.port) << MakeUaddr(p);
    }
  }
}

TEST(Uaddr, RejectsMalformedAddresses) {
  Peer p;
  for (const char* bad :
       {"", ".", "..", "127.0.0.1", "127.0.0.1.8", "127.0.0.1.256.1",
        "127.0.0.1.8.256", "127.0.0.1.8.x", "127.0.0.1..1", "127.0.0.1.8.",
        "127.0.0.1.-1.1", "127.0.0.1.0008.1", ".8.1", "host.8.1",
        "1.2.3.4.5.6.7", "::1", "::1.8", "::g.8.1", "127.0.0.1.8.1 "}) {
    EXPECT_FALSE(ParseUaddr(bad, &p)) << "'" << bad << "' parsed";
  }
}

TEST(Uaddr, NetIds) {
  EXPECT_EQ("tcp", NetId(Transport::kTcp, AF_INET));
  EXPECT_EQ("udp", NetId(Transport::kUdp, AF_INET));
  EXPECT_EQ("tcp6", NetId(Transport::kTcp, AF_INET6));
  EXPECT_EQ("udp6", NetId(Transport::kUdp, AF_INET6));
}

TEST(PortmapRegistry, FindPrefersTheExactVersion) {
  PortmapRegistry r;
  ASSERT_TRUE(r.Set({kMount, 1, "tcp", "127.0.0.1.0.1", "x"}));
  ASSERT_TRUE(r.Set({kMount, 3, "tcp", "127.0.0.1.0.3", "x"}));
  ASSERT_TRUE(r.Set({kMount, 2, "tcp", "127.0.0.1.0.2", "x"}));
  Mapping m;
  ASSERT_TRUE(r.Find(kMount, 2, "tcp", true, &m));
  EXPECT_EQ(2u, m.vers);
  ASSERT_TRUE(r.Find(kMount, 9, "tcp", true, &m));
  EXPECT_EQ(3u, m.vers) << "the highest registered version";
  EXPECT_FALSE(r.Find(kMount, 9, "tcp", false, &m));
  EXPECT_FALSE(r.Find(kMount, 2, "udp", true, &m));
  ASSERT_TRUE(r.Find(kMount, 2, "", false, &m));
  EXPECT_TRUE(r.Unset(kMount, 2, ""));
  EXPECT_FALSE(r.Find(kMount, 2, "tcp", false, &m));
  EXPECT_EQ(2u, r.Dump().size());
}

}  // namespace
}  // namespace concordfs::rpc
