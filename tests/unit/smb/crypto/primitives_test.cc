#include "smb/crypto/primitives.h"

#include <gtest/gtest.h>

#include "tests/unit/smb/crypto/test_util.h"

namespace concordfs::smb::crypto {
namespace {

using ::concordfs::smb::testing::Hex;
using ::concordfs::smb::testing::Unhex;

// RFC 4493 section 4, examples 1-4.
TEST(AesCmac, Rfc4493Vectors) {
  const std::string key = Unhex("2b7e151628aed2a6abf7158809cf4f3c");
  const std::string m = Unhex(
      "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
      "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710");
  struct Case {
    size_t len;
    const char* mac;
  };
  for (const Case& c : {Case{0, "BB1D6929E95937287FA37D129B756746"},
                        Case{16, "070A16B46B4D4144F79BDD9DD04A287C"},
                        Case{40, "DFA66747DE9AE63030CA32611497C827"},
                        Case{64, "51F0BEBF7E3B9D92FC49741779363CFE"}}) {
    EXPECT_EQ(Hex(AesCmac(key, {std::string_view(m).substr(0, c.len)})), c.mac)
        << c.len;
  }
  // Parts are MACed as their concatenation, wherever the cuts fall.
  std::string_view v(m);
  EXPECT_EQ(
      Hex(AesCmac(key, {v.substr(0, 7), v.substr(7, 30), {}, v.substr(37)})),
      "51F0BEBF7E3B9D92FC49741779363CFE");
}

TEST(AesCmac, RejectsBadKeySize) {
  EXPECT_TRUE(AesCmac(std::string(15, 'k'), {"x"}).empty());
  EXPECT_TRUE(AesCmac({}, {"x"}).empty());
  EXPECT_EQ(AesCmac(std::string(32, 'k'), {"x"}).size(), 16u);
}

// RFC 4231 test case 2.
TEST(HmacSha256, Rfc4231Case2) {
  EXPECT_EQ(Hex(HmacSha256("Jefe", {"what do ya ", "want for nothing?"})),
            "5BDCC146BF60754E6A042426089575C75A003F089D2739839DEC58B964EC3843");
}

// FIPS 180-2 appendix C.1.
TEST(Sha512, Abc) {
  EXPECT_EQ(Hex(Sha512({"a", "bc"})),
            "DDAF35A193617ABACC417349AE20413112E6FA4E89A97EA20A9EEEE64B55D39A"
            "2192992A274FC1A836BA3C23A3FEEBBD454D4423643CE80E2A9AC94FA54CA49F");
}

// McGrew & Viega GCM test cases 1 and 2 (zero key, zero IV).
TEST(AesGcm, KnownAnswers) {
  const std::string key(16, '\0');
  const std::string iv(12, '\0');
  EXPECT_EQ(Hex(AesGmac(key, iv, {})), "58E2FCCEFA7E3061367F1D57A4E7455A");
  std::string ct(16, '\0');
  char tag[16];
  ASSERT_TRUE(AeadSeal(AeadMode::kGcm, key, iv, {}, std::string(16, '\0'),
                       ct.data(), tag));
  EXPECT_EQ(Hex(ct), "0388DACE60B6A392F328C2B971B2FE78");
  EXPECT_EQ(Hex(std::string_view(tag, 16)), "AB6E47D42CEC13BDF53A67B21257BDDF");
  std::string pt(16, 'x');
  ASSERT_TRUE(AeadOpen(AeadMode::kGcm, key, iv, {}, ct,
                       std::string_view(tag, 16), pt.data()));
  EXPECT_EQ(pt, std::string(16, '\0'));
}

TEST(Aead, RejectsBadArguments) {
  const std::string key(16, 'k');
  char out[8];
  char tag[16];
  // Nonce sizes: CCM 11, GCM 12.
  EXPECT_FALSE(AeadSeal(AeadMode::kCcm, key, std::string(12, 'n'), "a", "plain",
                        out, tag));
  EXPECT_FALSE(AeadSeal(AeadMode::kGcm, key, std::string(11, 'n'), "a", "plain",
                        out, tag));
  // Key sizes.
  EXPECT_FALSE(AeadSeal(AeadMode::kGcm, std::string(24, 'k'),
                        std::string(12, 'n'), "a", "plain", out, tag));
  // CCM needs data.
  EXPECT_FALSE(
      AeadSeal(AeadMode::kCcm, key, std::string(11, 'n'), "a", {}, out, tag));
  // Tag size.
  ASSERT_TRUE(AeadSeal(AeadMode::kCcm, key, std::string(11, 'n'), "a", "plain",
                       out, tag));
  EXPECT_FALSE(AeadOpen(AeadMode::kCcm, key, std::string(11, 'n'), "a",
                        std::string_view(out, 5), std::string_view(tag, 15),
                        out));
  char back[8];
  EXPECT_TRUE(AeadOpen(AeadMode::kCcm, key, std::string(11, 'n'), "a",
                       std::string_view(out, 5), std::string_view(tag, 16),
                       back));
  EXPECT_EQ(std::string_view(back, 5), "plain");
}

TEST(ConstantTimeEquals, Basics) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "ab"));
}

TEST(RandomBytes, FillsAndDiffers) {
  char a[32] = {};
  char b[32] = {};
  ASSERT_TRUE(RandomBytes(a, sizeof(a)));
  ASSERT_TRUE(RandomBytes(b, sizeof(b)));
  EXPECT_NE(std::string_view(a, 32), std::string_view(b, 32));
}

}  // namespace
}  // namespace concordfs::smb::crypto
