// LockManager behaviour beyond one request: waiters (FIFO, cancel,
// re-entrant callbacks), deadlock detection, bulk release, limits, the SMB
// I/O check, counters, and persistence with grace after a simulated restart.
#include "locking/lock_manager.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "locking/lock_store.h"
#include "locking/lock_types.h"
#include "util/clock.h"

namespace concordfs::locking {
namespace {

constexpr auto S = LockMode::kShared;
constexpr auto X = LockMode::kExclusive;
constexpr uint64_t kEof = kToEof;

Owner Local(const std::string& name) { return {Protocol::kLocal, 0, name, 0}; }
Owner Nlm(uint64_t host, const std::string& name) {
  return {Protocol::kNlm, host, name, 0};
}
Owner Smb(uint64_t session, uint64_t open) {
  return {Protocol::kSmb, session, "", open};
}
Owner LocalOpen(uint64_t open) { return {Protocol::kLocal, 0, "", open}; }

LockRequest Req(FileId file, const Owner& o, LockMode m, uint64_t first,
                uint64_t last, Flavor f = Flavor::kPosix) {
  LockRequest r;
  r.file = file;
  r.owner = o;
  r.flavor = f;
  r.mode = m;
  r.range = Range{first, last, false};
  r.pid = 42;
  return r;
}
LockRequest Win(FileId file, const Owner& o, LockMode m, uint64_t first,
                uint64_t last) {
  return Req(file, o, m, first, last, Flavor::kWindows);
}
LockRequest Flk(FileId file, const Owner& o, LockMode m) {
  return Req(file, o, m, 0, kEof, Flavor::kFlock);
}
LockRequest Durable(LockRequest r) {
  r.durable = true;
  return r;
}
LockRequest Reclaim(LockRequest r) {
  r.durable = true;
  r.reclaim = true;
  return r;
}

ReleaseFilter Rel(Protocol p, std::optional<uint64_t> client = std::nullopt,
                  std::optional<std::string> owner = std::nullopt) {
  ReleaseFilter f;
  f.protocol = p;
  f.client = client;
  f.owner = owner;
  return f;
}

std::string Label(const Owner& o) {
  std::string s = std::to_string(static_cast<int>(o.protocol)) + "/" +
                  std::to_string(o.client) + "/" + o.owner;
  return o.open ? s + "#" + std::to_string(o.open) : s;
}
std::string Describe(FileId f, const Lock& l) {
  return "f" + std::to_string(f) + " " + Label(l.owner) +
         (l.mode == S ? " S[" : " X[") + std::to_string(l.range.first) + "," +
         (l.range.last == kEof ? "EOF" : std::to_string(l.range.last)) + "]" +
         (l.restored ? " restored" : "");
}

std::vector<std::string> Held(LockManager& m) {
  std::vector<LockInfo> locks;
  std::vector<WaiterInfo> waiters;
  m.List(&locks, &waiters);
  std::vector<std::string> out;
  for (const LockInfo& i : locks) out.push_back(Describe(i.file, i.lock));
  std::sort(out.begin(), out.end());
  return out;
}
std::vector<WaiterInfo> Waiters(LockManager& m) {
  std::vector<LockInfo> locks;
  std::vector<WaiterInfo> waiters;
  m.List(&locks, &waiters);
  return waiters;
}
using Strings = std::vector<std::string>;

// Records callback invocations in order, tagged by the waiter's name.
struct Log {
  std::vector<std::string> events;
  GrantCallback Cb(const std::string& tag) {
    return [this, tag](LockStatus s) {
      events.push_back(tag + ":" + LockStatusName(s));
    };
  }
};

const Owner kA = Local("A"), kB = Local("B"), kC = Local("C"), kD = Local("D"),
            kE = Local("E");
const std::string kGrantedName = LockStatusName(LockStatus::kGranted);
std::string Granted(const std::string& tag) { return tag + ":" + kGrantedName; }
std::string Cancelled(const std::string& tag) {
  return tag + ":" + LockStatusName(LockStatus::kCancelled);
}

// Statuses compare as names so failures read "grace vs granted".
std::string St(LockStatus s) { return LockStatusName(s); }
std::string St(const LockResult& r) { return LockStatusName(r.status); }
const std::string kOk = St(LockStatus::kGranted),
                  kQueued = St(LockStatus::kQueued),
                  kConflict = St(LockStatus::kConflict),
                  kDeadlock = St(LockStatus::kDeadlock),
                  kGrace = St(LockStatus::kGrace),
                  kNoRes = St(LockStatus::kNoResources),
                  kInvalid = St(LockStatus::kInvalidRange);

class LockManagerTest : public ::testing::Test {
 protected:
  LockResult Take(const LockRequest& r) { return m_.Lock(r); }
  LockResult Wait(const LockRequest& r, const std::string& tag) {
    return m_.Lock(r, log_.Cb(tag));
  }
  LockManager m_;
  Log log_;
};

// ---- Waiters ----

TEST_F(LockManagerTest, QueuedWaiterIsGrantedOnUnlock) {
  ASSERT_EQ(St(Wait(Req(1, kA, X, 0, 9), "A")), kOk);  // at once: no callback
  LockResult r = Wait(Req(1, kB, X, 5, 14), "B");
  ASSERT_EQ(St(r), kQueued);
  EXPECT_NE(r.waiter_id, 0u);
  EXPECT_TRUE(log_.events.empty());
  std::vector<WaiterInfo> w = Waiters(m_);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].file, 1u);
  EXPECT_EQ(w[0].id, r.waiter_id);
  EXPECT_EQ(w[0].wanted.owner, kB);
  EXPECT_EQ(w[0].wanted.range, (Range{5, 14}));
  EXPECT_EQ(w[0].wanted.mode, X);

  EXPECT_EQ(St(m_.Unlock(Req(1, kA, X, 0, 9))), kOk);
  EXPECT_EQ(log_.events, Strings{Granted("B")});
  EXPECT_EQ(Held(m_), Strings{"f1 1/0/B X[5,14]"});
  EXPECT_TRUE(Waiters(m_).empty());
  EXPECT_FALSE(m_.Cancel(r.waiter_id));  // no longer waiting
  EXPECT_EQ(log_.events.size(), 1u);
}

TEST_F(LockManagerTest, WaitersWakeInFifoOrder) {
  Take(Req(1, kA, X, 0, 9));
  ASSERT_EQ(St(Wait(Req(1, kB, X, 0, 9), "B")), kQueued);
  ASSERT_EQ(St(Wait(Req(1, kC, X, 0, 9), "C")), kQueued);
  ASSERT_EQ(St(Wait(Req(1, kD, X, 0, 9), "D")), kQueued);
  m_.Unlock(Req(1, kA, X, 0, 9));
  EXPECT_EQ(log_.events, Strings{Granted("B")});
  m_.Unlock(Req(1, kB, X, 0, 9));
  EXPECT_EQ(log_.events, (Strings{Granted("B"), Granted("C")}));
  m_.Unlock(Req(1, kC, X, 0, 9));
  EXPECT_EQ(log_.events, (Strings{Granted("B"), Granted("C"), Granted("D")}));
}

TEST_F(LockManagerTest, CompatibleWaitersWakeTogether) {
  Take(Req(1, kA, X, 0, 9));
  Wait(Req(1, kB, S, 0, 9), "B");
  Wait(Req(1, kC, S, 5, 9), "C");
  Wait(Req(1, kD, X, 0, 0), "D");
  m_.Unlock(Req(1, kA, X, 0, kEof));
  EXPECT_EQ(log_.events, (Strings{Granted("B"), Granted("C")}));
  EXPECT_EQ(Waiters(m_).size(), 1u);
}

TEST_F(LockManagerTest, BlockedWaiterKeepsLaterConflictingWaitersBehind) {
  Take(Req(1, kA, X, 0, 99));
  Take(Req(1, kE, X, 200, 209));
  Wait(Req(1, kB, X, 90, 209), "B");  // needs A and E gone
  Wait(Req(1, kC, X, 0, 9), "C");     // needs A; no overlap with B
  Wait(Req(1, kD, X, 95, 99), "D");   // needs A; overlaps B: stays behind
  m_.Unlock(Req(1, kA, X, 0, 99));
  EXPECT_EQ(log_.events, Strings{Granted("C")});
  m_.Unlock(Req(1, kE, X, 200, 209));
  EXPECT_EQ(log_.events, (Strings{Granted("C"), Granted("B")}));
  m_.Unlock(Req(1, kB, X, 90, 209));
  EXPECT_EQ(log_.events, (Strings{Granted("C"), Granted("B"), Granted("D")}));
}

TEST_F(LockManagerTest, PartialUnlockWakesOnlyWhenFree) {
  Take(Req(1, kA, X, 0, 99));
  Wait(Req(1, kB, X, 50, 59), "B");
  m_.Unlock(Req(1, kA, X, 0, 49));
  EXPECT_TRUE(log_.events.empty());
  m_.Unlock(Req(1, kA, X, 55, 59));
  EXPECT_TRUE(log_.events.empty());
  m_.Unlock(Req(1, kA, X, 50, 54));
  EXPECT_EQ(log_.events, Strings{Granted("B")});
  EXPECT_EQ(Held(m_), (Strings{"f1 1/0/A X[60,99]", "f1 1/0/B X[50,59]"}));
}

TEST_F(LockManagerTest, OtherFilesWaitersStayAsleep) {
  Take(Req(1, kA, X, 0, 9));
  Take(Req(2, kA, X, 0, 9));
  Wait(Req(2, kB, X, 0, 9), "B");
  m_.Unlock(Req(1, kA, X, 0, 9));
  EXPECT_TRUE(log_.events.empty());
}

TEST_F(LockManagerTest, FlavoursWaitOnEachOther) {
  Take(Flk(1, LocalOpen(1), X));
  ASSERT_EQ(St(Wait(Flk(1, LocalOpen(2), S), "F2")), kQueued);
  ASSERT_EQ(St(Wait(Win(1, Smb(1, 1), S, 0, 9), "W")), kQueued);
  m_.Unlock(Flk(1, LocalOpen(1), X));
  EXPECT_EQ(log_.events, (Strings{Granted("F2"), Granted("W")}));
  // SMB waits on an NLM lock and gets it when the NLM host goes away.
  Take(Req(2, Nlm(1, "n"), X, 0, 9));
  ASSERT_EQ(St(Wait(Win(2, Smb(1, 1), X, 9, 9), "W2")), kQueued);
  EXPECT_EQ(m_.Release(Rel(Protocol::kNlm, 1)), 1u);
  EXPECT_EQ(log_.events.back(), Granted("W2"));
}

TEST_F(LockManagerTest, PosixDowngradeWakesSharedWaiters) {
  // Linux wakes the blocked when a lock is converted, not only unlocked.
  Take(Req(1, kA, X, 0, 9));
  Wait(Req(1, kB, S, 0, 9), "B");
  Wait(Req(1, kC, X, 0, 9), "C");
  EXPECT_EQ(St(Take(Req(1, kA, S, 0, 9))), kOk);
  EXPECT_EQ(log_.events, Strings{Granted("B")});
}

TEST_F(LockManagerTest, FlockDowngradeWakesSharedWaiters) {
  Take(Flk(1, LocalOpen(1), X));
  Wait(Flk(1, LocalOpen(2), S), "F2");
  EXPECT_EQ(St(Take(Flk(1, LocalOpen(1), S))), kOk);
  EXPECT_EQ(log_.events, Strings{Granted("F2")});
}

TEST_F(LockManagerTest, PosixBlockingUpgradeKeepsSharedWhileWaiting) {
  Take(Req(1, kA, S, 0, 9));
  Take(Req(1, kB, S, 0, 9));
  ASSERT_EQ(St(Wait(Req(1, kA, X, 0, 9), "A")), kQueued);
  EXPECT_EQ(Held(m_), (Strings{"f1 1/0/A S[0,9]", "f1 1/0/B S[0,9]"}));
  m_.Unlock(Req(1, kB, S, 0, 9));
  EXPECT_EQ(log_.events, Strings{Granted("A")});
  EXPECT_EQ(Held(m_), Strings{"f1 1/0/A X[0,9]"});
}

TEST_F(LockManagerTest, FlockBlockingUpgradeDropsSharedFirst) {
  const Owner f1 = LocalOpen(1), f2 = LocalOpen(2);
  Take(Flk(1, f1, S));
  Take(Flk(1, f2, S));
  ASSERT_EQ(St(Wait(Flk(1, f1, X), "F1")), kQueued);
  EXPECT_EQ(Held(m_), Strings{"f1 1/0/#2 S[0,EOF]"});  // as Linux flock(2)
  m_.Unlock(Flk(1, f2, S));
  EXPECT_EQ(log_.events, Strings{Granted("F1")});
  EXPECT_EQ(Held(m_), Strings{"f1 1/0/#1 X[0,EOF]"});
}

TEST_F(LockManagerTest, CancelById) {
  Take(Req(1, kA, X, 0, 9));
  LockResult b = Wait(Req(1, kB, X, 0, 9), "B");
  LockResult c = Wait(Req(1, kC, X, 0, 9), "C");
  EXPECT_TRUE(m_.Cancel(b.waiter_id));
  EXPECT_EQ(log_.events, Strings{Cancelled("B")});
  EXPECT_FALSE(m_.Cancel(b.waiter_id));
  EXPECT_FALSE(m_.Cancel(987654321));
  m_.Unlock(Req(1, kA, X, 0, 9));
  EXPECT_EQ(log_.events, (Strings{Cancelled("B"), Granted("C")}));
  EXPECT_FALSE(m_.Cancel(c.waiter_id));
  EXPECT_EQ(Held(m_), Strings{"f1 1/0/C X[0,9]"});
}

TEST_F(LockManagerTest, CancelMatchingNamesTheRequest) {
  Take(Req(1, kA, X, 0, 9));
  Wait(Req(1, kB, X, 0, 9), "B");
  EXPECT_FALSE(m_.CancelMatching(Req(1, kB, X, 0, 8)));  // other range
  EXPECT_FALSE(m_.CancelMatching(Req(1, kB, S, 0, 9)));  // other mode
  EXPECT_FALSE(m_.CancelMatching(Req(2, kB, X, 0, 9)));  // other file
  EXPECT_FALSE(m_.CancelMatching(Req(1, kC, X, 0, 9)));  // other owner
  EXPECT_TRUE(log_.events.empty());
  EXPECT_TRUE(m_.CancelMatching(Req(1, kB, X, 0, 9)));
  EXPECT_EQ(log_.events, Strings{Cancelled("B")});
  EXPECT_TRUE(Waiters(m_).empty());
  EXPECT_FALSE(m_.CancelMatching(Req(1, kB, X, 0, 9)));
}

TEST_F(LockManagerTest, CallbackMayCallBackIn) {
  Take(Req(1, kA, X, 0, 9));
  std::vector<std::string> order;
  m_.Lock(Req(1, kB, X, 0, 9), [&](LockStatus s) {
    order.push_back(std::string("B:") + LockStatusName(s));
    // Re-entry: B is done at once, which must wake C.
    EXPECT_EQ(St(m_.Unlock(Req(1, kB, X, 0, 9))), kOk);
  });
  m_.Lock(Req(1, kC, X, 0, 9), [&](LockStatus s) {
    order.push_back(std::string("C:") + LockStatusName(s));
  });
  m_.Unlock(Req(1, kA, X, 0, 9));
  EXPECT_EQ(order, (Strings{Granted("B"), Granted("C")}));
  EXPECT_EQ(Held(m_), Strings{"f1 1/0/C X[0,9]"});
}

// ---- Deadlock ----

TEST_F(LockManagerTest, TwoOwnerCycleAcrossFiles) {
  Take(Req(1, kA, X, 0, 9));
  Take(Req(2, kB, X, 0, 9));
  ASSERT_EQ(St(Wait(Req(2, kA, X, 0, 9), "A")), kQueued);
  // Without a callback it is a plain conflict, not a deadlock.
  EXPECT_EQ(St(Take(Req(1, kB, X, 0, 9))), kConflict);
  EXPECT_EQ(St(Wait(Req(1, kB, X, 0, 9), "B")), kDeadlock);
  EXPECT_EQ(Waiters(m_).size(), 1u);  // B was not queued
  EXPECT_EQ(m_.Counters().deadlocks, 1u);
  // B gives up its lock: A's wait ends.
  m_.Unlock(Req(2, kB, X, 0, 9));
  EXPECT_EQ(log_.events, Strings{Granted("A")});
}

TEST_F(LockManagerTest, CycleAcrossProtocols) {
  const Owner n = Nlm(3, "svid7");
  const Owner w = Smb(4, 11);
  Take(Req(1, kA, X, 0, 9));
  Take(Req(2, n, S, 0, kEof));
  Take(Win(3, w, X, 100, 199));
  ASSERT_EQ(St(Wait(Req(2, kA, X, 5, 5), "A")), kQueued);
  ASSERT_EQ(St(Wait(Win(1, w, X, 0, 0), "W")), kQueued);
  // n -> w -> A -> n closes the cycle.
  EXPECT_EQ(St(Wait(Req(3, n, S, 150, 150), "N")), kDeadlock);
  EXPECT_EQ(Waiters(m_).size(), 2u);
}

TEST_F(LockManagerTest, TwoSharedHoldersUpgradingDeadlock) {
  Take(Req(1, kA, S, 0, 9));
  Take(Req(1, kB, S, 0, 9));
  ASSERT_EQ(St(Wait(Req(1, kA, X, 0, 9), "A")), kQueued);
  EXPECT_EQ(St(Wait(Req(1, kB, X, 5, 5), "B")), kDeadlock);
}

TEST_F(LockManagerTest, QueueBehindWaitersIsNoDeadlock) {
  Take(Req(1, kA, X, 0, 9));
  EXPECT_EQ(St(Wait(Req(1, kB, X, 0, 9), "B")), kQueued);
  EXPECT_EQ(St(Wait(Req(1, kC, X, 0, 9), "C")), kQueued);
  Take(Req(2, kD, X, 0, 9));
  EXPECT_EQ(St(Wait(Req(2, kB, S, 0, 9), "B2")), kQueued);
  EXPECT_EQ(m_.Counters().deadlocks, 0u);
}

TEST_F(LockManagerTest, CancelledWaitBreaksCycle) {
  Take(Req(1, kA, X, 0, 9));
  Take(Req(2, kB, X, 0, 9));
  LockResult a = Wait(Req(2, kA, X, 0, 9), "A");
  ASSERT_TRUE(m_.Cancel(a.waiter_id));
  EXPECT_EQ(St(Wait(Req(1, kB, X, 0, 9), "B")), kQueued);
}

TEST_F(LockManagerTest, GrantedWaitLeavesNoStaleEdge) {
  Take(Req(1, kA, X, 0, 9));
  Wait(Req(1, kB, X, 0, 9), "B");
  m_.Unlock(Req(1, kA, X, 0, 9));  // B holds f1 now, waits for nothing
  Take(Req(2, kA, X, 0, 9));
  ASSERT_EQ(St(Wait(Req(1, kA, X, 0, 9), "A")), kQueued);
  EXPECT_EQ(St(Wait(Req(2, kB, X, 0, 9), "B2")), kDeadlock);
  EXPECT_EQ(St(Wait(Req(2, kC, X, 0, 9), "C")), kQueued);
}

TEST_F(LockManagerTest, WindowsBlockingOnOwnOpenIsDeadlock) {
  const Owner w = Smb(1, 1);
  Take(Win(1, w, S, 0, 9));
  EXPECT_EQ(St(Wait(Win(1, w, X, 0, 9), "W")), kDeadlock);
  Take(Win(1, w, X, 20, 29));
  EXPECT_EQ(St(Wait(Win(1, w, X, 25, 25), "W")), kDeadlock);
  EXPECT_TRUE(Waiters(m_).empty());
  EXPECT_TRUE(log_.events.empty());
}

// ---- Release ----

TEST_F(LockManagerTest, ReleaseByClientOwnerOpenFileFlavor) {
  const Owner x1 = Nlm(1, "x"), y1 = Nlm(1, "y"), x2 = Nlm(2, "x");
  Take(Req(1, x1, S, 0, 9));
  Take(Req(2, x1, S, 0, 9));
  Take(Req(1, y1, S, 0, 9));
  Take(Req(3, x2, S, 0, 9));
  Take(Req(1, kA, S, 0, 9));
  Take(Flk(1, LocalOpen(1), S));
  Take(Win(1, Smb(1, 1), S, 0, 9));
  Take(Win(1, Smb(1, 2), S, 0, 9));
  Take(Win(2, Smb(1, 2), S, 0, 9));

  ReleaseFilter open1 = Rel(Protocol::kSmb, 1), file2 = Rel(Protocol::kSmb),
                flock = Rel(Protocol::kLocal);
  open1.open = 1;
  file2.file = 2;
  flock.flavor = Flavor::kFlock;
  EXPECT_EQ(m_.Release(open1), 1u);
  EXPECT_EQ(m_.Release(file2), 1u);
  EXPECT_EQ(m_.Release(Rel(Protocol::kNlm, 1, "x")), 2u);
  EXPECT_EQ(m_.Release(flock), 1u);
  EXPECT_EQ(Held(m_), (Strings{"f1 1/0/A S[0,9]", "f1 2/1/y S[0,9]",
                               "f1 3/1/#2 S[0,9]", "f3 2/2/x S[0,9]"}));
  // The protocol always has to match.
  EXPECT_EQ(m_.Release(Rel(Protocol::kAdmin)), 0u);
  EXPECT_EQ(m_.Release(Rel(Protocol::kNlm, 1)), 1u);
  EXPECT_EQ(m_.Release(Rel(Protocol::kNlm)), 1u);
  EXPECT_EQ(Held(m_), (Strings{"f1 1/0/A S[0,9]", "f1 3/1/#2 S[0,9]"}));
}

TEST_F(LockManagerTest, ReleaseCountsSplitLocksCancelsAndWakes) {
  const Owner n = Nlm(1, "n");
  Take(Req(1, n, X, 0, 99));
  m_.Unlock(Req(1, n, X, 40, 49));
  Take(Req(2, kA, X, 0, 9));
  Wait(Req(2, n, X, 0, 9), "N");     // n's own waiter: cancelled
  Wait(Req(1, kB, X, 45, 55), "B");  // waits for n: woken
  EXPECT_EQ(m_.Release(Rel(Protocol::kNlm, 1)), 2u);
  std::sort(log_.events.begin(), log_.events.end());
  EXPECT_EQ(log_.events, (Strings{Granted("B"), Cancelled("N")}));
  EXPECT_TRUE(Waiters(m_).empty());
}

// ---- Limits ----

LockManagerOptions WithLimits(size_t per_file, size_t per_client,
                              size_t total) {
  LockManagerOptions o;
  o.limits.per_file = per_file;
  o.limits.per_client = per_client;
  o.limits.total = total;
  return o;
}

TEST(LockLimitsTest, PerFile) {
  LockManager m(WithLimits(2, 100, 1 << 24));
  EXPECT_EQ(St(m.Lock(Req(1, kA, S, 0, 9))), kOk);
  EXPECT_EQ(St(m.Lock(Req(1, kB, S, 0, 9))), kOk);
  EXPECT_EQ(St(m.Lock(Req(1, kC, S, 0, 9))), kNoRes);
  EXPECT_EQ(St(m.Lock(Req(2, kC, S, 0, 9))), kOk);
  EXPECT_EQ(m.Counters().no_resources, 1u);
  m.Unlock(Req(1, kA, S, 0, 9));
  EXPECT_EQ(St(m.Lock(Req(1, kC, S, 0, 9))), kOk);
  EXPECT_EQ(Held(m).size(), 3u);
}

TEST(LockLimitsTest, WindowsStackedLocksCountEach) {
  LockManager m(WithLimits(2, 100, 1 << 24));
  const Owner w = Smb(1, 1);
  EXPECT_EQ(St(m.Lock(Win(1, w, S, 0, 9))), kOk);
  EXPECT_EQ(St(m.Lock(Win(1, w, S, 0, 9))), kOk);
  EXPECT_EQ(St(m.Lock(Win(1, w, S, 0, 9))), kNoRes);
}

TEST(LockLimitsTest, PosixMergeNeedsNoExtraRoom) {
  LockManager m(WithLimits(1, 100, 1 << 24));
  EXPECT_EQ(St(m.Lock(Req(1, kA, S, 0, 9))), kOk);
  EXPECT_EQ(St(m.Lock(Req(1, kA, S, 5, 19))), kOk);
  EXPECT_EQ(St(m.Lock(Req(1, kA, X, 0, 19))), kOk);
  EXPECT_EQ(Held(m), Strings{"f1 1/0/A X[0,19]"});
  EXPECT_EQ(St(m.Lock(Req(1, kA, X, 30, 39))), kNoRes);
  EXPECT_EQ(Held(m), Strings{"f1 1/0/A X[0,19]"});
}

TEST(LockLimitsTest, PerRemoteClient) {
  LockManager m(WithLimits(100, 2, 1 << 24));
  const Owner n1 = Nlm(1, "n"), n1b = Nlm(1, "other"), n2 = Nlm(2, "n");
  EXPECT_EQ(St(m.Lock(Req(1, n1, S, 0, 9))), kOk);
  EXPECT_EQ(St(m.Lock(Req(2, n1b, S, 0, 9))), kOk);
  EXPECT_EQ(St(m.Lock(Req(3, n1, S, 0, 9))), kNoRes);
  EXPECT_EQ(St(m.Lock(Req(3, n2, S, 0, 9))), kOk);
  // Local locks and another protocol's client 1 are not this client.
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(St(m.Lock(Req(3, kA, S, i * 10, i * 10 + 5))), kOk);
  }
  EXPECT_EQ(St(m.Lock(Win(3, Smb(1, 1), S, 0, 9))), kOk);
  EXPECT_EQ(m.Release(Rel(Protocol::kNlm, 1, "other")), 1u);
  EXPECT_EQ(St(m.Lock(Req(3, n1, S, 0, 9))), kOk);
}

TEST(LockLimitsTest, TotalOnOneFile) {
  LockManager m(WithLimits(100, 100, 3));
  for (uint64_t i = 0; i < 3; ++i) {
    EXPECT_EQ(St(m.Lock(Req(1, kA, X, i * 10, i * 10 + 1))), kOk);
  }
  EXPECT_EQ(St(m.Lock(Req(1, kA, X, 100, 101))), kNoRes);
  EXPECT_EQ(St(m.Lock(Req(1, kB, X, 200, 201))), kNoRes);
  EXPECT_EQ(Held(m).size(), 3u);
}

TEST(LockLimitsTest, Total) {
  LockManager m(WithLimits(100, 100, 3));
  for (FileId f = 1; f <= 3; ++f) {
    EXPECT_EQ(St(m.Lock(Req(f, kA, X, 0, 9))), kOk);
  }
  EXPECT_EQ(St(m.Lock(Req(4, kA, X, 0, 9))), kNoRes);
  EXPECT_EQ(St(m.Lock(Win(4, Smb(1, 1), X, 0, 9))), kNoRes);
  EXPECT_EQ(Held(m).size(), 3u);
  m.Unlock(Req(2, kA, X, 0, kEof));
  EXPECT_EQ(St(m.Lock(Req(4, kA, X, 0, 9))), kOk);
}

TEST(LockLimitsTest, InvalidRange) {
  LockManager m;
  LockRequest r = Req(1, kA, X, 10, 9);
  EXPECT_EQ(St(m.Lock(r)), kInvalid);
  r.flavor = Flavor::kWindows;
  EXPECT_EQ(St(m.Lock(r)), kInvalid);
  EXPECT_TRUE(Held(m).empty());
}

// ---- SMB I/O check ----

TEST_F(LockManagerTest, CheckIo) {
  const Owner me = Smb(1, 1), other = Smb(1, 2);
  EXPECT_FALSE(m_.CheckIo(1, me, {0, 99}, true).has_value());
  Take(Win(1, other, S, 0, 9));
  Take(Win(1, other, X, 20, 29));
  Take(Win(1, me, X, 40, 49));
  Take(Win(1, me, S, 60, 69));
  Take(Req(1, kA, X, 80, 89));  // a local POSIX lock binds SMB I/O too
  struct Row {
    uint64_t first, last;
    bool write;
    std::optional<uint64_t> blocker_first;  // which lock stops it
  };
  const Row rows[] = {
      {0, 9, false, std::nullopt},   // other's shared: reads pass
      {5, 14, true, 0},              // ... writes do not
      {25, 25, false, 20},           // other's exclusive stops reads
      {10, 19, true, std::nullopt},  // no lock there
      {20, 20, true, 20},
      {40, 49, true, std::nullopt},  // own exclusive: both pass
      {45, 45, false, std::nullopt},
      {60, 60, false, std::nullopt},  // own shared: reads pass
      {65, 75, true, 60},             // ... own writes do not (Samba)
      {85, 85, false, 80},
      {85, 85, true, 80},
      {90, 99, true, std::nullopt},
  };
  for (const Row& r : rows) {
    SCOPED_TRACE(::testing::Message()
                 << "[" << r.first << "," << r.last << "] write=" << r.write);
    std::optional<Lock> got = m_.CheckIo(1, me, {r.first, r.last}, r.write);
    ASSERT_EQ(got.has_value(), r.blocker_first.has_value());
    if (got) {
      EXPECT_EQ(got->range.first, *r.blocker_first);
    }
  }
  EXPECT_FALSE(m_.CheckIo(2, me, {0, kEof}, true).has_value());  // other file
}

// ---- Counters ----

TEST_F(LockManagerTest, Counters) {
  auto held = [&](Protocol p, Flavor f) {
    return m_.Counters().held[static_cast<int>(p) - 1][static_cast<int>(f) - 1];
  };
  Take(Req(1, kA, S, 0, 9));
  Take(Req(1, kA, S, 20, 29));
  Take(Flk(1, LocalOpen(1), S));
  Take(Req(1, Nlm(1, "n"), S, 0, 9));
  Take(Win(1, Smb(1, 1), S, 0, 9));
  Take(Win(1, Smb(1, 1), S, 0, 9));
  EXPECT_EQ(held(Protocol::kLocal, Flavor::kPosix), 2u);
  EXPECT_EQ(held(Protocol::kLocal, Flavor::kFlock), 1u);
  EXPECT_EQ(held(Protocol::kNlm, Flavor::kPosix), 1u);
  EXPECT_EQ(held(Protocol::kSmb, Flavor::kWindows), 2u);
  EXPECT_EQ(held(Protocol::kSmb, Flavor::kPosix), 0u);
  LockCounters c = m_.Counters();
  EXPECT_EQ(c.grants, 6u);
  EXPECT_EQ(c.denials, 0u);
  EXPECT_FALSE(c.in_grace);

  Take(Req(1, kA, S, 10, 19));  // merges three into one
  EXPECT_EQ(held(Protocol::kLocal, Flavor::kPosix), 1u);
  EXPECT_EQ(St(Take(Req(1, kB, X, 0, 0))), kConflict);
  EXPECT_EQ(m_.Counters().denials, 1u);
  LockResult w = Wait(Req(1, kB, X, 0, 0), "B");
  EXPECT_EQ(m_.Counters().waiters, 1u);
  ASSERT_TRUE(m_.Cancel(w.waiter_id));
  c = m_.Counters();
  EXPECT_EQ(c.waiters, 0u);
  EXPECT_EQ(c.cancels, 1u);
  m_.Unlock(Req(1, kA, S, 0, kEof));
  m_.Release(Rel(Protocol::kSmb));
  EXPECT_EQ(held(Protocol::kLocal, Flavor::kPosix), 0u);
  EXPECT_EQ(held(Protocol::kSmb, Flavor::kWindows), 0u);
}

// ---- Persistence and grace ----

class LockRestartTest : public ::testing::Test {
 protected:
  std::unique_ptr<LockManager> Boot() {
    LockManagerOptions o;
    o.clock = &clock_;
    o.store = &store_;
    o.grace_period = 10 * kNanosPerSecond;
    auto m = std::make_unique<LockManager>(o);
    EXPECT_TRUE(m->Start().ok());
    return m;
  }
  ManualClock clock_;
  MemoryLockStore store_;
  const Owner n1_ = Nlm(1, "n1"), n2_ = Nlm(2, "n2"), n3_ = Nlm(3, "n3");
};

TEST_F(LockRestartTest, DurableLocksSurviveAndGraceGuardsThem) {
  auto m = Boot();
  EXPECT_FALSE(m->InGrace());  // nothing to restore
  uint64_t first_epoch = m->epoch();
  ASSERT_EQ(St(m->Lock(Durable(Req(1, n1_, X, 0, 9)))), kOk);
  ASSERT_EQ(St(m->Lock(Req(1, kA, X, 50, 59))), kOk);
  m.reset();

  m = Boot();
  EXPECT_GT(m->epoch(), first_epoch);
  EXPECT_TRUE(m->InGrace());
  EXPECT_TRUE(m->Counters().in_grace);
  EXPECT_EQ(m->Counters().unreclaimed, 1u);
  EXPECT_EQ(Held(*m), Strings{"f1 2/1/n1 X[0,9] restored"});  // local: gone
  LockResult t = m->Test(Req(1, n2_, S, 5, 5));
  EXPECT_EQ(St(t), kConflict);
  ASSERT_TRUE(t.holder.has_value());
  EXPECT_EQ(t.holder->owner, n1_);
  EXPECT_EQ(St(m->Lock(Durable(Req(1, n2_, S, 5, 5)))), kGrace);
  EXPECT_EQ(St(m->Lock(Req(1, kB, S, 9, 9))), kGrace);
  EXPECT_EQ(m->Counters().grace_denials, 2u);
  EXPECT_EQ(St(m->Lock(Durable(Req(1, n2_, S, 10, 19)))), kOk);
  EXPECT_EQ(St(m->Lock(Req(2, kB, X, 0, 9))), kOk);

  EXPECT_EQ(St(m->Lock(Reclaim(Req(1, n1_, X, 0, 9)))), kOk);
  EXPECT_FALSE(m->InGrace());  // everyone reclaimed: grace ends early
  EXPECT_EQ(m->Counters().unreclaimed, 0u);
  EXPECT_EQ(Held(*m), (Strings{"f1 2/1/n1 X[0,9]", "f1 2/2/n2 S[10,19]",
                               "f2 1/0/B X[0,9]"}));
  EXPECT_EQ(St(m->Lock(Req(1, kB, S, 9, 9))), kConflict);
}

TEST_F(LockRestartTest, EndGraceDropsOnlyUnreclaimed) {
  auto m = Boot();
  m->Lock(Durable(Req(1, n1_, X, 0, 9)));
  m->Lock(Durable(Req(2, n2_, X, 0, 9)));
  m->Lock(Durable(Req(2, n3_, S, 100, kEof)));
  m.reset();

  m = Boot();
  EXPECT_EQ(m->Counters().unreclaimed, 3u);
  EXPECT_EQ(St(m->Lock(Reclaim(Req(2, n2_, X, 0, 9)))), kOk);
  EXPECT_TRUE(m->InGrace());
  EXPECT_EQ(m->Counters().unreclaimed, 2u);
  m->EndGrace();
  EXPECT_FALSE(m->InGrace());
  EXPECT_EQ(Held(*m), Strings{"f2 2/2/n2 X[0,9]"});
  EXPECT_EQ(St(m->Lock(Req(1, kB, X, 0, kEof))), kOk);
  m.reset();
  // What was dropped is gone from the store too.
  m = Boot();
  EXPECT_EQ(Held(*m), Strings{"f2 2/2/n2 X[0,9] restored"});
}

TEST_F(LockRestartTest, ReleasedRestoredLocksNeedNoReclaim) {
  auto m = Boot();
  m->Lock(Durable(Req(1, n1_, X, 0, 9)));
  m->Lock(Durable(Req(1, n2_, X, 10, 19)));
  m.reset();
  m = Boot();
  ASSERT_EQ(m->Counters().unreclaimed, 2u);
  // n2 rebooted again (SM_NOTIFY): its restored lock goes, unreclaimed.
  EXPECT_EQ(m->Release(Rel(Protocol::kNlm, 2)), 1u);
  EXPECT_EQ(m->Counters().unreclaimed, 1u);
  EXPECT_EQ(St(m->Lock(Req(1, kB, X, 10, 19))), kOk);
  EXPECT_EQ(St(m->Lock(Reclaim(Req(1, n1_, X, 0, 9)))), kOk);
  EXPECT_FALSE(m->InGrace());
}

TEST_F(LockRestartTest, BlockingRemoteRequestsAreRefusedInGraceLocalWait) {
  auto m = Boot();
  m->Lock(Durable(Req(1, n1_, X, 0, 9)));
  m.reset();
  m = Boot();
  ASSERT_TRUE(m->InGrace());
  // An NLM client must not queue behind a lock its owner may reclaim.
  bool called = false;
  LockResult r = m->Lock(Durable(Req(1, n2_, X, 0, 9)),
                         [&](LockStatus) { called = true; });
  EXPECT_EQ(St(r), kGrace);
  // A local F_SETLKW waits, and is granted when grace ends unreclaimed.
  std::optional<LockStatus> local;
  r = m->Lock(Req(1, kB, X, 5, 5), [&](LockStatus s) { local = s; });
  EXPECT_EQ(St(r), kQueued);
  EXPECT_EQ(m->GraceEnd(), clock_.Now() + 10 * kNanosPerSecond);
  clock_.Advance(11 * kNanosPerSecond);
  EXPECT_FALSE(m->InGrace());  // what the daemon's grace timer calls
  EXPECT_EQ(m->GraceEnd(), 0);
  ASSERT_TRUE(local.has_value());
  EXPECT_EQ(*local, LockStatus::kGranted);
  EXPECT_FALSE(called);
}

TEST_F(LockRestartTest, GraceTimesOut) {
  auto m = Boot();
  m->Lock(Durable(Req(1, n1_, X, 0, 9)));
  m.reset();

  m = Boot();
  clock_.Advance(9 * kNanosPerSecond);
  EXPECT_TRUE(m->InGrace());
  EXPECT_EQ(St(m->Lock(Req(1, kB, X, 0, 9))), kGrace);
  clock_.Advance(2 * kNanosPerSecond);
  // The first call after the deadline ends grace; here it is a lock.
  EXPECT_EQ(St(m->Lock(Req(1, kB, X, 0, 9))), kOk);
  EXPECT_FALSE(m->InGrace());
  EXPECT_EQ(Held(*m), Strings{"f1 1/0/B X[0,9]"});
}

TEST_F(LockRestartTest, GraceTimeoutSeenByInGrace) {
  auto m = Boot();
  m->Lock(Durable(Req(1, n1_, X, 0, 9)));
  m.reset();
  m = Boot();
  clock_.Advance(11 * kNanosPerSecond);
  EXPECT_FALSE(m->InGrace());
  EXPECT_TRUE(Held(*m).empty());
  EXPECT_EQ(St(m->Test(Req(1, kB, X, 0, 9))), kOk);
}

// Strict grace (the store may have lost records of granted locks, e.g. a
// host crash before they were synced): no new lock of any protocol, even
// one that conflicts with nothing restored; reclaims only, also of locks
// whose record is gone; no early end when everything restored is
// reclaimed.
TEST_F(LockRestartTest, StrictGraceRefusesEveryNewLock) {
  auto m = Boot();
  ASSERT_EQ(St(m->Lock(Durable(Req(1, n1_, X, 0, 9)))), kOk);
  m.reset();
  store_.SetStrictGraceReason("the host went down");
  m = Boot();
  EXPECT_TRUE(m->InGrace());
  EXPECT_TRUE(m->StrictGrace());
  EXPECT_EQ(m->StrictGraceReason(), "the host went down");
  EXPECT_TRUE(m->Counters().strict_grace);
  EXPECT_EQ(St(m->Lock(Durable(Req(2, n2_, X, 0, 9)))), kGrace);
  EXPECT_EQ(St(m->Lock(Durable(Req(2, n2_, S, 0, 9)),
                       [](LockStatus) { ADD_FAILURE() << "queued"; })),
            kGrace);
  EXPECT_EQ(St(m->Lock(Req(2, kB, S, 100, 109))), kGrace);  // F_SETLK
  EXPECT_EQ(St(m->Lock(Flk(3, LocalOpen(7), S))), kGrace);  // LOCK_NB
  EXPECT_EQ(St(m->Lock(Win(4, Smb(1, 1), X, 0, 9))), kGrace);
  EXPECT_EQ(m->Counters().grace_denials, 5u);
  EXPECT_TRUE(Held(*m) == Strings{"f1 2/1/n1 X[0,9] restored"});
  // n1 reclaims its restored lock; n2 one whose record was lost.
  EXPECT_EQ(St(m->Lock(Reclaim(Req(1, n1_, X, 0, 9)))), kOk);
  EXPECT_EQ(St(m->Lock(Reclaim(Req(5, n2_, X, 0, 9)))), kOk);
  EXPECT_EQ(m->Counters().unreclaimed, 0u);
  EXPECT_TRUE(m->InGrace());  // strict: no early end
  EXPECT_EQ(St(m->Lock(Req(2, kB, S, 100, 109))), kGrace);
  EXPECT_EQ(St(m->Unlock(Req(5, n2_, X, 0, 9))), kOk);
  clock_.Advance(11 * kNanosPerSecond);
  EXPECT_FALSE(m->InGrace());
  EXPECT_FALSE(m->StrictGrace());
  EXPECT_FALSE(m->Counters().strict_grace);
  EXPECT_EQ(St(m->Lock(Req(2, kB, S, 100, 109))), kOk);
  EXPECT_EQ(St(m->Lock(Durable(Req(1, n2_, X, 20, 29)))), kOk);
}

// Strict grace starts even when nothing was restored (the lost records may
// be all there was); a local F_SETLKW waits until it ends, whether by time
// or by EndGrace, and nothing in between wakes it.
TEST_F(LockRestartTest, StrictGraceLocalWaiterGrantedWhenItEnds) {
  store_.SetStrictGraceReason("lost");
  auto m = Boot();
  ASSERT_TRUE(m->InGrace());
  std::optional<LockStatus> a, b;
  ASSERT_EQ(St(m->Lock(Req(1, kA, X, 0, 9), [&](LockStatus s) { a = s; })),
            kQueued);
  ASSERT_EQ(St(m->Lock(Req(2, kB, S, 0, 9), [&](LockStatus s) { b = s; })),
            kQueued);
  EXPECT_EQ(m->Counters().waiters, 2u);
  EXPECT_EQ(St(m->Lock(Reclaim(Req(1, n1_, S, 50, 59)))), kOk);
  EXPECT_EQ(St(m->Unlock(Req(1, n1_, S, 50, 59))), kOk);
  EXPECT_TRUE(m->InGrace());
  EXPECT_FALSE(a.has_value());
  EXPECT_FALSE(b.has_value());
  m->EndGrace();
  ASSERT_TRUE(a.has_value());
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(*a, LockStatus::kGranted);
  EXPECT_EQ(*b, LockStatus::kGranted);
  EXPECT_EQ(Held(*m), (Strings{"f1 1/0/A X[0,9]", "f2 1/0/B S[0,9]"}));

  // Ended by time: the daemon's grace timer calls InGrace().
  m.reset();
  m = Boot();
  ASSERT_TRUE(m->StrictGrace());
  std::optional<LockStatus> c;
  ASSERT_EQ(St(m->Lock(Req(3, kA, X, 0, 9), [&](LockStatus s) { c = s; })),
            kQueued);
  clock_.Advance(9 * kNanosPerSecond);
  EXPECT_TRUE(m->InGrace());
  EXPECT_FALSE(c.has_value());
  clock_.Advance(2 * kNanosPerSecond);
  EXPECT_FALSE(m->InGrace());
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(*c, LockStatus::kGranted);
}

TEST_F(LockRestartTest, FailedSaveGrantsNothing) {
  auto m = Boot();
  store_.FailNextSave();
  EXPECT_EQ(St(m->Lock(Durable(Req(1, n1_, X, 0, 9)))), kNoRes);
  EXPECT_TRUE(Held(*m).empty());
  EXPECT_EQ(St(m->Test(Req(1, n2_, X, 0, 9))), kOk);
  EXPECT_EQ(St(m->Lock(Durable(Req(1, n1_, X, 0, 9)))), kOk);
  m.reset();
  m = Boot();
  EXPECT_EQ(Held(*m), Strings{"f1 2/1/n1 X[0,9] restored"});
}

TEST_F(LockRestartTest, FailedSaveOfWokenWaiter) {
  auto m = Boot();
  m->Lock(Req(1, kA, X, 0, 9));  // local, nothing to save
  std::vector<LockStatus> got;
  ASSERT_EQ(St(m->Lock(Durable(Req(1, n1_, X, 0, 9)),
                       [&](LockStatus s) { got.push_back(s); })),
            kQueued);
  store_.FailNextSave();
  m->Unlock(Req(1, kA, X, 0, 9));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(St(got[0]), kNoRes);
  EXPECT_TRUE(Held(*m).empty());
  EXPECT_EQ(St(m->Test(Req(1, n2_, X, 0, 9))), kOk);
}

TEST_F(LockRestartTest, SplitsUnlocksAndReleasesArePersisted) {
  auto m = Boot();
  m->Lock(Durable(Req(1, n1_, X, 0, 99)));
  ASSERT_EQ(St(m->Unlock(Durable(Req(1, n1_, X, 40, 59)))), kOk);
  m->Lock(Durable(Req(2, n2_, S, 0, 9)));
  m->Lock(Durable(Req(3, n2_, S, 0, 9)));
  m->Unlock(Durable(Req(3, n2_, S, 0, kEof)));
  m->Lock(Durable(Req(4, n3_, S, 0, 9)));
  EXPECT_EQ(m->Release(Rel(Protocol::kNlm, 3)), 1u);
  m.reset();

  m = Boot();
  EXPECT_EQ(Held(*m), (Strings{"f1 2/1/n1 X[0,39] restored",
                               "f1 2/1/n1 X[60,99] restored",
                               "f2 2/2/n2 S[0,9] restored"}));
  EXPECT_EQ(m->Counters().unreclaimed, 3u);
  EXPECT_EQ(St(m->Lock(Reclaim(Req(1, n1_, X, 0, 39)))), kOk);
  EXPECT_EQ(St(m->Lock(Reclaim(Req(1, n1_, X, 60, 99)))), kOk);
  EXPECT_TRUE(m->InGrace());
  EXPECT_EQ(St(m->Lock(Reclaim(Req(2, n2_, S, 0, 9)))), kOk);
  EXPECT_FALSE(m->InGrace());
}

TEST_F(LockRestartTest, GrantedDurableWaiterIsPersisted) {
  auto m = Boot();
  m->Lock(Durable(Req(1, n1_, X, 0, 9)));
  std::vector<LockStatus> got;
  LockResult r = m->Lock(Durable(Req(1, n2_, X, 0, 9)),
                         [&](LockStatus s) { got.push_back(s); });
  ASSERT_EQ(St(r), kQueued);
  m->Unlock(Durable(Req(1, n1_, X, 0, 9)));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(St(got[0]), kOk);
  m.reset();
  m = Boot();
  EXPECT_EQ(Held(*m), Strings{"f1 2/2/n2 X[0,9] restored"});
}

TEST_F(LockRestartTest, NothingDurableMeansNoGrace) {
  auto m = Boot();
  m->Lock(Req(1, n1_, X, 0, 9));  // not durable
  m->Lock(Durable(Req(2, n1_, X, 0, 9)));
  m->Unlock(Durable(Req(2, n1_, X, 0, 9)));
  m.reset();
  m = Boot();
  EXPECT_FALSE(m->InGrace());
  EXPECT_TRUE(Held(*m).empty());
  EXPECT_EQ(St(m->Lock(Req(1, n2_, X, 0, 9))), kOk);
}

}  // namespace
}  // namespace concordfs::locking
