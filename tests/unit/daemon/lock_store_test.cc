// The lock manager's persistence on the real LevelDB metadata store: locks
// and the boot epoch survive closing and reopening the store, and a
// restarted manager restores them into a grace period.
#include "daemon/lock_store.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "locking/lock_manager.h"
#include "metadata/keys.h"

namespace concordfs {
namespace {

using locking::LockManager;
using locking::LockManagerOptions;
using locking::LockRequest;
using locking::LockStatus;

class MetadataLockStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cfs-lockstore-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    Open();
  }
  void TearDown() override {
    manager_.reset();
    store_.reset();
    md_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Open() {
    manager_.reset();
    store_.reset();
    md_.reset();
    md_ = std::move(OpenLevelDbStore(dir_, SyncPolicy::kBatch)).value();
    ASSERT_TRUE(md_->Initialize().ok());
    store_ = NewMetadataLockStore(md_.get(), write_behind_);
    LockManagerOptions o;
    o.store = store_.get();
    o.clock = &clock_;
    o.grace_period = 30 * kNanosPerSecond;
    manager_ = std::make_unique<LockManager>(o);
    ASSERT_TRUE(manager_->Start().ok());
  }
  LockRequest Nlm(std::string owner, uint64_t off, uint64_t len) {
    LockRequest r;
    r.file = 42;
    r.owner.protocol = locking::Protocol::kNlm;
    r.owner.client = 7;
    r.owner.owner = std::move(owner);
    r.range = *locking::Range::FromPosix(off, len);
    r.durable = true;
    return r;
  }

  int RecordCount() {
    std::string p = keys::TagPrefix(keys::kLockRecord);
    int n = 0;
    EXPECT_TRUE(md_->Scan(p, p,
                          [&](std::string_view, std::string_view) {
                            ++n;
                            return true;
                          })
                    .ok());
    return n;
  }

  bool write_behind_ = false;
  std::string dir_;
  ManualClock clock_;
  std::unique_ptr<MetadataStore> md_;
  std::unique_ptr<locking::LockStore> store_;
  std::unique_ptr<LockManager> manager_;
};

TEST_F(MetadataLockStoreTest, LocksAndEpochSurviveReopen) {
  uint64_t epoch = manager_->epoch();
  EXPECT_GE(epoch, 1u);
  ASSERT_EQ(manager_->Lock(Nlm("a", 0, 10)).status, LockStatus::kGranted);
  ASSERT_EQ(manager_->Lock(Nlm("b", 20, 0)).status, LockStatus::kGranted);
  // Split a's lock: the saved record must follow.
  ASSERT_EQ(manager_->Unlock(Nlm("a", 4, 2)), LockStatus::kGranted);

  Open();  // a restart
  EXPECT_EQ(manager_->epoch(), epoch + 1);
  EXPECT_TRUE(manager_->InGrace());
  std::vector<locking::LockInfo> locks;
  manager_->List(&locks, nullptr);
  ASSERT_EQ(locks.size(), 3u);  // a:[0,3] a:[6,9] b:[20,EOF]
  EXPECT_EQ(locks[0].lock.range.last, 3u);
  EXPECT_EQ(locks[1].lock.range.first, 6u);
  EXPECT_TRUE(locks[2].lock.restored);

  // A new owner is refused with "grace" where it conflicts, granted elsewhere.
  EXPECT_EQ(manager_->Lock(Nlm("c", 0, 1)).status, LockStatus::kGrace);
  EXPECT_EQ(manager_->Lock(Nlm("c", 12, 2)).status, LockStatus::kGranted);
  // Reclaims end grace once everything is reclaimed.
  LockRequest ra = Nlm("a", 0, 10), rb = Nlm("b", 20, 0);
  ra.reclaim = rb.reclaim = true;
  EXPECT_EQ(manager_->Lock(ra).status, LockStatus::kGranted);
  EXPECT_TRUE(manager_->InGrace());
  EXPECT_EQ(manager_->Lock(rb).status, LockStatus::kGranted);
  EXPECT_FALSE(manager_->InGrace());
}

TEST_F(MetadataLockStoreTest, UnreclaimedLocksDroppedAtGraceTimeout) {
  ASSERT_EQ(manager_->Lock(Nlm("a", 0, 10)).status, LockStatus::kGranted);
  Open();
  EXPECT_TRUE(manager_->InGrace());
  clock_.Advance(31 * kNanosPerSecond);
  EXPECT_FALSE(manager_->InGrace());
  EXPECT_EQ(manager_->Lock(Nlm("c", 0, 1)).status, LockStatus::kGranted);
  Open();  // the dropped lock was removed from the store too
  std::vector<locking::LockInfo> locks;
  manager_->List(&locks, nullptr);
  ASSERT_EQ(locks.size(), 1u);  // only c's lock, restored
  EXPECT_EQ(locks[0].lock.owner.owner, "c");
}

// By default a grant is in the store when the lock call returns (before
// the NLM reply), and so is an unlock.
TEST_F(MetadataLockStoreTest, WrittenThroughBeforeTheCallReturns) {
  ASSERT_EQ(manager_->Lock(Nlm("a", 0, 10)).status, LockStatus::kGranted);
  EXPECT_EQ(RecordCount(), 1);
  ASSERT_EQ(manager_->Unlock(Nlm("a", 0, 10)), LockStatus::kGranted);
  EXPECT_EQ(RecordCount(), 0);
}

// With locks.write_behind, saves are written behind: a grant reaches the
// store shortly after the lock call returns, with nobody calling Flush (the
// bound asserted here is loose: the machine may be loaded; the writer's own
// pause is 10 ms).
TEST_F(MetadataLockStoreTest, GrantReachesTheStoreWithoutFlush) {
  write_behind_ = true;
  Open();
  std::string p = keys::TagPrefix(keys::kLockRecord);
  auto count = [&] {
    int n = 0;
    EXPECT_TRUE(md_->Scan(p, p,
                          [&](std::string_view, std::string_view) {
                            ++n;
                            return true;
                          })
                    .ok());
    return n;
  };
  ASSERT_EQ(manager_->Lock(Nlm("a", 0, 10)).status, LockStatus::kGranted);
  auto start = std::chrono::steady_clock::now();
  while (count() == 0 &&
         std::chrono::steady_clock::now() - start < std::chrono::seconds(2)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(count(), 1);
  // An unlock and a new grant of the same owner in quick succession end as
  // one record (the last state), also without a Flush.
  ASSERT_EQ(manager_->Unlock(Nlm("a", 0, 10)), LockStatus::kGranted);
  ASSERT_EQ(manager_->Lock(Nlm("a", 30, 5)).status, LockStatus::kGranted);
  ASSERT_TRUE(store_->Flush().ok());
  std::vector<locking::PersistedLocks> all;
  ASSERT_TRUE(store_->LoadAll(&all).ok());
  ASSERT_EQ(all.size(), 1u);
  ASSERT_EQ(all[0].locks.size(), 1u);
  EXPECT_EQ(all[0].locks[0].range.first, 30u);
}

TEST_F(MetadataLockStoreTest, LockRecordsDoNotDisturbFsckKeys) {
  ASSERT_EQ(manager_->Lock(Nlm("a", 0, 10)).status, LockStatus::kGranted);
  ASSERT_TRUE(store_->Flush().ok());  // records are written behind
  int lock_keys = 0;
  std::string p = keys::TagPrefix(keys::kLockRecord);
  ASSERT_TRUE(md_->Scan(p, p,
                        [&](std::string_view, std::string_view) {
                          ++lock_keys;
                          return true;
                        })
                  .ok());
  EXPECT_EQ(lock_keys, 1);
}

}  // namespace
}  // namespace concordfs
