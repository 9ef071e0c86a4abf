// OplockTable: grants (what a new open gets next to what exists), breaks
// (to what, acknowledged or not, waited for or not), acknowledgements and
// their errors, timeouts, and breaks asked by other protocols through
// locking::CacheAccess.
#include "smb/core/oplocks.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "smb/info/nt_status.h"

namespace concordfs::smb {
namespace {

constexpr uint32_t R = kLeaseRead, H = kLeaseHandle, W = kLeaseWrite;
constexpr uint64_t kFile = 42;
constexpr uint32_t kAllAccess = 0x001F01FF;

class OplocksTest : public ::testing::Test {
 protected:
  explicit OplocksTest(
      std::chrono::milliseconds timeout = std::chrono::milliseconds(10000))
      : t_(timeout) {}

  BreakSender Sender() {
    return [this](const BreakNotice& n) {
      std::lock_guard lk(mu_);
      notices_.push_back(n);
    };
  }
  std::vector<BreakNotice> Notices() {
    std::lock_guard lk(mu_);
    std::vector<BreakNotice> v;
    v.swap(notices_);
    return v;
  }
  static std::string Key(char c) { return std::string(16, c); }
  static std::string Guid() { return std::string(16, 'g'); }

  GrantResult OpenLease(uint64_t open_id, char key, uint32_t state) {
    GrantRequest g;
    g.file = kFile;
    g.open_id = open_id;
    g.oplock = kOplockLease;
    g.lease = LeaseRequest{Key(key), state, 1, "", 0};
    g.client_guid = Guid();
    g.leasing = true;
    g.sender = Sender();
    return t_.Grant(g);
  }
  GrantResult OpenOplock(uint64_t open_id, uint8_t level) {
    GrantRequest g;
    g.file = kFile;
    g.open_id = open_id;
    g.oplock = level;
    g.sender = Sender();
    return t_.Grant(g);
  }
  // Breaks for an open; true if the caller would wait.
  bool BreakForOpen(char key, uint32_t access, bool overwrite,
                    std::atomic<int>* done) {
    OpenIntent in;
    if (key) in.lease_id = Guid() + Key(key);
    in.access = access;
    in.overwrite = overwrite;
    return !t_.BreakForOpen(kFile, in, [done] { ++*done; });
  }

  OplockTable t_;
  std::mutex mu_;
  std::vector<BreakNotice> notices_;
};

// A lease asked on an open file with another lease: what the holder is
// broken to and what the new lease gets (Windows' answers).
TEST_F(OplocksTest, LeaseAgainstLeaseTable) {
  struct Case {
    uint32_t held, asked, broken_to, granted;
  } cases[] = {
      {R, R, R, R},
      {R, R | H, R, R | H},
      {R, R | W, R, R},
      {R, R | H | W, R, R | H},
      {R | H, R, R | H, R},
      {R | H, R | W, R | H, R},
      {R | W, R, R, R},
      {R | W, R | H | W, R, R | H},
      {R | H | W, R, R | H, R},
      {R | H | W, R | H | W, R | H, R | H},
  };
  uint64_t id = 1;
  for (const Case& c : cases) {
    SCOPED_TRACE(testing::Message()
                 << "held " << c.held << " asked " << c.asked);
    uint64_t first = id++, second = id++;
    ASSERT_EQ(OpenLease(first, 'a', c.held).lease_state, c.held);
    std::atomic<int> done{0};
    bool waits = BreakForOpen('b', kAllAccess, false, &done);
    auto n = Notices();
    if (c.broken_to == c.held) {
      EXPECT_FALSE(waits);
      EXPECT_TRUE(n.empty());
    } else {
      ASSERT_EQ(n.size(), 1u);
      EXPECT_EQ(n[0].current, c.held);
      EXPECT_EQ(n[0].new_state, c.broken_to);
      EXPECT_TRUE(n[0].ack_required);  // breaking from W
      EXPECT_TRUE(waits);
      EXPECT_EQ(t_.AckLease(Guid() + Key('a'), c.broken_to), kStatusSuccess);
      EXPECT_EQ(done.load(), 1);
    }
    EXPECT_EQ(OpenLease(second, 'b', c.asked).lease_state, c.granted);
    t_.Close(kFile, first);
    t_.Close(kFile, second);
    EXPECT_FALSE(t_.Active());
  }
}

TEST_F(OplocksTest, BatchBrokenToLevelIIBySecondOpen) {
  EXPECT_EQ(OpenOplock(1, kOplockBatch).oplock, kOplockBatch);
  std::atomic<int> done{0};
  EXPECT_TRUE(BreakForOpen(0, kAllAccess, false, &done));
  auto n = Notices();
  ASSERT_EQ(n.size(), 1u);
  EXPECT_FALSE(n[0].lease);
  EXPECT_EQ(n[0].volatile_id, 1u);
  EXPECT_EQ(n[0].oplock_level, kOplockLevelII);
  uint8_t granted = 0;
  EXPECT_EQ(t_.AckOplock(1, kOplockLevelII, &granted), kStatusSuccess);
  EXPECT_EQ(granted, kOplockLevelII);
  EXPECT_EQ(done.load(), 1);
  // The second open gets level II even when asking for batch.
  EXPECT_EQ(OpenOplock(2, kOplockBatch).oplock, kOplockLevelII);
  // A write breaks every level II (the writer's own too), unacknowledged.
  t_.BreakReadersForWrite(kFile, 2);
  n = Notices();
  ASSERT_EQ(n.size(), 2u);
  for (const BreakNotice& b : n) EXPECT_EQ(b.oplock_level, kOplockNone);
  EXPECT_EQ(t_.OplockOf(1), kOplockNone);
  EXPECT_EQ(t_.OplockOf(2), kOplockNone);
  // Acknowledging a break that needs none is a protocol error.
  EXPECT_EQ(t_.AckOplock(1, kOplockNone, &granted),
            kStatusInvalidOplockProtocol);
}

TEST_F(OplocksTest, StatOpenBreaksNothingOverwriteBreaksToNone) {
  EXPECT_EQ(OpenOplock(1, kOplockExclusive).oplock, kOplockExclusive);
  std::atomic<int> done{0};
  EXPECT_FALSE(BreakForOpen(0, 0x80 /* FILE_READ_ATTRIBUTES */, false, &done));
  EXPECT_TRUE(Notices().empty());
  EXPECT_TRUE(BreakForOpen(0, 0x80, /*overwrite=*/true, &done));
  auto n = Notices();
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0].oplock_level, kOplockNone);
}

TEST_F(OplocksTest, AckErrors) {
  ASSERT_EQ(OpenLease(1, 'a', R | H | W).lease_state, R | H | W);
  EXPECT_EQ(t_.AckLease(Guid() + Key('z'), 0), kStatusObjectNameNotFound);
  EXPECT_EQ(t_.AckLease(Guid() + Key('a'), R), kStatusUnsuccessful);
  std::atomic<int> done{0};
  ASSERT_TRUE(BreakForOpen('b', kAllAccess, false, &done));  // to RH
  EXPECT_EQ(t_.AckLease(Guid() + Key('a'), R | H | W),
            kStatusRequestNotAccepted);
  EXPECT_EQ(done.load(), 0);
  EXPECT_EQ(t_.AckLease(Guid() + Key('a'), R), kStatusSuccess);  // less: ok
  EXPECT_EQ(done.load(), 1);
  EXPECT_EQ(t_.LeaseStateOf(Guid() + Key('a')), R);
}

TEST_F(OplocksTest, LeaseKeyNamesOneFile) {
  OpenLease(1, 'a', R);
  EXPECT_FALSE(t_.LeaseKeyClash(Guid() + Key('a'), kFile));
  EXPECT_TRUE(t_.LeaseKeyClash(Guid() + Key('a'), kFile + 1));
  t_.Close(kFile, 1);
  EXPECT_FALSE(t_.LeaseKeyClash(Guid() + Key('a'), kFile + 1));
}

TEST_F(OplocksTest, NoWriteCachingNextToForeignOpensOrLocks) {
  GrantRequest g;
  g.file = kFile;
  g.open_id = 1;
  g.oplock = kOplockBatch;
  g.foreign_opens = true;
  g.sender = Sender();
  EXPECT_EQ(t_.Grant(g).oplock, kOplockLevelII);
  t_.Close(kFile, 1);
  g.foreign_opens = false;
  g.foreign_locks = true;
  g.open_id = 2;
  EXPECT_EQ(t_.Grant(g).oplock, kOplockLevelII);
}

// Other protocols: what each access breaks.
TEST_F(OplocksTest, CacheAccessTable) {
  using locking::CacheAccess;
  struct Case {
    CacheAccess access;
    uint32_t broken_to;
  } cases[] = {
      {CacheAccess::kRead, R | H}, {CacheAccess::kOpenRead, R | H},
      {CacheAccess::kLock, R | H}, {CacheAccess::kOpenWrite, 0},
      {CacheAccess::kWrite, 0},    {CacheAccess::kRemove, R | W},
  };
  uint64_t id = 1;
  for (const Case& c : cases) {
    SCOPED_TRACE(locking::CacheAccessName(c.access));
    uint64_t open = id++;
    ASSERT_EQ(OpenLease(open, 'a', R | H | W).lease_state, R | H | W);
    std::atomic<int> done{0};
    EXPECT_FALSE(t_.Break(kFile, c.access, [&done] { ++done; }));
    auto n = Notices();
    ASSERT_EQ(n.size(), 1u);
    EXPECT_EQ(n[0].new_state, c.broken_to);
    EXPECT_EQ(t_.AckLease(Guid() + Key('a'), c.broken_to), kStatusSuccess);
    EXPECT_EQ(done.load(), 1);
    t_.Close(kFile, open);
  }
  // A read-only lease is broken by a write without waiting.
  OpenLease(id, 'a', R);
  EXPECT_TRUE(t_.Break(kFile, CacheAccess::kWrite, [] {}));
  auto n = Notices();
  ASSERT_EQ(n.size(), 1u);
  EXPECT_FALSE(n[0].ack_required);
  EXPECT_EQ(t_.LeaseStateOf(Guid() + Key('a')), 0u);
}

TEST_F(OplocksTest, ClosingTheHolderEndsTheWait) {
  OpenLease(1, 'a', R | H | W);
  std::atomic<int> done{0};
  EXPECT_FALSE(
      t_.Break(kFile, locking::CacheAccess::kWrite, [&done] { ++done; }));
  t_.Close(kFile, 1);
  EXPECT_EQ(done.load(), 1);
  EXPECT_FALSE(t_.Active());
}

class OplockTimeoutTest : public OplocksTest {
 protected:
  OplockTimeoutTest() : OplocksTest(std::chrono::milliseconds(100)) {}
};

TEST_F(OplockTimeoutTest, UnacknowledgedBreakTimesOut) {
  OpenLease(1, 'a', R | H | W);
  std::atomic<int> done{0};
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(
      t_.Break(kFile, locking::CacheAccess::kOpenRead, [&done] { ++done; }));
  while (done.load() == 0 &&
         std::chrono::steady_clock::now() - start < std::chrono::seconds(5)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(done.load(), 1);
  EXPECT_GE(std::chrono::steady_clock::now() - start,
            std::chrono::milliseconds(90));
  // A client that did not answer keeps no caching; its late ack is refused.
  EXPECT_EQ(t_.LeaseStateOf(Guid() + Key('a')), 0u);
  EXPECT_EQ(t_.AckLease(Guid() + Key('a'), R | H), kStatusUnsuccessful);
}

}  // namespace
}  // namespace concordfs::smb
