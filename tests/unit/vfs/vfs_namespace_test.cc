// Namespace operations: lookup, getattr, mknod/mkdir/symlink/link/create,
// unlink/rmdir, rename, readlink, link counts.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <string>

#include "tests/unit/vfs/vfs_fixture.h"

namespace concordfs {
namespace {

class VfsNamespaceTest : public VfsTest {};
CFS_INSTANTIATE_VFS_SUITE(VfsNamespaceTest);

constexpr InodeId kNoSuchInode = 1ULL << 40;

// ---- lookup / getattr ----

TEST_P(VfsNamespaceTest, LookupFindsCreatedEntry) {
  InodeId f = MakeFile(RootCtx(), kRootInode, "f");
  ASSERT_OK_AND_ASSIGN(Attr a, vfs().Lookup(RootCtx(), kRootInode, "f"));
  EXPECT_EQ(a.inode.id, f);
  EXPECT_EQ(a.inode.type, FileType::kRegular);
}

TEST_P(VfsNamespaceTest, LookupMissingIsEnoent) {
  EXPECT_ERRNO(vfs().Lookup(RootCtx(), kRootInode, "nope"), ENOENT);
}

TEST_P(VfsNamespaceTest, LookupInFileIsEnotdir) {
  InodeId f = MakeFile(RootCtx(), kRootInode, "f");
  EXPECT_ERRNO(vfs().Lookup(RootCtx(), f, "x"), ENOTDIR);
}

TEST_P(VfsNamespaceTest, LookupDotAndDotDot) {
  InodeId a = MakeDir(RootCtx(), kRootInode, "a");
  InodeId b = MakeDir(RootCtx(), a, "b");
  ASSERT_OK_AND_ASSIGN(Attr dot, vfs().Lookup(RootCtx(), b, "."));
  EXPECT_EQ(dot.inode.id, b);
  ASSERT_OK_AND_ASSIGN(Attr dotdot, vfs().Lookup(RootCtx(), b, ".."));
  EXPECT_EQ(dotdot.inode.id, a);
  ASSERT_OK_AND_ASSIGN(Attr up2, vfs().Lookup(RootCtx(), a, ".."));
  EXPECT_EQ(up2.inode.id, kRootInode);
}

TEST_P(VfsNamespaceTest, RootDotDotIsRoot) {
  ASSERT_OK_AND_ASSIGN(Attr a, vfs().Lookup(RootCtx(), kRootInode, ".."));
  EXPECT_EQ(a.inode.id, kRootInode);
  ASSERT_OK_AND_ASSIGN(Attr d, vfs().Lookup(RootCtx(), kRootInode, "."));
  EXPECT_EQ(d.inode.id, kRootInode);
}

TEST_P(VfsNamespaceTest, NameLengthLimit) {
  std::string ok_name(255, 'n');
  std::string long_name(256, 'n');
  InodeId f = MakeFile(RootCtx(), kRootInode, ok_name);
  ASSERT_OK_AND_ASSIGN(Attr a, vfs().Lookup(RootCtx(), kRootInode, ok_name));
  EXPECT_EQ(a.inode.id, f);
  EXPECT_ERRNO(vfs().Lookup(RootCtx(), kRootInode, long_name), ENAMETOOLONG);
  EXPECT_ERRNO(vfs().Mknod(RootCtx(), kRootInode, long_name, S_IFREG | 0644, 0),
               ENAMETOOLONG);
  EXPECT_ERRNO(vfs().Mkdir(RootCtx(), kRootInode, long_name, 0755),
               ENAMETOOLONG);
  EXPECT_ERRNO(vfs().Create(RootCtx(), kRootInode, long_name, 0644, O_RDWR),
               ENAMETOOLONG);
  EXPECT_ERRNO(
      vfs().Rename(RootCtx(), kRootInode, ok_name, kRootInode, long_name),
      ENAMETOOLONG);
}

TEST_P(VfsNamespaceTest, GetAttrReportsCreatedAttributes) {
  ASSERT_OK_AND_ASSIGN(
      Attr c, vfs().Mknod(Alice(), SharedDir("d"), "f", S_IFREG | 0640, 0));
  ASSERT_OK_AND_ASSIGN(Attr a, vfs().GetAttr(c.inode.id));
  EXPECT_EQ(a.inode.id, c.inode.id);
  EXPECT_EQ(a.inode.type, FileType::kRegular);
  EXPECT_EQ(a.inode.mode, 0640u);
  EXPECT_EQ(a.inode.st_mode(), S_IFREG | 0640u);
  EXPECT_EQ(a.inode.uid, kAliceUid);
  EXPECT_EQ(a.inode.gid, 1000u);
  EXPECT_EQ(a.inode.nlink, 1u);
  EXPECT_EQ(a.inode.size, 0u);
  EXPECT_ERRNO(vfs().GetAttr(kNoSuchInode), ENOENT);
}

// ---- creating nodes ----

TEST_P(VfsNamespaceTest, MknodSpecialFiles) {
  ASSERT_OK_AND_ASSIGN(
      Attr fifo, vfs().Mknod(RootCtx(), kRootInode, "fifo", S_IFIFO | 0600, 0));
  EXPECT_EQ(fifo.inode.type, FileType::kFifo);
  EXPECT_EQ(fifo.inode.st_mode(), S_IFIFO | 0600u);
  ASSERT_OK_AND_ASSIGN(Attr sock, vfs().Mknod(RootCtx(), kRootInode, "sock",
                                              S_IFSOCK | 0644, 0));
  EXPECT_EQ(sock.inode.type, FileType::kSocket);
  const uint64_t rdev = makedev(4, 64);
  ASSERT_OK_AND_ASSIGN(Attr chr, vfs().Mknod(RootCtx(), kRootInode, "tty",
                                             S_IFCHR | 0620, rdev));
  EXPECT_EQ(chr.inode.type, FileType::kCharDevice);
  EXPECT_EQ(chr.inode.rdev, rdev);
  ASSERT_OK_AND_ASSIGN(Attr got, vfs().GetAttr(chr.inode.id));
  EXPECT_EQ(got.inode.rdev, rdev);
  EXPECT_EQ(got.inode.st_mode(), S_IFCHR | 0620u);
  ASSERT_OK_AND_ASSIGN(Attr l, vfs().Lookup(RootCtx(), kRootInode, "sock"));
  EXPECT_EQ(l.inode.type, FileType::kSocket);
}

TEST_P(VfsNamespaceTest, ExistingNameIsEexist) {
  InodeId f = MakeFile(RootCtx(), kRootInode, "x");
  MakeDir(RootCtx(), kRootInode, "d");
  for (std::string_view n : {"x", "d"}) {
    SCOPED_TRACE(std::string(n));
    EXPECT_ERRNO(vfs().Mknod(RootCtx(), kRootInode, n, S_IFREG | 0644, 0),
                 EEXIST);
    EXPECT_ERRNO(vfs().Mknod(RootCtx(), kRootInode, n, S_IFIFO | 0644, 0),
                 EEXIST);
    EXPECT_ERRNO(vfs().Mkdir(RootCtx(), kRootInode, n, 0755), EEXIST);
    EXPECT_ERRNO(vfs().Symlink(RootCtx(), kRootInode, n, "t"), EEXIST);
    EXPECT_ERRNO(vfs().Link(RootCtx(), f, kRootInode, n), EEXIST);
    EXPECT_ERRNO(
        vfs().Create(RootCtx(), kRootInode, n, 0644, O_RDWR | O_CREAT | O_EXCL),
        EEXIST);
  }
  // "." and ".." always exist.
  EXPECT_ERRNO(vfs().Mkdir(RootCtx(), kRootInode, ".", 0755), EEXIST);
  EXPECT_ERRNO(vfs().Mkdir(RootCtx(), kRootInode, "..", 0755), EEXIST);
  EXPECT_EQ(Stat(f).nlink, 1u);
}

TEST_P(VfsNamespaceTest, CreateWithoutExclOpensExisting) {
  InodeId f = FileWith(RootCtx(), kRootInode, "f", "data");
  ASSERT_OK_AND_ASSIGN(OpenResult o,
                       vfs().Create(RootCtx(), kRootInode, "f", 0600, O_RDWR));
  EXPECT_EQ(o.attr.inode.id, f);
  EXPECT_EQ(o.attr.inode.mode, 0644u);  // mode of the existing file is kept
  EXPECT_EQ(o.attr.inode.size, 4u);
  EXPECT_OK(vfs().Release(o.handle));
  MakeDir(RootCtx(), kRootInode, "d");
  EXPECT_ERRNO(vfs().Create(RootCtx(), kRootInode, "d", 0644, O_RDWR), EISDIR);
}

TEST_P(VfsNamespaceTest, MissingParentIsEnoent) {
  InodeId gone = MakeDir(RootCtx(), kRootInode, "gone");
  InodeId f = MakeFile(RootCtx(), kRootInode, "f");
  ASSERT_OK(vfs().Rmdir(RootCtx(), kRootInode, "gone"));
  for (InodeId p : {gone, kNoSuchInode}) {
    SCOPED_TRACE(p);
    EXPECT_ERRNO(vfs().Mknod(RootCtx(), p, "x", S_IFREG | 0644, 0), ENOENT);
    EXPECT_ERRNO(vfs().Mkdir(RootCtx(), p, "x", 0755), ENOENT);
    EXPECT_ERRNO(vfs().Symlink(RootCtx(), p, "x", "t"), ENOENT);
    EXPECT_ERRNO(vfs().Link(RootCtx(), f, p, "x"), ENOENT);
    EXPECT_ERRNO(vfs().Create(RootCtx(), p, "x", 0644, O_RDWR), ENOENT);
  }
}

TEST_P(VfsNamespaceTest, FileParentIsEnotdir) {
  InodeId f = MakeFile(RootCtx(), kRootInode, "f");
  EXPECT_ERRNO(vfs().Mknod(RootCtx(), f, "x", S_IFREG | 0644, 0), ENOTDIR);
  EXPECT_ERRNO(vfs().Mkdir(RootCtx(), f, "x", 0755), ENOTDIR);
  EXPECT_ERRNO(vfs().Symlink(RootCtx(), f, "x", "t"), ENOTDIR);
  EXPECT_ERRNO(vfs().Link(RootCtx(), f, f, "x"), ENOTDIR);
  EXPECT_ERRNO(vfs().Create(RootCtx(), f, "x", 0644, O_RDWR), ENOTDIR);
  EXPECT_ERRNO(vfs().Unlink(RootCtx(), f, "x"), ENOTDIR);
  EXPECT_ERRNO(vfs().Rmdir(RootCtx(), f, "x"), ENOTDIR);
}

TEST_P(VfsNamespaceTest, NewInodeTakesCallerIds) {
  InodeId d = SharedDir("d");
  ASSERT_OK_AND_ASSIGN(Attr f, vfs().Mknod(Alice(), d, "f", S_IFREG | 0644, 0));
  EXPECT_EQ(f.inode.uid, kAliceUid);
  EXPECT_EQ(f.inode.gid, 1000u);
  // Primary gid, not a supplementary one.
  ASSERT_OK_AND_ASSIGN(Attr sub, vfs().Mkdir(Bob(), d, "sub", 0750));
  EXPECT_EQ(sub.inode.uid, kBobUid);
  EXPECT_EQ(sub.inode.gid, 1001u);
  EXPECT_EQ(sub.inode.mode, 0750u);
  ASSERT_OK_AND_ASSIGN(Attr s, vfs().Symlink(Carol(), d, "s", "target"));
  EXPECT_EQ(s.inode.uid, kCarolUid);
  EXPECT_EQ(s.inode.gid, kStaffGid);
  ASSERT_OK_AND_ASSIGN(OpenResult c, vfs().Create(Bob(), d, "c", 0600, O_RDWR));
  EXPECT_EQ(c.attr.inode.uid, kBobUid);
  EXPECT_EQ(c.attr.inode.gid, 1001u);
  EXPECT_EQ(c.attr.inode.mode, 0600u);
  EXPECT_OK(vfs().Release(c.handle));
}

TEST_P(VfsNamespaceTest, SymlinkAndReadLink) {
  const std::string target = "../some/where/else";
  ASSERT_OK_AND_ASSIGN(Attr s,
                       vfs().Symlink(RootCtx(), kRootInode, "s", target));
  EXPECT_EQ(s.inode.type, FileType::kSymlink);
  EXPECT_EQ(s.inode.size, target.size());
  ASSERT_OK_AND_ASSIGN(std::string got, vfs().ReadLink(RootCtx(), s.inode.id));
  EXPECT_EQ(got, target);
  ASSERT_OK_AND_ASSIGN(Attr l, vfs().Lookup(RootCtx(), kRootInode, "s"));
  EXPECT_EQ(l.inode.size, target.size());
}

TEST_P(VfsNamespaceTest, ReadLinkOnNonSymlinkIsEinval) {
  InodeId f = MakeFile(RootCtx(), kRootInode, "f");
  InodeId d = MakeDir(RootCtx(), kRootInode, "d");
  EXPECT_ERRNO(vfs().ReadLink(RootCtx(), f), EINVAL);
  EXPECT_ERRNO(vfs().ReadLink(RootCtx(), d), EINVAL);
}

TEST_P(VfsNamespaceTest, CreateExistingWithoutExclNeedsNoWriteOnParent) {
  InodeId d = UserDir(Bob(), "d", 0755);
  InodeId f = MakeFile(Bob(), d, "f", 0666);
  ASSERT_OK_AND_ASSIGN(OpenResult o,
                       vfs().Create(Alice(), d, "f", 0644, O_RDWR));
  EXPECT_EQ(o.attr.inode.id, f);
  EXPECT_OK(vfs().Release(o.handle));
  EXPECT_ERRNO(vfs().Create(Alice(), d, "new", 0644, O_RDWR), EACCES);
  EXPECT_ERRNO(vfs().Create(Alice(), d, "f", 0644, O_RDWR | O_EXCL), EEXIST);
}

TEST_P(VfsNamespaceTest, MkdirKeepsOnlyPermissionAndStickyBits) {
  // vfs_mkdir masks the mode with S_IRWXUGO | S_ISVTX; S_ISGID on a new
  // directory only ever comes from a setgid parent.
  ASSERT_OK_AND_ASSIGN(Attr a, vfs().Mkdir(RootCtx(), kRootInode, "a", 06755));
  EXPECT_EQ(a.inode.mode, 0755u);
  ASSERT_OK_AND_ASSIGN(Attr b, vfs().Mkdir(RootCtx(), kRootInode, "b", 01777));
  EXPECT_EQ(b.inode.mode, 01777u);
}

TEST_P(VfsNamespaceTest, MknodDeviceNeedsRoot) {
  InodeId d = SharedDir("d");
  EXPECT_ERRNO(vfs().Mknod(Alice(), d, "c", S_IFCHR | 0600, makedev(1, 3)),
               EPERM);
  EXPECT_ERRNO(vfs().Mknod(Alice(), d, "b", S_IFBLK | 0600, makedev(8, 0)),
               EPERM);
  EXPECT_OK(vfs().Mknod(Alice(), d, "p", S_IFIFO | 0600, 0));
  EXPECT_EQ(LookupId(d, "c"), kInvalidInode);
}

// ---- links and link counts ----

TEST_P(VfsNamespaceTest, LinkCountsForFiles) {
  InodeId d = MakeDir(RootCtx(), kRootInode, "d");
  InodeId f = MakeFile(RootCtx(), kRootInode, "f");
  EXPECT_EQ(Stat(f).nlink, 1u);
  ASSERT_OK_AND_ASSIGN(Attr l, vfs().Link(RootCtx(), f, d, "g"));
  EXPECT_EQ(l.inode.id, f);
  EXPECT_EQ(l.inode.nlink, 2u);
  ASSERT_OK_AND_ASSIGN(Attr g, vfs().Lookup(RootCtx(), d, "g"));
  EXPECT_EQ(g.inode.id, f);
  ASSERT_OK(vfs().Unlink(RootCtx(), kRootInode, "f"));
  EXPECT_EQ(Stat(f).nlink, 1u);
  EXPECT_ERRNO(vfs().Lookup(RootCtx(), kRootInode, "f"), ENOENT);
  ASSERT_OK(vfs().Unlink(RootCtx(), d, "g"));
  EXPECT_ERRNO(vfs().GetAttr(f), ENOENT);
}

TEST_P(VfsNamespaceTest, LinkCountsForDirectories) {
  uint32_t root_links = Stat(kRootInode).nlink;
  InodeId a = MakeDir(RootCtx(), kRootInode, "a");
  EXPECT_EQ(Stat(a).nlink, 2u);
  EXPECT_EQ(Stat(kRootInode).nlink, root_links + 1);
  MakeDir(RootCtx(), a, "b");
  MakeDir(RootCtx(), a, "c");
  MakeFile(RootCtx(), a, "file");  // files do not count
  EXPECT_EQ(Stat(a).nlink, 4u);
  ASSERT_OK(vfs().Rmdir(RootCtx(), a, "b"));
  EXPECT_EQ(Stat(a).nlink, 3u);
  ASSERT_OK(vfs().Rmdir(RootCtx(), a, "c"));
  ASSERT_OK(vfs().Unlink(RootCtx(), a, "file"));
  EXPECT_EQ(Stat(a).nlink, 2u);
  ASSERT_OK(vfs().Rmdir(RootCtx(), kRootInode, "a"));
  EXPECT_EQ(Stat(kRootInode).nlink, root_links);
  EXPECT_ERRNO(vfs().GetAttr(a), ENOENT);
}

TEST_P(VfsNamespaceTest, LinkToDirectoryIsEperm) {
  InodeId d = MakeDir(RootCtx(), kRootInode, "d");
  EXPECT_ERRNO(vfs().Link(RootCtx(), d, kRootInode, "d2"), EPERM);
  EXPECT_ERRNO(vfs().Lookup(RootCtx(), kRootInode, "d2"), ENOENT);
  EXPECT_EQ(Stat(d).nlink, 2u);
}

TEST_P(VfsNamespaceTest, LinkToUnlinkedOpenFileIsEnoent) {
  ASSERT_OK_AND_ASSIGN(OpenResult o,
                       vfs().Create(RootCtx(), kRootInode, "f", 0644, O_RDWR));
  ASSERT_OK(vfs().Unlink(RootCtx(), kRootInode, "f"));
  EXPECT_ERRNO(vfs().Link(RootCtx(), o.attr.inode.id, kRootInode, "back"),
               ENOENT);
  EXPECT_EQ(LookupId(kRootInode, "back"), kInvalidInode);
  EXPECT_OK(vfs().Release(o.handle));
}

// ---- unlink / rmdir ----

TEST_P(VfsNamespaceTest, UnlinkAndRmdirMissingIsEnoent) {
  EXPECT_ERRNO(vfs().Unlink(RootCtx(), kRootInode, "nope"), ENOENT);
  EXPECT_ERRNO(vfs().Rmdir(RootCtx(), kRootInode, "nope"), ENOENT);
}

TEST_P(VfsNamespaceTest, RmdirNonEmptyIsEnotempty) {
  InodeId d = MakeDir(RootCtx(), kRootInode, "d");
  MakeFile(RootCtx(), d, "f");
  EXPECT_ERRNO(vfs().Rmdir(RootCtx(), kRootInode, "d"), ENOTEMPTY);
  ASSERT_OK(vfs().Unlink(RootCtx(), d, "f"));
  EXPECT_OK(vfs().Rmdir(RootCtx(), kRootInode, "d"));
}

TEST_P(VfsNamespaceTest, RmdirFileIsEnotdirUnlinkDirIsEisdir) {
  MakeFile(RootCtx(), kRootInode, "f");
  MakeDir(RootCtx(), kRootInode, "d");
  EXPECT_ERRNO(vfs().Rmdir(RootCtx(), kRootInode, "f"), ENOTDIR);
  EXPECT_ERRNO(vfs().Unlink(RootCtx(), kRootInode, "d"), EISDIR);
  EXPECT_OK(vfs().Lookup(RootCtx(), kRootInode, "f"));
  EXPECT_OK(vfs().Lookup(RootCtx(), kRootInode, "d"));
}

TEST_P(VfsNamespaceTest, RmdirDotIsEinvalDotDotIsEnotempty) {
  InodeId d = MakeDir(RootCtx(), kRootInode, "d");
  EXPECT_ERRNO(vfs().Rmdir(RootCtx(), d, "."), EINVAL);
  EXPECT_ERRNO(vfs().Rmdir(RootCtx(), d, ".."), ENOTEMPTY);
  EXPECT_OK(vfs().GetAttr(d));
}

// ---- rename ----

TEST_P(VfsNamespaceTest, RenamePlain) {
  InodeId f = FileWith(RootCtx(), kRootInode, "a", "xyz");
  ASSERT_OK(vfs().Rename(RootCtx(), kRootInode, "a", kRootInode, "b"));
  EXPECT_ERRNO(vfs().Lookup(RootCtx(), kRootInode, "a"), ENOENT);
  ASSERT_OK_AND_ASSIGN(Attr b, vfs().Lookup(RootCtx(), kRootInode, "b"));
  EXPECT_EQ(b.inode.id, f);
  EXPECT_EQ(ReadAll(f), "xyz");
  EXPECT_ERRNO(vfs().Rename(RootCtx(), kRootInode, "a", kRootInode, "c"),
               ENOENT);
}

TEST_P(VfsNamespaceTest, RenameReplacesFile) {
  InodeId d = MakeDir(RootCtx(), kRootInode, "d");
  InodeId src = FileWith(RootCtx(), kRootInode, "src", "new");
  InodeId dst = FileWith(RootCtx(), kRootInode, "dst", "old");
  InodeId lone = FileWith(RootCtx(), kRootInode, "lone", "gone");
  ASSERT_OK(vfs().Link(RootCtx(), dst, d, "keep"));
  EXPECT_EQ(Stat(dst).nlink, 2u);
  ASSERT_OK(vfs().Rename(RootCtx(), kRootInode, "src", kRootInode, "dst"));
  ASSERT_OK_AND_ASSIGN(Attr now, vfs().Lookup(RootCtx(), kRootInode, "dst"));
  EXPECT_EQ(now.inode.id, src);
  EXPECT_EQ(Stat(dst).nlink, 1u);  // still reachable through d/keep
  EXPECT_EQ(ReadAll(dst), "old");
  // Without another link or an open handle the replaced file is gone.
  ASSERT_OK(vfs().Rename(RootCtx(), kRootInode, "dst", kRootInode, "lone"));
  EXPECT_ERRNO(vfs().GetAttr(lone), ENOENT);
  EXPECT_FALSE(HasContent(lone));
  EXPECT_EQ(ReadAll(src), "new");
}

TEST_P(VfsNamespaceTest, RenameOverOpenFileKeepsItUntilClose) {
  InodeId victim = FileWith(RootCtx(), kRootInode, "victim", "old data");
  FileWith(RootCtx(), kRootInode, "src", "new");
  ASSERT_OK_AND_ASSIGN(OpenResult o, vfs().Open(RootCtx(), victim, O_RDWR));
  ASSERT_OK(vfs().Rename(RootCtx(), kRootInode, "src", kRootInode, "victim"));
  ASSERT_OK_AND_ASSIGN(Attr a, vfs().GetAttr(victim));
  EXPECT_EQ(a.inode.nlink, 0u);
  ASSERT_OK_AND_ASSIGN(std::string got,
                       vfs().Read(RootCtx(), victim, o.handle, 0, 64));
  EXPECT_EQ(got, "old data");
  EXPECT_OK(vfs().Release(o.handle));
  EXPECT_ERRNO(vfs().GetAttr(victim), ENOENT);
  EXPECT_FALSE(HasContent(victim));
  EXPECT_EQ(ReadAll(LookupId(kRootInode, "victim")), "new");
}

TEST_P(VfsNamespaceTest, RenameDirOverEmptyDir) {
  uint32_t root_links = Stat(kRootInode).nlink;
  InodeId a = MakeDir(RootCtx(), kRootInode, "a");
  InodeId b = MakeDir(RootCtx(), kRootInode, "b");
  MakeFile(RootCtx(), a, "inside");
  EXPECT_EQ(Stat(kRootInode).nlink, root_links + 2);
  ASSERT_OK(vfs().Rename(RootCtx(), kRootInode, "a", kRootInode, "b"));
  ASSERT_OK_AND_ASSIGN(Attr now, vfs().Lookup(RootCtx(), kRootInode, "b"));
  EXPECT_EQ(now.inode.id, a);
  EXPECT_ERRNO(vfs().GetAttr(b), ENOENT);
  EXPECT_EQ(Stat(kRootInode).nlink, root_links + 1);
  EXPECT_OK(vfs().Lookup(RootCtx(), a, "inside"));
}

TEST_P(VfsNamespaceTest, RenameTypeConflicts) {
  InodeId a = MakeDir(RootCtx(), kRootInode, "a");
  InodeId full = MakeDir(RootCtx(), kRootInode, "full");
  MakeFile(RootCtx(), full, "x");
  InodeId f = MakeFile(RootCtx(), kRootInode, "f");
  EXPECT_ERRNO(vfs().Rename(RootCtx(), kRootInode, "a", kRootInode, "full"),
               ENOTEMPTY);
  EXPECT_ERRNO(vfs().Rename(RootCtx(), kRootInode, "f", kRootInode, "a"),
               EISDIR);
  EXPECT_ERRNO(vfs().Rename(RootCtx(), kRootInode, "a", kRootInode, "f"),
               ENOTDIR);
  // Nothing moved.
  EXPECT_EQ(LookupId(kRootInode, "a"), a);
  EXPECT_EQ(LookupId(kRootInode, "f"), f);
  EXPECT_EQ(LookupId(kRootInode, "full"), full);
}

TEST_P(VfsNamespaceTest, RenameNoReplace) {
  InodeId a = MakeFile(RootCtx(), kRootInode, "a");
  InodeId b = MakeFile(RootCtx(), kRootInode, "b");
  EXPECT_ERRNO(vfs().Rename(RootCtx(), kRootInode, "a", kRootInode, "b",
                            kRenameNoReplace),
               EEXIST);
  EXPECT_EQ(LookupId(kRootInode, "b"), b);
  EXPECT_EQ(LookupId(kRootInode, "a"), a);
  EXPECT_OK(vfs().Rename(RootCtx(), kRootInode, "a", kRootInode, "c",
                         kRenameNoReplace));
  EXPECT_EQ(LookupId(kRootInode, "c"), a);
}

TEST_P(VfsNamespaceTest, RenameExchange) {
  InodeId d1 = MakeDir(RootCtx(), kRootInode, "d1");
  InodeId d2 = MakeDir(RootCtx(), kRootInode, "d2");
  InodeId f = MakeFile(RootCtx(), d1, "x");
  InodeId sub = MakeDir(RootCtx(), d2, "y");
  ASSERT_OK(vfs().Rename(RootCtx(), d1, "x", d2, "y", kRenameExchange));
  EXPECT_EQ(LookupId(d1, "x"), sub);
  EXPECT_EQ(LookupId(d2, "y"), f);
  EXPECT_EQ(LookupId(sub, ".."), d1);
  EXPECT_EQ(Stat(d1).nlink, 3u);  // gained the subdirectory
  EXPECT_EQ(Stat(d2).nlink, 2u);
  EXPECT_EQ(Stat(f).nlink, 1u);
  EXPECT_ERRNO(vfs().Rename(RootCtx(), d1, "x", d2, "missing", kRenameExchange),
               ENOENT);
  EXPECT_ERRNO(vfs().Rename(RootCtx(), d1, "x", d2, "y",
                            kRenameExchange | kRenameNoReplace),
               EINVAL);
  EXPECT_EQ(LookupId(d1, "x"), sub);
}

TEST_P(VfsNamespaceTest, RenameIntoOwnSubtreeIsEinval) {
  InodeId a = MakeDir(RootCtx(), kRootInode, "a");
  InodeId b = MakeDir(RootCtx(), a, "b");
  InodeId c = MakeDir(RootCtx(), b, "c");
  EXPECT_ERRNO(vfs().Rename(RootCtx(), kRootInode, "a", c, "x"), EINVAL);
  EXPECT_ERRNO(vfs().Rename(RootCtx(), kRootInode, "a", a, "x"), EINVAL);
  EXPECT_ERRNO(vfs().Rename(RootCtx(), kRootInode, "a", b, "x"), EINVAL);
  EXPECT_EQ(LookupId(kRootInode, "a"), a);
  EXPECT_EQ(LookupId(b, ".."), a);
}

TEST_P(VfsNamespaceTest, RenameToSameFileIsNoop) {
  InodeId f = MakeFile(RootCtx(), kRootInode, "f");
  InodeId d = MakeDir(RootCtx(), kRootInode, "d");
  EXPECT_OK(vfs().Rename(RootCtx(), kRootInode, "f", kRootInode, "f"));
  EXPECT_OK(vfs().Rename(RootCtx(), kRootInode, "d", kRootInode, "d"));
  EXPECT_EQ(LookupId(kRootInode, "f"), f);
  EXPECT_EQ(Stat(d).nlink, 2u);
  // Two links to one file: success, and both names stay.
  ASSERT_OK(vfs().Link(RootCtx(), f, d, "g"));
  EXPECT_OK(vfs().Rename(RootCtx(), kRootInode, "f", d, "g"));
  EXPECT_EQ(LookupId(kRootInode, "f"), f);
  EXPECT_EQ(LookupId(d, "g"), f);
  EXPECT_EQ(Stat(f).nlink, 2u);
}

TEST_P(VfsNamespaceTest, RenameDirectoryAcrossParents) {
  InodeId p1 = MakeDir(RootCtx(), kRootInode, "p1");
  InodeId p2 = MakeDir(RootCtx(), kRootInode, "p2");
  InodeId d = MakeDir(RootCtx(), p1, "d");
  MakeDir(RootCtx(), d, "child");
  EXPECT_EQ(Stat(p1).nlink, 3u);
  EXPECT_EQ(Stat(p2).nlink, 2u);
  ASSERT_OK(vfs().Rename(RootCtx(), p1, "d", p2, "e"));
  EXPECT_EQ(LookupId(d, ".."), p2);
  EXPECT_EQ(LookupId(p2, "e"), d);
  EXPECT_ERRNO(vfs().Lookup(RootCtx(), p1, "d"), ENOENT);
  EXPECT_EQ(Stat(p1).nlink, 2u);
  EXPECT_EQ(Stat(p2).nlink, 3u);
  EXPECT_EQ(Stat(d).nlink, 3u);
  // p1 is empty now and can go; p2 cannot.
  EXPECT_OK(vfs().Rmdir(RootCtx(), kRootInode, "p1"));
  EXPECT_ERRNO(vfs().Rmdir(RootCtx(), kRootInode, "p2"), ENOTEMPTY);
}

TEST_P(VfsNamespaceTest, RenameTimestamps) {
  InodeId p1 = MakeDir(RootCtx(), kRootInode, "p1");
  InodeId p2 = MakeDir(RootCtx(), kRootInode, "p2");
  InodeId f = MakeFile(RootCtx(), p1, "f");
  InodeId victim = MakeFile(RootCtx(), p2, "g");
  ASSERT_OK(vfs().Link(RootCtx(), victim, kRootInode, "victim"));
  NanoTime created = Now();
  NanoTime t = Tick();
  ASSERT_OK(vfs().Rename(RootCtx(), p1, "f", p2, "g"));
  Inode a = Stat(p1), b = Stat(p2), moved = Stat(f), replaced = Stat(victim);
  EXPECT_EQ(a.mtime, t);
  EXPECT_EQ(a.ctime, t);
  EXPECT_EQ(b.mtime, t);
  EXPECT_EQ(b.ctime, t);
  EXPECT_EQ(moved.ctime, t);
  EXPECT_EQ(moved.mtime, created);
  EXPECT_EQ(replaced.ctime, t);  // lost a link
  EXPECT_EQ(replaced.nlink, 1u);
}

TEST_P(VfsNamespaceTest, RenameNeedsWriteOnBothParents) {
  InodeId open_dir = SharedDir("open");
  InodeId closed = UserDir(Alice(), "closed", 0755);
  MakeFile(Alice(), closed, "f");
  MakeFile(Bob(), open_dir, "g");
  EXPECT_ERRNO(vfs().Rename(Bob(), closed, "f", open_dir, "f"), EACCES);
  EXPECT_ERRNO(vfs().Rename(Bob(), open_dir, "g", closed, "g"), EACCES);
  EXPECT_OK(vfs().Rename(Alice(), closed, "f", open_dir, "f"));
}

TEST_P(VfsNamespaceTest, MovingForeignDirectoryNeedsWriteOnIt) {
  // Moving a directory to a new parent rewrites its "..": Linux requires
  // write permission on the directory itself.
  InodeId p1 = SharedDir("p1");
  InodeId p2 = SharedDir("p2");
  MakeDir(Alice(), p1, "d", 0755);
  EXPECT_ERRNO(vfs().Rename(Bob(), p1, "d", p2, "d"), EACCES);
  EXPECT_OK(vfs().Rename(Bob(), p1, "d", p1, "renamed"));  // same parent
  EXPECT_OK(vfs().Rename(Alice(), p1, "renamed", p2, "d"));
}

}  // namespace
}  // namespace concordfs
