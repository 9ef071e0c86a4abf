#include "smb/crypto/signing.h"

#include <gtest/gtest.h>

#include "tests/unit/smb/crypto/test_util.h"

namespace concordfs::smb {
namespace {

using testing::Hex;
using testing::Response311;
using testing::Unhex;
using testing::Write311;

const std::string kSigningKey311 = Unhex("73FE7A9A77BEF0BDE49C650D8CCB5F76");

// A CANCEL request (MessageId 7, SIGNED) for the GMAC nonce's cancel bit.
std::string CancelRequest() {
  return Unhex(
      "FE534D4240000000000000000C00000008000000000000000700000000000000"
      "0000000001000000250000000010000000000000000000000000000000000000"
      "04000000");
}

std::string WithSignature(std::string msg, std::string_view sig) {
  msg.replace(48, 16, sig);
  return msg;
}

// Two SMB 2.1 responses signed by Windows (HMAC-SHA256 with the NTLM
// session key), signature in place at offset 48.
TEST(Signing, HmacSha256CapturedSmb21) {
  struct Case {
    const char* key;
    const char* message;
  };
  const Case cases[] = {
      {"D38354CC374339F0524F789146789921",
       "FE534D4240000100280100C00B000700090000000000000004000000000000"
       "00FFFE0000010000000100000000040000FBD284340324C62FBEBB65DD1051"
       "F3AE0900000000000000FF"},
      {"04E707571F8E0353B77A94C3653B87B5",
       "FE534D4240000100280100C00B000700090000000000000004000000000000"
       "00FFFE0000010000000500000000040000A164FFE53D6811981F386772E387"
       "E06F0900000000000000FF"},
  };
  for (const Case& c : cases) {
    const std::string key = Unhex(c.key);
    const std::string msg = Unhex(c.message);
    ASSERT_EQ(msg.size(), 73u);
    EXPECT_TRUE(VerifySignature(SigningAlg::kHmacSha256, key, msg));
    EXPECT_EQ(ComputeSignature(SigningAlg::kHmacSha256, key, msg),
              msg.substr(48, 16));
    std::string resigned = WithSignature(msg, std::string(16, '\x55'));
    EXPECT_FALSE(VerifySignature(SigningAlg::kHmacSha256, key, resigned));
    ASSERT_TRUE(SignMessage(SigningAlg::kHmacSha256, key, &resigned));
    EXPECT_EQ(resigned, msg);
  }
}

// Python reference (Cryptodome CMAC over the message, signature zeroed).
TEST(Signing, AesCmac) {
  const std::string sig =
      ComputeSignature(SigningAlg::kAesCmac, kSigningKey311, Write311());
  EXPECT_EQ(Hex(sig), "6C8CAB5F147C12AE052AA88B802D5983");
  // Whatever the Signature field holds, it counts as zero.
  EXPECT_EQ(ComputeSignature(SigningAlg::kAesCmac, kSigningKey311,
                             WithSignature(Write311(), std::string(16, 'x'))),
            sig);
  std::string msg = Write311();
  ASSERT_TRUE(SignMessage(SigningAlg::kAesCmac, kSigningKey311, &msg));
  EXPECT_EQ(msg, WithSignature(Write311(), sig));
  EXPECT_TRUE(VerifySignature(SigningAlg::kAesCmac, kSigningKey311, msg));
  EXPECT_FALSE(VerifySignature(SigningAlg::kAesGmac, kSigningKey311, msg));
  EXPECT_FALSE(VerifySignature(SigningAlg::kHmacSha256, kSigningKey311, msg));
}

// Python reference: AES-GCM with the message as AAD, nonce = MessageId ||
// (response ? 1 : 0) | (cancel request ? 2 : 0).
TEST(Signing, AesGmacNonceFromHeader) {
  struct Case {
    std::string message;
    const char* signature;
  };
  const Case cases[] = {
      {Write311(), "758F6D4C97CF4F165F0D9C04873E9A98"},     // request
      {Response311(), "7AB1138B81ADD36B8145CF4CD1E234A4"},  // response
      {CancelRequest(), "88F826BE64B09895221AA29769D181F3"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(
        Hex(ComputeSignature(SigningAlg::kAesGmac, kSigningKey311, c.message)),
        c.signature);
    std::string msg = c.message;
    ASSERT_TRUE(SignMessage(SigningAlg::kAesGmac, kSigningKey311, &msg));
    EXPECT_TRUE(VerifySignature(SigningAlg::kAesGmac, kSigningKey311, msg));
  }
  // Another MessageId gives another nonce, so another signature.
  std::string other = Write311();
  other[24] = 6;
  EXPECT_NE(ComputeSignature(SigningAlg::kAesGmac, kSigningKey311, other),
            ComputeSignature(SigningAlg::kAesGmac, kSigningKey311, Write311()));
}

TEST(Signing, AnyChangedByteFailsVerification) {
  for (SigningAlg alg :
       {SigningAlg::kHmacSha256, SigningAlg::kAesCmac, SigningAlg::kAesGmac}) {
    std::string msg = Write311();
    ASSERT_TRUE(SignMessage(alg, kSigningKey311, &msg));
    ASSERT_TRUE(VerifySignature(alg, kSigningKey311, msg));
    for (size_t i = 0; i < msg.size(); ++i) {
      std::string bad = msg;
      bad[i] ^= 0x01;
      EXPECT_FALSE(VerifySignature(alg, kSigningKey311, bad))
          << static_cast<int>(alg) << " byte " << i;
    }
    // Appended bytes (e.g. compound padding) are covered too.
    EXPECT_FALSE(VerifySignature(alg, kSigningKey311, msg + '\0'));
    std::string wrong_key = kSigningKey311;
    wrong_key[0] ^= 1;
    EXPECT_FALSE(VerifySignature(alg, wrong_key, msg));
  }
}

TEST(Signing, ShortMessageOrBadKeyIsNoSignature) {
  for (SigningAlg alg :
       {SigningAlg::kHmacSha256, SigningAlg::kAesCmac, SigningAlg::kAesGmac}) {
    for (size_t len : {0, 1, 48, 63}) {
      std::string msg = Write311().substr(0, len);
      EXPECT_TRUE(ComputeSignature(alg, kSigningKey311, msg).empty());
      EXPECT_FALSE(SignMessage(alg, kSigningKey311, &msg));
      EXPECT_EQ(msg, Write311().substr(0, len));
      EXPECT_FALSE(VerifySignature(alg, kSigningKey311, msg));
    }
    // Exactly a header is enough.
    EXPECT_EQ(
        ComputeSignature(alg, kSigningKey311, Write311().substr(0, 64)).size(),
        16u);
  }
  std::string msg = Write311();
  EXPECT_FALSE(SignMessage(SigningAlg::kAesCmac, "short", &msg));
  EXPECT_FALSE(SignMessage(SigningAlg::kAesGmac, "short", &msg));
  EXPECT_FALSE(VerifySignature(SigningAlg::kAesCmac, "", msg));
  EXPECT_EQ(msg, Write311());
}

TEST(SigningAlg, WireIds) {
  EXPECT_EQ(SigningAlgFromId(0), SigningAlg::kHmacSha256);
  EXPECT_EQ(SigningAlgFromId(1), SigningAlg::kAesCmac);
  EXPECT_EQ(SigningAlgFromId(2), SigningAlg::kAesGmac);
  EXPECT_FALSE(SigningAlgFromId(3).has_value());
  EXPECT_EQ(SigningAlgId(SigningAlg::kHmacSha256), 0);
  EXPECT_EQ(SigningAlgId(SigningAlg::kAesGmac), 2);
  EXPECT_EQ(DefaultSigningAlg(0x0210), SigningAlg::kHmacSha256);
  EXPECT_EQ(DefaultSigningAlg(0x0300), SigningAlg::kAesCmac);
  EXPECT_EQ(DefaultSigningAlg(0x0311), SigningAlg::kAesCmac);
}

}  // namespace
}  // namespace concordfs::smb
