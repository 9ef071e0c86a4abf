// Operation metrics: the counters, gauges and latency histograms every front
// end (FUSE, NFS and its sibling RPC programs, SMB), the lock manager and the
// metadata store update while they work. The Prometheus endpoint
// (metrics/exporter.h) reads them at scrape time; nothing here knows about
// Prometheus, HTTP or the daemon.
//
// Ownership: one process-wide table of plain atomics with static storage
// (Global()), so callers never hold or check a pointer; it is usable before
// and after the endpoint exists. Recording is off until SetEnabled(true)
// (the daemon turns it on when metrics are configured); while off, OpTimer
// reads no clock and the Observe/Add calls return at once, so unit tests of
// front ends pay nothing. The connection and session gauges count always
// (they change once per connection, and a gauge must not go negative when
// recording is switched on while connections are open).
//
// Thread safety: every call may run on any thread at once. The hot path is
// an array index and two or three relaxed atomic adds: no mutex, no label
// lookup, no allocation, no logging. (prometheus-cpp's own Histogram takes a
// mutex per observation, which is why the histograms here are our own.)
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace concordfs::metrics {

// Who did the operation; the `protocol` label.
enum class Protocol : uint8_t { kFuse, kNfs, kMount, kNlm, kNsm, kSmb };
inline constexpr size_t kProtocols = 6;
const char* ProtocolName(Protocol p);  // "fuse", "nfs", ...

// Operation numbers per protocol: NFS/MOUNT/NLM/NSM procedure numbers and
// SMB2 command codes as on the wire; FUSE operations as FuseOp below. Each
// protocol has kMaxOps slots; numbers beyond share the last one ("other").
inline constexpr uint32_t kMaxOps = 64;
// The `op` label of an operation ("read", "lock_msg", ...; "proc_N" for a
// number without a name, "other" for the overflow slot).
std::string OpName(Protocol p, uint32_t op);

enum FuseOp : uint32_t {
  kFuseLookup,
  kFuseForget,
  kFuseGetattr,
  kFuseSetattr,
  kFuseReadlink,
  kFuseMknod,
  kFuseMkdir,
  kFuseUnlink,
  kFuseRmdir,
  kFuseSymlink,
  kFuseRename,
  kFuseLink,
  kFuseOpen,
  kFuseRead,
  kFuseWrite,
  kFuseFlush,
  kFuseRelease,
  kFuseFsync,
  kFuseOpendir,
  kFuseReaddir,
  kFuseReaddirplus,
  kFuseReleasedir,
  kFuseFsyncdir,
  kFuseStatfs,
  kFuseSetxattr,
  kFuseGetxattr,
  kFuseListxattr,
  kFuseRemovexattr,
  kFuseAccess,
  kFuseCreate,
  kFuseGetlk,
  kFuseSetlk,
  kFuseFlock,
  kFuseFallocate,
  kFuseLseek,
  kFuseCopyFileRange,
  kFuseForgetMulti,
  kFuseOpCount
};

// A fixed-bucket histogram of durations. Buckets are stored per bucket (not
// cumulative) and summed at read time.
class Histogram {
 public:
  static constexpr size_t kMaxBounds = 24;
  // `bounds_ns`: ascending upper bounds (at most kMaxBounds), static.
  explicit Histogram(std::span<const uint64_t> bounds_ns)
      : bounds_(bounds_ns) {}
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  void Observe(uint64_t ns);

  struct Snapshot {
    std::span<const uint64_t> bounds_ns;
    std::array<uint64_t, kMaxBounds + 1> buckets{};  // cumulative; +Inf last
    uint64_t count = 0;
    uint64_t sum_ns = 0;
  };
  Snapshot Read() const;
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }

 private:
  std::span<const uint64_t> bounds_;
  std::array<std::atomic<uint64_t>, kMaxBounds + 1> buckets_{};
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_ns_{0};
};

// Bucket bounds: operations (10 µs .. 10 s) and waits (1 ms .. 10 min).
std::span<const uint64_t> OpBounds();
std::span<const uint64_t> WaitBounds();

enum class Gauge : uint8_t {
  kNfsConnections,  // ONC RPC TCP connections (NFS, MOUNT, NLM, NSM ports)
  kSmbConnections,
  kSmbSessions,
  kCount
};

class Registry {
 public:
  Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  Histogram& Op(Protocol p, uint32_t op) {
    return *ops_[static_cast<size_t>(p)][op < kMaxOps ? op : kMaxOps - 1];
  }
  std::atomic<uint64_t>& bytes_read(Protocol p) {
    return bytes_read_[static_cast<size_t>(p)];
  }
  std::atomic<uint64_t>& bytes_written(Protocol p) {
    return bytes_written_[static_cast<size_t>(p)];
  }
  std::atomic<int64_t>& gauge(Gauge g) {
    return gauges_[static_cast<size_t>(g)];
  }
  Histogram& lock_wait() { return lock_wait_; }
  Histogram& store_sync() { return store_sync_; }

 private:
  std::array<std::array<std::unique_ptr<Histogram>, kMaxOps>, kProtocols> ops_;
  std::array<std::atomic<uint64_t>, kProtocols> bytes_read_{};
  std::array<std::atomic<uint64_t>, kProtocols> bytes_written_{};
  std::array<std::atomic<int64_t>, static_cast<size_t>(Gauge::kCount)>
      gauges_{};
  Histogram lock_wait_;
  Histogram store_sync_;
};

Registry& Global();

namespace internal {
extern std::atomic<bool> enabled;
}
inline bool Enabled() {
  return internal::enabled.load(std::memory_order_relaxed);
}
void SetEnabled(bool on);

inline uint64_t MonotonicNanos() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(
          std::chrono::steady_clock::now().time_since_epoch())
          .count());
}

// Times one operation: counts it and records its duration when destroyed.
class OpTimer {
 public:
  OpTimer(Protocol p, uint32_t op)
      : hist_(Enabled() ? &Global().Op(p, op) : nullptr),
        start_(hist_ ? MonotonicNanos() : 0) {}
  ~OpTimer() {
    if (hist_) hist_->Observe(MonotonicNanos() - start_);
  }
  OpTimer(const OpTimer&) = delete;
  OpTimer& operator=(const OpTimer&) = delete;

 private:
  Histogram* hist_;
  uint64_t start_;
};

inline void AddBytesRead(Protocol p, uint64_t n) {
  if (Enabled()) Global().bytes_read(p).fetch_add(n, std::memory_order_relaxed);
}
inline void AddBytesWritten(Protocol p, uint64_t n) {
  if (Enabled()) {
    Global().bytes_written(p).fetch_add(n, std::memory_order_relaxed);
  }
}
// Time from a lock request being queued to its grant.
inline void ObserveLockWait(uint64_t ns) {
  if (Enabled()) Global().lock_wait().Observe(ns);
}
// One synced metadata-store write (the group commit's log fsync).
inline void ObserveStoreSync(uint64_t ns) {
  if (Enabled()) Global().store_sync().Observe(ns);
}

// Holds +1 on a gauge for its lifetime (a connection, a session).
class GaugeHold {
 public:
  explicit GaugeHold(Gauge g) : g_(g) {
    Global().gauge(g_).fetch_add(1, std::memory_order_relaxed);
  }
  ~GaugeHold() { Global().gauge(g_).fetch_sub(1, std::memory_order_relaxed); }
  GaugeHold(const GaugeHold&) = delete;
  GaugeHold& operator=(const GaugeHold&) = delete;

 private:
  Gauge g_;
};

}  // namespace concordfs::metrics
