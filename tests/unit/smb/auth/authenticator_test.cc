// End-to-end exchanges between the Authenticator and the test client, over
// SPNEGO and raw NTLMSSP, including every refusal the server must make.
#include "smb/auth/authenticator.h"

#include <gtest/gtest.h>

#include <map>

#include "smb/auth/ntlm_messages.h"
#include "smb/auth/spnego.h"
#include "smb/wire/le.h"
#include "smb/wire/unicode.h"
#include "tests/unit/smb/auth/test_ntlm_client.h"

namespace concordfs::smb {
namespace {

using testing::TestClientOptions;
using testing::TestNtlmClient;
using Step = Authenticator::Step;

class AuthenticatorTest : public ::testing::Test {
 protected:
  AuthenticatorTest() {
    SmbUser alice;
    alice.name = "alice";
    alice.nt_hash = NtHashOfPassword("s3cret pw");
    alice.uid = 1000;
    alice.gid = 100;
    users_.push_back(alice);
  }

  Authenticator Make() {
    return Authenticator(
        opts_, [this](std::string_view user, std::string_view domain) {
          last_domain_ = std::string(domain);
          for (const SmbUser& u : users_) {
            if (Utf8EqualsIgnoreCase(u.name, user)) return std::optional(u);
          }
          return std::optional<SmbUser>();
        });
  }

  static std::string ResponseToken(const Step& s) {
    auto r = ParseNegTokenResp(s.out_token);
    if (!r || !r->response_token) return {};
    return std::string(*r->response_token);
  }

  // NegTokenInit(NEGOTIATE) -> CHALLENGE -> NegTokenResp(AUTHENTICATE, MIC).
  Step RunSpnego(Authenticator& a, TestNtlmClient& c, bool send_mic = true) {
    std::vector<std::string_view> mechs{kOidNtlmssp};
    mech_types_der_ = EncodeMechTypeList(mechs);
    Step s1 = a.Process(EncodeNegTokenInit(mechs, c.Negotiate(), std::nullopt));
    EXPECT_EQ(s1.status, kStatusMoreProcessingRequired) << s1.error;
    challenge_ = ResponseToken(s1);
    NegTokenRespOut out;
    out.response_token = c.Authenticate(challenge_);
    if (send_mic) out.mech_list_mic = c.MechListMic(mech_types_der_);
    last_final_ = EncodeNegTokenResp(out);
    return a.Process(last_final_);
  }

  void ExpectReject(const Step& s, uint32_t status) {
    EXPECT_EQ(s.status, status) << s.error;
    EXPECT_FALSE(s.user);
    EXPECT_TRUE(s.session_key.empty());
    auto r = ParseNegTokenResp(s.out_token);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->neg_state, NegState::kReject);
  }

  AuthOptions opts_;
  std::vector<SmbUser> users_;
  std::string last_domain_, mech_types_der_, challenge_, last_final_;
};

TEST_F(AuthenticatorTest, FullSpnegoExchange) {
  Authenticator a = Make();
  TestNtlmClient c;
  std::vector<std::string_view> mechs{kOidNtlmssp};
  Step s1 = a.Process(EncodeNegTokenInit(mechs, c.Negotiate(), std::nullopt));
  ASSERT_EQ(s1.status, kStatusMoreProcessingRequired) << s1.error;
  auto r1 = ParseNegTokenResp(s1.out_token);
  ASSERT_TRUE(r1);
  EXPECT_EQ(r1->neg_state, NegState::kAcceptIncomplete);
  EXPECT_EQ(r1->supported_mech, kOidNtlmssp);
  ASSERT_TRUE(r1->response_token);
  std::string challenge(*r1->response_token);
  ASSERT_TRUE(c.ReadChallenge(challenge));

  NegTokenRespOut out;
  out.response_token = c.Authenticate(challenge);
  out.mech_list_mic = c.MechListMic(EncodeMechTypeList(mechs));
  Step s2 = a.Process(EncodeNegTokenResp(out));
  ASSERT_EQ(s2.status, kStatusSuccess) << s2.error;
  ASSERT_TRUE(s2.user);
  EXPECT_EQ(s2.user->name, "alice");
  EXPECT_EQ(s2.user->uid, 1000u);
  EXPECT_FALSE(s2.anonymous);
  EXPECT_EQ(last_domain_, "WORKGROUP");
  ASSERT_EQ(s2.session_key.size(), 16u);
  EXPECT_EQ(s2.session_key, c.exported_session_key());

  auto r2 = ParseNegTokenResp(s2.out_token);
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->neg_state, NegState::kAcceptCompleted);
  EXPECT_FALSE(r2->response_token);
  ASSERT_TRUE(r2->mech_list_mic);
  EXPECT_TRUE(c.VerifyServerMic(EncodeMechTypeList(mechs), *r2->mech_list_mic));
  // The exchange is over.
  EXPECT_EQ(a.Process(EncodeNegTokenResp(out)).status, kStatusInvalidParameter);
}

TEST_F(AuthenticatorTest, ChallengeContents) {
  opts_.netbios_name = "fileserver";
  opts_.netbios_domain = "corp";
  opts_.dns_name = "fs.example.org";
  opts_.dns_domain = "example.org";
  ManualClock clock(1'700'000'000 * kNanosPerSecond);
  opts_.clock = &clock;
  Authenticator a = Make();
  TestNtlmClient c;
  Step s = a.Process(c.Negotiate());
  ASSERT_EQ(s.status, kStatusMoreProcessingRequired);
  LeReader r(s.out_token);
  EXPECT_EQ(r.Bytes(8), kNtlmSignature);
  EXPECT_EQ(r.U32(), kNtlmChallengeType);
  uint16_t name_len = r.U16();
  r.U16();
  uint32_t name_off = r.U32();
  EXPECT_EQ(r.At(name_off, name_len), Utf8ToUtf16("FILESERVER"));
  uint32_t flags = r.U32();
  for (uint32_t f :
       {kNtlmNegotiateUnicode, kNtlmNegotiateNtlm, kNtlmNegotiateAlwaysSign,
        kNtlmTargetTypeServer, kNtlmNegotiateExtendedSessionSecurity,
        kNtlmNegotiateTargetInfo, kNtlmNegotiateVersion, kNtlmNegotiate128,
        kNtlmNegotiate56, kNtlmNegotiateKeyExch, kNtlmNegotiateSign,
        kNtlmNegotiateSeal, kNtlmRequestTarget}) {
    EXPECT_TRUE(flags & f) << std::hex << f;
  }
  EXPECT_FALSE(flags & kNtlmNegotiateOem);
  EXPECT_FALSE(flags & kNtlmNegotiateLmKey);
  r.Skip(16);
  uint16_t info_len = r.U16();
  r.U16();
  uint32_t info_off = r.U32();
  auto pairs = ParseNtlmAvPairs(r.At(info_off, info_len));
  ASSERT_TRUE(pairs);
  std::map<uint16_t, std::string_view> m;
  for (auto& p : *pairs) m[p.id] = p.value;
  EXPECT_EQ(m[kAvNbDomainName], Utf8ToUtf16("CORP"));
  EXPECT_EQ(m[kAvNbComputerName], Utf8ToUtf16("FILESERVER"));
  EXPECT_EQ(m[kAvDnsDomainName], Utf8ToUtf16("example.org"));
  EXPECT_EQ(m[kAvDnsComputerName], Utf8ToUtf16("fs.example.org"));
  ASSERT_EQ(m[kAvTimestamp].size(), 8u);
  EXPECT_EQ(LeReader(m[kAvTimestamp]).U64(),
            FileTimeFromUnixNanos(clock.Now()));
  // Two exchanges never share a challenge.
  Authenticator b = Make();
  Step s2 = b.Process(c.Negotiate());
  EXPECT_NE(s.out_token.substr(24, 8), s2.out_token.substr(24, 8));
}

TEST_F(AuthenticatorTest, SigningFlagsFollowTheClient) {
  // A client that asks for neither KEY_EXCH nor SEAL does not get them.
  Authenticator a = Make();
  std::string neg;
  LeWriter w(&neg);
  w.Bytes(kNtlmSignature);
  w.U32(kNtlmNegotiateType);
  w.U32(kNtlmNegotiateUnicode | kNtlmNegotiateNtlm |
        kNtlmNegotiateExtendedSessionSecurity);
  Step s = a.Process(neg);
  ASSERT_EQ(s.status, kStatusMoreProcessingRequired);
  uint32_t flags = LeReader(s.out_token.substr(20, 4)).U32();
  EXPECT_FALSE(flags & kNtlmNegotiateKeyExch);
  EXPECT_FALSE(flags & kNtlmNegotiateSeal);
  EXPECT_FALSE(flags & kNtlmNegotiate128);
  EXPECT_TRUE(flags & kNtlmNegotiateExtendedSessionSecurity);
}

TEST_F(AuthenticatorTest, UserNameIsCaseInsensitive) {
  Authenticator a = Make();
  TestClientOptions o;
  o.user = "ALICE";
  TestNtlmClient c(o);
  Step s = RunSpnego(a, c);
  ASSERT_EQ(s.status, kStatusSuccess) << s.error;
  EXPECT_EQ(s.user->name, "alice");
}

TEST_F(AuthenticatorTest, DomainFallbacks) {
  for (std::string ntowf_domain : {"", "WORKGROUP"}) {
    Authenticator a = Make();
    TestClientOptions o;
    o.domain = ntowf_domain.empty() ? "WORKGROUP" : "workgroup";
    o.ntowf_domain = ntowf_domain;
    TestNtlmClient c(o);
    Step s = RunSpnego(a, c);
    EXPECT_EQ(s.status, kStatusSuccess) << ntowf_domain << ": " << s.error;
  }
  // A domain that is neither sent, its upper case, nor empty fails.
  Authenticator a = Make();
  TestClientOptions o;
  o.ntowf_domain = "OTHER";
  TestNtlmClient c(o);
  ExpectReject(RunSpnego(a, c), kStatusLogonFailure);
}

TEST_F(AuthenticatorTest, WrongPasswordAndUnknownUserLookAlike) {
  TestClientOptions wrong;
  wrong.password = "not it";
  TestClientOptions unknown;
  unknown.user = "mallory";
  Authenticator a = Make();
  TestNtlmClient c1(wrong);
  Step s1 = RunSpnego(a, c1);
  Authenticator b = Make();
  TestNtlmClient c2(unknown);
  Step s2 = RunSpnego(b, c2);
  ExpectReject(s1, kStatusLogonFailure);
  ExpectReject(s2, kStatusLogonFailure);
  EXPECT_EQ(s1.out_token, s2.out_token);
}

TEST_F(AuthenticatorTest, UserWithoutUsableHashIsRefused) {
  users_[0].nt_hash = "short";
  Authenticator a = Make();
  TestNtlmClient c;
  ExpectReject(RunSpnego(a, c), kStatusLogonFailure);
}

TEST_F(AuthenticatorTest, NtlmV1AndLmOnlyRefused) {
  for (bool v1 : {true, false}) {
    Authenticator a = Make();
    TestClientOptions o;
    o.ntlmv1 = v1;
    o.lm_only = !v1;
    TestNtlmClient c(o);
    ExpectReject(RunSpnego(a, c, false), kStatusLogonFailure);
  }
}

TEST_F(AuthenticatorTest, ReplayRefused) {
  Authenticator a = Make();
  TestNtlmClient c;
  ASSERT_EQ(RunSpnego(a, c).status, kStatusSuccess);
  // Same exchange again: over.
  EXPECT_NE(a.Process(last_final_).status, kStatusSuccess);
  // A new exchange (new challenge) with the recorded AUTHENTICATE.
  Authenticator b = Make();
  TestNtlmClient c2;
  Step s1 = b.Process(
      EncodeNegTokenInit({kOidNtlmssp}, c2.Negotiate(), std::nullopt));
  ASSERT_EQ(s1.status, kStatusMoreProcessingRequired);
  ExpectReject(b.Process(last_final_), kStatusLogonFailure);
  // And twice in a row on raw NTLMSSP.
  Authenticator r = Make();
  TestNtlmClient c3;
  std::string ch = r.Process(c3.Negotiate()).out_token;
  std::string auth = c3.Authenticate(ch);
  EXPECT_EQ(r.Process(auth).status, kStatusSuccess);
  EXPECT_EQ(r.Process(auth).status, kStatusInvalidParameter);
}

TEST_F(AuthenticatorTest, BadNtlmMicRefused) {
  Authenticator a = Make();
  TestNtlmClient c;
  std::vector<std::string_view> mechs{kOidNtlmssp};
  Step s1 = a.Process(EncodeNegTokenInit(mechs, c.Negotiate(), std::nullopt));
  std::string auth = c.Authenticate(ResponseToken(s1));
  auth[TestNtlmClient::kMicOffset + 3] ^= 0x40;
  NegTokenRespOut out;
  out.response_token = auth;
  out.mech_list_mic = c.MechListMic(EncodeMechTypeList(mechs));
  ExpectReject(a.Process(EncodeNegTokenResp(out)), kStatusLogonFailure);
}

TEST_F(AuthenticatorTest, MicAnnouncedButFieldMissingRefused) {
  // Strip the Version+MIC area: the MsvAvFlags still announce a MIC.
  Authenticator a = Make();
  TestClientOptions o;
  o.key_exch = false;
  TestNtlmClient c(o);
  std::string ch = a.Process(c.Negotiate()).out_token;
  std::string auth = c.Authenticate(ch);
  std::string shorter = auth.substr(0, 64) + auth.substr(88);
  LeWriter w(&shorter);
  for (size_t field = 12; field <= 52; field += 8) {
    uint32_t off = LeReader(shorter.substr(field + 4, 4)).U32();
    w.PatchU32(field + 4, off - 24);
  }
  Step s = a.Process(shorter);
  EXPECT_EQ(s.status, kStatusLogonFailure) << s.error;
}

TEST_F(AuthenticatorTest, BadMechListMicRefused) {
  Authenticator a = Make();
  TestNtlmClient c;
  std::vector<std::string_view> mechs{kOidNtlmssp};
  Step s1 = a.Process(EncodeNegTokenInit(mechs, c.Negotiate(), std::nullopt));
  NegTokenRespOut out;
  out.response_token = c.Authenticate(ResponseToken(s1));
  // A MIC over a different mechanism list (a downgrade attempt).
  out.mech_list_mic =
      c.MechListMic(EncodeMechTypeList({kOidKerberos, kOidNtlmssp}));
  ExpectReject(a.Process(EncodeNegTokenResp(out)), kStatusLogonFailure);
}

TEST_F(AuthenticatorTest, WithoutMicsOrKeyExchange) {
  TestClientOptions o;
  o.mic = false;
  o.key_exch = false;
  Authenticator a = Make();
  TestNtlmClient c(o);
  Step s = RunSpnego(a, c, false);
  ASSERT_EQ(s.status, kStatusSuccess) << s.error;
  EXPECT_EQ(s.session_key, c.exported_session_key());  // = SessionBaseKey
  auto r = ParseNegTokenResp(s.out_token);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->neg_state, NegState::kAcceptCompleted);
  EXPECT_FALSE(r->mech_list_mic);  // none asked for, none sent
  // With a mechListMIC but no NTLM MIC and no KEY_EXCH: still verified.
  Authenticator b = Make();
  TestNtlmClient c2(o);
  Step s2 = RunSpnego(b, c2, true);
  ASSERT_EQ(s2.status, kStatusSuccess) << s2.error;
  auto r2 = ParseNegTokenResp(s2.out_token);
  ASSERT_TRUE(r2 && r2->mech_list_mic);
  EXPECT_TRUE(c2.VerifyServerMic(mech_types_der_, *r2->mech_list_mic));
}

TEST_F(AuthenticatorTest, MechListMicNeedsExtendedSessionSecurity) {
  TestClientOptions o;
  o.extended_security = false;
  o.mic = false;
  Authenticator a = Make();
  TestNtlmClient c(o);
  ExpectReject(RunSpnego(a, c, true), kStatusLogonFailure);
  Authenticator b = Make();
  TestNtlmClient c2(o);
  EXPECT_EQ(RunSpnego(b, c2, false).status, kStatusSuccess);
}

TEST_F(AuthenticatorTest, AnonymousFollowsOption) {
  TestClientOptions o;
  o.anonymous = true;
  {
    Authenticator a = Make();
    TestNtlmClient c(o);
    ExpectReject(RunSpnego(a, c, false), kStatusLogonFailure);
  }
  opts_.allow_anonymous = true;
  Authenticator a = Make();
  TestNtlmClient c(o);
  Step s = RunSpnego(a, c, false);
  ASSERT_EQ(s.status, kStatusSuccess) << s.error;
  EXPECT_TRUE(s.anonymous);
  EXPECT_FALSE(s.user);
  EXPECT_TRUE(s.session_key.empty());
  auto r = ParseNegTokenResp(s.out_token);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->neg_state, NegState::kAcceptCompleted);
}

TEST_F(AuthenticatorTest, KerberosOnlyRejected) {
  Authenticator a = Make();
  Step s = a.Process(EncodeNegTokenInit({kOidMsKerberos, kOidKerberos},
                                        "krb5 AP-REQ", std::nullopt));
  ExpectReject(s, kStatusLogonFailure);
}

TEST_F(AuthenticatorTest, KerberosFirstWithKerberosTokenSteersToNtlm) {
  Authenticator a = Make();
  TestNtlmClient c;
  std::vector<std::string_view> mechs{kOidNegoEx, kOidMsKerberos, kOidKerberos,
                                      kOidNtlmssp};
  Step s1 = a.Process(EncodeNegTokenInit(mechs, "krb5 AP-REQ", std::nullopt));
  ASSERT_EQ(s1.status, kStatusMoreProcessingRequired) << s1.error;
  auto r1 = ParseNegTokenResp(s1.out_token);
  ASSERT_TRUE(r1);
  EXPECT_EQ(r1->neg_state, NegState::kRequestMic);
  EXPECT_EQ(r1->supported_mech, kOidNtlmssp);
  EXPECT_FALSE(r1->response_token);

  NegTokenRespOut neg;
  neg.response_token = c.Negotiate();
  Step s2 = a.Process(EncodeNegTokenResp(neg));
  ASSERT_EQ(s2.status, kStatusMoreProcessingRequired) << s2.error;
  auto r2 = ParseNegTokenResp(s2.out_token);
  ASSERT_TRUE(r2 && r2->response_token);
  EXPECT_EQ(r2->neg_state, NegState::kAcceptIncomplete);

  NegTokenRespOut fin;
  fin.response_token = c.Authenticate(*r2->response_token);
  fin.mech_list_mic = c.MechListMic(EncodeMechTypeList(mechs));
  Step s3 = a.Process(EncodeNegTokenResp(fin));
  ASSERT_EQ(s3.status, kStatusSuccess) << s3.error;
  auto r3 = ParseNegTokenResp(s3.out_token);
  ASSERT_TRUE(r3 && r3->mech_list_mic);
  EXPECT_TRUE(c.VerifyServerMic(EncodeMechTypeList(mechs), *r3->mech_list_mic));
}

TEST_F(AuthenticatorTest, KerberosFirstWithNtlmTokenGetsChallenge) {
  Authenticator a = Make();
  TestNtlmClient c;
  std::vector<std::string_view> mechs{kOidKerberos, kOidNtlmssp};
  Step s1 = a.Process(EncodeNegTokenInit(mechs, c.Negotiate(), std::nullopt));
  ASSERT_EQ(s1.status, kStatusMoreProcessingRequired) << s1.error;
  auto r1 = ParseNegTokenResp(s1.out_token);
  ASSERT_TRUE(r1 && r1->response_token);
  EXPECT_EQ(r1->neg_state, NegState::kAcceptIncomplete);
  EXPECT_EQ(r1->supported_mech, kOidNtlmssp);
  NegTokenRespOut fin;
  fin.response_token = c.Authenticate(*r1->response_token);
  fin.mech_list_mic = c.MechListMic(EncodeMechTypeList(mechs));
  EXPECT_EQ(a.Process(EncodeNegTokenResp(fin)).status, kStatusSuccess);
}

TEST_F(AuthenticatorTest, NtlmFirstWithoutToken) {
  Authenticator a = Make();
  TestNtlmClient c;
  Step s1 =
      a.Process(EncodeNegTokenInit({kOidNtlmssp}, std::nullopt, std::nullopt));
  ASSERT_EQ(s1.status, kStatusMoreProcessingRequired);
  auto r1 = ParseNegTokenResp(s1.out_token);
  ASSERT_TRUE(r1);
  EXPECT_EQ(r1->neg_state, NegState::kAcceptIncomplete);
  EXPECT_EQ(r1->supported_mech, kOidNtlmssp);
  EXPECT_FALSE(r1->response_token);
  NegTokenRespOut neg;
  neg.response_token = c.Negotiate();
  Step s2 = a.Process(EncodeNegTokenResp(neg));
  ASSERT_EQ(s2.status, kStatusMoreProcessingRequired);
  NegTokenRespOut fin;
  fin.response_token = c.Authenticate(ResponseToken(s2));
  EXPECT_EQ(a.Process(EncodeNegTokenResp(fin)).status, kStatusSuccess);
}

TEST_F(AuthenticatorTest, RawNtlmssp) {
  Authenticator a = Make();
  TestNtlmClient c;
  Step s1 = a.Process(c.Negotiate());
  ASSERT_EQ(s1.status, kStatusMoreProcessingRequired) << s1.error;
  ASSERT_EQ(s1.out_token.substr(0, 8), kNtlmSignature);
  Step s2 = a.Process(c.Authenticate(s1.out_token));
  ASSERT_EQ(s2.status, kStatusSuccess) << s2.error;
  EXPECT_TRUE(s2.out_token.empty());
  EXPECT_EQ(s2.session_key, c.exported_session_key());
  ASSERT_TRUE(s2.user);
  EXPECT_EQ(s2.user->gid, 100u);
}

TEST_F(AuthenticatorTest, RawFailureHasNoToken) {
  Authenticator a = Make();
  TestClientOptions o;
  o.password = "nope";
  TestNtlmClient c(o);
  Step s1 = a.Process(c.Negotiate());
  Step s2 = a.Process(c.Authenticate(s1.out_token));
  EXPECT_EQ(s2.status, kStatusLogonFailure);
  EXPECT_TRUE(s2.out_token.empty());
  EXPECT_FALSE(s2.error.empty());
}

TEST_F(AuthenticatorTest, AuthenticateWithoutChallenge) {
  // Build a valid AUTHENTICATE against some other server's challenge.
  Authenticator other = Make();
  TestNtlmClient c;
  std::string auth = c.Authenticate(other.Process(c.Negotiate()).out_token);
  Authenticator a = Make();
  EXPECT_EQ(a.Process(auth).status, kStatusInvalidParameter);
  Authenticator b = Make();
  ExpectReject(b.Process(EncodeNegTokenInit({kOidNtlmssp}, auth, std::nullopt)),
               kStatusInvalidParameter);
}

TEST_F(AuthenticatorTest, EmptyFirstBlobGetsTheMechList) {
  Authenticator a = Make();
  Step s = a.Process("");
  EXPECT_EQ(s.status, kStatusMoreProcessingRequired);
  EXPECT_EQ(s.out_token, SpnegoNegotiateToken());
  TestNtlmClient c;
  EXPECT_EQ(RunSpnego(a, c).status, kStatusSuccess);
}

TEST_F(AuthenticatorTest, GarbageFirstBlob) {
  Authenticator a = Make();
  EXPECT_EQ(a.Process("hello").status, kStatusInvalidParameter);
}

TEST_F(AuthenticatorTest, ClientRejectEndsExchange) {
  Authenticator a = Make();
  TestNtlmClient c;
  a.Process(EncodeNegTokenInit({kOidNtlmssp}, c.Negotiate(), std::nullopt));
  NegTokenRespOut rej;
  rej.neg_state = NegState::kReject;
  ExpectReject(a.Process(EncodeNegTokenResp(rej)), kStatusLogonFailure);
}

TEST_F(AuthenticatorTest, ClockSkew) {
  ManualClock clock(1'700'000'000 * kNanosPerSecond);
  opts_.clock = &clock;
  uint64_t now = FileTimeFromUnixNanos(clock.Now());
  uint64_t hour = 3600ull * 10'000'000;
  struct Case {
    uint64_t ts;
    bool ok;
  };
  for (Case k : {Case{now - 35 * hour, true}, Case{now + 35 * hour, true},
                 Case{now - 37 * hour, false}, Case{now + 37 * hour, false},
                 Case{0, false}}) {
    Authenticator a = Make();
    TestClientOptions o;
    o.timestamp = k.ts;
    TestNtlmClient c(o);
    Step s = RunSpnego(a, c);
    EXPECT_EQ(s.status == kStatusSuccess, k.ok) << k.ts << " " << s.error;
  }
  opts_.max_clock_skew_seconds = 0;
  Authenticator a = Make();
  TestClientOptions o;
  o.timestamp = 0;
  TestNtlmClient c(o);
  EXPECT_EQ(RunSpnego(a, c).status, kStatusSuccess);
}

TEST(NtHashTest, OfPassword) {
  EXPECT_EQ(testing::ToHex(NtHashOfPassword("Password")),
            "a4f49c406510bdcab6824ee7c30fd852");
  EXPECT_EQ(NtHashOfPassword("").size(), 16u);
}

}  // namespace
}  // namespace concordfs::smb
