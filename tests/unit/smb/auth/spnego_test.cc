// DER reading/writing and the SPNEGO token codecs.
#include "smb/auth/spnego.h"

#include <gtest/gtest.h>

#include "smb/auth/authenticator.h"
#include "smb/auth/der.h"
#include "tests/unit/smb/auth/test_ntlm_client.h"

namespace concordfs::smb {
namespace {

using testing::Hex;
using testing::ToHex;

TEST(DerTest, LengthForms) {
  EXPECT_EQ(ToHex(DerEncode(0x04, "ab")), "04026162");
  std::string c200(200, 'x');
  EXPECT_EQ(ToHex(DerEncode(0x04, c200).substr(0, 3)), "0481c8");
  std::string c300(300, 'x');
  EXPECT_EQ(ToHex(DerEncode(0x04, c300).substr(0, 4)), "0482012c");
  for (const std::string* c : {&c200, &c300}) {
    std::string encoded = DerEncode(0x04, *c);
    DerReader r(encoded);
    auto e = r.Next();
    ASSERT_TRUE(e);
    EXPECT_EQ(e->content, *c);
    EXPECT_TRUE(r.at_end());
  }
}

TEST(DerTest, RejectsMalformed) {
  for (std::string bad :
       {Hex("04"), Hex("0403aabb"), Hex("0480aabb"), Hex("0485000000000001aa"),
        Hex("1f0100"), Hex("0482ff")}) {
    DerReader r(bad);
    EXPECT_FALSE(r.Next()) << ToHex(bad);
    EXPECT_FALSE(r.ok());
  }
  // Non-minimal lengths, as some BER encoders send, are read.
  std::string non_minimal = Hex("048200026162");
  DerReader r(non_minimal);
  auto e = r.Next();
  ASSERT_TRUE(e);
  EXPECT_EQ(e->content, "ab");
}

TEST(SpnegoTest, NegotiateTokenAnnouncesOnlyNtlmssp) {
  std::string t = SpnegoNegotiateToken();
  ASSERT_TRUE(LooksLikeSpnegoInit(t));
  auto init = ParseNegTokenInit(t);
  ASSERT_TRUE(init);
  ASSERT_EQ(init->mech_types.size(), 1u);
  EXPECT_EQ(init->mech_types[0], kOidNtlmssp);
  EXPECT_FALSE(init->mech_token);
  EXPECT_FALSE(init->mech_list_mic);  // the negHints [3] are not a MIC
  EXPECT_NE(t.find("not_defined_in_RFC4178@please_ignore"), std::string::npos);
  // 60 L 06 06 2b0601050502 a0 L 30 L a0 L 30 0c 06 0a <ntlmssp> a3 ...
  EXPECT_EQ(static_cast<uint8_t>(t[0]), 0x60);
  EXPECT_EQ(static_cast<size_t>(static_cast<uint8_t>(t[1])), t.size() - 2);
  EXPECT_EQ(ToHex(t.substr(2, 8)), "06062b0601050502");
  EXPECT_EQ(init->mech_types_der,
            DerEncode(0x30, DerEncode(0x06, kOidNtlmssp)));
}

TEST(SpnegoTest, ParsesClientInitWithReqFlagsAndToken) {
  // As Windows sends it: NegoEx, MS-KRB5, KRB5, NTLMSSP, reqFlags, token.
  std::string mechs = EncodeMechTypeList(
      {kOidNegoEx, kOidMsKerberos, kOidKerberos, kOidNtlmssp});
  std::string body = DerEncode(0xa0, mechs) +
                     DerEncode(0xa1, DerEncode(0x03, Hex("0000"))) +
                     DerEncode(0xa2, DerEncode(0x04, "TOKEN"));
  std::string token =
      DerEncode(0x60, DerEncode(0x06, kOidSpnego) +
                          DerEncode(0xa0, DerEncode(0x30, body)));
  auto init = ParseNegTokenInit(token);
  ASSERT_TRUE(init);
  ASSERT_EQ(init->mech_types.size(), 4u);
  EXPECT_EQ(init->mech_types[3], kOidNtlmssp);
  EXPECT_EQ(init->mech_types_der, mechs);
  EXPECT_EQ(init->mech_token, "TOKEN");
  // A bare [0] NegTokenInit (no GSS-API header) is accepted too.
  std::string bare_token = DerEncode(0xa0, DerEncode(0x30, body));
  auto bare = ParseNegTokenInit(bare_token);
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->mech_types.size(), 4u);
}

TEST(SpnegoTest, RejectsWrongOidAndMissingMechs) {
  std::string body = DerEncode(0xa2, DerEncode(0x04, "T"));
  std::string no_mechs =
      DerEncode(0x60, DerEncode(0x06, kOidSpnego) +
                          DerEncode(0xa0, DerEncode(0x30, body)));
  EXPECT_FALSE(ParseNegTokenInit(no_mechs));
  std::string wrong_oid = EncodeNegTokenInit({kOidNtlmssp}, "x", std::nullopt);
  wrong_oid[9] ^= 1;  // last byte of the SPNEGO OID
  EXPECT_FALSE(ParseNegTokenInit(wrong_oid));
  // A mech list with something other than OIDs in it.
  std::string bad_list = DerEncode(0x30, DerEncode(0x04, "x"));
  std::string t = DerEncode(
      0x60, DerEncode(0x06, kOidSpnego) +
                DerEncode(0xa0, DerEncode(0x30, DerEncode(0xa0, bad_list))));
  EXPECT_FALSE(ParseNegTokenInit(t));
}

TEST(SpnegoTest, NegTokenRespRoundTrip) {
  NegTokenRespOut out;
  out.neg_state = NegState::kAcceptIncomplete;
  out.supported_mech = std::string(kOidNtlmssp);
  out.response_token = "CHALLENGE";
  out.mech_list_mic = std::string(16, 'm');
  std::string t = EncodeNegTokenResp(out);
  ASSERT_TRUE(LooksLikeSpnegoResp(t));
  auto in = ParseNegTokenResp(t);
  ASSERT_TRUE(in);
  EXPECT_EQ(in->neg_state, NegState::kAcceptIncomplete);
  EXPECT_EQ(in->supported_mech, kOidNtlmssp);
  EXPECT_EQ(in->response_token, "CHALLENGE");
  EXPECT_EQ(in->mech_list_mic, std::string(16, 'm'));

  NegTokenRespOut reject;
  reject.neg_state = NegState::kReject;
  EXPECT_EQ(ToHex(EncodeNegTokenResp(reject)), "a1073005a0030a0102");
  std::string reject_token = EncodeNegTokenResp(reject);
  auto r = ParseNegTokenResp(reject_token);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->neg_state, NegState::kReject);
  EXPECT_FALSE(r->response_token);
}

TEST(SpnegoTest, NegTokenRespRejectsBadEnum) {
  // negState 7 is not defined.
  EXPECT_FALSE(ParseNegTokenResp(Hex("a1073005a0030a0107")));
  // Two-byte ENUMERATED.
  EXPECT_FALSE(ParseNegTokenResp(Hex("a1083006a0040a020001")));
  // responseToken that is not an OCTET STRING.
  EXPECT_FALSE(ParseNegTokenResp(Hex("a1073005a2030c0141")));
}

}  // namespace
}  // namespace concordfs::smb
