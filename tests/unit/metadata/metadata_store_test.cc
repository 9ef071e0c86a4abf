// Conformance suite: every MetadataStore implementation must pass it.
#include "metadata/metadata_store.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <set>
#include <thread>

#include "metadata/keys.h"

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

}  // namespace
}  // namespace concordfs
