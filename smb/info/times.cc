#include "smb/info/times.h"

namespace concordfs::smb {

uint64_t ToFiletime(NanoTime t) {
  // Floor division so that times before 1970 round toward the past like
  // times after it.
  int64_t ticks = t / 100;
  if (t % 100 < 0) --ticks;
  constexpr int64_t kEpoch = static_cast<int64_t>(kFiletimeUnixEpoch);
  if (ticks < -kEpoch) return 0;
  // ticks <= INT64_MAX/100, so the sum cannot overflow uint64.
  return static_cast<uint64_t>(ticks + kEpoch);
}

NanoTime FromFiletime(uint64_t ft) {
  constexpr int64_t kMaxTicks = INT64_MAX / 100;
  if (ft >= kFiletimeUnixEpoch) {
    uint64_t ticks = ft - kFiletimeUnixEpoch;
    if (ticks > static_cast<uint64_t>(kMaxTicks)) return INT64_MAX;
    return static_cast<NanoTime>(ticks) * 100;
  }
  // Before 1970; NanoTime reaches back only to 1677.
  int64_t ticks = static_cast<int64_t>(kFiletimeUnixEpoch - ft);
  if (ticks > kMaxTicks) return INT64_MIN;
  return -ticks * 100;
}

}  // namespace concordfs::smb
