// XdrEncoder / XdrDecoder (RFC 4506): byte layout, padding, maximum
// lengths, and truncated or malformed input (never read past the end).
#include "rpc/xdr.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>

#include "tests/unit/rpc/rpc_test_util.h"

namespace concordfs::rpc {
namespace {

using testing::Wire;

std::string Hex(std::string_view s) {
  static const char* kDigits = "0123456789abcdef";
  std::string h;
  for (unsigned char c : s) {
    h += kDigits[c >> 4];
    h += kDigits[c & 15];
  }
  return h;
}

// A heap copy of exactly `s.size()` bytes, so that AddressSanitizer reports
// any read past the end (a std::string may have spare capacity).
class ExactBuffer {
 public:
  explicit ExactBuffer(std::string_view s)
      : size_(s.size()), p_(new char[s.empty() ? 1 : s.size()]) {
    if (!s.empty()) std::memcpy(p_.get(), s.data(), s.size());
  }
  std::string_view view() const { return {p_.get(), size_}; }
  bool Contains(std::string_view v) const {
    return v.empty() ||
           (v.data() >= p_.get() && v.data() + v.size() <= p_.get() + size_);
  }

 private:
  size_t size_;
  std::unique_ptr<char[]> p_;
};

TEST(XdrPad, PadsToFourBytes) {
  EXPECT_EQ(0u, XdrPad(0));
  EXPECT_EQ(3u, XdrPad(1));
  EXPECT_EQ(2u, XdrPad(2));
  EXPECT_EQ(1u, XdrPad(3));
  EXPECT_EQ(0u, XdrPad(4));
  EXPECT_EQ(3u, XdrPad(5));
  EXPECT_EQ(0u, XdrPad(1024));
}

TEST(XdrEncoder, IntegersAreBigEndian) {
  std::string out;
  XdrEncoder e(&out);
  e.U32(0x01020304);
  e.I32(-2);
  e.U64(0x1122334455667788ULL);
  e.Bool(true);
  e.Bool(false);
  EXPECT_EQ(Hex(out),
            "01020304"
            "fffffffe"
            "1122334455667788"
            "00000001"
            "00000000");
  EXPECT_EQ(out.size(), e.size());
}

TEST(XdrEncoder, OpaqueIsLengthBytesAndZeroPadding) {
  for (size_t n = 0; n <= 9; ++n) {
    std::string data(n, 'x');
    std::string out;
    XdrEncoder e(&out);
    e.Opaque(data);
    std::string want = Wire().Opaque(data);
    EXPECT_EQ(Hex(want), Hex(out)) << "n=" << n;
    EXPECT_EQ(0u, out.size() % 4) << "n=" << n;
  }
  std::string out;
  XdrEncoder e(&out);
  e.String("abcde");
  EXPECT_EQ(Hex(out),
            "00000005"
            "6162636465"
            "000000");
}

TEST(XdrEncoder, FixedHasNoLengthButIsPadded) {
  std::string out;
  XdrEncoder e(&out);
  e.Fixed("ab");
  e.Fixed("wxyz");
  EXPECT_EQ(Hex(out),
            "61620000"
            "7778797a");
}

TEST(XdrEncoder, ReservedOpaqueShrinksAndPads) {
  std::string out = "HDR!";
  XdrEncoder e(&out);
  size_t at = e.ReserveOpaque(10);
  ASSERT_EQ(8u, at);
  ASSERT_EQ(18u, out.size());
  std::memcpy(out.data() + at, "hello", 5);
  e.FinishReserved(at, 5);
  EXPECT_EQ(Hex(out), Hex("HDR!") +
                          "00000005"
                          "68656c6c6f"
                          "000000");

  // Using all of the room, at a multiple of four: no padding.
  std::string o2;
  XdrEncoder e2(&o2);
  size_t at2 = e2.ReserveOpaque(8);
  std::memcpy(o2.data() + at2, "12345678", 8);
  e2.FinishReserved(at2, 8);
  EXPECT_EQ(Hex(o2), "00000008" + Hex("12345678"));

  // Using none.
  std::string o3;
  XdrEncoder e3(&o3);
  e3.FinishReserved(e3.ReserveOpaque(100), 0);
  EXPECT_EQ(Hex(o3), "00000000");
}

TEST(XdrDecoder, RoundTripsEveryType) {
  std::string buf;
  XdrEncoder e(&buf);
  e.U32(0xdeadbeef);
  e.I32(-7);
  e.U64(0xfedcba9876543210ULL);
  e.Bool(true);
  e.Bool(false);
  e.Opaque("abc");
  e.String("");
  e.Fixed("12345");
  e.U32(42);
  ExactBuffer in(buf);
  XdrDecoder d(in.view());
  EXPECT_EQ(0xdeadbeefu, d.U32());
  EXPECT_EQ(-7, d.I32());
  EXPECT_EQ(0xfedcba9876543210ULL, d.U64());
  EXPECT_TRUE(d.Bool());
  EXPECT_FALSE(d.Bool());
  EXPECT_EQ("abc", d.Opaque());
  EXPECT_EQ("", d.String());
  EXPECT_EQ("12345", d.Fixed(5));
  EXPECT_EQ(42u, d.U32());  // the padding of each item was skipped
  EXPECT_TRUE(d.ok());
  EXPECT_EQ(0u, d.remaining());
}

TEST(XdrDecoder, OpaqueAtItsMaximumIsAccepted) {
  std::string buf = Wire().Opaque("four").U32(9);
  XdrDecoder d(buf);
  EXPECT_EQ("four", d.Opaque(4));
  EXPECT_EQ(9u, d.U32());
  EXPECT_TRUE(d.ok());
}

TEST(XdrDecoder, OpaqueAboveItsMaximumFails) {
  std::string buf = Wire().Opaque("fives").U32(9);
  XdrDecoder d(buf);
  EXPECT_EQ("", d.Opaque(4));
  EXPECT_FALSE(d.ok());
  XdrDecoder d2(buf);
  d2.String(4);
  EXPECT_FALSE(d2.ok());
}

// xdr.h: "after the first malformed or truncated item, ok() is false and
// every further read yields zero/empty".
TEST(XdrDecoder, ReadsAfterAnOverlongOpaqueYieldNothing) {
  std::string buf = Wire().Opaque("fives").U32(9).U32(10);
  XdrDecoder d(buf);
  d.Opaque(4);
  EXPECT_FALSE(d.ok());
  EXPECT_EQ(0u, d.U32()) << "a read after a failure returned data";
  EXPECT_EQ(0u, d.U64());
  EXPECT_EQ("", d.Opaque());
  EXPECT_FALSE(d.ok());
}

TEST(XdrDecoder, BoolOtherThanZeroOrOneFails) {
  for (uint32_t v : {2u, 3u, 0x80000000u, 0xffffffffu}) {
    std::string buf = Wire().U32(v);
    XdrDecoder d(buf);
    d.Bool();
    EXPECT_FALSE(d.ok()) << "bool " << v;
  }
  std::string ok = Wire().U32(0).U32(1);
  XdrDecoder d(ok);
  EXPECT_FALSE(d.Bool());
  EXPECT_TRUE(d.Bool());
  EXPECT_TRUE(d.ok());
}

TEST(XdrDecoder, ReadsAfterABadBoolYieldNothing) {
  std::string buf = Wire().U32(2).U32(77);
  XdrDecoder d(buf);
  d.Bool();
  EXPECT_FALSE(d.ok());
  EXPECT_EQ(0u, d.U32()) << "a read after a failure returned data";
}

TEST(XdrDecoder, OpaqueLongerThanTheInputFailsWithoutReading) {
  // Announces 100 bytes, carries 10.
  std::string buf = Wire().U32(100).Raw("0123456789");
  ExactBuffer in(buf);
  XdrDecoder d(in.view());
  std::string_view v = d.Opaque();
  EXPECT_FALSE(d.ok());
  EXPECT_TRUE(v.empty());
  EXPECT_EQ(0u, d.remaining());
  EXPECT_EQ(0u, d.U32());
  EXPECT_EQ("", d.Opaque());
  EXPECT_EQ("", d.Fixed(4));
}

TEST(XdrDecoder, HugeLengthsFailWithoutOverflow) {
  for (uint32_t n : {0xffffffffu, 0xfffffffdu, 0x80000000u}) {
    std::string buf = Wire().U32(n).Raw("abcdefgh");
    ExactBuffer in(buf);
    XdrDecoder d(in.view());
    EXPECT_TRUE(d.Opaque().empty());
    EXPECT_FALSE(d.ok()) << n;
  }
  ExactBuffer in(std::string(8, 'a'));
  XdrDecoder d(in.view());
  EXPECT_TRUE(d.Fixed(SIZE_MAX - 1).empty());
  EXPECT_FALSE(d.ok());
}

TEST(XdrDecoder, MissingPaddingIsTruncation) {
  // opaque<> of 5 bytes must be followed by 3 padding bytes.
  std::string buf = Wire().U32(5).Raw("abcde");
  ExactBuffer in(buf);
  XdrDecoder d(in.view());
  d.Opaque();
  EXPECT_FALSE(d.ok());
  std::string fixed = "abc";
  ExactBuffer in2(fixed);
  XdrDecoder d2(in2.view());
  d2.Fixed(3);
  EXPECT_FALSE(d2.ok());
}

// Every proper prefix of a valid encoding: the decoder fails, returns only
// views inside the input, and never reads past its end (checked by ASan on
// an exact-size heap buffer).
TEST(XdrDecoder, EveryTruncationFailsInsideTheInput) {
  std::string full;
  XdrEncoder e(&full);
  e.U32(1);
  e.Opaque("hello");
  e.U64(2);
  e.Bool(true);
  e.Fixed("xyz");
  e.String("tail!");
  for (size_t n = 0; n <= full.size(); ++n) {
    ExactBuffer in(full.substr(0, n));
    XdrDecoder d(in.view());
    d.U32();
    std::string_view a = d.Opaque(64);
    d.U64();
    d.Bool();
    std::string_view b = d.Fixed(3);
    std::string_view c = d.String(64);
    EXPECT_TRUE(in.Contains(a) && in.Contains(b) && in.Contains(c)) << n;
    if (n < full.size()) {
      EXPECT_FALSE(d.ok()) << "prefix of " << n << " bytes decoded";
      EXPECT_EQ(0u, d.U32());
    } else {
      EXPECT_TRUE(d.ok());
      EXPECT_EQ("hello", a);
      EXPECT_EQ("xyz", b);
      EXPECT_EQ("tail!", c);
    }
  }
}

TEST(XdrDecoder, RestReturnsTheUnreadBytes) {
  std::string buf = Wire().U32(1).Raw("args");
  XdrDecoder d(buf);
  d.U32();
  EXPECT_EQ("args", d.Rest());
  EXPECT_EQ(0u, d.remaining());
  EXPECT_TRUE(d.ok());
}

TEST(XdrDecoder, FailIsSticky) {
  std::string buf = Wire().U32(1).U32(2);
  XdrDecoder d(buf);
  d.Fail();
  d.U32();
  EXPECT_FALSE(d.ok());
}

}  // namespace
}  // namespace concordfs::rpc
