// Conformance suite: every MetadataStore implementation must pass it.
#include "metadata/metadata_store.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "metadata/keys.h"
#include "tests/unit/metadata/store_copy.h"

namespace concordfs {
namespace {

class MetadataStoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cfs-md-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    Reopen();
    ASSERT_TRUE(store_->Initialize(1000, 100, 0750).ok());
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  // Closes and reopens the store (LevelDB keeps its data; memory starts over).
  void Reopen() {
    store_.reset();
    if (GetParam() == "memory") {
      store_ = NewMemoryStore();
    } else {
      auto r = OpenLevelDbStore(dir_ + "/md", SyncPolicy::kBatch);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      store_ = std::move(r).value();
    }
  }
  Inode MakeFile(InodeId id) {
    Inode n;
    n.id = id;
    n.type = FileType::kRegular;
    n.mode = 0644;
    n.nlink = 1;
    return n;
  }

  std::string dir_;
  std::unique_ptr<MetadataStore> store_;
};

TEST_P(MetadataStoreTest, RootCreatedOnInitialize) {
  Result<Inode> root = store_->GetInode(kRootInode);
  ASSERT_TRUE(root.ok());
  EXPECT_TRUE(root->is_dir());
  EXPECT_EQ(root->uid, 1000u);
  EXPECT_EQ(root->gid, 100u);
  EXPECT_EQ(root->mode, 0750u);
  EXPECT_EQ(root->nlink, 2u);
  EXPECT_EQ(root->parent, kRootInode);
  EXPECT_EQ(root->next_cookie, kFirstEntryCookie);
  EXPECT_NE(store_->filesystem_id(), 0u);
}

TEST_P(MetadataStoreTest, MissingThingsAreNotFound) {
  EXPECT_EQ(store_->GetInode(999).code(), ENOENT);
  EXPECT_EQ(store_->Lookup(kRootInode, "nope").code(), ENOENT);
  EXPECT_EQ(store_->GetSymlink(5).code(), ENOENT);
  EXPECT_EQ(store_->GetXattr(kRootInode, "user.x").code(), ENODATA);
}

TEST_P(MetadataStoreTest, BatchAppliesEverything) {
  MetadataBatch b;
  b.PutInode(MakeFile(10));
  b.PutEntry(kRootInode, DirEntry{"a", 10, FileType::kRegular, 3});
  b.PutXattr(10, "user.k", "v");
  b.PutSymlink(11, "target");
  b.AddOrphan(12);
  ASSERT_TRUE(store_->Write(b).ok());

  EXPECT_EQ(store_->GetInode(10)->mode, 0644u);
  Result<DirEntry> e = store_->Lookup(kRootInode, "a");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->child, 10u);
  EXPECT_EQ(e->cookie, 3u);
  EXPECT_EQ(*store_->GetXattr(10, "user.k"), "v");
  EXPECT_EQ(*store_->GetSymlink(11), "target");
  std::vector<InodeId> orphans;
  ASSERT_TRUE(store_->ListOrphans(&orphans).ok());
  EXPECT_EQ(orphans, std::vector<InodeId>{12});
  EXPECT_TRUE(*store_->HasEntries(kRootInode));

  MetadataBatch d;
  d.DeleteEntry(kRootInode, *e);
  d.DeleteXattr(10, "user.k");
  d.RemoveOrphan(12);
  ASSERT_TRUE(store_->Write(d).ok());
  EXPECT_EQ(store_->Lookup(kRootInode, "a").code(), ENOENT);
  EXPECT_FALSE(*store_->HasEntries(kRootInode));
  ASSERT_TRUE(store_->ListOrphans(&orphans).ok());
  EXPECT_TRUE(orphans.empty());
}

TEST_P(MetadataStoreTest, ListEntriesInCookieOrderFromCookie) {
  MetadataBatch b;
  // Names in reverse order of cookies: listing follows cookies, not names.
  const char* names[] = {"zz", "yy", "xx", "ww"};
  for (int i = 0; i < 4; ++i) {
    b.PutEntry(kRootInode, DirEntry{names[i], 100u + i, FileType::kRegular,
                                    kFirstEntryCookie + i});
  }
  ASSERT_TRUE(store_->Write(b).ok());
  std::vector<std::string> seen;
  ASSERT_TRUE(store_
                  ->ListEntries(kRootInode, kFirstEntryCookie + 1,
                                [&](const DirEntry& e) {
                                  seen.push_back(e.name);
                                  return true;
                                })
                  .ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"yy", "xx", "ww"}));
  // Early stop.
  seen.clear();
  ASSERT_TRUE(store_
                  ->ListEntries(kRootInode, 0,
                                [&](const DirEntry& e) {
                                  seen.push_back(e.name);
                                  return seen.size() < 2;
                                })
                  .ok());
  EXPECT_EQ(seen.size(), 2u);
}

TEST_P(MetadataStoreTest, EntriesOfNeighbouringDirectoriesDoNotMix) {
  MetadataBatch b;
  b.PutEntry(255, DirEntry{"a", 5, FileType::kRegular, 3});
  b.PutEntry(256, DirEntry{"b", 6, FileType::kRegular, 3});
  b.PutXattr(255, "user.a", "1");
  b.PutXattr(256, "user.b", "2");
  ASSERT_TRUE(store_->Write(b).ok());
  int n = 0;
  ASSERT_TRUE(store_
                  ->ListEntries(255, 0,
                                [&](const DirEntry& e) {
                                  EXPECT_EQ(e.name, "a");
                                  ++n;
                                  return true;
                                })
                  .ok());
  EXPECT_EQ(n, 1);
  std::vector<std::string> names;
  ASSERT_TRUE(store_->ListXattrs(256, &names).ok());
  EXPECT_EQ(names, std::vector<std::string>{"user.b"});
}

TEST_P(MetadataStoreTest, IdsAreUniqueAcrossThreadsAndBlocks) {
  std::vector<std::vector<InodeId>> got(4);
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < 3000; ++i) got[t].push_back(*store_->AllocateId());
    });
  }
  for (auto& t : ts) t.join();
  std::set<InodeId> all;
  for (auto& v : got) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), 12000u);
  EXPECT_EQ(all.count(kRootInode), 0u);
}

TEST_P(MetadataStoreTest, IdsNeverReusedAfterReopen) {
  if (GetParam() == "memory") GTEST_SKIP() << "memory store is not persistent";
  InodeId last = 0;
  for (int i = 0; i < 10; ++i) last = *store_->AllocateId();
  uint64_t fsid = store_->filesystem_id();
  Reopen();
  ASSERT_TRUE(store_->Initialize().ok());
  EXPECT_GT(*store_->AllocateId(), last);
  EXPECT_EQ(store_->filesystem_id(), fsid);
  EXPECT_EQ(store_->GetInode(kRootInode)->uid, 1000u);  // root kept
}

TEST_P(MetadataStoreTest, DataSurvivesReopen) {
  if (GetParam() == "memory") GTEST_SKIP() << "memory store is not persistent";
  MetadataBatch b;
  b.PutInode(MakeFile(77));
  ASSERT_TRUE(store_->Write(b).ok());
  Reopen();
  ASSERT_TRUE(store_->Initialize().ok());
  EXPECT_TRUE(store_->GetInode(77).ok());
}

TEST_P(MetadataStoreTest, CorruptRecordIsReportedNotCrashed) {
  MetadataBatch b;
  b.Put(keys::InodeKey(50), "garbage");
  ASSERT_TRUE(store_->Write(b).ok());
  EXPECT_EQ(store_->GetInode(50).code(), EUCLEAN);
  int visited = 0;
  Status st = store_->ForEachInode([&](const Inode&) {
    ++visited;
    return true;
  });
  EXPECT_EQ(st.code(), EUCLEAN);
}

TEST_P(MetadataStoreTest, ForEachInodeVisitsAll) {
  MetadataBatch b;
  for (InodeId i = 2; i < 300; ++i) b.PutInode(MakeFile(i));
  ASSERT_TRUE(store_->Write(b).ok());
  uint64_t n = 0;
  ASSERT_TRUE(store_
                  ->ForEachInode([&](const Inode&) {
                    ++n;
                    return true;
                  })
                  .ok());
  EXPECT_EQ(n, 299u);  // 298 files + root
}

INSTANTIATE_TEST_SUITE_P(Stores, MetadataStoreTest,
                         ::testing::Values("memory", "leveldb"),
                         [](const auto& info) { return info.param; });

using testing::CopyOpenStoreAndReopen;

// SyncLog on the LevelDB store: fdatasyncs the log files itself, outside
// LevelDB's writer queue, and falls back to a synced LevelDB write in the
// period after the set of log files changed.
class LevelDbSyncLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cfs-synclog-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Open(size_t write_buffer = 16 << 20) {
    LevelDbStoreOptions o;
    o.write_buffer_size = write_buffer;
    o.sync_log_hook = [this](std::string_view event, const std::string& path) {
      if (event == "fallback") {
        ++fallbacks_;
        return;
      }
      {
        std::lock_guard<std::mutex> l(mu_);
        synced_.push_back(path);
      }
      if (slow_) {
        in_sync_ = true;
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
      }
    };
    auto r = OpenLevelDbStore(dir_ + "/md", SyncPolicy::kBatch, o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    store_ = std::move(r).value();
  }
  // An unsynced write of `n` records of `size` bytes, keys from `first`.
  void WriteRecords(int first, int n, size_t size = 100) {
    MetadataBatch b;
    for (int i = first; i < first + n; ++i) {
      b.Put("t" + std::to_string(i), std::string(size, 'a' + i % 26));
    }
    b.set_sync_deferred(true);
    ASSERT_TRUE(store_->Write(b).ok());
  }
  std::vector<std::string> Logs() {
    std::vector<std::string> logs;
    for (const auto& e : std::filesystem::directory_iterator(dir_ + "/md")) {
      if (e.path().extension() == ".log") logs.push_back(e.path().string());
    }
    std::sort(logs.begin(), logs.end());
    return logs;
  }
  std::vector<std::string> Synced() {
    std::lock_guard<std::mutex> l(mu_);
    return synced_;
  }

  std::string dir_;
  std::unique_ptr<MetadataStore> store_;
  std::atomic<int> fallbacks_{0};
  std::atomic<bool> slow_{false}, in_sync_{false};
  std::mutex mu_;
  std::vector<std::string> synced_;  // GUARDED_BY(mu_)
};

TEST_F(LevelDbSyncLogTest, DoesNotHoldUpConcurrentWrites) {
  Open();
  WriteRecords(0, 10);
  ASSERT_TRUE(store_->SyncLog().ok());  // the first pass also falls back
  EXPECT_EQ(fallbacks_, 1);
  ASSERT_EQ(Synced().size(), 1u);
  EXPECT_EQ(Synced()[0], Logs().back());
  WriteRecords(10, 10);
  slow_ = true;  // each log fdatasync now takes 300 ms more
  std::thread syncer([&] { EXPECT_TRUE(store_->SyncLog().ok()); });
  while (!in_sync_) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const auto start = std::chrono::steady_clock::now();
  WriteRecords(20, 10);
  const auto took = std::chrono::steady_clock::now() - start;
  syncer.join();
  EXPECT_LT(took, std::chrono::milliseconds(150))
      << "a write waited for the log sync";
  EXPECT_EQ(fallbacks_, 1) << "same log: no synced LevelDB write";
}

TEST_F(LevelDbSyncLogTest, SyncsEveryLogAndFallsBackAfterASwitch) {
  Open(64 << 10);  // a new log every 64 KB
  WriteRecords(0, 10);
  ASSERT_TRUE(store_->SyncLog().ok());
  ASSERT_TRUE(store_->SyncLog().ok());
  EXPECT_EQ(fallbacks_, 1);
  const std::string first_log = Logs().back();
  for (int i = 0; i < 40; ++i) WriteRecords(100 + i * 10, 10, 1000);
  ASSERT_NE(Logs().back(), first_log) << "LevelDB did not switch logs";
  {
    std::lock_guard<std::mutex> l(mu_);
    synced_.clear();
  }
  const std::vector<std::string> before = Logs();
  ASSERT_TRUE(store_->SyncLog().ok());
  const std::vector<std::string> after = Logs();
  EXPECT_EQ(fallbacks_, 2);
  // Every log present throughout the pass was fdatasynced (the fallback's
  // synced write may itself start a newer log, which holds none of ours).
  std::set<std::string> synced;
  for (const auto& p : Synced()) synced.insert(p);
  EXPECT_TRUE(synced.count(before.back())) << before.back();
  for (const auto& p : before) {
    if (std::find(after.begin(), after.end(), p) != after.end()) {
      EXPECT_TRUE(synced.count(p)) << p;
    }
  }
}

// What a completed SyncLog covers is in the log files (or tables) of the
// directory: a copy taken while the store is still open, like the disk
// after a crash, reopens with every record, across log switches.
TEST_F(LevelDbSyncLogTest, RecordsBeforeASyncLogSurviveACrashCopy) {
  Open(64 << 10);
  for (int i = 0; i < 30; ++i) WriteRecords(i * 10, 10, 1000);
  ASSERT_TRUE(store_->SyncLog().ok());
  WriteRecords(300, 10);
  ASSERT_TRUE(store_->SyncLog().ok());
  auto reopened = CopyOpenStoreAndReopen(dir_ + "/md", dir_ + "/copy");
  ASSERT_NE(reopened, nullptr) << "no consistent copy";
  for (int i = 0; i < 310; ++i) {
    std::string v;
    ASSERT_TRUE(reopened->Get("t" + std::to_string(i), &v).ok()) << i;
    EXPECT_EQ(v.size(), i < 300 ? 1000u : 100u);
  }
}

TEST(MemoryStoreSyncLogTest, FallsBackToSync) {
  auto store = NewMemoryStore();
  EXPECT_TRUE(store->SyncLog().ok());
}

}  // namespace
}  // namespace concordfs
