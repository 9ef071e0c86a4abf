// Concurrency stress test of LockManager, meant for ThreadSanitizer: 8
// threads take, wait for, unlock, cancel and release locks of every protocol
// and flavour (local POSIX and flock, NLM POSIX, SMB Windows) on 16 files.
// After every step the thread, holding no manager lock, checks a List()
// snapshot: no two held locks of one file conflict under the one conflict
// rule of DESIGN.md, a POSIX owner's locks never overlap each other and an
// open holds at most one whole-file flock. At the end everything is released
// and every queued waiter's callback must have run exactly once (kGranted or
// kCancelled), every other callback never, and no lock or waiter remains.
//
// Environment: CFS_STRESS_SECONDS (default 5), CFS_STRESS_SEED.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "locking/lock_manager.h"
#include "locking/lock_types.h"

namespace concordfs::locking {
namespace {

constexpr int kThreads = 8;
constexpr int kFiles = 16;
constexpr size_t kMaxPending = 8;   // own waiters before a thread cancels
constexpr size_t kMaxOwnLocks = 4;  // an actor's locks before it unlocks

// Who acts: an owner with the flavour its protocol uses.
struct Actor {
  Owner owner;
  Flavor flavor = Flavor::kPosix;
  uint32_t pid = 0;
};

// The fate of one request made with a callback.
struct Tracker {
  std::atomic<int> calls{0};
  std::atomic<int> last{-1};  // the LockStatus of the last call
  LockStatus returned = LockStatus::kGranted;  // what Lock() returned
  std::string what;                            // for failure messages
};

struct PendingWait {
  std::shared_ptr<Tracker> tracker;
  uint64_t id = 0;
  LockRequest req;
};

// Collects failures from worker threads (gtest assertions stay on the main
// thread; Debian's gtest is not built with TSan).
class Failures {
 public:
  void Add(const std::string& what) {
    std::lock_guard<std::mutex> g(mu_);
    if (list_.size() < 20) list_.push_back(what);
    failed_.store(true);
  }
  bool failed() const { return failed_.load(); }
  std::vector<std::string> list() {
    std::lock_guard<std::mutex> g(mu_);
    return list_;
  }

 private:
  std::mutex mu_;
  std::vector<std::string> list_;  // GUARDED_BY(mu_)
  std::atomic<bool> failed_{false};
};

std::string Describe(const Lock& l) {
  std::ostringstream os;
  os << l.owner.ToString() << " " << FlavorName(l.flavor)
     << (l.mode == LockMode::kExclusive ? " X [" : " S [") << l.range.first
     << ", " << l.range.last << "]" << (l.range.zero_length ? " zero" : "");
  return os.str();
}

bool Intersect(const Range& a, const Range& b) {
  return Overlaps(a, b) || Overlaps(b, a);
}

// DESIGN.md: different owners, overlapping ranges, at least one exclusive;
// a local flock and a local POSIX lock never conflict with each other.
bool SpecConflict(const Lock& a, const Lock& b) {
  if (a.owner == b.owner) return false;
  if (a.mode == LockMode::kShared && b.mode == LockMode::kShared) return false;
  bool local_mix = a.owner.protocol == Protocol::kLocal &&
                   b.owner.protocol == Protocol::kLocal &&
                   (a.flavor == Flavor::kFlock) != (b.flavor == Flavor::kFlock);
  return !local_mix && Intersect(a.range, b.range);
}

// What is wrong with two locks of one file, or nullptr.
const char* PairProblem(const Lock& a, const Lock& b) {
  if (SpecConflict(a, b)) return "conflicting locks held";
  if (a.owner != b.owner || a.flavor != b.flavor) return nullptr;
  if (a.flavor == Flavor::kPosix && Intersect(a.range, b.range)) {
    return "overlapping POSIX locks of one owner";
  }
  if (a.flavor == Flavor::kFlock) return "two flocks of one open";
  return nullptr;
}

// Checks one List() snapshot per file; returns the first problem or "".
std::string CheckSnapshot(const std::vector<LockInfo>& locks) {
  std::map<FileId, std::vector<const Lock*>> by_file;
  for (const LockInfo& li : locks) by_file[li.file].push_back(&li.lock);
  for (const auto& [file, ls] : by_file) {
    for (size_t i = 0; i < ls.size(); ++i) {
      if (ls[i]->flavor == Flavor::kFlock && !(ls[i]->range == Range::All())) {
        return "flock not on the whole file: " + Describe(*ls[i]);
      }
      for (size_t j = i + 1; j < ls.size(); ++j) {
        if (const char* problem = PairProblem(*ls[i], *ls[j])) {
          return std::string(problem) + " on file " + std::to_string(file) +
                 ": " + Describe(*ls[i]) + " and " + Describe(*ls[j]);
        }
      }
    }
  }
  return "";
}

// Would held lock `h` keep waiter `w` waiting? The spec rule, plus the
// Windows rule that an open's own locks block its exclusive requests (only
// a shared lock may stack on the open's own lock; conflict.h, Samba).
bool Blocks(const Lock& h, const Lock& w) {
  if (h.owner != w.owner) return SpecConflict(h, w);
  return h.flavor == Flavor::kWindows && w.flavor == Flavor::kWindows &&
         w.mode == LockMode::kExclusive && Intersect(h.range, w.range);
}

// With every thread stopped, each waiter must still have a reason to wait:
// a held lock that blocks it, or an earlier waiter of the file (FIFO) it
// conflicts with. Earlier = smaller (since, id). Otherwise a wake-up was
// lost. Returns the first problem or "".
std::string CheckWaitersBlocked(const std::vector<LockInfo>& locks,
                                const std::vector<WaiterInfo>& waiters) {
  for (const WaiterInfo& w : waiters) {
    bool blocked = false;
    for (const LockInfo& li : locks) {
      blocked |= li.file == w.file && Blocks(li.lock, w.wanted);
    }
    for (const WaiterInfo& e : waiters) {
      bool earlier =
          std::pair(e.wanted.since, e.id) < std::pair(w.wanted.since, w.id);
      blocked |= e.file == w.file && earlier &&
                 (Blocks(e.wanted, w.wanted) || Blocks(w.wanted, e.wanted));
    }
    if (!blocked) {
      return "waiter " + std::to_string(w.id) + " on file " +
             std::to_string(w.file) + " for " + Describe(w.wanted) +
             " is not blocked by anything";
    }
  }
  return "";
}

// Lets the main thread stop every worker between two steps and look at a
// quiescent manager: a lost wake-up only shows while nothing else happens.
class Gate {
 public:
  explicit Gate(int workers) : active_(workers) {}

  // Workers, between steps: waits while the gate is closed.
  void Pass() {
    if (!closed_.load(std::memory_order_acquire)) return;
    std::unique_lock<std::mutex> l(mu_);
    ++parked_;
    cv_.notify_all();
    cv_.wait(l, [this] { return !closed_.load(); });
    --parked_;
  }
  // Workers, when they stop for good.
  void Leave() {
    std::lock_guard<std::mutex> g(mu_);
    --active_;
    cv_.notify_all();
  }
  // Main thread: closes the gate and waits until every worker is parked.
  void Close() {
    std::unique_lock<std::mutex> l(mu_);
    closed_.store(true);
    cv_.wait(l, [this] { return parked_ == active_; });
  }
  void Open() {
    std::lock_guard<std::mutex> g(mu_);
    closed_.store(false);
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<bool> closed_{false};  // written under mu_
  int active_;                       // GUARDED_BY(mu_)
  int parked_ = 0;                   // GUARDED_BY(mu_)
};

class Worker {
 public:
  Worker(int index, uint64_t seed, LockManager* mgr, Failures* failures)
      : index_(index), rng_(seed), mgr_(mgr), failures_(failures) {
    for (int k = 0; k < 2; ++k) {
      std::string tag = "t" + std::to_string(index) + "o" + std::to_string(k);
      uint64_t open = uint64_t(index) * 100 + uint64_t(k) + 1;
      uint32_t pid = uint32_t(1000 + index * 10 + k);
      actors_.push_back({{Protocol::kLocal, 0, tag, 0}, Flavor::kPosix, pid});
      actors_.push_back({{Protocol::kLocal, 0, "", open}, Flavor::kFlock, pid});
      actors_.push_back({{Protocol::kNlm, uint64_t(100 + index), tag, 0},
                         Flavor::kPosix,
                         pid});
      actors_.push_back({{Protocol::kSmb, uint64_t(200 + index), "", open},
                         Flavor::kWindows,
                         pid});
    }
  }

  void Run(const std::atomic<bool>& stop, Gate* gate) {
    while (!stop.load(std::memory_order_relaxed) && !failures_->failed()) {
      Step();
      Check();
      ++steps_;
      gate->Pass();
    }
    gate->Leave();
  }

  std::vector<std::shared_ptr<Tracker>>& trackers() { return trackers_; }
  uint64_t steps() const { return steps_; }
  uint64_t deadlocks() const { return deadlocks_; }

 private:
  int64_t Uniform(int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng_);
  }

  LockRequest RandomRequest(const Actor& a) {
    LockRequest req;
    req.file = FileId(Uniform(1, kFiles));
    req.owner = a.owner;
    req.flavor = a.flavor;
    req.pid = a.pid;
    req.mode = Uniform(0, 2) == 0 ? LockMode::kExclusive : LockMode::kShared;
    uint64_t start = uint64_t(Uniform(0, 31));
    uint64_t len = uint64_t(Uniform(0, 8));
    if (a.flavor == Flavor::kFlock) {
      req.range = Range::All();
    } else if (a.flavor == Flavor::kWindows) {
      req.range = *Range::FromSmb(start, Uniform(0, 9) == 0 ? 0 : len + 1);
    } else {
      req.range = *Range::FromPosix(start, Uniform(0, 9) == 0 ? 0 : len + 1);
    }
    return req;
  }

  void Fail(const std::string& what) {
    failures_->Add("thread " + std::to_string(index_) + ": " + what);
  }

  // Keeps about kMaxOwnLocks locks per actor so that locks come and go and
  // waiters get granted, not only cancelled.
  void Step() {
    const Actor& a = actors_[size_t(Uniform(0, int64_t(actors_.size()) - 1))];
    int64_t kind = Uniform(0, 99);
    if (kind < 40 && OwnLocks(a) >= kMaxOwnLocks) kind = 50;
    if (kind < 40 && pending_.size() >= kMaxPending) kind = 80;
    if (kind < 22) return TryLock(a);
    if (kind < 40) return WaitLock(a);
    if (kind < 72) return Unlock(a);
    if (kind < 77) return CancelOwn(a);
    if (kind < 90) return ReleaseOwner(a);
    return TestLock(a);
  }

  size_t OwnLocks(const Actor& a) const {
    size_t n = 0;
    for (const LockInfo& li : snapshot_) n += li.lock.owner == a.owner;
    return n;
  }

  void TryLock(const Actor& a) {
    LockRequest req = RandomRequest(a);
    LockResult r = mgr_->Lock(req);
    if (r.status == LockStatus::kConflict && !r.holder) {
      Fail("conflict without holder");
    } else if (r.status != LockStatus::kGranted &&
               r.status != LockStatus::kConflict) {
      Fail(std::string("non-blocking lock: ") + LockStatusName(r.status));
    }
  }

  void TestLock(const Actor& a) {
    LockResult r = mgr_->Test(RandomRequest(a));
    if (r.status == LockStatus::kConflict && !r.holder) {
      Fail("test: conflict without holder");
    } else if (r.status != LockStatus::kGranted &&
               r.status != LockStatus::kConflict) {
      Fail(std::string("test: ") + LockStatusName(r.status));
    }
  }

  // A blocking request; a granted waiter of a POSIX or flock owner sometimes
  // unlocks from inside its callback (callbacks may re-enter the manager).
  void WaitLock(const Actor& a) {
    LockRequest req = RandomRequest(a);
    auto t = std::make_shared<Tracker>();
    t->what = Describe(Lock{req.owner, req.flavor, req.mode, req.range});
    bool unlock_in_callback =
        a.flavor != Flavor::kWindows && Uniform(0, 4) == 0;
    LockManager* mgr = mgr_;
    LockResult r =
        mgr_->Lock(req, [t, mgr, req, unlock_in_callback](LockStatus st) {
          t->last.store(int(st));
          t->calls.fetch_add(1);
          if (st == LockStatus::kGranted && unlock_in_callback)
            mgr->Unlock(req);
        });
    t->returned = r.status;
    trackers_.push_back(t);
    switch (r.status) {
      case LockStatus::kQueued:
        if (r.waiter_id == 0) Fail("queued with waiter id 0");
        pending_.push_back({t, r.waiter_id, req});
        break;
      case LockStatus::kDeadlock:
        ++deadlocks_;
        break;
      case LockStatus::kGranted:
        break;
      default:
        Fail(std::string("blocking lock: ") + LockStatusName(r.status));
    }
  }

  // Mostly unlocks one of the actor's own locks (all of it, or for POSIX
  // sometimes a part, which splits it); otherwise a random range. The last
  // snapshot is still right about this owner's Windows locks: only this
  // thread removes them (callbacks unlock only POSIX and flock locks).
  void Unlock(const Actor& a) {
    LockRequest req = RandomRequest(a);
    std::vector<const LockInfo*> own;
    for (const LockInfo& li : snapshot_) {
      if (li.lock.owner == a.owner) own.push_back(&li);
    }
    bool exact = !own.empty() && Uniform(0, 3) > 0;
    if (exact) {
      const LockInfo& li = *own[size_t(Uniform(0, int64_t(own.size()) - 1))];
      req.file = li.file;
      req.mode = li.lock.mode;
      req.range = li.lock.range;
      if (a.flavor == Flavor::kPosix && Uniform(0, 2) == 0 &&
          req.range.last != kToEof && req.range.last > req.range.first + 1) {
        req.range.first += 1;
        req.range.last -= 1;
      }
    }
    LockStatus st = mgr_->Unlock(req);
    if (st == LockStatus::kGranted) return;
    if (st == LockStatus::kNotFound && a.flavor == Flavor::kWindows && !exact) {
      return;
    }
    Fail(std::string(exact ? "unlock of own lock " : "unlock ") +
         Describe(Lock{req.owner, req.flavor, req.mode, req.range}) + ": " +
         LockStatusName(st));
  }

  void CancelOwn(const Actor& a) {
    if (pending_.empty()) return TestLock(a);
    size_t i = size_t(Uniform(0, int64_t(pending_.size()) - 1));
    PendingWait w = pending_[i];
    pending_.erase(pending_.begin() + int64_t(i));
    if (w.req.owner.protocol == Protocol::kNlm && Uniform(0, 3) == 0) {
      mgr_->CancelMatching(w.req);  // may cancel an identical twin instead
      return;
    }
    if (!mgr_->Cancel(w.id)) return;  // granted meanwhile
    // Callbacks run before the call that caused them returns.
    int calls = w.tracker->calls.load();
    int last = w.tracker->last.load();
    if (calls != 1 || last != int(LockStatus::kCancelled)) {
      Fail("after Cancel(" + std::to_string(w.id) + ") of " + w.tracker->what +
           ": " + std::to_string(calls) + " calls, last status " +
           std::to_string(last));
    }
  }

  void ReleaseOwner(const Actor& a) {
    ReleaseFilter f;
    f.protocol = a.owner.protocol;
    if (a.owner.protocol == Protocol::kNlm && Uniform(0, 1) == 0) {
      f.client = a.owner.client;  // FREE_ALL of the host
    } else if (a.flavor == Flavor::kPosix) {
      f.client = a.owner.client;
      f.owner = a.owner.owner;
    } else {
      f.client = a.owner.client;
      f.open = a.owner.open;
    }
    if (Uniform(0, 1) == 0) f.file = FileId(Uniform(1, kFiles));
    mgr_->Release(f);
  }

  void Check() {
    std::vector<WaiterInfo> waiters;
    snapshot_.clear();
    mgr_->List(&snapshot_, &waiters);
    std::string problem = CheckSnapshot(snapshot_);
    if (!problem.empty()) Fail(problem);
  }

  int index_;
  std::mt19937_64 rng_;
  LockManager* mgr_;
  Failures* failures_;
  std::vector<Actor> actors_;
  std::vector<PendingWait> pending_;
  std::vector<LockInfo> snapshot_;  // taken by the last Check()
  std::vector<std::shared_ptr<Tracker>> trackers_;
  uint64_t steps_ = 0;
  uint64_t deadlocks_ = 0;
};

uint64_t EnvOr(const char* name, uint64_t def) {
  const char* v = getenv(name);
  return v && *v ? strtoull(v, nullptr, 0) : def;
}

// The problems of a quiescent manager (no operation running), or "".
std::string CheckQuiescent(LockManager& mgr, size_t* waiting) {
  std::vector<LockInfo> locks;
  std::vector<WaiterInfo> waiters;
  mgr.List(&locks, &waiters);
  if (waiting) *waiting = waiters.size();
  std::string problem = CheckSnapshot(locks);
  return problem.empty() ? CheckWaitersBlocked(locks, waiters) : problem;
}

// Runs the workers for `seconds`, parking them every 50 ms for a look at
// the quiescent manager. Returns the number of pauses.
int RunWorkers(std::vector<std::unique_ptr<Worker>>& workers, LockManager& mgr,
               Failures& failures, uint64_t seconds) {
  std::atomic<bool> stop{false};
  Gate gate(static_cast<int>(workers.size()));
  std::vector<std::thread> threads;
  for (auto& w : workers) {
    threads.emplace_back([&stop, &gate, w = w.get()] { w->Run(stop, &gate); });
  }
  const auto end = std::chrono::steady_clock::now() +
                   std::chrono::milliseconds(seconds * 1000);
  int pauses = 0;
  while (std::chrono::steady_clock::now() < end && !failures.failed()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    gate.Close();
    std::string problem = CheckQuiescent(mgr, nullptr);
    if (!problem.empty()) failures.Add("while paused: " + problem);
    ++pauses;
    gate.Open();
  }
  stop.store(true);
  for (std::thread& t : threads) t.join();
  return pauses;
}

// Releases everything. A release can grant waiters of another protocol, so
// it repeats until nothing is left.
void ReleaseAll(LockManager& mgr) {
  std::vector<LockInfo> locks;
  std::vector<WaiterInfo> waiters;
  for (int round = 0; round < 10; ++round) {
    for (Protocol p : {Protocol::kLocal, Protocol::kNlm, Protocol::kSmb}) {
      ReleaseFilter f;
      f.protocol = p;
      mgr.Release(f);
    }
    locks.clear();
    waiters.clear();
    mgr.List(&locks, &waiters);
    if (locks.empty() && waiters.empty()) break;
  }
  EXPECT_TRUE(locks.empty())
      << locks.size() << " locks left, e.g. " << Describe(locks.front().lock);
  EXPECT_TRUE(waiters.empty()) << waiters.size() << " waiters left";
  LockCounters c = mgr.Counters();
  EXPECT_EQ(c.waiters, 0u);
  for (auto& by_protocol : c.held) {
    for (uint64_t n : by_protocol) EXPECT_EQ(n, 0u);
  }
}

struct Totals {
  uint64_t steps = 0, queued = 0, granted = 0, cancelled = 0, deadlocks = 0;
};

// Every queued request's callback ran exactly once with kGranted or
// kCancelled; no other callback ever ran.
Totals CheckCallbacks(std::vector<std::unique_ptr<Worker>>& workers) {
  Totals n;
  for (auto& w : workers) {
    n.steps += w->steps();
    n.deadlocks += w->deadlocks();
    for (const auto& t : w->trackers()) {
      int calls = t->calls.load();
      LockStatus last = LockStatus(t->last.load());
      if (t->returned != LockStatus::kQueued) {
        EXPECT_EQ(calls, 0) << "callback of a request answered at once ("
                            << LockStatusName(t->returned) << "): " << t->what;
        continue;
      }
      ++n.queued;
      n.granted += last == LockStatus::kGranted;
      n.cancelled += last == LockStatus::kCancelled;
      EXPECT_EQ(calls, 1) << "queued " << t->what;
      EXPECT_TRUE(last == LockStatus::kGranted ||
                  last == LockStatus::kCancelled)
          << "queued " << t->what << " ended with " << t->last.load();
    }
  }
  return n;
}

TEST(LockStressTest, ConcurrentMixedProtocols) {
  const uint64_t seed = EnvOr("CFS_STRESS_SEED", std::random_device{}());
  const uint64_t seconds = EnvOr("CFS_STRESS_SECONDS", 5);
  SCOPED_TRACE(::testing::Message() << "CFS_STRESS_SEED=" << seed);
  LockManager mgr;
  Failures failures;
  std::vector<std::unique_ptr<Worker>> workers;
  for (int i = 0; i < kThreads; ++i) {
    workers.push_back(
        std::make_unique<Worker>(i, seed * 31 + uint64_t(i), &mgr, &failures));
  }
  int pauses = RunWorkers(workers, mgr, failures, seconds);
  for (const std::string& f : failures.list()) ADD_FAILURE() << f;
  size_t waiting = 0;
  EXPECT_EQ(CheckQuiescent(mgr, &waiting), "");
  ReleaseAll(mgr);
  Totals n = CheckCallbacks(workers);
  std::printf(
      "lock_stress: %llu steps, %d pauses, %llu queued (%llu "
      "granted, %llu cancelled), %llu deadlocks, %zu waiting at the "
      "end\n",
      static_cast<unsigned long long>(n.steps), pauses,
      static_cast<unsigned long long>(n.queued),
      static_cast<unsigned long long>(n.granted),
      static_cast<unsigned long long>(n.cancelled),
      static_cast<unsigned long long>(n.deadlocks), waiting);
  EXPECT_GT(n.queued, 0u);
  EXPECT_GT(n.granted, 0u);
}

}  // namespace
}  // namespace concordfs::locking
