// Primitives against published vectors (RFC 1320, RFC 2202, MS-NLMP 4.2.4).
#include "smb/auth/ntlm_crypto.h"

#include <gtest/gtest.h>

#include "smb/auth/ntlm_messages.h"
#include "smb/auth/ntlm_session_security.h"
#include "smb/wire/unicode.h"
#include "tests/unit/smb/auth/test_ntlm_client.h"

namespace concordfs::smb {
namespace {

using testing::Hex;
using testing::ToHex;

// MS-NLMP 4.2.4: the NTLMv2 example (user "User", domain "Domain", password
// "Password", server challenge 0123456789abcdef, client challenge aa..aa,
// time 0, random session key 55..55).
const std::string kServerChallenge = Hex("0123456789abcdef");

// The NTLMv2_CLIENT_CHALLENGE ("temp") of 4.2.4.1.3 / 4.2.4.2.2: version
// 1/1, time 0, client challenge aa..aa, then the CHALLENGE's AV pairs
// (NbDomainName "Domain", NbComputerName "Server", EOL) and 4 zero bytes.
std::string SpecTemp() {
  return Hex(
      "0101000000000000"
      "0000000000000000"
      "aaaaaaaaaaaaaaaa"
      "00000000"
      "02000c00"
      "44006f006d00610069006e00"
      "01000c00"
      "53006500720076006500720000000000"
      "00000000");
}

TEST(NtlmCryptoTest, ProviderLoads) {
  ASSERT_TRUE(NtlmCryptoStatus().ok()) << NtlmCryptoStatus().ToString();
}

TEST(NtlmCryptoTest, Md4Rfc1320) {
  EXPECT_EQ(ToHex(Md4("")), "31d6cfe0d16ae931b73c59d7e0c089c0");
  EXPECT_EQ(ToHex(Md4("abc")), "a448017aaf21d8525fc10ae87aa6729d");
}

TEST(NtlmCryptoTest, HmacMd5Rfc2202) {
  EXPECT_EQ(ToHex(HmacMd5("Jefe", "what do ya want for nothing?")),
            "750c783e6ab0b503eaa86e310a5db738");
}

TEST(NtlmCryptoTest, Rc4KnownVector) {
  EXPECT_EQ(ToHex(Rc4Once("Key", "Plaintext")), "bbf316e8d940af0ad3");
  // A stream continues across calls.
  Rc4 rc4("Key");
  std::string a = rc4.Apply("Plain");
  std::string b = rc4.Apply("text");
  EXPECT_EQ(ToHex(a + b), "bbf316e8d940af0ad3");
}

TEST(NtlmCryptoTest, NtHashOfPassword) {
  EXPECT_EQ(ToHex(NtOwfV1("Password")), "a4f49c406510bdcab6824ee7c30fd852");
}

TEST(NtlmCryptoTest, NtowfV2SpecVector) {
  std::string ntowf = NtOwfV2(NtOwfV1("Password"), "User", "Domain");
  EXPECT_EQ(ToHex(ntowf), "0c868a403bfd7a93a3001ef22ef02e3f");
  // The user name is upper-cased, the domain is not.
  EXPECT_EQ(NtOwfV2(NtOwfV1("Password"), "uSeR", "Domain"), ntowf);
  EXPECT_NE(NtOwfV2(NtOwfV1("Password"), "User", "DOMAIN"), ntowf);
}

TEST(NtlmCryptoTest, NtProofStrAndSessionBaseKeySpecVector) {
  std::string ntowf = NtOwfV2(NtOwfV1("Password"), "User", "Domain");
  std::string proof = NtProofStr(ntowf, kServerChallenge, SpecTemp());
  EXPECT_EQ(ToHex(proof), "68cd0ab851e51c96aabc927bebef6a1c");
  std::string base = SessionBaseKeyV2(ntowf, proof);
  EXPECT_EQ(ToHex(base), "8de40ccadbc14a82f15cb0ad0de95ca3");
  // 4.2.4.2.3: the EncryptedRandomSessionKey for RandomSessionKey 55..55.
  EXPECT_EQ(ToHex(Rc4Once(base, std::string(16, '\x55'))),
            "c5dad2544fc9799094ce1ce90bc9d03e");
  // 4.2.4.2.1: LMv2 response = HMAC_MD5(key, server || client challenge).
  EXPECT_EQ(ToHex(HmacMd5(ntowf, kServerChallenge + std::string(8, '\xaa'))),
            "86c35097ac9cec102554764a57cccc19");
}

TEST(NtlmCryptoTest, SessionSecuritySpecVector) {
  // 4.2.4.4: GSS_WrapEx of "Plaintext" (UTF-16LE), sequence 0, client side.
  uint32_t flags = kNtlmNegotiateKeyExch | kNtlmNegotiate128 |
                   kNtlmNegotiateExtendedSessionSecurity | kNtlmNegotiateSeal |
                   kNtlmNegotiateSign;
  std::string esk(16, '\x55');
  EXPECT_EQ(ToHex(NtlmSignKey(esk, true)), "4788dc861b4782f35d43fd98fe1a2d39");
  EXPECT_EQ(ToHex(NtlmSealKey(esk, flags, true)),
            "59f600973cc4960a25480a7c196e4c58");
  NtlmSessionSecurity client(esk, flags, NtlmSessionSecurity::Role::kClient);
  ASSERT_TRUE(client.ok());
  std::string sig;
  std::string sealed = client.Seal(Utf8ToUtf16("Plaintext"), &sig);
  EXPECT_EQ(ToHex(sealed), "54e50165bf1936dc996020c1811b0f06fb5f");
  EXPECT_EQ(ToHex(sig), "010000007fb38ec5c55d497600000000");
}

TEST(NtlmCryptoTest, SignAndVerifyAcrossRoles) {
  uint32_t flags = kNtlmNegotiateKeyExch | kNtlmNegotiate128 |
                   kNtlmNegotiateExtendedSessionSecurity | kNtlmNegotiateSign;
  std::string esk = RandomBytes(16);
  NtlmSessionSecurity client(esk, flags, NtlmSessionSecurity::Role::kClient);
  NtlmSessionSecurity server(esk, flags, NtlmSessionSecurity::Role::kServer);
  std::string s0 = client.Sign("message one");
  std::string s1 = client.Sign("message two");
  EXPECT_TRUE(server.Verify("message one", s0));
  EXPECT_TRUE(server.Verify("message two", s1));
  std::string back = server.Sign("reply");
  EXPECT_TRUE(client.Verify("reply", back));
  // Without extended session security nothing is signed.
  NtlmSessionSecurity legacy(esk, kNtlmNegotiateSign,
                             NtlmSessionSecurity::Role::kServer);
  EXPECT_FALSE(legacy.ok());
  EXPECT_EQ(legacy.Sign("x"), "");
}

TEST(NtlmCryptoTest, VerifyRejectsForgery) {
  uint32_t flags = kNtlmNegotiate128 | kNtlmNegotiateExtendedSessionSecurity;
  std::string esk = RandomBytes(16);
  NtlmSessionSecurity client(esk, flags, NtlmSessionSecurity::Role::kClient);
  NtlmSessionSecurity server(esk, flags, NtlmSessionSecurity::Role::kServer);
  std::string sig = client.Sign("abc");
  EXPECT_FALSE(server.Verify("abd", sig));
  EXPECT_FALSE(server.Verify("abc", sig.substr(0, 15)));
}

TEST(NtlmCryptoTest, SealKeyStrength) {
  std::string esk = RandomBytes(16);
  std::string k128 = NtlmSealKey(esk, kNtlmNegotiate128, false);
  std::string k56 = NtlmSealKey(esk, kNtlmNegotiate56, false);
  std::string k40 = NtlmSealKey(esk, 0, false);
  EXPECT_NE(k128, k56);
  EXPECT_NE(k56, k40);
  // 56-bit uses the first 7 bytes only.
  std::string other = esk;
  other[10] ^= 1;
  EXPECT_EQ(NtlmSealKey(other, kNtlmNegotiate56, false), k56);
  EXPECT_NE(NtlmSealKey(other, kNtlmNegotiate128, false), k128);
}

TEST(NtlmCryptoTest, RandomAndCompare) {
  EXPECT_EQ(RandomBytes(8).size(), 8u);
  EXPECT_NE(RandomBytes(16), RandomBytes(16));
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "ab"));
}

}  // namespace
}  // namespace concordfs::smb
