// LockManager micro-benchmarks: the cost of an uncontended POSIX lock and
// unlock, of Test() against a file holding many locks, and lock/unlock
// throughput with threads on separate files (shards should not contend).
//
// Names: BM_UncontendedLockUnlock; BM_TestAgainstN/<N> (an exclusive Test
// overlapping none of N shared locks) and BM_TestAgainstNOverlapOne/<N>
// (overlapping exactly one); BM_LockUnlockThreads/threads:<T>.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "locking/lock_manager.h"
#include "locking/lock_types.h"

namespace concordfs::locking {
namespace {

LockRequest PosixRequest(FileId file, std::string owner, LockMode mode,
                         uint64_t first, uint64_t last) {
  LockRequest req;
  req.file = file;
  req.owner = Owner{Protocol::kLocal, 0, std::move(owner), 0};
  req.flavor = Flavor::kPosix;
  req.mode = mode;
  req.range = Range{first, last};
  req.pid = 1;
  return req;
}

void BM_UncontendedLockUnlock(benchmark::State& state) {
  LockManager mgr;
  LockRequest req = PosixRequest(1, "a", LockMode::kExclusive, 0, 99);
  for (auto _ : state) {
    LockResult r = mgr.Lock(req);
    if (r.status != LockStatus::kGranted) {
      state.SkipWithError("lock not granted");
      break;
    }
    benchmark::DoNotOptimize(mgr.Unlock(req));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_UncontendedLockUnlock);

// Lock i of owner "o<i>" is shared on [20i, 20i + 9]; the gaps are free.
constexpr FileId kManyFile = 7;
constexpr uint64_t kStride = 20;

// One manager per N, built once and shared by both Test variants.
LockManager& ManyLocks(uint64_t n) {
  static auto* managers = new std::map<uint64_t, std::unique_ptr<LockManager>>;
  std::unique_ptr<LockManager>& m = (*managers)[n];
  if (m) return *m;
  m = std::make_unique<LockManager>();
  for (uint64_t i = 0; i < n; ++i) {
    LockRequest req =
        PosixRequest(kManyFile, "o" + std::to_string(i), LockMode::kShared,
                     i * kStride, i * kStride + 9);
    if (m->Lock(req).status != LockStatus::kGranted) abort();
  }
  return *m;
}

void TestAgainst(benchmark::State& state, bool overlap_one) {
  const uint64_t n = static_cast<uint64_t>(state.range(0));
  LockManager& mgr = ManyLocks(n);
  const uint64_t mid = (n / 2) * kStride;  // lock n/2 is [mid, mid + 9]
  LockRequest probe = overlap_one
                          ? PosixRequest(kManyFile, "new", LockMode::kExclusive,
                                         mid + 5, mid + 14)
                          : PosixRequest(kManyFile, "new", LockMode::kExclusive,
                                         mid + 10, mid + 19);
  LockStatus want = overlap_one ? LockStatus::kConflict : LockStatus::kGranted;
  if (mgr.Test(probe).status != want) {
    state.SkipWithError("unexpected Test result");
    return;
  }
  for (auto _ : state) {
    LockResult r = mgr.Test(probe);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_TestAgainstN(benchmark::State& state) { TestAgainst(state, false); }
void BM_TestAgainstNOverlapOne(benchmark::State& state) {
  TestAgainst(state, true);
}
BENCHMARK(BM_TestAgainstN)->Arg(1000)->Arg(10000)->Arg(100000);
BENCHMARK(BM_TestAgainstNOverlapOne)->Arg(1000)->Arg(10000)->Arg(100000);

void BM_LockUnlockThreads(benchmark::State& state) {
  static LockManager mgr;  // shared by all threads of all runs
  const FileId file = static_cast<FileId>(state.thread_index());
  LockRequest req = PosixRequest(file, "t" + std::to_string(file),
                                 LockMode::kExclusive, 0, 99);
  for (auto _ : state) {
    LockResult r = mgr.Lock(req);
    if (r.status != LockStatus::kGranted) {
      state.SkipWithError("lock not granted");
      break;
    }
    benchmark::DoNotOptimize(mgr.Unlock(req));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LockUnlockThreads)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace
}  // namespace concordfs::locking

BENCHMARK_MAIN();
