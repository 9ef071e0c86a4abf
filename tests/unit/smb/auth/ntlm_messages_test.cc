// NTLMSSP message codecs, and the NTLM acceptor against the MS-NLMP 4.2.4
// example AUTHENTICATE_MESSAGE.
#include "smb/auth/ntlm_messages.h"

#include <gtest/gtest.h>

#include "smb/auth/ntlm_crypto.h"
#include "smb/auth/ntlm_server.h"
#include "smb/wire/le.h"
#include "smb/wire/unicode.h"
#include "tests/unit/smb/auth/test_ntlm_client.h"

namespace concordfs::smb {
namespace {

using testing::Hex;
using testing::ToHex;

// MS-NLMP 4.2.4.3: the AUTHENTICATE_MESSAGE of the NTLMv2 example (flags
// e2888235, LMv2 + NTLMv2 responses, EncryptedRandomSessionKey).
std::string SpecAuthenticate() {
  return Hex(
      "4e544c4d5353500003000000180018006c00000054005400840000000c000c00"
      "480000000800080054000000100010005c00000010001000d8000000358288e2"
      "0501280a0000000f44006f006d00610069006e00550073006500720043004f00"
      "4d005000550054004500520086c35097ac9cec102554764a57cccc19aaaaaaaa"
      "aaaaaaaa68cd0ab851e51c96aabc927bebef6a1c010100000000000000000000"
      "00000000aaaaaaaaaaaaaaaa0000000002000c0044006f006d00610069006e00"
      "01000c005300650072007600650072000000000000000000c5dad2544fc97990"
      "94ce1ce90bc9d03e");
}

TEST(NtlmMessagesTest, ParsesSpecAuthenticate) {
  std::string msg = SpecAuthenticate();
  ASSERT_EQ(msg.size(), 0xe8u);
  std::optional<NtlmAuthenticate> a = ParseNtlmAuthenticate(msg);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->flags, 0xe2888235u);
  EXPECT_EQ(a->user, "User");
  EXPECT_EQ(a->domain, "Domain");
  EXPECT_EQ(a->workstation, "COMPUTER");
  EXPECT_EQ(a->lm_response.size(), 24u);
  EXPECT_EQ(a->nt_response.size(), 84u);
  EXPECT_EQ(ToHex(a->encrypted_random_session_key),
            "c5dad2544fc9799094ce1ce90bc9d03e");
  EXPECT_FALSE(a->has_mic_field);  // payload starts at 0x48

  std::optional<NtlmV2Response> v2 = ParseNtlmV2Response(a->nt_response);
  ASSERT_TRUE(v2);
  EXPECT_EQ(ToHex(v2->nt_proof_str), "68cd0ab851e51c96aabc927bebef6a1c");
  EXPECT_EQ(v2->timestamp, 0u);
  EXPECT_EQ(v2->client_challenge, std::string(8, '\xaa'));
  auto pairs = ParseNtlmAvPairs(v2->av_pairs);
  ASSERT_TRUE(pairs);
  ASSERT_EQ(pairs->size(), 2u);
  EXPECT_EQ((*pairs)[0].id, kAvNbDomainName);
  EXPECT_EQ((*pairs)[1].value, Utf8ToUtf16("Server"));
}

TEST(NtlmMessagesTest, ServerAcceptsSpecAuthenticate) {
  AuthOptions opts;
  opts.max_clock_skew_seconds = 0;  // the example's timestamp is 0
  NtlmServer server(opts, [](std::string_view user, std::string_view domain) {
    EXPECT_EQ(user, "User");
    EXPECT_EQ(domain, "Domain");
    SmbUser u;
    u.name = "user";
    u.nt_hash = NtOwfV1("Password");
    u.uid = 1000;
    return std::optional<SmbUser>(u);
  });
  server.SetServerChallengeForTesting(Hex("0123456789abcdef"));
  testing::TestNtlmClient client;
  auto ch = server.HandleNegotiate(client.Negotiate());
  ASSERT_EQ(ch.status, kStatusMoreProcessingRequired) << ch.error;
  NtlmServer::AuthResult r = server.HandleAuthenticate(SpecAuthenticate());
  ASSERT_EQ(r.status, kStatusSuccess) << r.error;
  ASSERT_TRUE(r.user);
  EXPECT_EQ(r.user->uid, 1000u);
  // KEY_EXCH: the ExportedSessionKey is the example's RandomSessionKey.
  EXPECT_EQ(r.session_key, std::string(16, '\x55'));
  EXPECT_FALSE(r.mic_present);
}

TEST(NtlmMessagesTest, NegotiateParsing) {
  std::string msg;
  LeWriter w(&msg);
  w.Bytes(kNtlmSignature);
  w.U32(kNtlmNegotiateType);
  w.U32(0x12345678);
  auto n = ParseNtlmNegotiate(msg);
  ASSERT_TRUE(n);
  EXPECT_EQ(n->flags, 0x12345678u);
  EXPECT_FALSE(ParseNtlmNegotiate(msg.substr(0, 15)));
  std::string wrong_type = msg;
  wrong_type[8] = 2;
  EXPECT_FALSE(ParseNtlmNegotiate(wrong_type));
  std::string wrong_sig = msg;
  wrong_sig[0] = 'X';
  EXPECT_FALSE(ParseNtlmNegotiate(wrong_sig));
}

TEST(NtlmMessagesTest, ChallengeLayout) {
  NtlmChallengeFields f;
  f.flags = 0xe28a8215;
  f.server_challenge = Hex("0102030405060708");
  f.target_name = Utf8ToUtf16("SRV");
  AppendNtlmAvPair(&f.target_info, kAvNbComputerName, Utf8ToUtf16("SRV"));
  AppendNtlmAvPair(&f.target_info, kAvEol, {});
  std::string c = BuildNtlmChallenge(f);
  LeReader r(c);
  EXPECT_EQ(r.Bytes(8), kNtlmSignature);
  EXPECT_EQ(r.U32(), kNtlmChallengeType);
  EXPECT_EQ(r.U16(), 6);
  EXPECT_EQ(r.U16(), 6);
  EXPECT_EQ(r.U32(), 56u);
  EXPECT_EQ(r.U32(), 0xe28a8215u);
  EXPECT_EQ(r.Bytes(8), f.server_challenge);
  r.Skip(8);
  EXPECT_EQ(r.U16(), f.target_info.size());
  r.U16();
  EXPECT_EQ(r.U32(), 62u);
  EXPECT_EQ(r.U8(), 10);  // version major
  r.Skip(7);
  EXPECT_EQ(r.Bytes(6), Utf8ToUtf16("SRV"));
  EXPECT_EQ(r.Bytes(f.target_info.size()), f.target_info);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(NtlmMessagesTest, AvPairsNeedEolAndBounds) {
  std::string p;
  AppendNtlmAvPair(&p, kAvNbComputerName, "ab");
  EXPECT_FALSE(ParseNtlmAvPairs(p));  // no EOL
  std::string with_eol = p;
  AppendNtlmAvPair(&with_eol, kAvEol, {});
  EXPECT_TRUE(ParseNtlmAvPairs(with_eol));
  std::string overlong = with_eol;
  overlong[2] = 100;  // length past the end
  EXPECT_FALSE(ParseNtlmAvPairs(overlong));
}

TEST(NtlmMessagesTest, AuthenticateFieldBounds) {
  std::string msg = SpecAuthenticate();
  // Each of the six fields, pointed one byte past the end.
  for (size_t field = 12; field <= 52; field += 8) {
    std::string bad = msg;
    uint32_t len = static_cast<uint8_t>(bad[field]);
    LeWriter w(&bad);
    w.PatchU32(field + 4, static_cast<uint32_t>(msg.size() - len + 1));
    EXPECT_FALSE(ParseNtlmAuthenticate(bad)) << field;
    w.PatchU32(field + 4, 0xffffffff);
    EXPECT_FALSE(ParseNtlmAuthenticate(bad)) << field;
  }
  EXPECT_FALSE(ParseNtlmAuthenticate(msg.substr(0, 63)));
  // An odd-length UTF-16 user name.
  std::string odd = msg;
  odd[36] = 7;
  EXPECT_FALSE(ParseNtlmAuthenticate(odd));
}

TEST(NtlmMessagesTest, OemStrings) {
  std::string msg = SpecAuthenticate();
  uint32_t flags = 0xe2888235 & ~kNtlmNegotiateUnicode;
  LeWriter(&msg).PatchU32(60, flags);
  auto a = ParseNtlmAuthenticate(msg);
  ASSERT_TRUE(a);
  // "U\0s\0e\0r\0" read as Latin-1 keeps the NULs; no crash, no decoding.
  EXPECT_EQ(a->user.size(), 8u);
}

TEST(NtlmMessagesTest, V2ResponseMinimum) {
  EXPECT_FALSE(ParseNtlmV2Response(std::string(24, '\1')));
  EXPECT_FALSE(ParseNtlmV2Response(std::string(43, '\1')));
  std::string ok(44, '\0');
  ok[16] = 1;
  EXPECT_TRUE(ParseNtlmV2Response(ok));
  ok[16] = 2;
  EXPECT_FALSE(ParseNtlmV2Response(ok));
}

TEST(NtlmMessagesTest, FileTime) {
  EXPECT_EQ(FileTimeFromUnixNanos(0), 116444736000000000ull);
  EXPECT_EQ(FileTimeFromUnixNanos(1'000'000'000), 116444736010000000ull);
}

}  // namespace
}  // namespace concordfs::smb
