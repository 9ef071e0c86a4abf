// Dispatcher: rejections (RFC 5531 accept_stat and reject_stat layouts),
// running a program, and the duplicate-request cache, with a small test
// program that counts how often each procedure really runs.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "rpc/program.h"
#include "rpc/rpc_msg.h"
#include "tests/unit/rpc/rpc_test_util.h"

namespace concordfs::rpc {
namespace {

using testing::AuthSysBody;
using testing::Call;
using testing::CallBytes;
using testing::CallSpec;
using testing::Reader;
using testing::Wire;
using testing::Words;
using W = std::vector<uint32_t>;

constexpr uint32_t kProg = 400123;

enum FakeProc : uint32_t {
  kNull = 0,
  kEcho = 1,    // idempotent: returns its opaque<16> argument
  kIncr = 2,    // non-idempotent: returns how often it ran
  kOneWay = 3,  // non-idempotent, no reply
  kBlock = 4,   // non-idempotent, waits until released
  kSysErr = 5,  // returns SYSTEM_ERR after writing some results
  kCount = 6,
};

class FakeProgram : public RpcProgram {
 public:
  uint32_t program() const override { return kProg; }
  uint32_t min_version() const override { return 2; }
  uint32_t max_version() const override { return 4; }
  const char* name() const override { return "fake"; }

  HandlerResult Call(const CallContext& ctx, XdrDecoder& args,
                     std::string* out) override {
    XdrEncoder e(out);
    runs[ctx.header.proc < kCount ? ctx.header.proc : kCount - 1]++;
    {
      std::lock_guard<std::mutex> lk(mu);
      last_peer = ctx.peer;
      last_transport = ctx.transport;
      last_vers = ctx.header.vers;
    }
    switch (ctx.header.proc) {
      case kNull:
        return {};
      case kEcho: {
        e.U32(0xbadbad);  // discarded when the arguments are garbage
        std::string_view v = args.Opaque(16);
        if (!args.ok()) return {AcceptStat::kGarbageArgs};
        out->resize(out->size() - 4);
        e.Opaque(v);
        return {};
      }
      case kIncr:
        e.U32(++incr_count);
        return {};
      case kOneWay:
        e.U32(1);
        return HandlerResult::NoReply();
      case kBlock: {
        std::unique_lock<std::mutex> lk(mu);
        entered = true;
        cv.notify_all();
        cv.wait(lk, [&] { return released; });
        e.U32(7);
        return {};
      }
      case kSysErr:
        e.U32(123);
        return {AcceptStat::kSystemErr};
    }
    return {AcceptStat::kProcUnavail};
  }
  bool NonIdempotent(uint32_t, uint32_t proc) const override {
    return proc == kIncr || proc == kOneWay || proc == kBlock;
  }

  std::atomic<int> runs[kCount] = {};
  std::atomic<uint32_t> incr_count{0};
  std::mutex mu;
  std::condition_variable cv;
  bool entered = false;
  bool released = false;
  Peer last_peer;
  Transport last_transport = Transport::kTcp;
  uint32_t last_vers = 0;
};

struct Out {
  Dispatcher::Outcome outcome;
  std::string reply;  // after the headroom
};

// Dispatches `msg` into a reply buffer that starts with `headroom`.
Out RunOn(Dispatcher& d, const std::string& msg, const Peer& peer,
          const std::string& headroom = "", Transport t = Transport::kTcp) {
  std::string reply = headroom;
  Dispatcher::Outcome o = d.Dispatch(msg, peer, t, &reply);
  EXPECT_EQ(headroom, reply.substr(0, headroom.size()))
      << "the headroom was overwritten";
  return {o, reply.substr(std::min(headroom.size(), reply.size()))};
}

class DispatcherTest : public ::testing::Test {
 protected:
  DispatcherTest() { d_.Register(&prog_); }

  Out Run(const std::string& msg, const Peer& peer = Peer::Loopback(800),
          const std::string& headroom = "", Transport t = Transport::kTcp) {
    return RunOn(d_, msg, peer, headroom, t);
  }

  FakeProgram prog_;
  Dispatcher d_;
};

TEST_F(DispatcherTest, NullSucceedsWithAnEmptyResult) {
  Out o = Run(Call(11, kProg, 3, kNull));
  ASSERT_EQ(Dispatcher::Outcome::kReply, o.outcome);
  EXPECT_EQ((W{11, 1, 0, 0, 0, 0}), Words(o.reply));
  EXPECT_EQ(24u, o.reply.size());
  ParsedReply p = ParseReply(o.reply);
  EXPECT_TRUE(p.ok) << p.error;
  EXPECT_EQ(11u, p.xid);
  EXPECT_TRUE(p.results.empty());
}

TEST_F(DispatcherTest, SuccessCarriesTheResultsAndTheCallContext) {
  Peer peer = Peer::V4(0x0a000005, 1234);
  Out o = Run(Call(12, kProg, 4, kEcho, Wire().Opaque("hi")), peer, "HDR!",
              Transport::kUdp);
  ASSERT_EQ(Dispatcher::Outcome::kReply, o.outcome);
  ParsedReply p = ParseReply(o.reply);
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(12u, p.xid);
  EXPECT_EQ(std::string(Wire().Opaque("hi")), p.results);
  std::lock_guard<std::mutex> lk(prog_.mu);
  EXPECT_TRUE(prog_.last_peer.SameAddress(peer));
  EXPECT_EQ(1234, prog_.last_peer.port);
  EXPECT_EQ(Transport::kUdp, prog_.last_transport);
  EXPECT_EQ(4u, prog_.last_vers);
}

TEST_F(DispatcherTest, UnknownProgramIsProgUnavail) {
  Out o = Run(Call(13, 100003, 3, 0));
  ASSERT_EQ(Dispatcher::Outcome::kReply, o.outcome);
  EXPECT_EQ((W{13, 1, 0, 0, 0, 1}), Words(o.reply));
  EXPECT_EQ(24u, o.reply.size());
  EXPECT_EQ("PROG_UNAVAIL", ParseReply(o.reply).error);
}

TEST_F(DispatcherTest, VersionOutsideTheRangeIsProgMismatchWithLowHigh) {
  for (uint32_t v : {0u, 1u, 5u, 0xffffffffu}) {
    Out o = Run(Call(14, kProg, v, kNull));
    ASSERT_EQ(Dispatcher::Outcome::kReply, o.outcome);
    EXPECT_EQ((W{14, 1, 0, 0, 0, 2, 2, 4}), Words(o.reply)) << "vers " << v;
    EXPECT_EQ(32u, o.reply.size());
  }
  EXPECT_EQ(0, prog_.runs[kNull]);
  // The ends of the range are served.
  EXPECT_EQ(Dispatcher::Outcome::kReply, Run(Call(1, kProg, 2, kNull)).outcome);
  EXPECT_EQ(Dispatcher::Outcome::kReply, Run(Call(1, kProg, 4, kNull)).outcome);
  EXPECT_EQ(2, prog_.runs[kNull]);
}

TEST_F(DispatcherTest, UnknownProcedureIsProcUnavail) {
  Out o = Run(Call(15, kProg, 3, 99));
  ASSERT_EQ(Dispatcher::Outcome::kReply, o.outcome);
  EXPECT_EQ((W{15, 1, 0, 0, 0, 3}), Words(o.reply));
  EXPECT_EQ(24u, o.reply.size());
}

TEST_F(DispatcherTest, GarbageArgumentsDiscardPartialResults) {
  // opaque<16> of 17 bytes, and a truncated opaque.
  for (const std::string& args :
       {std::string(Wire().Opaque(std::string(17, 'x'))),
        std::string(Wire().U32(8).Raw("abc"))}) {
    Out o = Run(Call(16, kProg, 3, kEcho, args), Peer::Loopback(), "HDR!");
    ASSERT_EQ(Dispatcher::Outcome::kReply, o.outcome);
    EXPECT_EQ((W{16, 1, 0, 0, 0, 4}), Words(o.reply));
    EXPECT_EQ(24u, o.reply.size()) << "partial results were sent";
  }
}

TEST_F(DispatcherTest, SystemErrDiscardsPartialResults) {
  Out o = Run(Call(17, kProg, 3, kSysErr), Peer::Loopback(), "1234");
  ASSERT_EQ(Dispatcher::Outcome::kReply, o.outcome);
  EXPECT_EQ((W{17, 1, 0, 0, 0, 5}), Words(o.reply));
  EXPECT_EQ(24u, o.reply.size());
}

TEST_F(DispatcherTest, RpcVersionMismatchLayout) {
  CallSpec c;
  c.xid = 18;
  c.rpcvers = 3;
  c.prog = kProg;
  c.vers = 3;
  Out o = Run(CallBytes(c), Peer::Loopback(), "HDR!");
  ASSERT_EQ(Dispatcher::Outcome::kReply, o.outcome);
  // MSG_DENIED, RPC_MISMATCH, low 2, high 2 (RFC 5531 section 9).
  EXPECT_EQ((W{18, 1, 1, 0, 2, 2}), Words(o.reply));
  EXPECT_EQ(24u, o.reply.size());
  EXPECT_EQ("RPC version mismatch", ParseReply(o.reply).error);
  EXPECT_EQ(0, prog_.runs[kNull]);
}

TEST_F(DispatcherTest, AuthErrorLayout) {
  CallSpec c;
  c.xid = 19;
  c.prog = kProg;
  c.vers = 3;
  c.cred_flavor = kAuthSys;
  c.cred = AuthSysBody(0, "h", 0, 0, std::vector<uint32_t>(17, 1));
  Out o = Run(CallBytes(c));
  ASSERT_EQ(Dispatcher::Outcome::kReply, o.outcome);
  // MSG_DENIED, AUTH_ERROR, AUTH_BADCRED.
  EXPECT_EQ((W{19, 1, 1, 1, 1}), Words(o.reply));
  EXPECT_EQ(20u, o.reply.size());
  EXPECT_EQ(0, prog_.runs[kNull]);

  c.cred_flavor = kRpcsecGss;
  c.cred = Wire().U32(1).U32(0).U32(0).U32(0).Opaque("");
  o = Run(CallBytes(c));
  ASSERT_EQ(Dispatcher::Outcome::kReply, o.outcome);
  W w = Words(o.reply);
  ASSERT_EQ(5u, w.size());
  EXPECT_EQ((W{19, 1, 1, 1}), W(w.begin(), w.begin() + 4));
  EXPECT_NE(0u, w[4]) << "AUTH_ERROR with AUTH_OK";
}

TEST_F(DispatcherTest, MalformedHeaderAfterTheXidIsGarbageArgs) {
  std::string msg = Wire().U32(20).U32(0).U32(2).U32(kProg);  // cut short
  Out o = Run(msg);
  ASSERT_EQ(Dispatcher::Outcome::kReply, o.outcome);
  EXPECT_EQ((W{20, 1, 0, 0, 0, 4}), Words(o.reply));
}

TEST_F(DispatcherTest, NotACallClosesAndSendsNothing) {
  for (const std::string& msg :
       {std::string(), std::string("abc"), std::string(Wire().U32(1)),
        std::string(Wire().U32(21).U32(1).U32(0).U32(0).U32(0).U32(0))}) {
    Out o = Run(msg, Peer::Loopback(), "HDR!");
    EXPECT_EQ(Dispatcher::Outcome::kClose, o.outcome);
    EXPECT_EQ("", o.reply);
  }
}

TEST_F(DispatcherTest, OneWayProcedureSendsNothing) {
  Out o = Run(Call(22, kProg, 3, kOneWay), Peer::Loopback(), "HDR!");
  EXPECT_EQ(Dispatcher::Outcome::kNone, o.outcome);
  EXPECT_EQ("", o.reply) << "results of a one-way call were left behind";
  EXPECT_EQ(1, prog_.runs[kOneWay]);
}

TEST_F(DispatcherTest, CountersCountCallsAndRejections) {
  Run(Call(1, kProg, 3, kNull));
  Run(Call(2, 1, 1, 0));       // PROG_UNAVAIL
  Run(Call(3, kProg, 9, 0));   // PROG_MISMATCH
  Run(Call(4, kProg, 3, 77));  // PROC_UNAVAIL
  Dispatcher::Counters c = d_.counters();
  EXPECT_EQ(4u, c.calls);
  EXPECT_EQ(3u, c.rejected);
}

// ---- duplicate-request cache ----

TEST_F(DispatcherTest, RetransmittedNonIdempotentCallIsAnsweredFromCache) {
  std::string msg = Call(100, kProg, 3, kIncr, Wire().U32(5));
  Out first = Run(msg, Peer::V4(0x0a000001, 900));
  ASSERT_EQ(Dispatcher::Outcome::kReply, first.outcome);
  ASSERT_TRUE(ParseReply(first.reply).ok);
  Out again = Run(msg, Peer::V4(0x0a000001, 900), "HDR!");
  ASSERT_EQ(Dispatcher::Outcome::kReply, again.outcome);
  EXPECT_EQ(first.reply, again.reply) << "the retransmission got another reply";
  EXPECT_EQ(1, prog_.runs[kIncr]) << "a non-idempotent call ran twice";
  EXPECT_EQ(1u, d_.counters().drc_hits);
  // Over and over, also from another port of the same host.
  for (uint16_t port = 901; port < 905; ++port) {
    EXPECT_EQ(first.reply, Run(msg, Peer::V4(0x0a000001, port)).reply);
  }
  EXPECT_EQ(1, prog_.runs[kIncr]);
}

TEST_F(DispatcherTest, SameXidWithOtherArgumentsRunsAgain) {
  Out a = Run(Call(101, kProg, 3, kIncr, Wire().U32(5)));
  Out b = Run(Call(101, kProg, 3, kIncr, Wire().U32(6)));
  EXPECT_EQ(2, prog_.runs[kIncr]);
  EXPECT_NE(a.reply, b.reply);
  Reader r(ParseReply(b.reply).results);
  EXPECT_EQ(2u, r.U32());
}

TEST_F(DispatcherTest, SameXidFromAnotherAddressRunsAgain) {
  std::string msg = Call(102, kProg, 3, kIncr);
  Run(msg, Peer::V4(0x0a000001, 900));
  Run(msg, Peer::V4(0x0a000002, 900));
  Peer v6;
  ASSERT_TRUE(Peer::Parse("fd00::1", 900, &v6));
  Run(msg, v6);
  EXPECT_EQ(3, prog_.runs[kIncr]);
  // And each address then hits its own entry.
  Run(msg, Peer::V4(0x0a000002, 900));
  Run(msg, v6);
  EXPECT_EQ(3, prog_.runs[kIncr]);
}

TEST_F(DispatcherTest, OtherXidOrProcedureOrVersionRunsAgain) {
  Run(Call(103, kProg, 3, kIncr));
  Run(Call(104, kProg, 3, kIncr));
  Run(Call(103, kProg, 4, kIncr));
  EXPECT_EQ(3, prog_.runs[kIncr]);
}

TEST_F(DispatcherTest, MappedIpv6AddressIsTheSameClient) {
  std::string msg = Call(105, kProg, 3, kIncr);
  Run(msg, Peer::V4(0x0a000001, 900));
  Peer mapped;
  ASSERT_TRUE(Peer::Parse("::ffff:10.0.0.1", 901, &mapped));
  Out o = Run(msg, mapped);
  EXPECT_EQ(1, prog_.runs[kIncr]);
  EXPECT_EQ(Dispatcher::Outcome::kReply, o.outcome);
}

TEST_F(DispatcherTest, IdempotentCallsAlwaysRun) {
  std::string msg = Call(106, kProg, 3, kEcho, Wire().Opaque("x"));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Dispatcher::Outcome::kReply, Run(msg).outcome);
  }
  EXPECT_EQ(3, prog_.runs[kEcho]);
  EXPECT_EQ(0u, d_.counters().drc_hits);
}

TEST_F(DispatcherTest, OneWayNonIdempotentCallIsNotCached) {
  std::string msg = Call(107, kProg, 3, kOneWay);
  EXPECT_EQ(Dispatcher::Outcome::kNone, Run(msg).outcome);
  EXPECT_EQ(Dispatcher::Outcome::kNone, Run(msg).outcome);
  EXPECT_EQ(2, prog_.runs[kOneWay]);
}

TEST_F(DispatcherTest, RetransmissionWhileRunningIsDropped) {
  std::string msg = Call(108, kProg, 3, kBlock);
  Out first;
  std::thread t([&] { first = Run(msg); });
  {
    std::unique_lock<std::mutex> lk(prog_.mu);
    ASSERT_TRUE(prog_.cv.wait_for(lk, std::chrono::seconds(10),
                                  [&] { return prog_.entered; }));
  }
  Out dup = Run(msg, Peer::Loopback(801), "HDR!");
  EXPECT_EQ(Dispatcher::Outcome::kNone, dup.outcome);
  EXPECT_EQ("", dup.reply);
  EXPECT_EQ(1u, d_.counters().drc_drops);
  {
    std::lock_guard<std::mutex> lk(prog_.mu);
    prog_.released = true;
  }
  prog_.cv.notify_all();
  t.join();
  ASSERT_EQ(Dispatcher::Outcome::kReply, first.outcome);
  EXPECT_EQ(1, prog_.runs[kBlock]);
  // Now that it finished, a retransmission gets the same reply.
  Out later = Run(msg);
  EXPECT_EQ(first.reply, later.reply);
  EXPECT_EQ(1, prog_.runs[kBlock]);
}

TEST(DispatcherDrc, OldestEntriesAreEvictedBeyondTheSizeLimit) {
  FakeProgram prog;
  DispatcherOptions opts;
  opts.drc_entries = 2;
  Dispatcher d(opts);
  d.Register(&prog);
  std::string a = Call(1, kProg, 3, kIncr), b = Call(2, kProg, 3, kIncr),
              c = Call(3, kProg, 3, kIncr);
  RunOn(d, a, Peer::Loopback());
  RunOn(d, b, Peer::Loopback());
  RunOn(d, b, Peer::Loopback());  // hit
  EXPECT_EQ(2, prog.runs[kIncr]);
  RunOn(d, c, Peer::Loopback());  // evicts a
  RunOn(d, a, Peer::Loopback());  // runs again
  EXPECT_EQ(4, prog.runs[kIncr]);
}

TEST(DispatcherDrc, ExpiredEntriesAreEvicted) {
  FakeProgram prog;
  DispatcherOptions opts;
  opts.drc_max_age_ms = 1;
  Dispatcher d(opts);
  d.Register(&prog);
  std::string a = Call(1, kProg, 3, kIncr), b = Call(2, kProg, 3, kIncr);
  RunOn(d, a, Peer::Loopback());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  RunOn(d, b, Peer::Loopback());  // evicts the old a
  RunOn(d, a, Peer::Loopback());
  EXPECT_EQ(3, prog.runs[kIncr]);
}

TEST(DispatcherDrc, ManyThreadsRetransmittingRunOnce) {
  FakeProgram prog;
  Dispatcher d;
  d.Register(&prog);
  std::string msg = Call(77, kProg, 3, kIncr, Wire().U32(1));
  std::vector<std::thread> ts;
  std::atomic<int> replies{0};
  std::mutex mu;
  std::vector<std::string> seen;
  for (int i = 0; i < 8; ++i) {
    ts.emplace_back([&] {
      for (int k = 0; k < 50; ++k) {
        std::string reply;
        if (d.Dispatch(msg, Peer::Loopback(), Transport::kTcp, &reply) ==
            Dispatcher::Outcome::kReply) {
          ++replies;
          std::lock_guard<std::mutex> lk(mu);
          seen.push_back(reply);
        }
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(1, prog.runs[kIncr]);
  ASSERT_FALSE(seen.empty());
  for (const std::string& s : seen) EXPECT_EQ(seen[0], s);
}

TEST(DispatcherRegistry, FindsRegisteredPrograms) {
  FakeProgram prog;
  Dispatcher d;
  EXPECT_EQ(nullptr, d.Find(kProg));
  d.Register(&prog);
  EXPECT_EQ(&prog, d.Find(kProg));
  EXPECT_EQ(nullptr, d.Find(kProg + 1));
}

// ---- Peer ----

TEST(Peer, ParsesAndPrintsAddresses) {
  Peer p;
  ASSERT_TRUE(Peer::Parse("192.168.1.2", 811, &p));
  EXPECT_EQ(AF_INET, p.family);
  EXPECT_EQ("192.168.1.2", p.AddressString());
  EXPECT_EQ("192.168.1.2:811", p.ToString());
  ASSERT_TRUE(Peer::Parse("::1", 811, &p));
  EXPECT_EQ(AF_INET6, p.family);
  EXPECT_EQ("[::1]:811", p.ToString());
  ASSERT_TRUE(Peer::Parse("::ffff:10.1.2.3", 5, &p));
  EXPECT_EQ(AF_INET, p.family) << "a mapped address stays IPv6";
  EXPECT_EQ("10.1.2.3", p.AddressString());
  EXPECT_FALSE(Peer::Parse("", 0, &p));
  EXPECT_FALSE(Peer::Parse("localhost", 0, &p));
  EXPECT_FALSE(Peer::Parse("1.2.3.4.5", 0, &p));
  EXPECT_EQ("127.0.0.1", Peer::Loopback().AddressString());
  EXPECT_TRUE(Peer::V4(0x0a000001, 1).SameAddress(Peer::V4(0x0a000001, 2)));
  EXPECT_FALSE(Peer::V4(0x0a000001, 1).SameAddress(Peer::V4(0x0a000002, 1)));
}

}  // namespace
}  // namespace concordfs::rpc
