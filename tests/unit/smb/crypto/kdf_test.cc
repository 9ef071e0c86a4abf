#include "smb/crypto/kdf.h"

#include <gtest/gtest.h>

#include "tests/unit/smb/crypto/test_util.h"

namespace concordfs::smb {
namespace {

using namespace std::string_view_literals;
using testing::Hex;
using testing::Preauth311;
using testing::Unhex;

// MS: "Encryption in SMB 3.0" sample; the client's encryption key is the
// server's decryption key ("ServerIn ") and vice versa ("ServerOut").
TEST(SmbKdf, Smb30MicrosoftSample) {
  const std::string sk = Unhex("B4546771B515F766A86735532DD6C4F0");
  EXPECT_EQ(Hex(SmbKdf(sk, "SMB2AESCCM\0"sv, "ServerIn \0"sv, 128)),
            "261B72350558F2E9DCF613070383EDBF");
  EXPECT_EQ(Hex(SmbKdf(sk, "SMB2AESCCM\0"sv, "ServerOut\0"sv, 128)),
            "8FE2B57EC34D2DB5B1A9727F526BBDB5");
}

// MS: "SMB 3.1.1 encryption in Windows 10" sample (AES-128-GCM).
TEST(SmbKdf, Smb311MicrosoftSample) {
  const std::string sk = Unhex("419FDDF34C1E001909D362AE7FB6AF79");
  EXPECT_EQ(Hex(SmbKdf(sk, "SMBC2SCipherKey\0"sv, Preauth311(), 128)),
            "A2F5E80E5D59103034F32E52F698E5EC");
  EXPECT_EQ(Hex(SmbKdf(sk, "SMBS2CCipherKey\0"sv, Preauth311(), 128)),
            "748C50868C90F302962A5C35F5F9A8BF");
}

// Python reference: three HMAC blocks, L = 384 in every block.
TEST(SmbKdf, MultiBlockOutput) {
  std::string key;
  for (int i = 0; i < 16; ++i) key.push_back(static_cast<char>(i));
  EXPECT_EQ(Hex(SmbKdf(key, "L\0"sv, "C\0"sv, 384)),
            "E842A18CBDB8A3B4B4206C278298A85226C263E83CBDA83CC63C241EC6BA0D29"
            "5B854C01E44D5E88C14DFA21891C0BEF");
}

TEST(SmbKdf, RejectsBadLength) {
  EXPECT_TRUE(SmbKdf("key", "L", "C", 0).empty());
  EXPECT_TRUE(SmbKdf("key", "L", "C", -8).empty());
  EXPECT_TRUE(SmbKdf("key", "L", "C", 100).empty());
  EXPECT_EQ(SmbKdf("key", "L", "C", 8).size(), 1u);
}

TEST(DeriveSessionKeys, Smb2xUsesSessionKey) {
  const std::string sk = Unhex("00112233445566778899AABBCCDDEEFF0102");
  for (uint16_t dialect : {0x0202, 0x0210}) {
    SessionKeys k = DeriveSessionKeys(dialect, sk, Cipher::kNone, {});
    EXPECT_EQ(Hex(k.signing), "00112233445566778899AABBCCDDEEFF");
    EXPECT_EQ(k.application, k.signing);
    EXPECT_TRUE(k.encrypt.empty());
    EXPECT_TRUE(k.decrypt.empty());
  }
  // A short key is right-padded with zeros to 16 bytes.
  EXPECT_EQ(
      Hex(DeriveSessionKeys(0x0210, "\x01\x02", Cipher::kNone, {}).signing),
      "01020000000000000000000000000000");
}

// MS values for the cipher keys, python reference for signing and
// application keys.
TEST(DeriveSessionKeys, Smb30) {
  const std::string sk = Unhex("B4546771B515F766A86735532DD6C4F0");
  for (uint16_t dialect : {0x0300, 0x0302}) {
    // The cipher and hash are ignored: 3.0.x always uses AES-128-CCM.
    for (Cipher c : {Cipher::kNone, Cipher::kAes128Ccm, Cipher::kAes256Gcm}) {
      SessionKeys k = DeriveSessionKeys(dialect, sk, c, "ignored");
      EXPECT_EQ(Hex(k.signing), "F773CD23C18FD1E08EE510CADA7CF852");
      EXPECT_EQ(Hex(k.application), "77432F808CE99156B5BC6A3676D730D1");
      EXPECT_EQ(Hex(k.encrypt), "8FE2B57EC34D2DB5B1A9727F526BBDB5");
      EXPECT_EQ(Hex(k.decrypt), "261B72350558F2E9DCF613070383EDBF");
    }
  }
}

TEST(DeriveSessionKeys, Smb311Aes128) {
  const std::string sk = Unhex("419FDDF34C1E001909D362AE7FB6AF79");
  for (Cipher c : {Cipher::kAes128Gcm, Cipher::kAes128Ccm}) {
    SessionKeys k = DeriveSessionKeys(0x0311, sk, c, Preauth311());
    EXPECT_EQ(Hex(k.signing), "8765949DFEAEE105CE9118B45BE988F0");
    EXPECT_EQ(Hex(k.application), "099D610789FBE82055B313601C3E8CC4");
    EXPECT_EQ(Hex(k.encrypt), "748C50868C90F302962A5C35F5F9A8BF");
    EXPECT_EQ(Hex(k.decrypt), "A2F5E80E5D59103034F32E52F698E5EC");
  }
  SessionKeys none = DeriveSessionKeys(0x0311, sk, Cipher::kNone, Preauth311());
  EXPECT_EQ(Hex(none.signing), "8765949DFEAEE105CE9118B45BE988F0");
  EXPECT_TRUE(none.encrypt.empty());
  EXPECT_TRUE(none.decrypt.empty());
}

// Python reference: 256-bit cipher keys from the full (32-byte) session
// key; signing still from its first 16 bytes.
TEST(DeriveSessionKeys, Smb311Aes256UsesFullSessionKey) {
  std::string full;
  for (int i = 0xA0; i < 0xC0; ++i) full.push_back(static_cast<char>(i));
  for (Cipher c : {Cipher::kAes256Gcm, Cipher::kAes256Ccm}) {
    SessionKeys k = DeriveSessionKeys(0x0311, full, c, Preauth311());
    EXPECT_EQ(Hex(k.signing), "B959BCE9E5B3C43CFDCE21E74CE7A771");
    EXPECT_EQ(
        Hex(k.encrypt),
        "C7BA1E303EDE52EC878C7288EA1EAA347D532DB8712A3ED8B0C516D1C688EDCE");
    EXPECT_EQ(
        Hex(k.decrypt),
        "1D4303B855A63056A3609706CC7DDE6821DD79AD4E5B5D97DDB204CCFA511F11");
  }
}

}  // namespace
}  // namespace concordfs::smb
