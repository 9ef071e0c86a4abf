// Change events for cache invalidation, and timestamps exactly where POSIX
// (and Linux) puts them.
#include <fcntl.h>
#include <sys/stat.h>

#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "tests/unit/vfs/vfs_fixture.h"

namespace concordfs {
namespace {

using Kind = ChangeEvent::Kind;

// Collects the events a subscriber receives.
class Recorder {
 public:
  ChangeListener Listener() {
    return [this](const ChangeEvent& e) {
      std::lock_guard<std::mutex> l(mu_);
      events_.push_back(e);
    };
  }
  std::vector<ChangeEvent> Take() {
    std::lock_guard<std::mutex> l(mu_);
    return std::exchange(events_, {});
  }

 private:
  std::mutex mu_;
  std::vector<ChangeEvent> events_;
};

std::string Show(const std::vector<ChangeEvent>& es) {
  std::string s;
  for (const auto& e : es) {
    s += "{kind " + std::to_string(static_cast<int>(e.kind)) + " ino " +
         std::to_string(e.ino) + " parent " + std::to_string(e.parent) +
         " name '" + e.name + "' origin " +
         std::to_string(static_cast<int>(e.origin)) + "} ";
  }
  return s;
}

// Whether `es` holds an entry event for `name` in `parent` from `origin`.
bool HasEntryEvent(const std::vector<ChangeEvent>& es, Kind kind,
                   InodeId parent, std::string_view name, Origin origin) {
  for (const auto& e : es) {
    if (e.kind == kind && e.parent == parent && e.name == name &&
        e.origin == origin) {
      return true;
    }
  }
  return false;
}
// Whether `es` holds an inode event of `kind` for `ino` from `origin`.
bool HasInodeEvent(const std::vector<ChangeEvent>& es, Kind kind, InodeId ino,
                   Origin origin) {
  for (const auto& e : es) {
    if (e.kind == kind && e.ino == ino && e.origin == origin) return true;
  }
  return false;
}

class VfsEventsTest : public VfsTest {};
CFS_INSTANTIATE_VFS_SUITE(VfsEventsTest);

// ---- events ----

TEST_P(VfsEventsTest, NamespaceChangesEmitEntryEvents) {
  InodeId d = MakeDir(RootCtx(), kRootInode, "d");
  Recorder rec;
  vfs().Subscribe(rec.Listener());
  OpContext fuse = RootCtx();
  fuse.origin = Origin::kFuse;

  ASSERT_OK_AND_ASSIGN(OpenResult o, vfs().Create(fuse, d, "f", 0644, O_RDWR));
  auto es = rec.Take();
  EXPECT_TRUE(HasEntryEvent(es, Kind::kEntryAdded, d, "f", Origin::kFuse))
      << Show(es);
  EXPECT_OK(vfs().Release(o.handle));

  ASSERT_OK(vfs().Mkdir(fuse, d, "sub", 0755));
  ASSERT_OK(vfs().Mknod(fuse, d, "p", S_IFIFO | 0644, 0));
  ASSERT_OK(vfs().Symlink(fuse, d, "l", "f"));
  ASSERT_OK(vfs().Link(fuse, o.attr.inode.id, kRootInode, "hard"));
  es = rec.Take();
  EXPECT_TRUE(HasEntryEvent(es, Kind::kEntryAdded, d, "sub", Origin::kFuse));
  EXPECT_TRUE(HasEntryEvent(es, Kind::kEntryAdded, d, "p", Origin::kFuse));
  EXPECT_TRUE(HasEntryEvent(es, Kind::kEntryAdded, d, "l", Origin::kFuse));
  EXPECT_TRUE(
      HasEntryEvent(es, Kind::kEntryAdded, kRootInode, "hard", Origin::kFuse))
      << Show(es);

  OpContext nfs = RootCtx();
  nfs.origin = Origin::kNfs;
  ASSERT_OK(vfs().Unlink(nfs, d, "f"));
  ASSERT_OK(vfs().Rmdir(nfs, d, "sub"));
  es = rec.Take();
  EXPECT_TRUE(HasEntryEvent(es, Kind::kEntryRemoved, d, "f", Origin::kNfs))
      << Show(es);
  EXPECT_TRUE(HasEntryEvent(es, Kind::kEntryRemoved, d, "sub", Origin::kNfs));
}

TEST_P(VfsEventsTest, RenameEmitsRemovedAndAdded) {
  InodeId p1 = MakeDir(RootCtx(), kRootInode, "p1");
  InodeId p2 = MakeDir(RootCtx(), kRootInode, "p2");
  MakeFile(RootCtx(), p1, "a");
  Recorder rec;
  vfs().Subscribe(rec.Listener());
  OpContext smb = RootCtx();
  smb.origin = Origin::kSmb;
  ASSERT_OK(vfs().Rename(smb, p1, "a", p2, "b"));
  auto es = rec.Take();
  EXPECT_TRUE(HasEntryEvent(es, Kind::kEntryRemoved, p1, "a", Origin::kSmb))
      << Show(es);
  EXPECT_TRUE(HasEntryEvent(es, Kind::kEntryAdded, p2, "b", Origin::kSmb))
      << Show(es);
}

TEST_P(VfsEventsTest, WriteEmitsDataChmodEmitsAttr) {
  InodeId f = MakeFile(RootCtx(), kRootInode, "f");
  Recorder rec;
  vfs().Subscribe(rec.Listener());
  OpContext nfs = RootCtx();
  nfs.origin = Origin::kNfs;
  ASSERT_OK(vfs().Write(nfs, f, 0, 0, "data"));
  auto es = rec.Take();
  EXPECT_TRUE(HasInodeEvent(es, Kind::kData, f, Origin::kNfs)) << Show(es);

  OpContext smb = RootCtx();
  smb.origin = Origin::kSmb;
  ASSERT_OK(Chmod(smb, f, 0600));
  es = rec.Take();
  EXPECT_TRUE(HasInodeEvent(es, Kind::kAttr, f, Origin::kSmb)) << Show(es);
  for (const auto& e : es) EXPECT_EQ(e.origin, Origin::kSmb) << Show(es);
}

TEST_P(VfsEventsTest, FailedOperationsEmitNothing) {
  InodeId d = UserDir(Alice(), "d", 0755);
  InodeId f = MakeFile(Alice(), d, "f");
  Recorder rec;
  vfs().Subscribe(rec.Listener());
  EXPECT_ERRNO(vfs().Mknod(Alice(), d, "f", S_IFREG | 0644, 0), EEXIST);
  EXPECT_ERRNO(vfs().Mknod(Bob(), d, "g", S_IFREG | 0644, 0), EACCES);
  EXPECT_ERRNO(Chmod(Bob(), f, 0777), EPERM);
  EXPECT_ERRNO(vfs().Unlink(Alice(), d, "missing"), ENOENT);
  auto es = rec.Take();
  EXPECT_TRUE(es.empty()) << Show(es);
}

TEST_P(VfsEventsTest, UnsubscribeStopsDelivery) {
  Recorder a, b;
  uint64_t ta = vfs().Subscribe(a.Listener());
  uint64_t tb = vfs().Subscribe(b.Listener());
  EXPECT_NE(ta, tb);
  MakeFile(RootCtx(), kRootInode, "one");
  EXPECT_TRUE(HasEntryEvent(a.Take(), Kind::kEntryAdded, kRootInode, "one",
                            Origin::kInternal));
  EXPECT_TRUE(HasEntryEvent(b.Take(), Kind::kEntryAdded, kRootInode, "one",
                            Origin::kInternal));
  vfs().Unsubscribe(ta);
  MakeFile(RootCtx(), kRootInode, "two");
  EXPECT_TRUE(a.Take().empty());
  EXPECT_TRUE(HasEntryEvent(b.Take(), Kind::kEntryAdded, kRootInode, "two",
                            Origin::kInternal));
  vfs().Unsubscribe(tb);
  MakeFile(RootCtx(), kRootInode, "three");
  EXPECT_TRUE(a.Take().empty());
  EXPECT_TRUE(b.Take().empty());
}

// ---- timestamps ----

TEST_P(VfsEventsTest, CreateStampsNewInodeAndParent) {
  InodeId d = MakeDir(RootCtx(), kRootInode, "d");
  const NanoTime t0 = Now();
  NanoTime t = Tick();
  ASSERT_OK_AND_ASSIGN(Attr f,
                       vfs().Mknod(RootCtx(), d, "f", S_IFREG | 0644, 0));
  for (const Inode& i : {f.inode, Stat(f.inode.id)}) {
    EXPECT_EQ(i.atime, t);
    EXPECT_EQ(i.mtime, t);
    EXPECT_EQ(i.ctime, t);
    EXPECT_EQ(i.btime, t);
  }
  Inode p = Stat(d);
  EXPECT_EQ(p.mtime, t);
  EXPECT_EQ(p.ctime, t);
  EXPECT_EQ(p.atime, t0);

  t = Tick();
  ASSERT_OK_AND_ASSIGN(OpenResult c,
                       vfs().Create(RootCtx(), d, "c", 0644, O_RDWR));
  EXPECT_EQ(c.attr.inode.btime, t);
  EXPECT_EQ(c.attr.inode.mtime, t);
  EXPECT_EQ(Stat(d).mtime, t);
  EXPECT_OK(vfs().Release(c.handle));
  t = Tick();
  ASSERT_OK_AND_ASSIGN(Attr s, vfs().Mkdir(RootCtx(), d, "s", 0755));
  EXPECT_EQ(s.inode.ctime, t);
  EXPECT_EQ(s.inode.btime, t);
  EXPECT_EQ(Stat(d).mtime, t);
  EXPECT_EQ(Stat(d).ctime, t);
  t = Tick();
  ASSERT_OK_AND_ASSIGN(Attr l, vfs().Symlink(RootCtx(), d, "l", "x"));
  EXPECT_EQ(l.inode.mtime, t);
  EXPECT_EQ(Stat(d).mtime, t);
}

TEST_P(VfsEventsTest, UnlinkStampsParentAndSurvivingFile) {
  InodeId d = MakeDir(RootCtx(), kRootInode, "d");
  InodeId f = MakeFile(RootCtx(), kRootInode, "f");
  ASSERT_OK(vfs().Link(RootCtx(), f, d, "g"));
  const NanoTime made = Now();
  NanoTime t = Tick();
  ASSERT_OK(vfs().Unlink(RootCtx(), d, "g"));
  EXPECT_EQ(Stat(d).mtime, t);
  EXPECT_EQ(Stat(d).ctime, t);
  EXPECT_EQ(Stat(f).ctime, t);
  EXPECT_EQ(Stat(f).mtime, made);
  EXPECT_EQ(Stat(kRootInode).mtime, made);  // the other parent is untouched
  t = Tick();
  MakeDir(RootCtx(), d, "sub");
  t = Tick();
  ASSERT_OK(vfs().Rmdir(RootCtx(), d, "sub"));
  EXPECT_EQ(Stat(d).mtime, t);
  EXPECT_EQ(Stat(d).ctime, t);
}

TEST_P(VfsEventsTest, LinkStampsFileAndNewParent) {
  InodeId d = MakeDir(RootCtx(), kRootInode, "d");
  InodeId f = MakeFile(RootCtx(), kRootInode, "f");
  const NanoTime made = Now();
  NanoTime t = Tick();
  ASSERT_OK_AND_ASSIGN(Attr a, vfs().Link(RootCtx(), f, d, "g"));
  EXPECT_EQ(a.inode.ctime, t);
  EXPECT_EQ(Stat(f).ctime, t);
  EXPECT_EQ(Stat(f).mtime, made);
  EXPECT_EQ(Stat(d).mtime, t);
  EXPECT_EQ(Stat(d).ctime, t);
}

TEST_P(VfsEventsTest, ChmodChangesCtimeOnly) {
  InodeId f = FileWith(RootCtx(), kRootInode, "f", "x");
  const Inode before = Stat(f);
  NanoTime t = Tick();
  ASSERT_OK(Chmod(RootCtx(), f, 0600));
  const Inode after = Stat(f);
  EXPECT_EQ(after.ctime, t);
  EXPECT_EQ(after.mtime, before.mtime);
  EXPECT_EQ(after.atime, before.atime);
  EXPECT_EQ(after.btime, before.btime);
  EXPECT_GT(after.change, before.change);
}

TEST_P(VfsEventsTest, RelatimeReadUpdatesAtimeOnlyWhenStale) {
  InodeId f = FileWith(RootCtx(), kRootInode, "f", "data");
  const NanoTime t0 = Now();
  NanoTime t1 = Tick();
  ASSERT_OK_AND_ASSIGN(OpenResult o, vfs().Open(RootCtx(), f, O_RDONLY));
  EXPECT_EQ(Stat(f).atime, t0);  // opening is not reading
  ASSERT_OK(vfs().Read(RootCtx(), f, o.handle, 0, 4));
  EXPECT_EQ(Stat(f).atime, t1);  // atime <= mtime: updated
  Tick();
  ASSERT_OK(vfs().Read(RootCtx(), f, o.handle, 0, 4));
  EXPECT_EQ(Stat(f).atime, t1);  // already newer than mtime/ctime
  NanoTime t3 = Tick();
  ASSERT_OK(vfs().Write(RootCtx(), f, 0, 0, "D"));
  NanoTime t4 = Tick();
  ASSERT_OK(vfs().Read(RootCtx(), f, o.handle, 0, 4));
  EXPECT_EQ(Stat(f).mtime, t3);
  EXPECT_EQ(Stat(f).atime, t4);
  // A day later it is refreshed anyway.
  clock().Advance(25 * 3600 * kNanosPerSecond);
  ASSERT_OK(vfs().Read(RootCtx(), f, o.handle, 0, 4));
  EXPECT_EQ(Stat(f).atime, Now());
  EXPECT_EQ(Stat(f).mtime, t3);
  EXPECT_OK(vfs().Release(o.handle));
}

TEST_P(VfsEventsTest, StatelessReadUpdatesAtimeToo) {
  InodeId f = FileWith(RootCtx(), kRootInode, "f", "data");
  NanoTime t = Tick();
  ASSERT_OK(vfs().Read(RootCtx(), f, 0, 0, 4));
  EXPECT_EQ(Stat(f).atime, t);
}

TEST_P(VfsEventsTest, StrictAndNoatimePolicies) {
  InodeId f = FileWith(RootCtx(), kRootInode, "f", "data");
  VfsOptions strict;
  strict.atime = AtimePolicy::kStrict;
  StartVfs(strict);
  NanoTime t = Tick();
  ASSERT_OK(vfs().Read(RootCtx(), f, 0, 0, 4));
  EXPECT_EQ(Stat(f).atime, t);
  t = Tick();
  ASSERT_OK(vfs().Read(RootCtx(), f, 0, 0, 4));
  EXPECT_EQ(Stat(f).atime, t);  // every read

  VfsOptions noatime;
  noatime.atime = AtimePolicy::kNoatime;
  StartVfs(noatime);
  ASSERT_OK(vfs().Write(RootCtx(), f, 0, 0, "D"));
  Tick();
  ASSERT_OK(vfs().Read(RootCtx(), f, 0, 0, 4));
  EXPECT_EQ(Stat(f).atime, t);  // never
}

TEST_P(VfsEventsTest, ParseAtimePolicy) {
  AtimePolicy p;
  ASSERT_TRUE(ParseAtimePolicy("relatime", &p));
  EXPECT_EQ(p, AtimePolicy::kRelatime);
  ASSERT_TRUE(ParseAtimePolicy("noatime", &p));
  EXPECT_EQ(p, AtimePolicy::kNoatime);
  EXPECT_FALSE(ParseAtimePolicy("sometimes", &p));
}

}  // namespace
}  // namespace concordfs
