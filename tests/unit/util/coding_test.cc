#include "util/coding.h"

#include <gtest/gtest.h>

#include "util/clock.h"

namespace concordfs {
namespace {

TEST(CodingTest, BigEndianRoundTrip) {
  std::string s;
  PutU8(&s, 0xab);
  PutU16(&s, 0x1234);
  PutU32(&s, 0xdeadbeef);
  PutU64(&s, 0x0102030405060708ULL);
  PutI64(&s, -5);
  PutBytes(&s, "hey");
  EXPECT_EQ(s.substr(0, 3), std::string("\xab\x12\x34", 3));
  EXPECT_EQ(s.substr(7, 8), std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8));
  Decoder d(s);
  EXPECT_EQ(d.U8(), 0xab);
  EXPECT_EQ(d.U16(), 0x1234);
  EXPECT_EQ(d.U32(), 0xdeadbeefu);
  EXPECT_EQ(d.U64(), 0x0102030405060708ULL);
  EXPECT_EQ(d.I64(), -5);
  EXPECT_EQ(d.Bytes(), "hey");
  EXPECT_TRUE(d.done());
}

TEST(CodingTest, OrderIsNumeric) {
  std::string a, b;
  PutU64(&a, 255);
  PutU64(&b, 256);
  EXPECT_LT(a, b);
}

TEST(CodingTest, TruncatedInputFailsSafely) {
  std::string s;
  PutU32(&s, 100);  // claims 100 bytes follow
  s += "abc";
  Decoder d(s);
  EXPECT_EQ(d.Bytes(), "");
  EXPECT_FALSE(d.ok());
  EXPECT_EQ(d.U64(), 0u);  // further reads stay failed
  EXPECT_FALSE(d.done());
}

TEST(ClockTest, ManualAndConversions) {
  ManualClock c(10 * kNanosPerSecond);
  c.Advance(5);
  EXPECT_EQ(c.Now(), 10 * kNanosPerSecond + 5);
  timespec ts = ToTimespec(-1);
  EXPECT_EQ(ts.tv_sec, -1);
  EXPECT_EQ(ts.tv_nsec, 999999999);
  EXPECT_EQ(FromTimespec(ts), -1);
  EXPECT_GT(Clock::Default()->Now(), 1'600'000'000 * kNanosPerSecond);
}

}  // namespace
}  // namespace concordfs
