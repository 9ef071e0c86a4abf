// Clock: the one source of wall time for concordfs, injectable for tests.
//
// Timestamps are nanoseconds since the Unix epoch (int64_t), the unit every
// front end converts from. SystemClock reads CLOCK_REALTIME; ManualClock is
// set and advanced by tests. Both are thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <ctime>

namespace concordfs {

using NanoTime = int64_t;  // ns since the epoch

inline constexpr NanoTime kNanosPerSecond = 1'000'000'000;

inline timespec ToTimespec(NanoTime t) {
  timespec ts;
  ts.tv_sec = static_cast<time_t>(t / kNanosPerSecond);
  ts.tv_nsec = static_cast<long>(t % kNanosPerSecond);
  if (ts.tv_nsec < 0) {
    ts.tv_nsec += kNanosPerSecond;
    ts.tv_sec -= 1;
  }
  return ts;
}
inline NanoTime FromTimespec(const timespec& ts) {
  return static_cast<NanoTime>(ts.tv_sec) * kNanosPerSecond + ts.tv_nsec;
}

class Clock {
 public:
  virtual ~Clock() = default;
  virtual NanoTime Now() const = 0;
  // A process-wide SystemClock.
  static Clock* Default();
};

class SystemClock : public Clock {
 public:
  NanoTime Now() const override {
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return FromTimespec(ts);
  }
};

class ManualClock : public Clock {
 public:
  explicit ManualClock(NanoTime start = 1'700'000'000 * kNanosPerSecond)
      : now_(start) {}
  NanoTime Now() const override { return now_.load(); }
  void Set(NanoTime t) { now_.store(t); }
  void Advance(NanoTime d) { now_.fetch_add(d); }

 private:
  std::atomic<NanoTime> now_;
};

}  // namespace concordfs
