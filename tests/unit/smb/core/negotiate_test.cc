// NEGOTIATE as a client sees it: dialect selection, 3.1.1 negotiate
// contexts (preauth, ciphers, signing algorithms), a repeated NEGOTIATE and
// the SMB1 upgrade path.
#include <gtest/gtest.h>

#include <map>

#include "tests/unit/smb/core/smb_test_util.h"

namespace concordfs::smb::testing {
namespace {

// The negotiate contexts of a NEGOTIATE response, by type.
std::map<uint16_t, std::string> ResponseContexts(const Response& r) {
  std::map<uint16_t, std::string> out;
  LeReader cr(r.raw);
  cr.Seek(r.U32(60));
  for (uint16_t i = 0; i < r.U16(6) && cr.ok(); ++i) {
    cr.Align(8);
    uint16_t type = cr.U16();
    uint16_t len = cr.U16();
    cr.Skip(4);
    std::string_view data = cr.Bytes(len);
    if (cr.ok()) out[type] = std::string(data);
  }
  EXPECT_TRUE(cr.ok());
  return out;
}

uint16_t FirstId(const std::string& ctx_data) {
  LeReader r(ctx_data);
  EXPECT_EQ(r.U16(), 1) << "one id expected";
  return r.U16();
}

TEST(NegotiateTest, HighestCommonDialectForEverySubset) {
  const std::vector<uint16_t> all = {kDialect202, kDialect210, kDialect300,
                                     kDialect302, kDialect311};
  for (unsigned mask = 1; mask < 32; ++mask) {
    NegotiateOptions no;
    no.dialects.clear();
    uint16_t best = 0;
    // Listed highest first, as order must not matter.
    for (int i = 4; i >= 0; --i) {
      if (mask & (1u << i)) {
        no.dialects.push_back(all[i]);
        best = std::max(best, all[i]);
      }
    }
    SmbTestClient c;
    Response r = c.Negotiate(no);
    ASSERT_EQ(r.status(), kStatusSuccess) << "mask " << mask;
    EXPECT_EQ(r.U16(0), 65);
    EXPECT_EQ(r.U16(4), best) << "mask " << mask;
    EXPECT_EQ(r.h.command, kNegotiate);
    EXPECT_TRUE(r.h.flags & kFlagServerToRedir);
    EXPECT_GE(r.h.credits, 1);
    EXPECT_EQ(r.U16(6) != 0, best == kDialect311) << "contexts only for 3.1.1";
    EXPECT_EQ(r.U32(24) & kCapLargeMtu, best >= kDialect210 ? kCapLargeMtu : 0);
    EXPECT_FALSE(c.transport().closed());
  }
}

TEST(NegotiateTest, UnknownDialectsAreIgnored) {
  SmbTestClient c;
  NegotiateOptions no;
  no.dialects = {0x0100, kDialect210, 0x0400, 0x02FF};
  Response r = c.Negotiate(no);
  ASSERT_EQ(r.status(), kStatusSuccess);
  EXPECT_EQ(r.U16(4), kDialect210);
}

TEST(NegotiateTest, NoCommonDialectIsNotSupported) {
  SmbTestClient c;
  NegotiateOptions no;
  no.dialects = {0x0100, 0x0400, 0x0201};
  Response r = c.Negotiate(no);
  EXPECT_EQ(r.status(), kStatusNotSupported);
  EXPECT_EQ(r.U16(0), 9) << "error response body";
}

TEST(NegotiateTest, EmptyDialectListIsInvalid) {
  SmbTestClient c;
  NegotiateOptions no;
  no.dialects = {};
  EXPECT_EQ(c.Negotiate(no).status(), kStatusInvalidParameter);
}

TEST(NegotiateTest, Smb311WithoutPreauthContextIsInvalid) {
  SmbTestClient c;
  NegotiateOptions no;
  no.dialects = {kDialect300, kDialect311};
  no.preauth = false;
  EXPECT_EQ(c.Negotiate(no).status(), kStatusInvalidParameter);
  // Without any context at all.
  SmbTestClient c2;
  no.ciphers.clear();
  EXPECT_EQ(c2.Negotiate(no).status(), kStatusInvalidParameter);
}

TEST(NegotiateTest, PreauthContextAnswered) {
  SmbTestClient c;
  Response r = c.Negotiate();
  ASSERT_EQ(r.status(), kStatusSuccess);
  ASSERT_EQ(r.U16(4), kDialect311);
  EXPECT_EQ(r.U32(60) % 8, 0u) << "context offset aligned";
  auto ctx = ResponseContexts(r);
  ASSERT_TRUE(ctx.count(1));
  LeReader p(ctx[1]);
  EXPECT_EQ(p.U16(), 1);   // one hash algorithm
  EXPECT_EQ(p.U16(), 32);  // salt length
  EXPECT_EQ(p.U16(), 1);   // SHA-512
  EXPECT_EQ(p.remaining(), 32u);
}

TEST(NegotiateTest, CipherSelection) {
  struct Case {
    std::vector<uint16_t> offered;
    uint16_t chosen;  // 0: none in common
  };
  const Case cases[] = {
      {{1, 2}, 2}, {{2, 1}, 2},    {{1}, 1},       {{3, 4}, 4},
      {{3}, 3},    {{4, 3, 1}, 1}, {{0x99, 7}, 0}, {{1, 2, 3, 4}, 2},
  };
  for (const Case& k : cases) {
    SmbTestClient c;
    NegotiateOptions no;
    no.dialects = {kDialect311};
    no.ciphers = k.offered;
    Response r = c.Negotiate(no);
    ASSERT_EQ(r.status(), kStatusSuccess);
    auto ctx = ResponseContexts(r);
    ASSERT_TRUE(ctx.count(2)) << "encryption context expected";
    EXPECT_EQ(FirstId(ctx[2]), k.chosen) << "offered " << k.offered[0];
  }
  // No encryption context offered: none answered.
  SmbTestClient c;
  NegotiateOptions no;
  no.dialects = {kDialect311};
  no.ciphers.clear();
  Response r = c.Negotiate(no);
  ASSERT_EQ(r.status(), kStatusSuccess);
  EXPECT_FALSE(ResponseContexts(r).count(2));
}

TEST(NegotiateTest, SigningAlgorithmSelection) {
  struct Case {
    std::vector<uint16_t> offered;
    uint16_t chosen;
  };
  const Case cases[] = {
      {{0, 1, 2}, 2}, {{1, 0}, 1}, {{0}, 0}, {{2}, 2}, {{9, 1}, 1},
  };
  for (const Case& k : cases) {
    SmbTestClient c;
    NegotiateOptions no;
    no.dialects = {kDialect311};
    no.signing = k.offered;
    Response r = c.Negotiate(no);
    ASSERT_EQ(r.status(), kStatusSuccess);
    auto ctx = ResponseContexts(r);
    ASSERT_TRUE(ctx.count(8));
    EXPECT_EQ(FirstId(ctx[8]), k.chosen);
  }
  SmbTestClient c;
  Response r = c.Negotiate();
  EXPECT_FALSE(ResponseContexts(r).count(8)) << "not offered, not answered";
}

TEST(NegotiateTest, SigningRequiredIsAnnounced) {
  SmbOptions o = DefaultSmbOptions();
  o.signing_required = true;
  SmbTestClient c(o);
  Response r = c.Negotiate();
  ASSERT_EQ(r.status(), kStatusSuccess);
  EXPECT_EQ(r.U16(2), kSigningEnabled | kSigningRequired);
  SmbTestClient d;
  EXPECT_EQ(d.Negotiate().U16(2), kSigningEnabled);
}

TEST(NegotiateTest, EncryptionCapabilityForSmb3x) {
  SmbTestClient c;
  NegotiateOptions no;
  no.dialects = {kDialect302};
  Response r = c.Negotiate(no);
  ASSERT_EQ(r.status(), kStatusSuccess);
  EXPECT_TRUE(r.U32(24) & kCapEncryption);
  SmbTestClient d;
  no.caps = kCapLargeMtu;
  EXPECT_FALSE(d.Negotiate(no).U32(24) & kCapEncryption)
      << "only for clients that can encrypt";
}

TEST(NegotiateTest, SecondNegotiateClosesTheConnection) {
  SmbTestClient c;
  ASSERT_EQ(c.Negotiate().status(), kStatusSuccess);
  EXPECT_FALSE(c.transport().closed());
  Request q;
  q.command = kNegotiate;
  q.body = NegotiateBody({kDialect210});
  auto rs = c.SendRaw(c.Build(q));
  EXPECT_TRUE(rs.empty());
  EXPECT_TRUE(c.transport().closed());
  // Nothing more is answered.
  EXPECT_TRUE(c.SendRaw(c.Build(Req(kEcho, SmallBody(4)))).empty());
}

TEST(NegotiateTest, CommandsBeforeNegotiateAreRefused) {
  SmbTestClient c;
  Response r = c.Call(kSessionSetup, SessionSetupBody(""));
  EXPECT_EQ(r.status(), kStatusInvalidParameter);
}

TEST(NegotiateTest, Smb1WithWildcardGetsSmb2Wildcard) {
  SmbTestClient c;
  auto rs = c.SendRaw(Smb1Negotiate({"NT LM 0.12", "SMB 2.002", "SMB 2.???"}));
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].status(), kStatusSuccess);
  EXPECT_EQ(rs[0].h.command, kNegotiate);
  EXPECT_EQ(rs[0].h.message_id, 0u);
  EXPECT_EQ(rs[0].U16(0), 65);
  EXPECT_EQ(rs[0].U16(4), kDialectWildcard);
  // The client then negotiates with SMB2, message id 1.
  c.set_next_message_id(1);
  Response r = c.Negotiate();
  ASSERT_EQ(r.status(), kStatusSuccess);
  EXPECT_EQ(r.U16(4), kDialect311);
  EXPECT_EQ(c.Login(), kStatusSuccess);
}

TEST(NegotiateTest, Smb1WithOnly2002Gets2002) {
  SmbTestClient c;
  auto rs = c.SendRaw(Smb1Negotiate({"NT LM 0.12", "SMB 2.002"}));
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].U16(4), kDialect202);
  // Negotiated already: SESSION_SETUP follows at message id 1.
  c.set_next_message_id(1);
  EXPECT_EQ(c.Login(), kStatusSuccess);
  EXPECT_EQ(c.TreeConnect(), kStatusSuccess);
}

TEST(NegotiateTest, Smb1WithoutSmb2DialectsCloses) {
  SmbTestClient c;
  EXPECT_TRUE(c.SendRaw(Smb1Negotiate({"NT LM 0.12"})).empty());
  EXPECT_TRUE(c.transport().closed());
  SmbTestClient d;  // SMB1 after SMB2 negotiation
  ASSERT_EQ(d.Negotiate().status(), kStatusSuccess);
  EXPECT_TRUE(d.SendRaw(Smb1Negotiate({"SMB 2.002"})).empty());
  EXPECT_TRUE(d.transport().closed());
}

}  // namespace
}  // namespace concordfs::smb::testing
