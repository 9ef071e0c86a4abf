#include "smb/crypto/transform.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "smb/crypto/kdf.h"
#include "tests/unit/smb/crypto/test_util.h"

namespace concordfs::smb {
namespace {

using testing::Hex;
using testing::Preauth311;
using testing::Response311;
using testing::Unhex;
using testing::Write311;

constexpr Cipher kAllCiphers[] = {Cipher::kAes128Ccm, Cipher::kAes128Gcm,
                                  Cipher::kAes256Ccm, Cipher::kAes256Gcm};

std::string KeyFor(Cipher c, char fill = 'k') {
  return std::string(CipherKeySize(c), fill);
}

// MS: "Encryption in SMB 3.0" WRITE request, AES-128-CCM. Windows left
// non-zero bytes after the 11-byte nonce; they are authenticated as sent.
TEST(Transform, Smb30MicrosoftSample) {
  const std::string plaintext = Unhex(
      "FE534D4240000100000000000900400008000000000000000400000000000000"
      "FFFE0000010000001100001400E4080000000000000000000000000000000000"
      "3100700017000000000000000000000015010000390000020100000039020000"
      "00000000000000007000000000000000536D623320656E6372797074696F6E20"
      "74657374696E67");
  const std::string expected = Unhex(
      "FD534D4281A286535415445DAE393921E44FA42E66E69A111892584FB5ED524A"
      "744DA3EE87000000000001001100001400E4080025C8FEE16605A437832D1CD5"
      "2DA9F4645333482A175FE5384563F45FCDAFAEF38BC62BA4D5C62897996625A4"
      "4C29BE5658DE2E6117585779E7B59FFD971278D08580D7FA899E410E910EABF5"
      "AA1DB43050B33B49182637759AC15D84BFCDF5B6B238993C0F4CF4D6012023F6"
      "C627297075D84B7803912D0A9639634453595EF3E33FFE4E7AC2AB");
  // The client encrypts with its key = the server's decryption key.
  const SessionKeys keys =
      DeriveSessionKeys(0x0300, Unhex("B4546771B515F766A86735532DD6C4F0"),
                        Cipher::kAes128Ccm, {});
  auto sealed = EncryptMessageWithNonce(
      Cipher::kAes128Ccm, keys.decrypt, 0x8E40014000011,
      Unhex("66E69A111892584FB5ED524A744DA3EE"), plaintext);
  ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
  EXPECT_EQ(Hex(*sealed), Hex(expected));

  auto opened = DecryptMessage(Cipher::kAes128Ccm, keys.decrypt, expected);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(opened->session_id, 0x8E40014000011u);
  EXPECT_EQ(Hex(opened->plaintext), Hex(plaintext));
  EXPECT_EQ(TransformSessionId(expected), 0x8E40014000011u);

  // The server's response in the same sample, under the server's key.
  const std::string response = Unhex(
      "FD534D42A6015530A18F6D9AFFE22AFAE8E66484860000000000000011000014"
      "00E4080050000000000001001100001400E40800DBF46435C5F14169293CE079"
      "E344479BF670227E49873F458672C3098DAC467DD5809F369D67409166515787"
      "1483E01F7BECD02064EAC3E235F913668BBC2F097980D4B378F1993EFF6E60D1"
      "77309E5B");
  auto reply = DecryptMessage(Cipher::kAes128Ccm, keys.encrypt, response);
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ(Hex(reply->plaintext),
            "FE534D4240000100000000000900210009000000000000000400000000000000"
            "FFFE0000010000001100001400E4080000000000000000000000000000000000"
            "11000000170000000000000000000000");
}

// MS: "SMB 3.1.1 encryption in Windows 10", AES-128-GCM.
TEST(Transform, Smb311MicrosoftSample) {
  const SessionKeys keys =
      DeriveSessionKeys(0x0311, Unhex("419FDDF34C1E001909D362AE7FB6AF79"),
                        Cipher::kAes128Gcm, Preauth311());
  const std::string expected = Unhex(
      "FD534D42BD73D97D2BC9001BCAFAC0FDFF5FEEBCC7D6822D269CAF48904C664C"
      "00000000870000000000010025000000001000006ECDD2A7AFC7B47763057A04"
      "1B8FD4DAFFE990B70C9E09D36C084E02D14EF247F8BDE38ACF6256F8B1D3B56F"
      "77FBDEB312FEA5E92CBCC1ED8FB2EBBFAA75E49A4A394BB44576545567C24D4C"
      "014D47C9FBDFDAFD2C4F9B72F8D256452620A299F48E29E53D6B61D1C13A19E9"
      "1AF013F00D17E3ABC2FC3D36C8C1B6B93973253852DBD442E46EE8");
  auto sealed = EncryptMessageWithNonce(
      Cipher::kAes128Gcm, keys.decrypt, 0x100000000025,
      Unhex("C7D6822D269CAF48904C664C00000000"), Write311());
  ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
  EXPECT_EQ(Hex(*sealed), Hex(expected));
  auto opened = DecryptMessage(Cipher::kAes128Gcm, keys.decrypt, expected);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(opened->plaintext, Write311());

  const std::string response = Unhex(
      "FD534D42ACBE1CB7ED343ADF1725EF144D90D4B0E06831DD2E8EB7B400000000"
      "000000005000000000000100250000000010000026BBBF949983A6C1C796559D"
      "0F2C510CB651D1F7B6AC8DED32A2A0B8F2D793A815C6F6B848D69767A215841A"
      "42D400AE6DDB5F0B44173A014973321FDD7950DA6179159B82E03C9E18A050FF"
      "0EA1C967");
  auto reply = DecryptMessage(Cipher::kAes128Gcm, keys.encrypt, response);
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ(reply->plaintext, Response311());
  EXPECT_EQ(reply->session_id, 0x100000000025u);
}

// Python reference (Cryptodome) for the AES-256 ciphers, key from
// DeriveSessionKeys with a 32-byte session key.
TEST(Transform, Aes256ReferenceCiphertexts) {
  std::string full;
  for (int i = 0xA0; i < 0xC0; ++i) full.push_back(static_cast<char>(i));
  const std::string key =
      DeriveSessionKeys(0x0311, full, Cipher::kAes256Gcm, Preauth311()).encrypt;
  ASSERT_EQ(key.size(), 32u);
  struct Case {
    Cipher cipher;
    const char* nonce_field;
    const char* expected;
  };
  const Case cases[] = {
      {Cipher::kAes256Gcm, "0102030405060708090A0B0C00000000",
       "FD534D42A13241AB4409BBFAE21CD5780AD71FE20102030405060708090A0B0C"
       "00000000870000000000010025000000001000007E58C1821279CFEB29D58B0B"
       "31F884D82937FCA1B672573D17388E650E941695AACA773B1CFB3F04D86E3EA8"
       "A5315A3EF466E6FC318C13D650F0F79C350639578EE28EF7355FD0EF5FE8E875"
       "15E4ABCA3DA1D63762B94A5BFA89E6E0D38078DF1F25342C80B99579BD84144A"
       "73F8C06A9E14344631458ABE907524E27901BC080D9FC06CDA1A19"},
      {Cipher::kAes256Ccm, "0102030405060708090A0B0000000000",
       "FD534D42D990323866CD34554FE0AF2C656780660102030405060708090A0B00"
       "0000000087000000000001002500000000100000E0A6D85F9F97B80C41ECB29C"
       "3EF89933BFC05F7125E150AA2270E865AC52F85D4BFAAE1F69AD51C18EDA8E09"
       "DAD6DF70AFB311AD1C3CE6E5E3A94809B968B366FF323CE3DB2AB4A7EFA52D49"
       "20965DFAD825371BA63E6CC25B9824C8B15F858172CFC101E1F311FDE59934B7"
       "B84FE9E20E6D6CC55AC1FFA22899A3EEA7CC22B749A5783D33F933"},
  };
  for (const Case& c : cases) {
    auto sealed = EncryptMessageWithNonce(c.cipher, key, 0x100000000025,
                                          Unhex(c.nonce_field), Write311());
    ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
    EXPECT_EQ(Hex(*sealed), Hex(Unhex(c.expected)));
    auto opened = DecryptMessage(c.cipher, key, *sealed);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    EXPECT_EQ(opened->plaintext, Write311());
  }
}

TEST(Transform, RoundTripsEveryCipherAndSize) {
  for (Cipher c : kAllCiphers) {
    const std::string key = KeyFor(c);
    for (size_t size : {1, 15, 16, 17, 64, 1000, 65536 + 3, 1 << 20}) {
      std::string plaintext(size, '\0');
      for (size_t i = 0; i < size; ++i) {
        plaintext[i] = static_cast<char>(i * 31 + 7);
      }
      auto sealed = EncryptMessage(c, key, 0x1122334455667788, plaintext);
      ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
      ASSERT_EQ(sealed->size(), 52 + size);
      EXPECT_TRUE(IsTransformMessage(*sealed));
      EXPECT_EQ(TransformSessionId(*sealed), 0x1122334455667788u);
      // Header layout: size, reserved, flags; nonce padding is zero.
      EXPECT_EQ(Hex(sealed->substr(36, 8)),
                Hex(std::string{static_cast<char>(size & 0xFF),
                                static_cast<char>((size >> 8) & 0xFF),
                                static_cast<char>((size >> 16) & 0xFF),
                                static_cast<char>(size >> 24), 0, 0, 1, 0}));
      const size_t nonce_size = CipherNonceSize(c);
      EXPECT_EQ(sealed->substr(20 + nonce_size, 16 - nonce_size),
                std::string(16 - nonce_size, '\0'));
      EXPECT_NE(sealed->substr(52, std::min<size_t>(size, 64)),
                plaintext.substr(0, 64));
      auto opened = DecryptMessage(c, key, *sealed);
      ASSERT_TRUE(opened.ok()) << opened.status().ToString();
      EXPECT_EQ(opened->session_id, 0x1122334455667788u);
      EXPECT_TRUE(opened->plaintext == plaintext);
    }
  }
}

TEST(Transform, WrongKeyOrCipherIsRejected) {
  for (Cipher c : kAllCiphers) {
    auto sealed = EncryptMessage(c, KeyFor(c), 7, Write311());
    ASSERT_TRUE(sealed.ok());
    auto bad = DecryptMessage(c, KeyFor(c, 'K'), *sealed);
    EXPECT_EQ(bad.code(), EBADMSG);
    for (Cipher other : kAllCiphers) {
      if (other == c) continue;
      auto wrong = DecryptMessage(other, KeyFor(other), *sealed);
      EXPECT_FALSE(wrong.ok());
    }
  }
}

TEST(Transform, AnyTamperedByteIsRejected) {
  for (Cipher c : kAllCiphers) {
    const std::string key = KeyFor(c);
    auto sealed = EncryptMessage(c, key, 0x100000000025, Write311());
    ASSERT_TRUE(sealed.ok());
    for (size_t i = 0; i < sealed->size(); ++i) {
      std::string bad = *sealed;
      bad[i] ^= 0x20;
      auto r = DecryptMessage(c, key, bad);
      ASSERT_FALSE(r.ok()) << "byte " << i;
      // ProtocolId, OriginalMessageSize and Flags are checked before the
      // tag; everything else fails authentication.
      const bool structural =
          i < 4 || (i >= 36 && i < 40) || (i >= 42 && i < 44);
      EXPECT_EQ(r.code(), structural ? EINVAL : EBADMSG) << "byte " << i;
    }
  }
}

TEST(Transform, EveryTruncationIsRejected) {
  for (Cipher c : kAllCiphers) {
    const std::string key = KeyFor(c);
    auto sealed = EncryptMessage(c, key, 3, Write311());
    ASSERT_TRUE(sealed.ok());
    for (size_t len = 0; len < sealed->size(); ++len) {
      // A copy of exactly `len` bytes, so ASan sees any over-read.
      const std::string prefix = sealed->substr(0, len);
      auto r = DecryptMessage(c, key, prefix);
      EXPECT_EQ(r.code(), EINVAL) << "length " << len;
      EXPECT_EQ(TransformSessionId(prefix), len >= 52 ? 3u : 0u);
    }
    // Trailing bytes do not match OriginalMessageSize either.
    EXPECT_EQ(DecryptMessage(c, key, *sealed + "x").code(), EINVAL);
  }
}

TEST(Transform, RejectsBadArguments) {
  EXPECT_EQ(EncryptMessage(Cipher::kNone, "", 1, "x").code(), EINVAL);
  EXPECT_EQ(
      EncryptMessage(Cipher::kAes128Gcm, std::string(32, 'k'), 1, "x").code(),
      EINVAL);
  EXPECT_EQ(
      EncryptMessage(Cipher::kAes256Ccm, std::string(16, 'k'), 1, "x").code(),
      EINVAL);
  EXPECT_EQ(
      EncryptMessage(Cipher::kAes128Ccm, std::string(16, 'k'), 1, "").code(),
      EINVAL);
  EXPECT_EQ(EncryptMessageWithNonce(Cipher::kAes128Gcm, std::string(16, 'k'), 1,
                                    std::string(12, 'n'), "x")
                .code(),
            EINVAL);
  EXPECT_EQ(DecryptMessage(Cipher::kNone, "", std::string(80, 'x')).code(),
            EINVAL);
  // A header that claims an empty message.
  std::string empty_msg = Unhex("FD534D42") + std::string(32, '\0');
  empty_msg += Unhex("00000000 0000 0100 0100000000000000");
  ASSERT_EQ(empty_msg.size(), 52u);
  EXPECT_EQ(DecryptMessage(Cipher::kAes128Gcm, std::string(16, 'k'), empty_msg)
                .code(),
            EINVAL);
}

TEST(Transform, IsTransformMessage) {
  EXPECT_TRUE(IsTransformMessage(Unhex("FD534D42")));
  EXPECT_FALSE(IsTransformMessage(Unhex("FE534D42")));
  EXPECT_FALSE(IsTransformMessage(Unhex("FD534D")));
  EXPECT_FALSE(IsTransformMessage(""));
}

TEST(Transform, NoncesNeverRepeat) {
  for (Cipher c : {Cipher::kAes128Ccm, Cipher::kAes128Gcm}) {
    std::set<std::string> seen;
    for (int i = 0; i < 20000; ++i) {
      auto sealed = EncryptMessage(c, KeyFor(c), 1, "hello");
      ASSERT_TRUE(sealed.ok());
      EXPECT_TRUE(seen.insert(sealed->substr(20, 16)).second) << i;
    }
  }
}

TEST(Cipher, WireIdsAndSizes) {
  EXPECT_FALSE(CipherFromId(0).has_value());
  EXPECT_EQ(CipherFromId(1), Cipher::kAes128Ccm);
  EXPECT_EQ(CipherFromId(4), Cipher::kAes256Gcm);
  EXPECT_FALSE(CipherFromId(5).has_value());
  EXPECT_EQ(CipherKeySize(Cipher::kAes128Gcm), 16u);
  EXPECT_EQ(CipherKeySize(Cipher::kAes256Ccm), 32u);
  EXPECT_EQ(CipherKeySize(Cipher::kNone), 0u);
  EXPECT_EQ(CipherNonceSize(Cipher::kAes256Ccm), 11u);
  EXPECT_EQ(CipherNonceSize(Cipher::kAes128Gcm), 12u);
}

}  // namespace
}  // namespace concordfs::smb
