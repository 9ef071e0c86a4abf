// The lock manager's persistence on the real LevelDB metadata store: locks
// and the boot epoch survive closing and reopening the store, and a
// restarted manager restores them into a grace period, strict when the run
// marker says records may have been lost. Open() without CleanStop() is a
// crash of the daemon; a different boot id, one of the host.
#include "daemon/lock_store.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>
#include <vector>

#include "locking/lock_manager.h"
#include "metadata/keys.h"
#include "tests/unit/metadata/store_copy.h"

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
    md_ = std::move(OpenLevelDbStore(dir_, sync_)).value();
    ASSERT_TRUE(md_->Initialize().ok());
    store_ = NewMetadataLockStore(md_.get(), opts_);
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

  // A clean stop, then a start.
  void CleanStopAndOpen() {
    ASSERT_TRUE(store_->MarkCleanStop().ok());
    Open();
  }

  LockStoreOptions opts_{LockPersist::kWritten, "boot-1"};
  SyncPolicy sync_ = SyncPolicy::kBatch;
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

// By default (written) and when synced, a grant is in the store when the
// lock call returns (before the NLM reply), and so is an unlock.
TEST_F(MetadataLockStoreTest, WrittenThroughBeforeTheCallReturns) {
  for (LockPersist mode : {LockPersist::kWritten, LockPersist::kSynced}) {
    opts_.persist = mode;
    Open();
    ASSERT_EQ(manager_->Lock(Nlm("a", 0, 10)).status, LockStatus::kGranted);
    EXPECT_EQ(RecordCount(), 1) << LockPersistName(mode);
    ASSERT_EQ(manager_->Unlock(Nlm("a", 0, 10)), LockStatus::kGranted);
    if (mode == LockPersist::kWritten) {  // releases are deferred there
      ASSERT_TRUE(store_->Flush().ok());
    }
    EXPECT_EQ(RecordCount(), 0) << LockPersistName(mode);
  }
}

// `written`: a release is deferred, but never behind a later grant: the
// grant's own write carries it, and the syncer writes it within its period
// when no grant follows.
TEST_F(MetadataLockStoreTest, WrittenReleaseGoesWithTheNextGrantOrTheSyncer) {
  opts_.persist = LockPersist::kWritten;
  Open();
  ASSERT_EQ(manager_->Lock(Nlm("a", 0, 10)).status, LockStatus::kGranted);
  ASSERT_EQ(manager_->Unlock(Nlm("a", 0, 10)), LockStatus::kGranted);
  ASSERT_EQ(manager_->Lock(Nlm("b", 0, 10)).status, LockStatus::kGranted);
  std::vector<locking::PersistedLocks> in_store;
  std::string p = keys::TagPrefix(keys::kLockRecord);
  ASSERT_TRUE(
      md_->Scan(p, p,
                [&](std::string_view k, std::string_view v) {
                  locking::PersistedLocks pl;
                  EXPECT_TRUE(
                      locking::DecodePersisted(k.substr(1), v, &pl).ok());
                  in_store.push_back(pl);
                  return true;
                })
          .ok());
  ASSERT_EQ(in_store.size(), 1u) << "a's release came with b's grant";
  EXPECT_EQ(in_store[0].owner.owner, "b");
  // No grant follows b's release: the syncer writes it, nobody flushing.
  ASSERT_EQ(manager_->Unlock(Nlm("b", 0, 10)), LockStatus::kGranted);
  auto start = std::chrono::steady_clock::now();
  while (RecordCount() != 0 &&
         std::chrono::steady_clock::now() - start < std::chrono::seconds(2)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(RecordCount(), 0);
}

// With locks.persist: behind, saves are written behind: a grant reaches the
// store shortly after the lock call returns, with nobody calling Flush (the
// bound asserted here is loose: the machine may be loaded; the writer's own
// pause is 10 ms).
TEST_F(MetadataLockStoreTest, GrantReachesTheStoreWithoutFlush) {
  opts_.persist = LockPersist::kBehind;
  Open();
  ASSERT_EQ(manager_->Lock(Nlm("a", 0, 10)).status, LockStatus::kGranted);
  auto start = std::chrono::steady_clock::now();
  while (RecordCount() == 0 &&
         std::chrono::steady_clock::now() - start < std::chrono::seconds(2)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(RecordCount(), 1);
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
  ASSERT_TRUE(store_->Flush().ok());
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

// Which restarts make grace strict, end to end through the run marker: a
// daemon crash (same boot id) or a clean stop never with `written`; a host
// crash (new boot id) with `written`; any crash with `behind`; never with
// `synced` (under sync: batch).
TEST_F(MetadataLockStoreTest, StrictGraceAfterCrashesThatMayLoseRecords) {
  struct Case {
    LockPersist mode;
    bool clean;
    const char* next_boot;
    bool strict;
  };
  const Case cases[] = {
      {LockPersist::kWritten, false, "boot-1", false},
      {LockPersist::kWritten, false, "boot-2", true},
      {LockPersist::kWritten, true, "boot-2", false},
      {LockPersist::kSynced, false, "boot-2", false},
      {LockPersist::kBehind, false, "boot-1", true},
      {LockPersist::kBehind, true, "boot-1", false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(LockPersistName(c.mode)) +
                 (c.clean ? " clean stop, " : " crash, ") + c.next_boot);
    opts_ = {c.mode, "boot-1"};
    Open();  // the run that stops (the previous case's marker is irrelevant)
    ASSERT_EQ(manager_->Lock(Nlm("a", 0, 10)).status, LockStatus::kGranted);
    if (c.clean) {
      ASSERT_TRUE(store_->MarkCleanStop().ok());
    }
    opts_.boot_id = c.next_boot;
    Open();
    EXPECT_EQ(manager_->StrictGrace(), c.strict);
    EXPECT_EQ(store_->StrictGraceReason().empty(), !c.strict);
    // The lock is restored in every case (the store outlived the "crash").
    std::vector<locking::LockInfo> locks;
    manager_->List(&locks, nullptr);
    ASSERT_EQ(locks.size(), 1u);
    EXPECT_TRUE(locks[0].lock.restored);
    // Strict: a lock that conflicts with nothing is refused too.
    LockRequest other = Nlm("b", 100, 10);
    other.file = 43;
    EXPECT_EQ(manager_->Lock(other).status,
              c.strict ? LockStatus::kGrace : LockStatus::kGranted);
    LockRequest ra = Nlm("a", 0, 10);
    ra.reclaim = true;
    EXPECT_EQ(manager_->Lock(ra).status, LockStatus::kGranted);
    manager_->EndGrace();
    if (!c.strict) manager_->Unlock(other);
    manager_->Unlock(Nlm("a", 0, 10));
    ASSERT_TRUE(store_->MarkCleanStop().ok());
  }
}

// The decision itself, including sync: none (nothing synced in any mode).
TEST(StrictGraceReasonTest, FromThePreviousRunMarker) {
  EXPECT_EQ(StrictGraceReasonFor(std::nullopt, "b"), "");  // new store
  RunMarker m{true, LockPersist::kWritten, SyncPolicy::kBatch, "a"};
  EXPECT_EQ(StrictGraceReasonFor(m, "a"), "");
  std::string r = StrictGraceReasonFor(m, "b");
  EXPECT_NE(r.find("host went down"), std::string::npos) << r;
  EXPECT_NE(r.find("boot id a then, b now"), std::string::npos) << r;
  m.running = false;
  EXPECT_EQ(StrictGraceReasonFor(m, "b"), "");
  m = {true, LockPersist::kSynced, SyncPolicy::kBatch, "a"};
  EXPECT_EQ(StrictGraceReasonFor(m, "b"), "");
  m.sync = SyncPolicy::kAlways;
  EXPECT_EQ(StrictGraceReasonFor(m, "b"), "");
  m.sync = SyncPolicy::kNone;
  EXPECT_NE(StrictGraceReasonFor(m, "b"), "");
  EXPECT_EQ(StrictGraceReasonFor(m, "a"), "");
  m = {true, LockPersist::kBehind, SyncPolicy::kBatch, "a"};
  EXPECT_NE(StrictGraceReasonFor(m, "a").find("behind"), std::string::npos);
  m.running = false;
  EXPECT_EQ(StrictGraceReasonFor(m, "a"), "");

  // The marker's encoding round-trips; garbage is refused.
  RunMarker in{true, LockPersist::kBehind, SyncPolicy::kNone, "0f-1e"}, out;
  ASSERT_TRUE(DecodeRunMarker(EncodeRunMarker(in), &out));
  EXPECT_TRUE(out.running);
  EXPECT_EQ(out.persist, LockPersist::kBehind);
  EXPECT_EQ(out.sync, SyncPolicy::kNone);
  EXPECT_EQ(out.boot_id, "0f-1e");
  EXPECT_FALSE(DecodeRunMarker("x", &out));
  EXPECT_FALSE(DecodeRunMarker(EncodeRunMarker(in) + "z", &out));
}

TEST(CurrentBootIdTest, EnvironmentOverridesTheHostsForTests) {
  ASSERT_EQ(unsetenv("CONCORDFS_BOOT_ID"), 0);
  std::string host = CurrentBootId();
  EXPECT_EQ(host.size(), 36u) << host;  // a UUID
  EXPECT_EQ(host.find('\n'), std::string::npos);
  ASSERT_EQ(setenv("CONCORDFS_BOOT_ID", "simulated-reboot", 1), 0);
  EXPECT_EQ(CurrentBootId(), "simulated-reboot");
  ASSERT_EQ(unsetenv("CONCORDFS_BOOT_ID"), 0);
}

// A metadata store that counts how `written` lock records are written and
// synced (over the in-memory store).
class CountingStore : public MetadataStore {
 public:
  explicit CountingStore(SyncPolicy p) : policy_(p) {}
  Status Get(std::string_view k, std::string* v) override {
    return inner_->Get(k, v);
  }
  Status Scan(std::string_view p, std::string_view s,
              const std::function<bool(std::string_view, std::string_view)>& fn)
      override {
    return inner_->Scan(p, s, fn);
  }
  Status Write(const MetadataBatch& b) override {
    bool locks = !b.ops().empty() && b.ops()[0].key[0] == keys::kLockRecord;
    if (locks && !b.sync_deferred()) undeferred_lock_writes++;
    return inner_->Write(b);
  }
  Status Sync() override {
    syncs++;
    return Status::Ok();
  }
  SyncPolicy sync_policy() const override { return policy_; }
  std::string Describe() const override { return "counting"; }

  std::atomic<int> syncs{0};
  std::atomic<int> undeferred_lock_writes{0};

 private:
  SyncPolicy policy_;
  std::unique_ptr<MetadataStore> inner_ = NewMemoryStore();
};

// One durable lock of owner "o" on `file`, as the lock manager saves it.
locking::PersistedLocks Grant(locking::FileId file) {
  locking::PersistedLocks p;
  p.file = file;
  p.owner.protocol = locking::Protocol::kNlm;
  p.owner.owner = "o";
  locking::Lock l;
  l.owner = p.owner;
  l.range = *locking::Range::FromPosix(0, 1);
  l.durable = true;
  p.locks.push_back(l);
  return p;
}

// `written`: no lock write is synced on the caller's path (not even under
// sync: always); the syncer syncs once per 10 ms period at most, soon
// after the first unsynced grant; under sync: none it never syncs.
TEST(WrittenLockStoreTest, SyncedBehindTheCallerOncePerPeriod) {
  for (SyncPolicy policy :
       {SyncPolicy::kBatch, SyncPolicy::kAlways, SyncPolicy::kNone}) {
    SCOPED_TRACE(SyncPolicyName(policy));
    CountingStore md(policy);
    ASSERT_TRUE(md.Initialize().ok());
    auto store = NewMetadataLockStore(&md, {LockPersist::kWritten, "b"});
    ASSERT_TRUE(store->NextEpoch().ok());
    const int base = md.syncs;  // the epoch's own sync
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 200; ++i) {
      ASSERT_TRUE(store->Save({Grant(1 + i)}).ok());
    }
    const auto saved = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(md.undeferred_lock_writes, 0);
    if (policy == SyncPolicy::kNone) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      EXPECT_EQ(md.syncs, base);
      continue;
    }
    // At most one sync per 10 ms period while saving (+2: one may start
    // before the first period ends and one after `saved` was taken).
    EXPECT_LE(md.syncs - base, saved / std::chrono::milliseconds(10) + 2);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (md.syncs == base && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    EXPECT_GT(md.syncs, base) << "no sync after the grants";
  }
}

using testing::CopyOpenStoreAndReopen;

// `written` over LevelDB: the syncer's SyncLog fdatasyncs the log outside
// LevelDB's writer queue, so a grant written while that sync is slow does
// not wait for it; and once it completed, the grants before it are in the
// directory a crash would leave (a copy taken while the store is open).
TEST(WrittenLockStoreTest, SyncerDoesNotHoldUpGrantsAndCoversThem) {
  char tmpl[] = "/tmp/cfs-lockstore-sync-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  std::atomic<bool> slow{false};
  std::atomic<int> log_syncs{0};
  std::unique_ptr<MetadataStore> copy;
  LevelDbStoreOptions o;
  o.sync_log_hook = [&](std::string_view event, const std::string&) {
    if (event != "log") return;
    ++log_syncs;
    if (slow) std::this_thread::sleep_for(std::chrono::milliseconds(300));
  };
  {
    auto md =
        std::move(OpenLevelDbStore(dir + "/md", SyncPolicy::kBatch, o)).value();
    ASSERT_TRUE(md->Initialize().ok());
    auto store = NewMetadataLockStore(md.get(), {LockPersist::kWritten, "b"});
    ASSERT_TRUE(store->NextEpoch().ok());
    auto wait_for_sync = [&](int after) {
      auto deadline =
          std::chrono::steady_clock::now() + std::chrono::seconds(5);
      while (log_syncs <= after &&
             std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      return log_syncs > after;
    };
    ASSERT_TRUE(store->Save({Grant(1)}).ok());
    ASSERT_TRUE(wait_for_sync(0)) << "the syncer did not sync";
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // pass done
    slow = true;
    const int before = log_syncs;
    ASSERT_TRUE(store->Save({Grant(2)}).ok());
    ASSERT_TRUE(wait_for_sync(before));  // the syncer is in its slow sync
    const auto start = std::chrono::steady_clock::now();
    ASSERT_TRUE(store->Save({Grant(3)}).ok());
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_LT(took, std::chrono::milliseconds(150))
        << "a grant waited for the syncer's fsync";
    slow = false;
    // A completed sync after grant 3 (Flush: SyncLog), then the "crash".
    ASSERT_TRUE(store->Flush().ok());
    copy = CopyOpenStoreAndReopen(dir + "/md", dir + "/copy");
    store.reset();
  }
  ASSERT_NE(copy, nullptr) << "no consistent copy";
  auto md = std::move(copy);
  auto store = NewMetadataLockStore(md.get(), {LockPersist::kWritten, "b"});
  std::vector<locking::PersistedLocks> all;
  ASSERT_TRUE(store->LoadAll(&all).ok());
  EXPECT_EQ(all.size(), 3u);
  store.reset();
  md.reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace concordfs
