// Permissions and ownership: access classes, search/write permission on
// directories, chmod/chown/utimens rules, setuid/setgid handling, setgid and
// sticky directories.
#include <fcntl.h>
#include <sys/stat.h>

#include <string>

#include "tests/unit/vfs/vfs_fixture.h"

namespace concordfs {
namespace {

class VfsPermTest : public VfsTest {
 protected:
  // A regular file made by root and handed to uid:gid with `mode`.
  InodeId OwnedFile(InodeId parent, std::string_view name, uint32_t uid,
                    uint32_t gid, uint32_t mode) {
    InodeId f = MakeFile(RootCtx(), parent, name, 0600);
    EXPECT_OK(Chown(RootCtx(), f, uid, gid));
    EXPECT_OK(Chmod(RootCtx(), f, mode));
    return f;
  }
  uint32_t ModeOf(InodeId ino) { return Stat(ino).mode; }
};
CFS_INSTANTIATE_VFS_SUITE(VfsPermTest);

// ---- access ----

TEST_P(VfsPermTest, AccessPerClass) {
  // owner rw-, group r--, other --x
  InodeId f = OwnedFile(kRootInode, "f", kAliceUid, kStaffGid, 0641);
  EXPECT_OK(vfs().Access(Alice(), f, kMayRead));
  EXPECT_OK(vfs().Access(Alice(), f, kMayWrite));
  EXPECT_OK(vfs().Access(Alice(), f, kMayRead | kMayWrite));
  EXPECT_ERRNO(vfs().Access(Alice(), f, kMayExec), EACCES);
  EXPECT_ERRNO(vfs().Access(Alice(), f, kMayRead | kMayExec), EACCES);
  // bob through a supplementary group, carol through her primary group.
  for (const OpContext& c : {Bob(), Carol()}) {
    SCOPED_TRACE(c.cred.uid);
    EXPECT_OK(vfs().Access(c, f, kMayRead));
    EXPECT_ERRNO(vfs().Access(c, f, kMayWrite), EACCES);
    EXPECT_ERRNO(vfs().Access(c, f, kMayExec), EACCES);
  }
  EXPECT_ERRNO(vfs().Access(Dave(), f, kMayRead), EACCES);
  EXPECT_ERRNO(vfs().Access(Dave(), f, kMayWrite), EACCES);
  EXPECT_OK(vfs().Access(Dave(), f, kMayExec));
  EXPECT_OK(vfs().Access(Dave(), f, 0));  // existence only
}

TEST_P(VfsPermTest, OwnerClassIsExclusive) {
  InodeId f = OwnedFile(kRootInode, "f", kAliceUid, kStaffGid, 0077);
  EXPECT_ERRNO(vfs().Access(Alice(), f, kMayRead), EACCES);
  EXPECT_OK(vfs().Access(Bob(), f, kMayRead | kMayWrite | kMayExec));
  InodeId g = OwnedFile(kRootInode, "g", kAliceUid, kStaffGid, 0707);
  EXPECT_ERRNO(vfs().Access(Bob(), g, kMayRead), EACCES);  // group excluded
  EXPECT_OK(vfs().Access(Dave(), g, kMayRead));
}

TEST_P(VfsPermTest, RootAccess) {
  InodeId x = OwnedFile(kRootInode, "x", kAliceUid, kAliceUid, 0001);
  InodeId nox = OwnedFile(kRootInode, "nox", kAliceUid, kAliceUid, 0640);
  InodeId none = OwnedFile(kRootInode, "none", kAliceUid, kAliceUid, 0000);
  InodeId dir = OwnedDir("d", kAliceUid, kAliceUid, 0000);
  EXPECT_OK(vfs().Access(RootCtx(), x, kMayRead | kMayWrite | kMayExec));
  EXPECT_OK(vfs().Access(RootCtx(), nox, kMayRead | kMayWrite));
  EXPECT_ERRNO(vfs().Access(RootCtx(), nox, kMayExec), EACCES);
  EXPECT_OK(vfs().Access(RootCtx(), none, kMayRead | kMayWrite));
  EXPECT_ERRNO(vfs().Access(RootCtx(), none, kMayExec), EACCES);
  // Directories: root may always search.
  EXPECT_OK(vfs().Access(RootCtx(), dir, kMayRead | kMayWrite | kMayExec));
}

TEST_P(VfsPermTest, AccessMissingInodeIsEnoent) {
  EXPECT_ERRNO(vfs().Access(RootCtx(), 1ULL << 40, kMayRead), ENOENT);
}

// ---- directory permissions ----

TEST_P(VfsPermTest, LookupNeedsSearchPermission) {
  InodeId priv = UserDir(Alice(), "priv", 0700);
  MakeFile(Alice(), priv, "f");
  EXPECT_OK(vfs().Lookup(Alice(), priv, "f"));
  EXPECT_ERRNO(vfs().Lookup(Bob(), priv, "f"), EACCES);
  EXPECT_ERRNO(vfs().Lookup(Bob(), priv, "missing"), EACCES);
  EXPECT_OK(vfs().Lookup(RootCtx(), priv, "f"));
  // Read without search is not enough, even for the owner.
  ASSERT_OK(Chmod(Alice(), priv, 0644));
  EXPECT_ERRNO(vfs().Lookup(Alice(), priv, "f"), EACCES);
  // Group search through a supplementary group.
  InodeId grp = OwnedDir("grp", kAliceUid, kStaffGid, 0710);
  MakeFile(RootCtx(), grp, "g");
  EXPECT_OK(vfs().Lookup(Bob(), grp, "g"));
  EXPECT_OK(vfs().Lookup(Carol(), grp, "g"));
  EXPECT_ERRNO(vfs().Lookup(Dave(), grp, "g"), EACCES);
  // Root searches anything.
  ASSERT_OK(Chmod(RootCtx(), grp, 0000));
  EXPECT_OK(vfs().Lookup(RootCtx(), grp, "g"));
}

TEST_P(VfsPermTest, CreatingNeedsWriteAndSearchOnParent) {
  InodeId mine = UserDir(Alice(), "mine", 0755);
  InodeId ro = UserDir(Alice(), "ro", 0555);
  InodeId nox = UserDir(Alice(), "nox", 0666);
  InodeId shared = SharedDir("shared");
  int n = 0;
  struct Case {
    OpContext ctx;
    InodeId dir;
  };
  for (const Case& c :
       {Case{Bob(), mine}, Case{Alice(), ro}, Case{Alice(), nox}}) {
    SCOPED_TRACE(testing::Message()
                 << "uid " << c.ctx.cred.uid << " dir " << c.dir);
    EXPECT_ERRNO(vfs().Mknod(c.ctx, c.dir, "n", S_IFREG | 0644, 0), EACCES);
    EXPECT_ERRNO(vfs().Mknod(c.ctx, c.dir, "p", S_IFIFO | 0644, 0), EACCES);
    EXPECT_ERRNO(vfs().Mkdir(c.ctx, c.dir, "n", 0755), EACCES);
    EXPECT_ERRNO(vfs().Symlink(c.ctx, c.dir, "n", "t"), EACCES);
    EXPECT_ERRNO(vfs().Create(c.ctx, c.dir, "n", 0644, O_RDWR), EACCES);
    // Linking the caller's own file, so protected_hardlinks never applies.
    InodeId own = MakeFile(c.ctx, shared, "src" + std::to_string(n++));
    EXPECT_ERRNO(vfs().Link(c.ctx, own, c.dir, "n"), EACCES);
  }
  EXPECT_EQ(ListNames(RootCtx(), ro).size(), 2u);
  EXPECT_EQ(ListNames(RootCtx(), nox).size(), 2u);
  EXPECT_OK(vfs().Mknod(RootCtx(), ro, "n", S_IFREG | 0644, 0));
}

TEST_P(VfsPermTest, RemovingNeedsWriteAndSearchOnParent) {
  InodeId mine = UserDir(Alice(), "mine", 0755);
  MakeFile(Alice(), mine, "f");
  MakeDir(Alice(), mine, "d");
  EXPECT_ERRNO(vfs().Unlink(Bob(), mine, "f"), EACCES);
  EXPECT_ERRNO(vfs().Rmdir(Bob(), mine, "d"), EACCES);
  ASSERT_OK(Chmod(Alice(), mine, 0555));
  EXPECT_ERRNO(vfs().Unlink(Alice(), mine, "f"), EACCES);
  EXPECT_ERRNO(vfs().Rmdir(Alice(), mine, "d"), EACCES);
  EXPECT_OK(vfs().Unlink(RootCtx(), mine, "f"));
  EXPECT_OK(vfs().Rmdir(RootCtx(), mine, "d"));
}

// ---- setgid directories ----

TEST_P(VfsPermTest, SetgidDirectoryInheritance) {
  InodeId sg = OwnedDir("sg", 0, kStaffGid, 02777);
  ASSERT_OK_AND_ASSIGN(Attr f,
                       vfs().Mknod(Alice(), sg, "f", S_IFREG | 0644, 0));
  EXPECT_EQ(f.inode.gid, kStaffGid);
  EXPECT_EQ(f.inode.uid, kAliceUid);
  EXPECT_EQ(f.inode.mode, 0644u);
  ASSERT_OK_AND_ASSIGN(OpenResult c,
                       vfs().Create(Alice(), sg, "c", 0640, O_RDWR));
  EXPECT_EQ(c.attr.inode.gid, kStaffGid);
  EXPECT_OK(vfs().Release(c.handle));
  ASSERT_OK_AND_ASSIGN(Attr s, vfs().Symlink(Alice(), sg, "s", "t"));
  EXPECT_EQ(s.inode.gid, kStaffGid);
  ASSERT_OK_AND_ASSIGN(Attr sub, vfs().Mkdir(Alice(), sg, "sub", 0755));
  EXPECT_EQ(sub.inode.gid, kStaffGid);
  EXPECT_EQ(sub.inode.mode, 02755u);
  // The inherited bit propagates further down.
  ASSERT_OK_AND_ASSIGN(Attr deeper,
                       vfs().Mkdir(Alice(), sub.inode.id, "x", 0700));
  EXPECT_EQ(deeper.inode.gid, kStaffGid);
  EXPECT_EQ(deeper.inode.mode, 02700u);
  // A plain directory does not do this.
  InodeId plain = SharedDir("plain");
  ASSERT_OK_AND_ASSIGN(Attr p, vfs().Mkdir(Alice(), plain, "p", 0755));
  EXPECT_EQ(p.inode.gid, 1000u);
  EXPECT_EQ(p.inode.mode, 0755u);
}

TEST_P(VfsPermTest, SetgidFileCreatedOutsideResultingGroupLosesBit) {
  InodeId sg = OwnedDir("sg", 0, kStaffGid, 02777);
  ASSERT_OK_AND_ASSIGN(Attr a,
                       vfs().Mknod(Alice(), sg, "a", S_IFREG | 02755, 0));
  EXPECT_EQ(a.inode.gid, kStaffGid);
  EXPECT_EQ(a.inode.mode, 0755u);  // alice is not in 2000
  EXPECT_EQ(Stat(a.inode.id).mode, 0755u);
  ASSERT_OK_AND_ASSIGN(Attr b, vfs().Mknod(Bob(), sg, "b", S_IFREG | 02755, 0));
  EXPECT_EQ(b.inode.mode, 02755u);  // bob is, through a supplementary group
  ASSERT_OK_AND_ASSIGN(Attr r,
                       vfs().Mknod(RootCtx(), sg, "r", S_IFREG | 02755, 0));
  EXPECT_EQ(r.inode.mode, 02755u);
  // In a plain directory the file gets the caller's own group: bit kept.
  ASSERT_OK_AND_ASSIGN(Attr own, vfs().Mknod(Alice(), SharedDir("plain"), "o",
                                             S_IFREG | 02755, 0));
  EXPECT_EQ(own.inode.mode, 02755u);
}

// ---- sticky directories ----

TEST_P(VfsPermTest, StickyDirectoryRemoval) {
  InodeId st = SharedDir("st", 01777);
  MakeFile(Alice(), st, "a");
  MakeFile(Bob(), st, "b");
  MakeDir(Alice(), st, "ad");
  EXPECT_ERRNO(vfs().Unlink(Bob(), st, "a"), EPERM);
  EXPECT_ERRNO(vfs().Rmdir(Bob(), st, "ad"), EPERM);
  EXPECT_ERRNO(vfs().Unlink(Alice(), st, "b"), EPERM);
  EXPECT_OK(vfs().Lookup(RootCtx(), st, "a"));
  EXPECT_OK(vfs().Unlink(Alice(), st, "a"));  // owner of the file
  EXPECT_OK(vfs().Rmdir(Alice(), st, "ad"));
  EXPECT_OK(vfs().Unlink(RootCtx(), st, "b"));  // root
  // The directory's owner may remove anybody's file.
  InodeId cst = OwnedDir("cst", kCarolUid, kStaffGid, 01777);
  MakeFile(Alice(), cst, "a");
  EXPECT_ERRNO(vfs().Unlink(Bob(), cst, "a"), EPERM);
  EXPECT_OK(vfs().Unlink(Carol(), cst, "a"));
}

TEST_P(VfsPermTest, StickyDirectoryRename) {
  InodeId st = SharedDir("st", 01777);
  InodeId out = SharedDir("out");
  MakeFile(Alice(), st, "a");
  MakeFile(Bob(), st, "b");
  EXPECT_ERRNO(vfs().Rename(Bob(), st, "a", st, "x"), EPERM);
  EXPECT_ERRNO(vfs().Rename(Bob(), st, "a", out, "x"), EPERM);
  // Replacing someone else's file is removing it.
  EXPECT_ERRNO(vfs().Rename(Bob(), st, "b", st, "a"), EPERM);
  EXPECT_NE(LookupId(st, "a"), kInvalidInode);
  EXPECT_NE(LookupId(st, "b"), kInvalidInode);
  EXPECT_OK(vfs().Rename(Bob(), st, "b", st, "b2"));
  EXPECT_OK(vfs().Rename(Alice(), st, "a", st, "a2"));
  EXPECT_OK(vfs().Rename(RootCtx(), st, "b2", st, "a2"));
}

// ---- chmod ----

TEST_P(VfsPermTest, ChmodOwnerOtherRoot) {
  InodeId f = MakeFile(Alice(), SharedDir("d"), "f", 0644);
  ASSERT_OK_AND_ASSIGN(Attr a, Chmod(Alice(), f, 0600));
  EXPECT_EQ(a.inode.mode, 0600u);
  EXPECT_ERRNO(Chmod(Bob(), f, 0777), EPERM);
  EXPECT_ERRNO(Chmod(Dave(), f, 0777), EPERM);
  EXPECT_EQ(ModeOf(f), 0600u);
  ASSERT_OK(Chmod(RootCtx(), f, 0751));
  EXPECT_EQ(ModeOf(f), 0751u);
  ASSERT_OK(Chmod(Alice(), f, 04755));
  EXPECT_EQ(ModeOf(f), 04755u);
  EXPECT_EQ(Stat(f).type, FileType::kRegular);
}

TEST_P(VfsPermTest, ChmodSetgidOutsideFileGroupIsCleared) {
  InodeId f = OwnedFile(SharedDir("d"), "f", kAliceUid, kOtherGid, 0644);
  ASSERT_OK(Chmod(Alice(), f, 02755));
  EXPECT_EQ(ModeOf(f), 0755u);
  ASSERT_OK(Chmod(RootCtx(), f, 02755));
  EXPECT_EQ(ModeOf(f), 02755u);
  // bob is in the file's group through a supplementary group: kept.
  InodeId g = OwnedFile(kRootInode, "g", kBobUid, kStaffGid, 0644);
  ASSERT_OK(Chmod(Bob(), g, 02755));
  EXPECT_EQ(ModeOf(g), 02755u);
}

// ---- chown ----

TEST_P(VfsPermTest, OnlyRootChangesOwner) {
  InodeId f = MakeFile(Alice(), SharedDir("d"), "f");
  EXPECT_ERRNO(Chown(Alice(), f, kBobUid, std::nullopt), EPERM);
  EXPECT_ERRNO(Chown(Bob(), f, kBobUid, std::nullopt), EPERM);
  EXPECT_EQ(Stat(f).uid, kAliceUid);
  EXPECT_OK(Chown(Alice(), f, kAliceUid, std::nullopt));  // unchanged: allowed
  ASSERT_OK(Chown(RootCtx(), f, kBobUid, std::nullopt));
  EXPECT_EQ(Stat(f).uid, kBobUid);
  EXPECT_EQ(Stat(f).gid, 1000u);
}

TEST_P(VfsPermTest, OwnerChgrpOnlyToOwnGroups) {
  InodeId f = MakeFile(Bob(), SharedDir("d"), "f");
  ASSERT_OK(Chown(Bob(), f, std::nullopt, kStaffGid));  // supplementary
  EXPECT_EQ(Stat(f).gid, kStaffGid);
  EXPECT_ERRNO(Chown(Bob(), f, std::nullopt, kOtherGid), EPERM);
  EXPECT_ERRNO(Chown(Carol(), f, std::nullopt, kStaffGid), EPERM);  // not owner
  EXPECT_EQ(Stat(f).gid, kStaffGid);
  ASSERT_OK(Chown(Bob(), f, std::nullopt, 1001u));  // primary
  EXPECT_EQ(Stat(f).gid, 1001u);
  ASSERT_OK(Chown(RootCtx(), f, std::nullopt, kOtherGid));
  EXPECT_EQ(Stat(f).gid, kOtherGid);
  EXPECT_EQ(Stat(f).uid, kBobUid);
}

TEST_P(VfsPermTest, ChownClearsSetuidAndExecutableSetgid) {
  InodeId a = OwnedFile(kRootInode, "a", 0, 0, 06755);
  ASSERT_OK(Chown(RootCtx(), a, kAliceUid, std::nullopt));
  EXPECT_EQ(ModeOf(a), 0755u);  // also when root does it
  // setgid without group-exec (mandatory-locking marker) is kept.
  InodeId b = OwnedFile(kRootInode, "b", 0, 0, 06745);
  ASSERT_OK(Chown(RootCtx(), b, std::nullopt, kStaffGid));
  EXPECT_EQ(ModeOf(b), 02745u);
  // The owner's chgrp clears too.
  InodeId c = OwnedFile(kRootInode, "c", kBobUid, 1001, 06755);
  ASSERT_OK(Chown(Bob(), c, std::nullopt, kStaffGid));
  EXPECT_EQ(ModeOf(c), 0755u);
  // Directories keep their bits.
  InodeId d = OwnedDir("d", 0, 0, 02755);
  ASSERT_OK(Chown(RootCtx(), d, kAliceUid, kStaffGid));
  EXPECT_EQ(ModeOf(d), 02755u);
}

// ---- utimens ----

TEST_P(VfsPermTest, UtimensPermissions) {
  InodeId d = SharedDir("d");
  InodeId ro = MakeFile(Alice(), d, "ro", 0644);
  InodeId rw = MakeFile(Alice(), d, "rw", 0646);
  SetAttrRequest now;
  now.atime_now = now.mtime_now = true;
  SetAttrRequest explicit_times;
  const NanoTime t1 = 1'500'000'000LL * kNanosPerSecond + 111;
  const NanoTime t2 = 1'600'000'000LL * kNanosPerSecond + 222;
  explicit_times.atime = t1;
  explicit_times.mtime = t2;

  NanoTime t = Tick();
  ASSERT_OK(vfs().SetAttr(Bob(), rw, now));  // write permission suffices
  EXPECT_EQ(Stat(rw).atime, t);
  EXPECT_EQ(Stat(rw).mtime, t);
  EXPECT_ERRNO(vfs().SetAttr(Bob(), rw, explicit_times), EPERM);
  EXPECT_ERRNO(vfs().SetAttr(Bob(), ro, now), EACCES);
  EXPECT_ERRNO(vfs().SetAttr(Bob(), ro, explicit_times), EPERM);
  EXPECT_NE(Stat(ro).mtime, t2);

  // The owner needs no write permission, for either form.
  ASSERT_OK(Chmod(Alice(), ro, 0444));
  t = Tick();
  ASSERT_OK(vfs().SetAttr(Alice(), ro, now));
  EXPECT_EQ(Stat(ro).mtime, t);
  ASSERT_OK(vfs().SetAttr(Alice(), ro, explicit_times));
  EXPECT_EQ(Stat(ro).atime, t1);
  EXPECT_EQ(Stat(ro).mtime, t2);
  // Root sets anything.
  explicit_times.atime = t2;
  ASSERT_OK(vfs().SetAttr(RootCtx(), rw, explicit_times));
  EXPECT_EQ(Stat(rw).atime, t2);
  EXPECT_EQ(Stat(rw).mtime, t2);
}

TEST_P(VfsPermTest, EveryAttributeChangeUpdatesCtime) {
  InodeId f = FileWith(Alice(), SharedDir("d"), "f", "0123456789");
  const NanoTime born = Now();
  NanoTime t = Tick();
  ASSERT_OK(Chmod(Alice(), f, 0600));
  EXPECT_EQ(Stat(f).ctime, t);
  t = Tick();
  ASSERT_OK(Chown(RootCtx(), f, kBobUid, std::nullopt));
  EXPECT_EQ(Stat(f).ctime, t);
  t = Tick();
  ASSERT_OK(Chown(RootCtx(), f, std::nullopt, kStaffGid));
  EXPECT_EQ(Stat(f).ctime, t);
  t = Tick();
  SetAttrRequest times;
  times.atime = 5 * kNanosPerSecond;
  times.mtime = 6 * kNanosPerSecond;
  ASSERT_OK(vfs().SetAttr(RootCtx(), f, times));
  EXPECT_EQ(Stat(f).ctime, t);  // ctime is always "now"
  EXPECT_EQ(Stat(f).mtime, 6 * kNanosPerSecond);
  t = Tick();
  ASSERT_OK(Truncate(RootCtx(), f, 3));
  EXPECT_EQ(Stat(f).ctime, t);
  EXPECT_EQ(Stat(f).mtime, t);
  EXPECT_EQ(Stat(f).btime, born);
}

TEST_P(VfsPermTest, SetAttrMissingInodeIsEnoent) {
  EXPECT_ERRNO(Chmod(RootCtx(), 1ULL << 40, 0644), ENOENT);
}

}  // namespace
}  // namespace concordfs
