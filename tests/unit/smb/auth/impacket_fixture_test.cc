// Cross-check against an independent NTLMSSP implementation: the messages
// below were produced once with python3-impacket 0.10 (ntlm.getNTLMSSPType1/3
// for user "alice", password "s3cret pw", domain "WORKGROUP", and ntlm.MAC
// for both mechListMICs) against the CHALLENGE this server sends for server
// challenge 0123456789abcdef at Unix time 1700000000 with default options.
// The test replays them; it runs no Python. If the CHALLENGE format changes
// on purpose, the fixture has to be regenerated the same way.
#include <gtest/gtest.h>

#include "smb/auth/authenticator.h"
#include "smb/auth/spnego.h"
#include "tests/unit/smb/auth/test_ntlm_client.h"

namespace concordfs::smb {
namespace {

using testing::Hex;
using testing::ToHex;

const char kType1[] =
    "4e544c4d5353500001000000358288e000000000000000000000000000000000";
const char kType2[] =
    "4e544c4d5353500002000000120012003800000035828ae20123456789abcdef"
    "0000000000000000680068004a0000000a0063450000000f43004f004e004300"
    "4f0052004400460053000200120057004f0052004b00470052004f0055005000"
    "0100120043004f004e0043004f005200440046005300040012006c006f006300"
    "61006c0068006f0073007400030012006c006f00630061006c0068006f007300"
    "74000700080000006dc64717da0100000000";
const char kType3[] =
    "4e544c4d5353500003000000180018005c000000b800b8007400000012001200"
    "400000000a000a0052000000000000005c000000100010002c010000358288e0"
    "57004f0052004b00470052004f005500500061006c006900630065006fcfc488"
    "6f6993ee602b213ae4fc0c094b79704b3877625815e966b1245463acd0b1dc0f"
    "276993ed010100000000000000006dc64717da014b79704b3877625800000000"
    "0200120057004f0052004b00470052004f00550050000100120043004f004e00"
    "43004f005200440046005300040012006c006f00630061006c0068006f007300"
    "7400030012006c006f00630061006c0068006f00730074000700080000006dc6"
    "4717da0109001c0063006900660073002f0043004f004e0043004f0052004400"
    "460053000000000000000000ddff43f75b7505a04cab49e18c4f2e85";
const char kType3Anonymous[] =
    "4e544c4d53535000030000000100010040000000000000004100000000000000"
    "40000000000000004000000000000000400000001000100041000000358288e0"
    "00b177ee16f1521462b25551231c23d305";
const char kExportedSessionKey[] = "4468696370504865584f366157495939";
const char kClientMechListMic[] = "010000003bb13df71a83b88100000000";
const char kServerMechListMic[] = "0100000056ed73ac78df9f9300000000";

class ImpacketFixtureTest : public ::testing::Test {
 protected:
  ImpacketFixtureTest() : clock_(1'700'000'000 * kNanosPerSecond) {
    opts_.clock = &clock_;
  }
  Authenticator Make() {
    Authenticator a(opts_, [](std::string_view user, std::string_view domain) {
      EXPECT_EQ(domain, "WORKGROUP");
      SmbUser u;
      u.name = "alice";
      u.nt_hash = NtHashOfPassword("s3cret pw");
      return user == "alice" ? std::optional(u) : std::nullopt;
    });
    a.SetServerChallengeForTesting(Hex("0123456789abcdef"));
    return a;
  }
  ManualClock clock_;
  AuthOptions opts_;
};

TEST_F(ImpacketFixtureTest, RawNtlmssp) {
  Authenticator a = Make();
  Authenticator::Step s1 = a.Process(Hex(kType1));
  ASSERT_EQ(s1.status, kStatusMoreProcessingRequired) << s1.error;
  ASSERT_EQ(ToHex(s1.out_token), kType2) << "CHALLENGE changed: regenerate";
  Authenticator::Step s2 = a.Process(Hex(kType3));
  ASSERT_EQ(s2.status, kStatusSuccess) << s2.error;
  ASSERT_TRUE(s2.user);
  EXPECT_EQ(s2.user->name, "alice");
  EXPECT_EQ(ToHex(s2.session_key), kExportedSessionKey);
}

TEST_F(ImpacketFixtureTest, SpnegoWithMechListMic) {
  std::vector<std::string_view> mechs{kOidNtlmssp};
  Authenticator a = Make();
  Authenticator::Step s1 =
      a.Process(EncodeNegTokenInit(mechs, Hex(kType1), std::nullopt));
  ASSERT_EQ(s1.status, kStatusMoreProcessingRequired) << s1.error;
  auto r1 = ParseNegTokenResp(s1.out_token);
  ASSERT_TRUE(r1 && r1->response_token);
  ASSERT_EQ(ToHex(*r1->response_token), kType2);
  NegTokenRespOut fin;
  fin.response_token = Hex(kType3);
  fin.mech_list_mic = Hex(kClientMechListMic);
  Authenticator::Step s2 = a.Process(EncodeNegTokenResp(fin));
  ASSERT_EQ(s2.status, kStatusSuccess) << s2.error;
  EXPECT_EQ(ToHex(s2.session_key), kExportedSessionKey);
  auto r2 = ParseNegTokenResp(s2.out_token);
  ASSERT_TRUE(r2 && r2->mech_list_mic);
  EXPECT_EQ(r2->neg_state, NegState::kAcceptCompleted);
  EXPECT_EQ(ToHex(*r2->mech_list_mic), kServerMechListMic);
}

TEST_F(ImpacketFixtureTest, WrongPasswordForRecordedResponse) {
  Authenticator a(opts_, [](std::string_view, std::string_view) {
    SmbUser u;
    u.name = "alice";
    u.nt_hash = NtHashOfPassword("something else");
    return std::optional(u);
  });
  a.SetServerChallengeForTesting(Hex("0123456789abcdef"));
  ASSERT_EQ(a.Process(Hex(kType1)).status, kStatusMoreProcessingRequired);
  EXPECT_EQ(a.Process(Hex(kType3)).status, kStatusLogonFailure);
}

TEST_F(ImpacketFixtureTest, Anonymous) {
  {
    Authenticator a = Make();
    ASSERT_EQ(a.Process(Hex(kType1)).status, kStatusMoreProcessingRequired);
    EXPECT_EQ(a.Process(Hex(kType3Anonymous)).status, kStatusLogonFailure);
  }
  opts_.allow_anonymous = true;
  Authenticator a = Make();
  ASSERT_EQ(a.Process(Hex(kType1)).status, kStatusMoreProcessingRequired);
  Authenticator::Step s = a.Process(Hex(kType3Anonymous));
  ASSERT_EQ(s.status, kStatusSuccess) << s.error;
  EXPECT_TRUE(s.anonymous);
  EXPECT_FALSE(s.user);
  EXPECT_TRUE(s.session_key.empty());
}

}  // namespace
}  // namespace concordfs::smb
