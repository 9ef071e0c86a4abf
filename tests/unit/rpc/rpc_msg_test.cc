// ParseCall, the reply writers and ParseReply against the message layouts
// of RFC 5531 (ONC RPC version 2), built and checked by hand.
#include "rpc/rpc_msg.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "tests/unit/rpc/rpc_test_util.h"

namespace concordfs::rpc {
namespace {

using testing::AuthSysBody;
using testing::CallBytes;
using testing::CallSpec;
using testing::Wire;
using testing::Words;
using Kind = ParsedCall::Kind;
using W = std::vector<uint32_t>;

const char* KindName(Kind k) {
  switch (k) {
    case Kind::kCall:
      return "kCall";
    case Kind::kDrop:
      return "kDrop";
    case Kind::kRpcMismatch:
      return "kRpcMismatch";
    case Kind::kAuthError:
      return "kAuthError";
    case Kind::kGarbage:
      return "kGarbage";
  }
  return "?";
}

// ParseCall over an exact-size heap copy, so ASan catches overreads.
ParsedCall Parse(const std::string& msg) {
  static std::vector<std::unique_ptr<char[]>> keep;  // header.args views
  keep.emplace_back(new char[msg.size() + 1]);
  std::memcpy(keep.back().get(), msg.data(), msg.size());
  return ParseCall(std::string_view(keep.back().get(), msg.size()));
}

CallSpec NfsCall() {
  CallSpec c;
  c.xid = 0xcafe0001;
  c.prog = 100003;
  c.vers = 3;
  c.proc = 1;
  c.args = Wire().Opaque("handle");
  return c;
}

CallSpec SysCall(std::string machine, std::vector<uint32_t> gids) {
  CallSpec c = NfsCall();
  c.cred_flavor = kAuthSys;
  c.cred = AuthSysBody(77, machine, 1000, 100, gids);
  return c;
}

TEST(ParseCall, ValidAuthNone) {
  CallSpec c = NfsCall();
  ParsedCall pc = Parse(CallBytes(c));
  ASSERT_EQ(Kind::kCall, pc.kind) << KindName(pc.kind);
  EXPECT_EQ(0xcafe0001u, pc.header.xid);
  EXPECT_EQ(100003u, pc.header.prog);
  EXPECT_EQ(3u, pc.header.vers);
  EXPECT_EQ(1u, pc.header.proc);
  EXPECT_EQ(kAuthNone, pc.header.flavor);
  EXPECT_FALSE(pc.header.sys.has_value());
  EXPECT_EQ(c.args, pc.header.args);
}

TEST(ParseCall, ValidAuthSys) {
  std::vector<uint32_t> gids = {1,  2,  3,  4,  5,  6,  7, 8, 9,
                                10, 11, 12, 13, 14, 15, 16};  // the maximum: 16
  CallSpec c = SysCall("client.example", gids);
  c.args = "ARGS";
  ParsedCall pc = Parse(CallBytes(c));
  ASSERT_EQ(Kind::kCall, pc.kind) << KindName(pc.kind);
  EXPECT_EQ(kAuthSys, pc.header.flavor);
  ASSERT_TRUE(pc.header.sys.has_value());
  EXPECT_EQ(77u, pc.header.sys->stamp);
  EXPECT_EQ("client.example", pc.header.sys->machine);
  EXPECT_EQ(1000u, pc.header.sys->uid);
  EXPECT_EQ(100u, pc.header.sys->gid);
  EXPECT_EQ(gids, pc.header.sys->gids);
  EXPECT_EQ("ARGS", pc.header.args);
}

TEST(ParseCall, AuthSysWithoutArgsAndEmptyMachine) {
  CallSpec c = SysCall("", {});
  c.args.clear();
  ParsedCall pc = Parse(CallBytes(c));
  ASSERT_EQ(Kind::kCall, pc.kind) << KindName(pc.kind);
  EXPECT_EQ("", pc.header.sys->machine);
  EXPECT_TRUE(pc.header.sys->gids.empty());
  EXPECT_TRUE(pc.header.args.empty());
}

TEST(ParseCall, VerifierBodyIsSkipped) {
  // A verifier with a body: its length and padding are skipped.
  CallSpec c = NfsCall();
  c.verf_flavor = kAuthNone;
  c.verf = "12345";
  ParsedCall pc = Parse(CallBytes(c));
  ASSERT_EQ(Kind::kCall, pc.kind) << KindName(pc.kind);
  EXPECT_EQ(c.args, pc.header.args);
}

TEST(ParseCall, RpcVersionOtherThanTwoIsRpcMismatch) {
  for (uint32_t v : {0u, 1u, 3u, 0xffffffffu}) {
    CallSpec c = NfsCall();
    c.rpcvers = v;
    ParsedCall pc = Parse(CallBytes(c));
    EXPECT_EQ(Kind::kRpcMismatch, pc.kind)
        << "rpcvers " << v << " " << KindName(pc.kind);
    EXPECT_EQ(0xcafe0001u, pc.header.xid);
  }
  // Only the version word is needed for the decision.
  std::string shortmsg = Wire().U32(9).U32(0).U32(3);
  ParsedCall pc = Parse(shortmsg);
  EXPECT_EQ(Kind::kRpcMismatch, pc.kind) << KindName(pc.kind);
  EXPECT_EQ(9u, pc.header.xid);
}

TEST(ParseCall, ReplyIsDropped) {
  CallSpec c = NfsCall();
  c.mtype = 1;  // REPLY
  EXPECT_EQ(Kind::kDrop, Parse(CallBytes(c)).kind);
  c.mtype = 2;  // neither
  EXPECT_EQ(Kind::kDrop, Parse(CallBytes(c)).kind);
}

TEST(ParseCall, TooShortForAnXidOrTypeIsDropped) {
  EXPECT_EQ(Kind::kDrop, Parse("").kind);
  EXPECT_EQ(Kind::kDrop, Parse("abc").kind);
  EXPECT_EQ(Kind::kDrop, Parse(Wire().U32(5)).kind);
  EXPECT_EQ(Kind::kDrop,
            Parse(Wire().U32(5).Raw(std::string_view("\0\0\0", 3))).kind);
}

TEST(ParseCall, EveryTruncatedHeaderIsRejectedNeverACall) {
  CallSpec c = SysCall("host", {1, 2});
  c.verf = "vv";
  c.args.clear();
  std::string full = CallBytes(c);
  ASSERT_EQ(Kind::kCall, Parse(full).kind);
  for (size_t n = 0; n < full.size(); ++n) {
    ParsedCall pc = Parse(full.substr(0, n));
    if (n < 8) {
      EXPECT_EQ(Kind::kDrop, pc.kind) << n << " " << KindName(pc.kind);
    } else {
      // The xid is known: the caller gets an answer (garbage, or the
      // credential that was cut short is bad).
      EXPECT_TRUE(pc.kind == Kind::kGarbage || pc.kind == Kind::kAuthError)
          << n << " " << KindName(pc.kind);
      EXPECT_EQ(c.xid, pc.header.xid) << n;
    }
  }
}

TEST(ParseCall, CredentialLongerThan400BytesIsBadCred) {
  CallSpec c = NfsCall();
  c.cred_flavor = kAuthNone;
  c.cred = std::string(401, 'c');
  ParsedCall pc = Parse(CallBytes(c));
  EXPECT_EQ(Kind::kAuthError, pc.kind) << KindName(pc.kind);
  EXPECT_EQ(AuthStat::kBadCred, pc.auth);
  EXPECT_EQ(0xcafe0001u, pc.header.xid);

  // The length alone decides: a huge announced length with no body.
  std::string huge =
      Wire().U32(7).U32(0).U32(2).U32(100003).U32(3).U32(0).U32(kAuthSys).U32(
          0xfffffff0u);
  pc = Parse(huge);
  EXPECT_EQ(Kind::kAuthError, pc.kind) << KindName(pc.kind);
  EXPECT_EQ(AuthStat::kBadCred, pc.auth);

  // 400 bytes is allowed (AUTH_NONE ignores the body).
  c.cred = std::string(400, 'c');
  EXPECT_EQ(Kind::kCall, Parse(CallBytes(c)).kind);
}

TEST(ParseCall, VerifierLongerThan400BytesIsAnAuthError) {
  CallSpec c = NfsCall();
  c.verf = std::string(401, 'v');
  ParsedCall pc = Parse(CallBytes(c));
  EXPECT_EQ(Kind::kAuthError, pc.kind) << KindName(pc.kind);
  EXPECT_EQ(AuthStat::kBadVerf, pc.auth);
}

TEST(ParseCall, AuthSysWith17GroupsIsBadCred) {
  std::vector<uint32_t> gids(17, 5);
  ParsedCall pc = Parse(CallBytes(SysCall("h", gids)));
  EXPECT_EQ(Kind::kAuthError, pc.kind) << KindName(pc.kind);
  EXPECT_EQ(AuthStat::kBadCred, pc.auth);
  // A group count far beyond the body.
  CallSpec c = NfsCall();
  c.cred_flavor = kAuthSys;
  c.cred = Wire().U32(1).Opaque("h").U32(0).U32(0).U32(0xffffffffu);
  pc = Parse(CallBytes(c));
  EXPECT_EQ(Kind::kAuthError, pc.kind) << KindName(pc.kind);
  EXPECT_EQ(AuthStat::kBadCred, pc.auth);
}

TEST(ParseCall, MachineNameOf255BytesIsTheLimit) {
  ParsedCall ok = Parse(CallBytes(SysCall(std::string(255, 'm'), {})));
  EXPECT_EQ(Kind::kCall, ok.kind) << KindName(ok.kind);
  ParsedCall pc = Parse(CallBytes(SysCall(std::string(256, 'm'), {})));
  EXPECT_EQ(Kind::kAuthError, pc.kind) << KindName(pc.kind);
  EXPECT_EQ(AuthStat::kBadCred, pc.auth);
}

TEST(ParseCall, MalformedAuthSysBodyIsBadCred) {
  CallSpec c = NfsCall();
  c.cred_flavor = kAuthSys;
  std::string body = AuthSysBody(1, "host", 1000, 1000, {1, 2});
  // Cut short at every length, and with trailing bytes.
  for (size_t n = 0; n < body.size(); n += 4) {
    c.cred = body.substr(0, n);
    ParsedCall pc = Parse(CallBytes(c));
    EXPECT_EQ(Kind::kAuthError, pc.kind) << n << " " << KindName(pc.kind);
    EXPECT_EQ(AuthStat::kBadCred, pc.auth) << n;
  }
  c.cred = body + std::string(4, '\0');
  ParsedCall pc = Parse(CallBytes(c));
  EXPECT_EQ(Kind::kAuthError, pc.kind) << KindName(pc.kind);
  EXPECT_EQ(AuthStat::kBadCred, pc.auth);
}

TEST(ParseCall, UnsupportedFlavorsAreAuthErrors) {
  for (uint32_t flavor :
       {static_cast<uint32_t>(kAuthShort), static_cast<uint32_t>(kAuthDh),
        static_cast<uint32_t>(kRpcsecGss), 390003u}) {
    CallSpec c = NfsCall();
    c.cred_flavor = flavor;
    c.cred = Wire().U32(1).U32(0).U32(0).U32(0).Opaque("ctx");
    ParsedCall pc = Parse(CallBytes(c));
    EXPECT_EQ(Kind::kAuthError, pc.kind)
        << "flavor " << flavor << " " << KindName(pc.kind);
    // Any of the "your credential is refused" codes (Linux nfsd answers
    // AUTH_BADCRED for flavors it does not know).
    EXPECT_TRUE(pc.auth == AuthStat::kBadCred ||
                pc.auth == AuthStat::kRejectedCred ||
                pc.auth == AuthStat::kTooWeak)
        << "flavor " << flavor << " auth " << static_cast<uint32_t>(pc.auth);
    EXPECT_EQ(0xcafe0001u, pc.header.xid);
  }
}

TEST(ParseCall, UnsupportedVerifierFlavorIsAnAuthError) {
  CallSpec c = NfsCall();
  c.verf_flavor = kRpcsecGss;
  c.verf = "gss-checksum";
  ParsedCall pc = Parse(CallBytes(c));
  EXPECT_EQ(Kind::kAuthError, pc.kind) << KindName(pc.kind);
  EXPECT_NE(AuthStat::kOk, pc.auth);
}

TEST(ParseCall, AppendCallHeaderRoundTrips) {
  AuthSys cred;
  cred.stamp = 5;
  cred.machine = "abc";
  cred.uid = 10;
  cred.gid = 20;
  cred.gids = {30, 40};
  std::string msg;
  AppendCallHeader(&msg, 99, 100005, 3, 1, &cred);
  msg += "tail";
  ParsedCall pc = Parse(msg);
  ASSERT_EQ(Kind::kCall, pc.kind);
  EXPECT_EQ(99u, pc.header.xid);
  EXPECT_EQ(100005u, pc.header.prog);
  EXPECT_EQ(3u, pc.header.vers);
  EXPECT_EQ(1u, pc.header.proc);
  ASSERT_TRUE(pc.header.sys);
  EXPECT_EQ("abc", pc.header.sys->machine);
  EXPECT_EQ(cred.gids, pc.header.sys->gids);
  EXPECT_EQ("tail", pc.header.args);

  std::string none;
  AppendCallHeader(&none, 1, 2, 3, 4);
  EXPECT_EQ((W{1, 0, 2, 2, 3, 4, 0, 0, 0, 0}), Words(none));
  EXPECT_EQ(40u, none.size());
}

// ---- reply writers: exact layouts of RFC 5531 section 9 ----

TEST(ReplyWriters, AcceptedHeader) {
  std::string out = "HDR!";
  AppendAcceptedHeader(&out, 0x11223344, AcceptStat::kSuccess);
  ASSERT_EQ(4u + 24u, out.size());
  EXPECT_EQ("HDR!", out.substr(0, 4));
  // xid, REPLY, MSG_ACCEPTED, verf {AUTH_NONE, 0}, SUCCESS
  EXPECT_EQ((W{0x11223344, 1, 0, 0, 0, 0}), Words(out.substr(4)));
  std::string g;
  AppendAcceptedHeader(&g, 7, AcceptStat::kGarbageArgs);
  EXPECT_EQ((W{7, 1, 0, 0, 0, 4}), Words(g));
}

TEST(ReplyWriters, ProgMismatchCarriesLowAndHigh) {
  std::string out;
  AppendProgMismatch(&out, 9, 3, 4);
  EXPECT_EQ(32u, out.size());
  EXPECT_EQ((W{9, 1, 0, 0, 0, 2, 3, 4}), Words(out));
}

TEST(ReplyWriters, RpcMismatchIsDeniedWithTwoTwo) {
  std::string out;
  AppendRpcMismatch(&out, 9);
  EXPECT_EQ(24u, out.size());
  // xid, REPLY, MSG_DENIED, RPC_MISMATCH, low 2, high 2
  EXPECT_EQ((W{9, 1, 1, 0, 2, 2}), Words(out));
}

TEST(ReplyWriters, AuthErrorCarriesTheStat) {
  std::string out;
  AppendAuthError(&out, 9, AuthStat::kBadCred);
  EXPECT_EQ(20u, out.size());
  // xid, REPLY, MSG_DENIED, AUTH_ERROR, AUTH_BADCRED
  EXPECT_EQ((W{9, 1, 1, 1, 1}), Words(out));
  out.clear();
  AppendAuthError(&out, 9, AuthStat::kTooWeak);
  EXPECT_EQ((W{9, 1, 1, 1, 5}), Words(out));
}

// ---- ParseReply ----

TEST(ParseReply, SuccessReturnsTheResults) {
  std::string r;
  AppendAcceptedHeader(&r, 42, AcceptStat::kSuccess);
  r += "results!";
  ParsedReply p = ParseReply(r);
  EXPECT_TRUE(p.ok) << p.error;
  EXPECT_EQ(42u, p.xid);
  EXPECT_EQ("results!", p.results);
}

TEST(ParseReply, SkipsAVerifierBody) {
  std::string r =
      Wire().U32(42).U32(1).U32(0).U32(1).Opaque("verf!").U32(0).Raw("res");
  ParsedReply p = ParseReply(r);
  EXPECT_TRUE(p.ok) << p.error;
  EXPECT_EQ("res", p.results);
}

TEST(ParseReply, EveryRejectionIsAnError) {
  struct Case {
    std::string reply;
    const char* want;
  };
  std::vector<Case> cases;
  std::string s;
  AppendAcceptedHeader(&s, 1, AcceptStat::kProgUnavail);
  cases.push_back({s, "PROG_UNAVAIL"});
  s.clear();
  AppendProgMismatch(&s, 1, 2, 3);
  cases.push_back({s, "PROG_MISMATCH"});
  s.clear();
  AppendAcceptedHeader(&s, 1, AcceptStat::kProcUnavail);
  cases.push_back({s, "PROC_UNAVAIL"});
  s.clear();
  AppendAcceptedHeader(&s, 1, AcceptStat::kGarbageArgs);
  cases.push_back({s, "GARBAGE_ARGS"});
  s.clear();
  AppendAcceptedHeader(&s, 1, AcceptStat::kSystemErr);
  cases.push_back({s, "SYSTEM_ERR"});
  s.clear();
  AppendRpcMismatch(&s, 1);
  cases.push_back({s, "mismatch"});
  s.clear();
  AppendAuthError(&s, 1, AuthStat::kBadCred);
  cases.push_back({s, "authentication error 1"});
  for (const Case& c : cases) {
    ParsedReply p = ParseReply(c.reply);
    EXPECT_FALSE(p.ok) << c.want;
    EXPECT_EQ(1u, p.xid);
    EXPECT_NE(std::string::npos, p.error.find(c.want))
        << "error '" << p.error << "' does not name " << c.want;
  }
}

TEST(ParseReply, CallsAndTruncatedRepliesAreErrors) {
  EXPECT_FALSE(ParseReply("").ok);
  EXPECT_FALSE(ParseReply(CallBytes(NfsCall())).ok);
  std::string r;
  AppendAcceptedHeader(&r, 42, AcceptStat::kSuccess);
  for (size_t n = 0; n < r.size(); ++n) {
    ParsedReply p = ParseReply(r.substr(0, n));
    EXPECT_FALSE(p.ok) << "a " << n << "-byte prefix parsed as a reply";
    EXPECT_FALSE(p.error.empty());
  }
}

TEST(AcceptStatName, NamesEveryStat) {
  EXPECT_STREQ("SUCCESS", AcceptStatName(AcceptStat::kSuccess));
  EXPECT_STREQ("PROG_UNAVAIL", AcceptStatName(AcceptStat::kProgUnavail));
  EXPECT_STREQ("PROG_MISMATCH", AcceptStatName(AcceptStat::kProgMismatch));
  EXPECT_STREQ("PROC_UNAVAIL", AcceptStatName(AcceptStat::kProcUnavail));
  EXPECT_STREQ("GARBAGE_ARGS", AcceptStatName(AcceptStat::kGarbageArgs));
  EXPECT_STREQ("SYSTEM_ERR", AcceptStatName(AcceptStat::kSystemErr));
}

}  // namespace
}  // namespace concordfs::rpc
