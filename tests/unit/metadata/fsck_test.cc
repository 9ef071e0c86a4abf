// Tests of the consistency checker: a consistent tree built by hand with
// MetadataBatch, then one corruption at a time, orphans, and repair.
#include "metadata/fsck.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "metadata/content_store.h"
#include "metadata/keys.h"
#include "metadata/metadata_store.h"
#include "util/coding.h"

namespace concordfs {
namespace {

bool HasProblem(const FsckReport& r, std::string_view substr) {
  return std::any_of(r.problems.begin(), r.problems.end(),
                     [&](const std::string& p) {
                       return p.find(substr) != std::string::npos;
                     });
}

#define EXPECT_PROBLEM(report, substr) \
  EXPECT_TRUE(HasProblem(report, substr)) << (report).Summary()
#define EXPECT_CONSISTENT(report) \
  EXPECT_TRUE((report).consistent()) << (report).Summary()

class FsckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    md_ = MakeStore();
    ASSERT_NE(md_, nullptr);
    content_ = NewMemoryContentStore();
    ASSERT_TRUE(md_->Initialize().ok());
    BuildTree();
  }

  virtual std::unique_ptr<MetadataStore> MakeStore() {
    return NewMemoryStore();
  }

  // /d/            dir, holds sub/, h and s
  // /d/sub/        empty dir
  // /f             file with content and an xattr, nlink 2
  // /d/h           hard link of /f
  // /d/s -> ../f   symlink
  void BuildTree() {
    d_ = NewInode(FileType::kDirectory, 3, kRootInode).id;
    AddEntry(kRootInode, "d", d_, FileType::kDirectory);
    Inode root = Get(kRootInode);
    root.nlink = 3;
    Put(root);
    sub_ = NewInode(FileType::kDirectory, 2, d_).id;
    AddEntry(d_, "sub", sub_, FileType::kDirectory);
    f_ = NewInode(FileType::kRegular, 2).id;
    AddEntry(kRootInode, "f", f_, FileType::kRegular);
    AddEntry(d_, "h", f_, FileType::kRegular);
    Inode s = NewInode(FileType::kSymlink, 1);
    s_ = s.id;
    s.size = 4;
    MetadataBatch b;
    b.PutInode(s);
    b.PutSymlink(s_, "../f");
    b.PutXattr(f_, "user.color", "blue");
    Apply(b);
    AddEntry(d_, "s", s_, FileType::kSymlink);
    ASSERT_TRUE(content_->Write(f_, 0, "hello").ok());
  }

  // A fresh inode, stored right away (directories get a cookie counter).
  Inode NewInode(FileType type, uint32_t nlink,
                 InodeId parent = kInvalidInode) {
    Result<InodeId> id = md_->AllocateId();
    EXPECT_TRUE(id.ok());
    Inode n;
    n.id = id.ok() ? *id : kInvalidInode;
    n.type = type;
    n.mode = 0644;
    n.nlink = nlink;
    if (type == FileType::kDirectory) {
      n.next_cookie = kFirstEntryCookie;
      n.parent = parent;
    }
    Put(n);
    return n;
  }

  // Adds `name` -> `child` to `dir` with the next cookie of `dir`, in one
  // batch with the bumped cookie counter (as the vfs does).
  DirEntry AddEntry(InodeId dir, const std::string& name, InodeId child,
                    FileType type) {
    Inode parent = Get(dir);
    DirEntry e{name, child, type, parent.next_cookie++};
    MetadataBatch b;
    b.PutInode(parent);
    b.PutEntry(dir, e);
    Apply(b);
    return e;
  }

  Inode Get(InodeId id) {
    Result<Inode> n = md_->GetInode(id);
    EXPECT_TRUE(n.ok()) << "inode " << id;
    return n.ok() ? *n : Inode();
  }
  void Put(const Inode& n) {
    MetadataBatch b;
    b.PutInode(n);
    Apply(b);
  }
  void Apply(const MetadataBatch& b) { ASSERT_TRUE(md_->Write(b).ok()); }
  void Delete(std::string key) {
    MetadataBatch b;
    b.Delete(std::move(key));
    Apply(b);
  }

  uint64_t IdLimit() {
    std::string v;
    EXPECT_TRUE(md_->Get(keys::Super(), &v).ok());
    Decoder d(v);
    d.U8();
    d.U64();
    return d.U64();
  }

  // An unreferenced regular file with content and an xattr, on the orphan
  // list (unlinked while open, then a crash).
  InodeId MakeOrphan() {
    Inode n = NewInode(FileType::kRegular, 0);
    MetadataBatch b;
    b.AddOrphan(n.id);
    b.PutXattr(n.id, "user.x", "1");
    Apply(b);
    EXPECT_TRUE(content_->Write(n.id, 0, "data").ok());
    return n.id;
  }

  FsckReport Check(bool repair = false) {
    FsckOptions opts;
    opts.repair = repair;
    Result<FsckReport> r = CheckConsistency(md_.get(), content_.get(), opts);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : FsckReport();
  }

  bool HasContent(InodeId id) {
    bool found = false;
    EXPECT_TRUE(content_
                    ->ForEachId([&](InodeId c) {
                      if (c == id) found = true;
                    })
                    .ok());
    return found;
  }

  std::unique_ptr<MetadataStore> md_;
  std::unique_ptr<ContentStore> content_;
  InodeId d_ = 0, sub_ = 0, f_ = 0, s_ = 0;
};

TEST_F(FsckTest, ConsistentTree) {
  FsckReport r = Check();
  EXPECT_CONSISTENT(r);
  EXPECT_EQ(r.inodes, 5u);
  EXPECT_EQ(r.directories, 3u);
  EXPECT_EQ(r.entries, 5u);
  EXPECT_EQ(r.orphans, 0u);
  EXPECT_EQ(r.content_files, 1u);
  EXPECT_NE(r.Summary().find("consistent"), std::string::npos);
}

TEST_F(FsckTest, FreshFilesystemIsConsistent) {
  md_ = NewMemoryStore();
  content_ = NewMemoryContentStore();
  ASSERT_TRUE(md_->Initialize().ok());
  FsckReport r = Check();
  EXPECT_CONSISTENT(r);
  EXPECT_EQ(r.inodes, 1u);
  EXPECT_EQ(r.directories, 1u);
}

TEST_F(FsckTest, NoContentStoreSkipsContentChecks) {
  ASSERT_TRUE(content_->Write(999999, 0, "x").ok());
  Result<FsckReport> r = CheckConsistency(md_.get(), nullptr, FsckOptions());
  ASSERT_TRUE(r.ok());
  EXPECT_CONSISTENT(*r);
  EXPECT_EQ(r->content_files, 0u);
}

TEST_F(FsckTest, MissingSuperblockAndRoot) {
  Delete(keys::Super());
  Delete(keys::InodeKey(kRootInode));
  FsckReport r = Check();
  EXPECT_PROBLEM(r, "superblock missing");
  EXPECT_PROBLEM(r, "root inode 1 missing");
}

TEST_F(FsckTest, RootNotItsOwnParent) {
  Inode root = Get(kRootInode);
  root.parent = d_;
  Put(root);
  EXPECT_PROBLEM(Check(), "root inode 1 has parent");
}

TEST_F(FsckTest, UndecodableInode) {
  MetadataBatch b;
  b.Put(keys::InodeKey(s_), "garbage");
  Apply(b);
  FsckReport r = Check();
  EXPECT_PROBLEM(r, "undecodable");
  // The entry, the symlink key and the link count are not blamed on it.
  EXPECT_EQ(r.problems.size(), 1u) << r.Summary();
}

TEST_F(FsckTest, MissingChildInode) {
  InodeId ghost = *md_->AllocateId();
  AddEntry(kRootInode, "ghost", ghost, FileType::kRegular);
  FsckReport r = Check();
  EXPECT_PROBLEM(r,
                 "entry 1/'ghost' -> missing inode " + std::to_string(ghost));
  EXPECT_EQ(r.problems.size(), 1u) << r.Summary();
}

TEST_F(FsckTest, EntryTypeMismatch) {
  DirEntry e = *md_->Lookup(kRootInode, "f");
  e.type = FileType::kSymlink;
  MetadataBatch b;
  b.PutEntry(kRootInode, e);
  Apply(b);
  FsckReport r = Check();
  EXPECT_PROBLEM(r, "type mismatch");
  EXPECT_EQ(r.problems.size(), 1u) << r.Summary();
}

TEST_F(FsckTest, EntryInNonDirectory) {
  DirEntry e{"x", s_, FileType::kSymlink, kFirstEntryCookie};
  MetadataBatch b;
  b.PutEntry(f_, e);
  Apply(b);
  EXPECT_PROBLEM(Check(), "in non-directory");
}

TEST_F(FsckTest, CookieOutOfRange) {
  DirEntry e = *md_->Lookup(kRootInode, "f");
  MetadataBatch b;
  b.DeleteEntry(kRootInode, e);
  e.cookie = 1000;
  b.PutEntry(kRootInode, e);
  Apply(b);
  FsckReport r = Check();
  EXPECT_PROBLEM(r, "cookie 1000 out of range");
  EXPECT_EQ(r.problems.size(), 1u) << r.Summary();
}

TEST_F(FsckTest, MissingCookieTwin) {
  DirEntry e = *md_->Lookup(kRootInode, "f");
  Delete(keys::CookieKey(kRootInode, e.cookie));
  FsckReport r = Check();
  EXPECT_PROBLEM(r, "entry 1/'f' missing cookie twin");
  EXPECT_EQ(r.problems.size(), 1u) << r.Summary();
}

TEST_F(FsckTest, CookieTwinMismatch) {
  DirEntry e = *md_->Lookup(kRootInode, "f");
  DirEntry other = e;
  other.child = s_;
  MetadataBatch b;
  b.Put(keys::CookieKey(kRootInode, e.cookie), EncodeCookieValue(other));
  Apply(b);
  FsckReport r = Check();
  EXPECT_PROBLEM(r, "cookie twin");
  EXPECT_PROBLEM(r, "stray cookie");
}

TEST_F(FsckTest, StrayCookieKey) {
  Inode root = Get(kRootInode);
  DirEntry e{"zzz", f_, FileType::kRegular, root.next_cookie++};
  MetadataBatch b;
  b.PutInode(root);
  b.Put(keys::CookieKey(kRootInode, e.cookie), EncodeCookieValue(e));
  Apply(b);
  FsckReport r = Check();
  EXPECT_PROBLEM(r, "stray cookie 1#");
  EXPECT_EQ(r.problems.size(), 1u) << r.Summary();
}

TEST_F(FsckTest, WrongFileNlink) {
  Inode f = Get(f_);
  f.nlink = 1;
  Put(f);
  FsckReport r = Check();
  EXPECT_PROBLEM(r, "file " + std::to_string(f_) + " has wrong nlink 1");
  EXPECT_EQ(r.problems.size(), 1u) << r.Summary();
}

TEST_F(FsckTest, WrongDirectoryNlink) {
  Inode d = Get(d_);
  d.nlink = 2;
  Put(d);
  FsckReport r = Check();
  EXPECT_PROBLEM(
      r, "directory " + std::to_string(d_) + " has wrong nlink 2 (expected 3)");
  EXPECT_EQ(r.problems.size(), 1u) << r.Summary();
}

TEST_F(FsckTest, WrongRootNlink) {
  Inode root = Get(kRootInode);
  root.nlink = 2;
  Put(root);
  EXPECT_PROBLEM(Check(), "directory 1 has wrong nlink");
}

TEST_F(FsckTest, DirectoryReferencedTwice) {
  AddEntry(kRootInode, "d2", d_, FileType::kDirectory);
  Inode root = Get(kRootInode);
  root.nlink = 4;
  Put(root);
  FsckReport r = Check();
  EXPECT_PROBLEM(
      r, "directory " + std::to_string(d_) + " referenced by 2 entries");
  EXPECT_EQ(r.problems.size(), 1u) << r.Summary();
}

TEST_F(FsckTest, DirectoryParentMismatch) {
  Inode sub = Get(sub_);
  sub.parent = kRootInode;
  Put(sub);
  FsckReport r = Check();
  EXPECT_PROBLEM(r, "parent mismatch");
  EXPECT_EQ(r.problems.size(), 1u) << r.Summary();
}

TEST_F(FsckTest, RootReferencedByEntry) {
  AddEntry(sub_, "up", kRootInode, FileType::kDirectory);
  Inode sub = Get(sub_);
  sub.nlink = 3;
  Put(sub);
  EXPECT_PROBLEM(Check(), "root directory 1 referenced by 1 entries");
}

TEST_F(FsckTest, DirectoryCycle) {
  // a and b hold each other and nothing else holds them: every local
  // invariant holds, only the walk to the root fails.
  InodeId a = NewInode(FileType::kDirectory, 3).id;
  InodeId b = NewInode(FileType::kDirectory, 3, a).id;
  Inode an = Get(a);
  an.parent = b;
  Put(an);
  AddEntry(a, "b", b, FileType::kDirectory);
  AddEntry(b, "a", a, FileType::kDirectory);
  FsckReport r = Check();
  EXPECT_PROBLEM(r, "directory cycle");
  EXPECT_EQ(r.problems.size(), 1u) << r.Summary();
}

TEST_F(FsckTest, DirectoryParentChainBroken) {
  Inode sub = Get(sub_);
  sub.parent = f_;
  Put(sub);
  FsckReport r = Check();
  EXPECT_PROBLEM(r, "is missing or not a directory");
  EXPECT_PROBLEM(r, "parent mismatch");
}

TEST_F(FsckTest, UnreferencedInodeNotOrphan) {
  InodeId lost = NewInode(FileType::kRegular, 1).id;
  FsckReport r = Check();
  EXPECT_PROBLEM(
      r, "file " + std::to_string(lost) + " is unreferenced and not an orphan");
  EXPECT_EQ(r.problems.size(), 1u) << r.Summary();
}

TEST_F(FsckTest, DanglingOrphanKey) {
  InodeId gone = *md_->AllocateId();
  MetadataBatch b;
  b.AddOrphan(gone);
  Apply(b);
  FsckReport r = Check();
  EXPECT_PROBLEM(r, "dangling orphan key: inode " + std::to_string(gone));
  EXPECT_EQ(r.problems.size(), 1u) << r.Summary();
}

TEST_F(FsckTest, OrphanWithNlink) {
  InodeId o = NewInode(FileType::kRegular, 1).id;
  MetadataBatch b;
  b.AddOrphan(o);
  Apply(b);
  FsckReport r = Check();
  EXPECT_PROBLEM(r, "orphan " + std::to_string(o) + " has nlink 1");
  EXPECT_EQ(r.orphans, 0u);
}

TEST_F(FsckTest, OrphanKeyOnLinkedInode) {
  MetadataBatch b;
  b.AddOrphan(f_);
  Apply(b);
  FsckReport r = Check();
  EXPECT_PROBLEM(r, "orphan key for linked inode " + std::to_string(f_));
  EXPECT_EQ(r.problems.size(), 1u) << r.Summary();
}

TEST_F(FsckTest, OrphanDirectoryWithEntries) {
  Inode dir = NewInode(FileType::kDirectory, 0, kRootInode);
  MetadataBatch b;
  b.AddOrphan(dir.id);
  Apply(b);
  InodeId file = NewInode(FileType::kRegular, 1).id;
  AddEntry(dir.id, "left", file, FileType::kRegular);
  FsckReport r = Check();
  EXPECT_PROBLEM(
      r, "orphan directory " + std::to_string(dir.id) + " still has 1 entries");
  r = Check(/*repair=*/true);
  EXPECT_EQ(r.orphans_reclaimed, 0u);
  EXPECT_TRUE(md_->GetInode(dir.id).ok());
}

TEST_F(FsckTest, InodeAboveHighWater) {
  InodeId high = IdLimit() + 10;
  Inode n;
  n.id = high;
  n.nlink = 1;
  Put(n);
  AddEntry(kRootInode, "high", high, FileType::kRegular);
  FsckReport r = Check();
  EXPECT_PROBLEM(
      r, "inode " + std::to_string(high) + " at or above id high-water mark");
  EXPECT_EQ(r.problems.size(), 1u) << r.Summary();
}

TEST_F(FsckTest, SymlinkWithoutTarget) {
  Delete(keys::SymlinkKey(s_));
  FsckReport r = Check();
  EXPECT_PROBLEM(r, "symlink " + std::to_string(s_) + " has no target");
  EXPECT_EQ(r.problems.size(), 1u) << r.Summary();
}

TEST_F(FsckTest, SymlinkSizeMismatch) {
  MetadataBatch b;
  b.PutSymlink(s_, "../../f");
  Apply(b);
  EXPECT_PROBLEM(Check(), "but target length 7");
}

TEST_F(FsckTest, SymlinkKeyOfWrongInode) {
  InodeId gone = *md_->AllocateId();
  MetadataBatch b;
  b.PutSymlink(f_, "x");
  b.PutSymlink(gone, "y");
  Apply(b);
  FsckReport r = Check();
  EXPECT_PROBLEM(r,
                 "symlink target of non-symlink inode " + std::to_string(f_));
  EXPECT_PROBLEM(r, "symlink target of missing inode " + std::to_string(gone));
}

TEST_F(FsckTest, XattrOfMissingInode) {
  InodeId gone = *md_->AllocateId();
  MetadataBatch b;
  b.PutXattr(gone, "user.stale", "v");
  Apply(b);
  FsckReport r = Check();
  EXPECT_PROBLEM(
      r, "xattr " + std::to_string(gone) + "/'user.stale' of missing inode");
  EXPECT_EQ(r.problems.size(), 1u) << r.Summary();
}

TEST_F(FsckTest, LeakedContent) {
  InodeId gone = *md_->AllocateId();
  ASSERT_TRUE(content_->Write(gone, 0, "stale").ok());
  FsckReport r = Check();
  EXPECT_PROBLEM(r, "leaked content of missing inode " + std::to_string(gone));
  EXPECT_EQ(r.problems.size(), 1u) << r.Summary();
  EXPECT_EQ(r.content_files, 2u);
}

TEST_F(FsckTest, ContentOfNonRegularInode) {
  ASSERT_TRUE(content_->Write(d_, 0, "x").ok());
  EXPECT_PROBLEM(Check(), "content of non-regular inode " + std::to_string(d_));
}

TEST_F(FsckTest, OrphanIsCountedNotAProblem) {
  MakeOrphan();
  FsckReport r = Check();
  EXPECT_CONSISTENT(r);
  EXPECT_EQ(r.orphans, 1u);
  EXPECT_EQ(r.inodes, 6u);
  EXPECT_EQ(r.orphans_reclaimed, 0u);
}

TEST_F(FsckTest, RepairReclaimsOrphansLeaksAndDanglingKeys) {
  InodeId orphan = MakeOrphan();
  InodeId leaked = *md_->AllocateId();
  ASSERT_TRUE(content_->Write(leaked, 0, "stale").ok());
  InodeId dangling = *md_->AllocateId();
  MetadataBatch b;
  b.AddOrphan(dangling);
  Apply(b);

  FsckReport r = Check(/*repair=*/true);
  EXPECT_CONSISTENT(r);
  EXPECT_EQ(r.orphans, 1u);
  EXPECT_EQ(r.orphans_reclaimed, 1u);
  EXPECT_EQ(r.leaked_content_removed, 1u);
  EXPECT_EQ(r.dangling_orphan_keys_removed, 1u);
  EXPECT_NE(r.Summary().find("repaired"), std::string::npos);

  EXPECT_EQ(md_->GetInode(orphan).code(), ENOENT);
  EXPECT_EQ(md_->GetXattr(orphan, "user.x").code(), ENODATA);
  EXPECT_FALSE(HasContent(orphan));
  EXPECT_FALSE(HasContent(leaked));
  EXPECT_TRUE(HasContent(f_));
  std::vector<InodeId> orphans;
  ASSERT_TRUE(md_->ListOrphans(&orphans).ok());
  EXPECT_TRUE(orphans.empty());

  FsckReport again = Check();
  EXPECT_CONSISTENT(again);
  EXPECT_EQ(again.orphans, 0u);
  EXPECT_EQ(again.inodes, 5u);
  EXPECT_EQ(again.content_files, 1u);
}

TEST_F(FsckTest, RepairOnlyReportsOtherProblems) {
  Inode f = Get(f_);
  f.nlink = 5;
  Put(f);
  FsckReport r = Check(/*repair=*/true);
  EXPECT_PROBLEM(r, "wrong nlink 5");
  EXPECT_EQ(Get(f_).nlink, 5u);
}

TEST_F(FsckTest, ReclaimOrphans) {
  InodeId file = MakeOrphan();
  Inode link = NewInode(FileType::kSymlink, 0);
  MetadataBatch b;
  b.PutSymlink(link.id, "t");
  b.AddOrphan(link.id);
  b.AddOrphan(f_);  // linked: must survive
  InodeId dangling = *md_->AllocateId();
  b.AddOrphan(dangling);
  Apply(b);

  Result<uint64_t> n = ReclaimOrphans(md_.get(), content_.get());
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 2u);
  EXPECT_EQ(md_->GetInode(file).code(), ENOENT);
  EXPECT_EQ(md_->GetInode(link.id).code(), ENOENT);
  EXPECT_EQ(md_->GetSymlink(link.id).code(), ENOENT);
  EXPECT_FALSE(HasContent(file));
  EXPECT_TRUE(md_->GetInode(f_).ok());
  EXPECT_TRUE(HasContent(f_));

  // What it leaves alone is fsck's to report.
  FsckReport r = Check();
  EXPECT_PROBLEM(r, "orphan key for linked inode " + std::to_string(f_));
  EXPECT_PROBLEM(r, "dangling orphan key");
  EXPECT_EQ(r.problems.size(), 2u) << r.Summary();
  n = ReclaimOrphans(md_.get(), content_.get());
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
}

TEST_F(FsckTest, ReclaimOrphanDirectory) {
  Inode dir = NewInode(FileType::kDirectory, 0, kRootInode);
  MetadataBatch b;
  b.AddOrphan(dir.id);
  Apply(b);
  Result<uint64_t> n = ReclaimOrphans(md_.get(), content_.get());
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1u);
  EXPECT_CONSISTENT(Check());
}

TEST_F(FsckTest, SummaryTruncatesLongProblemLists) {
  MetadataBatch b;
  for (int i = 0; i < 150; ++i) {
    b.PutXattr(IdLimit() + 1 + i, "user.x", "v");
  }
  Apply(b);
  FsckReport r = Check();
  EXPECT_EQ(r.problems.size(), 150u);
  std::string s = r.Summary();
  EXPECT_NE(s.find("150 problem(s)"), std::string::npos) << s;
  EXPECT_NE(s.find("... and 50 more"), std::string::npos) << s;
}

// The same checks against the LevelDB store.
class LevelDbFsckTest : public FsckTest {
 protected:
  std::unique_ptr<MetadataStore> MakeStore() override {
    std::string tmpl = ::testing::TempDir() + "cfs_fsck_XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) return nullptr;
    dir_ = tmpl;
    auto store = OpenLevelDbStore(dir_, SyncPolicy::kNone);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(store).value() : nullptr;
  }
  void TearDown() override {
    md_.reset();
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }

  std::string dir_;
};

TEST_F(LevelDbFsckTest, ConsistentThenCorruptedThenRepaired) {
  FsckReport r = Check();
  EXPECT_CONSISTENT(r);
  EXPECT_EQ(r.inodes, 5u);
  EXPECT_EQ(r.entries, 5u);

  DirEntry e = *md_->Lookup(d_, "h");
  Delete(keys::EntryKey(d_, "h"));
  r = Check();
  EXPECT_PROBLEM(
      r, "stray cookie " + std::to_string(d_) + "#" + std::to_string(e.cookie));
  EXPECT_PROBLEM(r, "wrong nlink 2 (1 entries)");

  MetadataBatch b;
  b.PutEntry(d_, e);
  Apply(b);
  InodeId orphan = MakeOrphan();
  r = Check(/*repair=*/true);
  EXPECT_CONSISTENT(r);
  EXPECT_EQ(r.orphans_reclaimed, 1u);
  EXPECT_EQ(md_->GetInode(orphan).code(), ENOENT);
  EXPECT_CONSISTENT(Check());
}

}  // namespace
}  // namespace concordfs
