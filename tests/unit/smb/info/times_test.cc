#include "smb/info/times.h"

#include <gtest/gtest.h>

namespace concordfs::smb {
namespace {

TEST(Times, UnixEpoch) {
  EXPECT_EQ(ToFiletime(0), kFiletimeUnixEpoch);
  EXPECT_EQ(FromFiletime(kFiletimeUnixEpoch), 0);
}

TEST(Times, KnownDate) {
  // 2000-01-01T00:00:00Z = 946684800 s since 1970.
  NanoTime t = 946684800LL * kNanosPerSecond;
  EXPECT_EQ(ToFiletime(t), 125911584000000000ULL);
  EXPECT_EQ(FromFiletime(125911584000000000ULL), t);
}

TEST(Times, RoundTripAtTickGranularity) {
  for (NanoTime t : {NanoTime{0}, NanoTime{100}, NanoTime{-100},
                     NanoTime{-86400} * kNanosPerSecond,
                     NanoTime{-315619200} * kNanosPerSecond,  // 1960
                     NanoTime{1'000'000'000'000'000'000},
                     NanoTime{1'700'000'000'123'456'700}}) {
    EXPECT_EQ(FromFiletime(ToFiletime(t)), t) << t;
  }
}

TEST(Times, RoundsTowardThePast) {
  EXPECT_EQ(ToFiletime(150), kFiletimeUnixEpoch + 1);
  EXPECT_EQ(ToFiletime(99), kFiletimeUnixEpoch);
  EXPECT_EQ(ToFiletime(-1), kFiletimeUnixEpoch - 1);
  EXPECT_EQ(ToFiletime(-150), kFiletimeUnixEpoch - 2);
  EXPECT_EQ(FromFiletime(kFiletimeUnixEpoch - 1), -100);
}

TEST(Times, PreEpochAndLimits) {
  // 1601 (FILETIME 0) is before the NanoTime range: saturates.
  EXPECT_EQ(FromFiletime(0), INT64_MIN);
  EXPECT_EQ(FromFiletime(1), INT64_MIN);
  // The NanoTime range (1677..2262) lies within FILETIME's.
  uint64_t lo = ToFiletime(INT64_MIN);
  uint64_t hi = ToFiletime(INT64_MAX);
  EXPECT_GT(lo, 0u);
  EXPECT_LT(lo, kFiletimeUnixEpoch);
  EXPECT_GT(hi, kFiletimeUnixEpoch);
  EXPECT_LE(INT64_MAX - FromFiletime(hi), 100);
  EXPECT_GE(FromFiletime(lo), INT64_MIN);
  EXPECT_LE(FromFiletime(lo), INT64_MIN + 100);
  EXPECT_EQ(FromFiletime(ToFiletime(INT64_MIN + 100)), INT64_MIN + 8);
  // Beyond 2262 saturates.
  EXPECT_EQ(FromFiletime(UINT64_MAX - 2), INT64_MAX);
  EXPECT_EQ(FromFiletime(hi + 1000), INT64_MAX);
}

TEST(Times, SpecialValues) {
  EXPECT_EQ(kFiletimeNoChange, 0u);
  EXPECT_EQ(static_cast<int64_t>(kFiletimeFreeze), -1);
  EXPECT_EQ(static_cast<int64_t>(kFiletimeUnfreeze), -2);
}

}  // namespace
}  // namespace concordfs::smb
