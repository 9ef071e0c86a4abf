// Open files and data: open/release, unlinked-while-open files and crash
// recovery, read/write, truncate, readdir, statfs.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "tests/unit/vfs/vfs_fixture.h"

namespace concordfs {
namespace {

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAreArray;

class VfsDataTest : public VfsTest {
 protected:
  // Entries of `dir` after `cookie`, at most `max` of them.
  std::vector<ReadDirEntry> ReadEntries(InodeId dir, uint64_t cookie,
                                        size_t max = SIZE_MAX,
                                        bool plus = false) {
    std::vector<ReadDirEntry> out;
    Status st = vfs().ReadDir(RootCtx(), dir, 0, cookie, plus,
                              [&](const ReadDirEntry& e) {
                                out.push_back(e);
                                return out.size() < max;
                              });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return out;
  }
  static std::vector<std::string> Names(const std::vector<ReadDirEntry>& es) {
    std::vector<std::string> names;
    for (const auto& e : es) names.push_back(e.name);
    return names;
  }
};
CFS_INSTANTIATE_VFS_SUITE(VfsDataTest);

// ---- open / release ----

TEST_P(VfsDataTest, OpenChecksPermissions) {
  InodeId d = SharedDir("d");
  InodeId f = MakeFile(Alice(), d, "f", 0644);
  InodeId wo = MakeFile(Alice(), d, "wo", 0200);
  EXPECT_ERRNO(vfs().Open(Bob(), f, O_WRONLY), EACCES);
  EXPECT_ERRNO(vfs().Open(Bob(), f, O_RDWR), EACCES);
  ASSERT_OK_AND_ASSIGN(OpenResult r, vfs().Open(Bob(), f, O_RDONLY));
  EXPECT_EQ(r.attr.inode.id, f);
  EXPECT_OK(vfs().Release(r.handle));
  EXPECT_ERRNO(vfs().Open(Alice(), wo, O_RDONLY), EACCES);
  ASSERT_OK_AND_ASSIGN(OpenResult w, vfs().Open(Alice(), wo, O_WRONLY));
  EXPECT_OK(vfs().Release(w.handle));
  ASSERT_OK(Chmod(RootCtx(), f, 0000));
  ASSERT_OK_AND_ASSIGN(OpenResult root, vfs().Open(RootCtx(), f, O_RDWR));
  EXPECT_OK(vfs().Release(root.handle));
}

TEST_P(VfsDataTest, OpenDirectoryForWriteIsEisdir) {
  InodeId d = MakeDir(RootCtx(), kRootInode, "d");
  EXPECT_ERRNO(vfs().Open(RootCtx(), d, O_WRONLY), EISDIR);
  EXPECT_ERRNO(vfs().Open(RootCtx(), d, O_RDWR), EISDIR);
  ASSERT_OK_AND_ASSIGN(OpenResult r, vfs().Open(RootCtx(), d, O_RDONLY));
  EXPECT_EQ(vfs().OpenCount(d), 1u);
  EXPECT_OK(vfs().Release(r.handle));
  EXPECT_EQ(vfs().OpenCount(d), 0u);
}

TEST_P(VfsDataTest, OpenWithTruncEmptiesFile) {
  InodeId f = FileWith(RootCtx(), kRootInode, "f", "hello");
  NanoTime t = Tick();
  ASSERT_OK_AND_ASSIGN(OpenResult r,
                       vfs().Open(RootCtx(), f, O_WRONLY | O_TRUNC));
  EXPECT_EQ(r.attr.inode.size, 0u);
  EXPECT_EQ(Stat(f).size, 0u);
  EXPECT_EQ(Stat(f).mtime, t);
  EXPECT_EQ(ReadAll(f), "");
  EXPECT_OK(vfs().Release(r.handle));
}

TEST_P(VfsDataTest, OpenCountTracksHandles) {
  InodeId f = MakeFile(RootCtx(), kRootInode, "f");
  EXPECT_EQ(vfs().OpenCount(f), 0u);
  ASSERT_OK_AND_ASSIGN(OpenResult a, vfs().Open(RootCtx(), f, O_RDONLY));
  ASSERT_OK_AND_ASSIGN(OpenResult b, vfs().Open(RootCtx(), f, O_RDWR));
  EXPECT_NE(a.handle, b.handle);
  EXPECT_EQ(vfs().OpenCount(f), 2u);
  EXPECT_OK(vfs().Release(a.handle));
  EXPECT_EQ(vfs().OpenCount(f), 1u);
  EXPECT_OK(vfs().Release(b.handle));
  EXPECT_EQ(vfs().OpenCount(f), 0u);
}

TEST_P(VfsDataTest, ReleaseUnknownHandleIsEbadf) {
  InodeId f = MakeFile(RootCtx(), kRootInode, "f");
  ASSERT_OK_AND_ASSIGN(OpenResult o, vfs().Open(RootCtx(), f, O_RDONLY));
  EXPECT_OK(vfs().Release(o.handle));
  EXPECT_ERRNO(vfs().Release(o.handle), EBADF);
  EXPECT_ERRNO(vfs().Release(987654321), EBADF);
  EXPECT_EQ(vfs().OpenCount(f), 0u);
}

TEST_P(VfsDataTest, UnlinkedFileLivesUntilLastClose) {
  ASSERT_OK_AND_ASSIGN(OpenResult a,
                       vfs().Create(RootCtx(), kRootInode, "f", 0644, O_RDWR));
  const InodeId f = a.attr.inode.id;
  ASSERT_OK(vfs().Write(RootCtx(), f, a.handle, 0, "data"));
  ASSERT_OK_AND_ASSIGN(OpenResult b, vfs().Open(RootCtx(), f, O_RDONLY));
  ASSERT_OK(vfs().Unlink(RootCtx(), kRootInode, "f"));
  EXPECT_ERRNO(vfs().Lookup(RootCtx(), kRootInode, "f"), ENOENT);
  ASSERT_OK_AND_ASSIGN(Attr attr, vfs().GetAttr(f));
  EXPECT_EQ(attr.inode.nlink, 0u);
  EXPECT_EQ(attr.inode.size, 4u);
  ASSERT_OK(vfs().Write(RootCtx(), f, a.handle, 4, "more"));
  ASSERT_OK_AND_ASSIGN(std::string got,
                       vfs().Read(RootCtx(), f, b.handle, 0, 64));
  EXPECT_EQ(got, "datamore");
  EXPECT_OK(vfs().Release(a.handle));
  ASSERT_OK(vfs().GetAttr(f));  // b still open
  EXPECT_TRUE(HasContent(f));
  EXPECT_OK(vfs().Release(b.handle));
  EXPECT_ERRNO(vfs().GetAttr(f), ENOENT);
  EXPECT_FALSE(HasContent(f));
  EXPECT_EQ(vfs().OpenCount(f), 0u);
}

TEST_P(VfsDataTest, RecoverReclaimsFilesUnlinkedWhileOpenAtCrash) {
  InodeId keep = FileWith(RootCtx(), kRootInode, "keep", "kept");
  ASSERT_OK_AND_ASSIGN(OpenResult o,
                       vfs().Create(RootCtx(), kRootInode, "f", 0644, O_RDWR));
  const InodeId f = o.attr.inode.id;
  ASSERT_OK(vfs().Write(RootCtx(), f, o.handle, 0, "orphan"));
  ASSERT_OK(vfs().Open(RootCtx(), keep, O_RDWR));  // open, not unlinked
  ASSERT_OK(vfs().Unlink(RootCtx(), kRootInode, "f"));
  CrashAndRestart();  // neither handle is released
  ASSERT_OK_AND_ASSIGN(uint64_t reclaimed, vfs().Recover());
  EXPECT_EQ(reclaimed, 1u);
  EXPECT_ERRNO(vfs().GetAttr(f), ENOENT);
  EXPECT_FALSE(HasContent(f));
  EXPECT_EQ(ReadAll(keep), "kept");
  EXPECT_EQ(Stat(keep).nlink, 1u);
  ASSERT_OK_AND_ASSIGN(uint64_t again, vfs().Recover());
  EXPECT_EQ(again, 0u);
}

TEST_P(VfsDataTest, RecoverAfterVfsDroppedWithOpenHandles) {
  ASSERT_OK_AND_ASSIGN(OpenResult o,
                       vfs().Create(RootCtx(), kRootInode, "f", 0644, O_RDWR));
  const InodeId f = o.attr.inode.id;
  ASSERT_OK(vfs().Write(RootCtx(), f, o.handle, 0, "orphan"));
  ASSERT_OK(vfs().Unlink(RootCtx(), kRootInode, "f"));
  StartVfs({}, /*recover=*/false);  // destroys the old Vfs, handle unreleased
  ASSERT_OK_AND_ASSIGN(uint64_t reclaimed, vfs().Recover());
  EXPECT_EQ(reclaimed, 1u);
  EXPECT_ERRNO(vfs().GetAttr(f), ENOENT);
  EXPECT_FALSE(HasContent(f));
}

TEST_P(VfsDataTest, RecoverAfterCleanCloseFindsNothing) {
  ASSERT_OK_AND_ASSIGN(OpenResult o,
                       vfs().Create(RootCtx(), kRootInode, "f", 0644, O_RDWR));
  ASSERT_OK(vfs().Unlink(RootCtx(), kRootInode, "f"));
  ASSERT_OK(vfs().Release(o.handle));
  StartVfs({}, /*recover=*/false);
  ASSERT_OK_AND_ASSIGN(uint64_t reclaimed, vfs().Recover());
  EXPECT_EQ(reclaimed, 0u);
}

// ---- read / write ----

TEST_P(VfsDataTest, WriteReadRoundTrip) {
  ASSERT_OK_AND_ASSIGN(OpenResult o,
                       vfs().Create(RootCtx(), kRootInode, "f", 0644, O_RDWR));
  const InodeId f = o.attr.inode.id;
  ASSERT_OK_AND_ASSIGN(Attr a,
                       vfs().Write(RootCtx(), f, o.handle, 0, "hello world"));
  EXPECT_EQ(a.inode.size, 11u);
  ASSERT_OK_AND_ASSIGN(std::string all,
                       vfs().Read(RootCtx(), f, o.handle, 0, 11));
  EXPECT_EQ(all, "hello world");
  ASSERT_OK_AND_ASSIGN(std::string mid,
                       vfs().Read(RootCtx(), f, o.handle, 6, 5));
  EXPECT_EQ(mid, "world");
  ASSERT_OK(vfs().Write(RootCtx(), f, o.handle, 0, "J"));
  EXPECT_EQ(ReadAll(f), "Jello world");
  EXPECT_EQ(Stat(f).size, 11u);
  EXPECT_OK(vfs().Release(o.handle));
  std::string big(300000, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7);
  InodeId g = FileWith(RootCtx(), kRootInode, "g", big);
  EXPECT_EQ(ReadAll(g), big);
}

TEST_P(VfsDataTest, HolesReadAsZeros) {
  ASSERT_OK_AND_ASSIGN(OpenResult o,
                       vfs().Create(RootCtx(), kRootInode, "f", 0644, O_RDWR));
  const InodeId f = o.attr.inode.id;
  const uint64_t far = 1 << 20;
  ASSERT_OK(vfs().Write(RootCtx(), f, o.handle, 0, "x"));
  ASSERT_OK_AND_ASSIGN(Attr a, vfs().Write(RootCtx(), f, o.handle, far, "abc"));
  EXPECT_EQ(a.inode.size, far + 3);
  ASSERT_OK_AND_ASSIGN(std::string head,
                       vfs().Read(RootCtx(), f, o.handle, 0, 16));
  EXPECT_EQ(head, std::string("x") + std::string(15, '\0'));
  ASSERT_OK_AND_ASSIGN(std::string tail,
                       vfs().Read(RootCtx(), f, o.handle, far - 2, 5));
  EXPECT_EQ(tail, std::string("\0\0abc", 5));
  EXPECT_OK(vfs().Release(o.handle));
}

TEST_P(VfsDataTest, ReadPastEndIsShort) {
  InodeId f = FileWith(RootCtx(), kRootInode, "f", "0123456789");
  ASSERT_OK_AND_ASSIGN(std::string part, vfs().Read(RootCtx(), f, 0, 5, 100));
  EXPECT_EQ(part, "56789");
  ASSERT_OK_AND_ASSIGN(std::string at_end, vfs().Read(RootCtx(), f, 0, 10, 10));
  EXPECT_EQ(at_end, "");
  ASSERT_OK_AND_ASSIGN(std::string beyond,
                       vfs().Read(RootCtx(), f, 0, 1000, 10));
  EXPECT_EQ(beyond, "");
}

TEST_P(VfsDataTest, AppendHandleWritesAtEnd) {
  InodeId f = FileWith(RootCtx(), kRootInode, "f", "abc");
  ASSERT_OK_AND_ASSIGN(OpenResult o,
                       vfs().Open(RootCtx(), f, O_WRONLY | O_APPEND));
  ASSERT_OK_AND_ASSIGN(Attr a, vfs().Write(RootCtx(), f, o.handle, 0, "XY"));
  EXPECT_EQ(a.inode.size, 5u);
  ASSERT_OK(vfs().Write(RootCtx(), f, o.handle, 1, "Z"));
  EXPECT_EQ(ReadAll(f), "abcXYZ");
  EXPECT_OK(vfs().Release(o.handle));
}

TEST_P(VfsDataTest, ScatterGatherWrite) {
  ASSERT_OK_AND_ASSIGN(OpenResult o,
                       vfs().Create(RootCtx(), kRootInode, "f", 0644, O_RDWR));
  char a[] = "ab", b[] = "cdef", c[] = "g";
  struct iovec iov[4] = {{a, 2}, {b, 0}, {b, 4}, {c, 1}};
  ASSERT_OK_AND_ASSIGN(
      Attr r, vfs().Write(RootCtx(), o.attr.inode.id, o.handle, 2, iov, 4));
  EXPECT_EQ(r.inode.size, 9u);
  EXPECT_EQ(ReadAll(o.attr.inode.id), std::string("\0\0abcdefg", 9));
  EXPECT_OK(vfs().Release(o.handle));
}

TEST_P(VfsDataTest, WriteByNonOwnerClearsSetuidSetgid) {
  InodeId d = SharedDir("d");
  InodeId both = MakeFile(Alice(), d, "both");
  InodeId noexec = MakeFile(Alice(), d, "noexec");
  ASSERT_OK(Chmod(Alice(), both, 06777));
  ASSERT_OK(Chmod(Alice(), noexec, 06767));
  ASSERT_OK_AND_ASSIGN(OpenResult o, vfs().Open(Bob(), both, O_WRONLY));
  ASSERT_OK_AND_ASSIGN(Attr a, vfs().Write(Bob(), both, o.handle, 0, "x"));
  EXPECT_EQ(a.inode.mode, 0777u);
  EXPECT_EQ(Stat(both).mode, 0777u);
  EXPECT_OK(vfs().Release(o.handle));
  // setgid without group-exec is a locking marker, not a privilege: kept.
  ASSERT_OK(vfs().Write(Bob(), noexec, 0, 0, "x"));
  EXPECT_EQ(Stat(noexec).mode, 02767u);
}

TEST_P(VfsDataTest, WriteByOwnerAlsoClearsSetuid) {
  // Linux kills the bits for any writer without CAP_FSETID.
  InodeId f = MakeFile(Alice(), SharedDir("d"), "f");
  ASSERT_OK(Chmod(Alice(), f, 04755));
  ASSERT_OK(vfs().Write(Alice(), f, 0, 0, "x"));
  EXPECT_EQ(Stat(f).mode, 0755u);
}

TEST_P(VfsDataTest, WriteByRootKeepsSetuidSetgid) {
  InodeId f = MakeFile(Alice(), SharedDir("d"), "f");
  ASSERT_OK(Chmod(Alice(), f, 06777));
  ASSERT_OK_AND_ASSIGN(OpenResult o, vfs().Open(RootCtx(), f, O_RDWR));
  ASSERT_OK(vfs().Write(RootCtx(), f, o.handle, 0, "x"));
  EXPECT_EQ(Stat(f).mode, 06777u);
  EXPECT_OK(vfs().Release(o.handle));
}

TEST_P(VfsDataTest, WriteUpdatesSizeTimesAndChange) {
  ASSERT_OK_AND_ASSIGN(OpenResult o,
                       vfs().Create(RootCtx(), kRootInode, "f", 0644, O_RDWR));
  const InodeId f = o.attr.inode.id;
  const Inode before = Stat(f);
  const NanoTime t = Tick();
  ASSERT_OK_AND_ASSIGN(Attr a, vfs().Write(RootCtx(), f, o.handle, 10, "abc"));
  EXPECT_EQ(a.inode.size, 13u);
  EXPECT_EQ(a.inode.mtime, t);
  EXPECT_EQ(a.inode.ctime, t);
  EXPECT_GT(a.inode.change, before.change);
  const Inode after = Stat(f);
  EXPECT_EQ(after.size, 13u);
  EXPECT_EQ(after.mtime, t);
  EXPECT_EQ(after.ctime, t);
  EXPECT_EQ(after.atime, before.atime);
  EXPECT_EQ(after.btime, before.btime);
  // Overwriting inside the file does not change the size.
  Tick();
  ASSERT_OK_AND_ASSIGN(Attr b, vfs().Write(RootCtx(), f, o.handle, 0, "zz"));
  EXPECT_EQ(b.inode.size, 13u);
  EXPECT_EQ(b.inode.mtime, Now());
  EXPECT_GT(b.inode.change, a.inode.change);
  EXPECT_OK(vfs().Release(o.handle));
}

TEST_P(VfsDataTest, StatelessIoChecksPermissions) {
  InodeId d = SharedDir("d");
  InodeId secret = FileWith(Alice(), d, "secret", "s3cret", 0600);
  InodeId pub = FileWith(Alice(), d, "pub", "public", 0644);
  EXPECT_ERRNO(vfs().Read(Bob(), secret, 0, 0, 10), EACCES);
  EXPECT_ERRNO(vfs().Write(Bob(), secret, 0, 0, "x"), EACCES);
  ASSERT_OK_AND_ASSIGN(std::string got, vfs().Read(Bob(), pub, 0, 0, 10));
  EXPECT_EQ(got, "public");
  EXPECT_ERRNO(vfs().Write(Bob(), pub, 0, 0, "x"), EACCES);
  EXPECT_EQ(ReadAll(pub), "public");
  EXPECT_OK(vfs().Write(Alice(), pub, 0, 0, "P"));
  ASSERT_OK(Chmod(RootCtx(), secret, 0000));
  EXPECT_OK(vfs().Read(RootCtx(), secret, 0, 0, 10));
  EXPECT_OK(vfs().Write(RootCtx(), secret, 0, 0, "S"));
}

TEST_P(VfsDataTest, HandleKeepsAccessCheckedAtOpen) {
  InodeId f = MakeFile(Alice(), SharedDir("d"), "f", 0644);
  ASSERT_OK_AND_ASSIGN(OpenResult o, vfs().Open(Alice(), f, O_RDWR));
  ASSERT_OK(Chmod(Alice(), f, 0000));
  EXPECT_OK(vfs().Write(Alice(), f, o.handle, 0, "abc"));
  ASSERT_OK_AND_ASSIGN(std::string got, vfs().Read(Alice(), f, o.handle, 0, 3));
  EXPECT_EQ(got, "abc");
  EXPECT_OK(vfs().Release(o.handle));
}

TEST_P(VfsDataTest, HandleAccessModeIsEnforced) {
  InodeId f = FileWith(RootCtx(), kRootInode, "f", "abc");
  ASSERT_OK_AND_ASSIGN(OpenResult ro, vfs().Open(RootCtx(), f, O_RDONLY));
  ASSERT_OK_AND_ASSIGN(OpenResult wo, vfs().Open(RootCtx(), f, O_WRONLY));
  EXPECT_ERRNO(vfs().Write(RootCtx(), f, ro.handle, 0, "x"), EBADF);
  EXPECT_ERRNO(vfs().Read(RootCtx(), f, wo.handle, 0, 3), EBADF);
  EXPECT_EQ(ReadAll(f), "abc");
  EXPECT_OK(vfs().Release(ro.handle));
  EXPECT_OK(vfs().Release(wo.handle));
}

TEST_P(VfsDataTest, DataIoOnDirectoryIsEisdir) {
  InodeId d = MakeDir(RootCtx(), kRootInode, "d");
  EXPECT_ERRNO(vfs().Read(RootCtx(), d, 0, 0, 10), EISDIR);
  EXPECT_ERRNO(vfs().Write(RootCtx(), d, 0, 0, "x"), EISDIR);
}

// ---- truncate ----

TEST_P(VfsDataTest, TruncateShrinksAndGrows) {
  InodeId f = FileWith(RootCtx(), kRootInode, "f", "hello world");
  ASSERT_OK_AND_ASSIGN(Attr a, Truncate(RootCtx(), f, 5));
  EXPECT_EQ(a.inode.size, 5u);
  EXPECT_EQ(ReadAll(f), "hello");
  ASSERT_OK_AND_ASSIGN(Attr b, Truncate(RootCtx(), f, 8));
  EXPECT_EQ(b.inode.size, 8u);
  // The cut bytes do not come back.
  EXPECT_EQ(ReadAll(f), std::string("hello\0\0\0", 8));
  ASSERT_OK(Truncate(RootCtx(), f, 1 << 20));
  EXPECT_EQ(Stat(f).size, 1u << 20);
  ASSERT_OK_AND_ASSIGN(std::string z,
                       vfs().Read(RootCtx(), f, 0, (1 << 20) - 4, 8));
  EXPECT_EQ(z, std::string(4, '\0'));
  ASSERT_OK(Truncate(RootCtx(), f, 0));
  EXPECT_EQ(ReadAll(f), "");
}

TEST_P(VfsDataTest, TruncateNeedsWritePermission) {
  InodeId d = SharedDir("d");
  InodeId ro = FileWith(Alice(), d, "ro", "abc", 0644);
  InodeId rw = FileWith(Alice(), d, "rw", "abc", 0646);
  EXPECT_ERRNO(Truncate(Bob(), ro, 0), EACCES);
  EXPECT_EQ(Stat(ro).size, 3u);
  EXPECT_OK(Truncate(Bob(), rw, 1));
  ASSERT_OK(Chmod(Alice(), ro, 0444));
  EXPECT_ERRNO(Truncate(Alice(), ro, 0), EACCES);  // owner needs it too
  EXPECT_OK(Truncate(RootCtx(), ro, 0));
}

TEST_P(VfsDataTest, TruncateThroughHandleUsesOpenAccess) {
  InodeId f = FileWith(Alice(), SharedDir("d"), "f", "abcdef");
  ASSERT_OK_AND_ASSIGN(OpenResult o, vfs().Open(Alice(), f, O_RDWR));
  ASSERT_OK(Chmod(Alice(), f, 0444));
  SetAttrRequest req;
  req.size = 2;
  req.handle = o.handle;
  ASSERT_OK_AND_ASSIGN(Attr a, vfs().SetAttr(Alice(), f, req));
  EXPECT_EQ(a.inode.size, 2u);
  EXPECT_EQ(ReadAll(f), "ab");
  EXPECT_OK(vfs().Release(o.handle));
}

TEST_P(VfsDataTest, TruncateByNonRootClearsSetuid) {
  InodeId f = FileWith(Alice(), SharedDir("d"), "f", "abc");
  InodeId g = FileWith(Alice(), LookupId(kRootInode, "d"), "g", "abc");
  ASSERT_OK(Chmod(Alice(), f, 06755));
  ASSERT_OK(Chmod(Alice(), g, 06755));
  ASSERT_OK(Truncate(Alice(), f, 1));
  EXPECT_EQ(Stat(f).mode, 0755u);
  ASSERT_OK(Truncate(RootCtx(), g, 1));
  EXPECT_EQ(Stat(g).mode, 06755u);
}

TEST_P(VfsDataTest, TruncateThroughReadOnlyHandleIsEinval) {
  InodeId f = FileWith(RootCtx(), kRootInode, "f", "abc");
  ASSERT_OK_AND_ASSIGN(OpenResult o, vfs().Open(RootCtx(), f, O_RDONLY));
  SetAttrRequest req;
  req.size = 0;
  req.handle = o.handle;
  EXPECT_ERRNO(vfs().SetAttr(RootCtx(), f, req), EINVAL);
  EXPECT_EQ(Stat(f).size, 3u);
  EXPECT_OK(vfs().Release(o.handle));
}

TEST_P(VfsDataTest, TruncateSpecialFileIsEinval) {
  ASSERT_OK_AND_ASSIGN(
      Attr p, vfs().Mknod(RootCtx(), kRootInode, "p", S_IFIFO | 0666, 0));
  EXPECT_ERRNO(Truncate(RootCtx(), p.inode.id, 0), EINVAL);
}

TEST_P(VfsDataTest, TruncateDirectoryIsEisdir) {
  InodeId d = MakeDir(RootCtx(), kRootInode, "d");
  EXPECT_ERRNO(Truncate(RootCtx(), d, 0), EISDIR);
}

// ---- readdir ----

TEST_P(VfsDataTest, ReadDirListsDotsAndEntries) {
  InodeId d = MakeDir(RootCtx(), kRootInode, "d");
  InodeId f = MakeFile(RootCtx(), d, "f");
  InodeId s = MakeDir(RootCtx(), d, "s");
  ASSERT_OK_AND_ASSIGN(Attr l, vfs().Symlink(RootCtx(), d, "l", "f"));
  auto es = ReadEntries(d, 0);
  ASSERT_EQ(es.size(), 5u);
  EXPECT_EQ(es[0].name, ".");
  EXPECT_EQ(es[0].ino, d);
  EXPECT_EQ(es[0].cookie, 1u);
  EXPECT_EQ(es[0].type, FileType::kDirectory);
  EXPECT_EQ(es[1].name, "..");
  EXPECT_EQ(es[1].ino, kRootInode);
  EXPECT_EQ(es[1].cookie, 2u);
  std::map<std::string, ReadDirEntry> by_name;
  std::set<uint64_t> cookies;
  for (size_t i = 2; i < es.size(); ++i) {
    by_name[es[i].name] = es[i];
    EXPECT_GE(es[i].cookie, kFirstEntryCookie);
    EXPECT_TRUE(cookies.insert(es[i].cookie).second) << "duplicate cookie";
  }
  ASSERT_EQ(by_name.size(), 3u);
  EXPECT_EQ(by_name["f"].ino, f);
  EXPECT_EQ(by_name["f"].type, FileType::kRegular);
  EXPECT_EQ(by_name["s"].ino, s);
  EXPECT_EQ(by_name["s"].type, FileType::kDirectory);
  EXPECT_EQ(by_name["l"].ino, l.inode.id);
  EXPECT_EQ(by_name["l"].type, FileType::kSymlink);
}

TEST_P(VfsDataTest, ReadDirResumesFromCookieAcrossChanges) {
  InodeId d = MakeDir(RootCtx(), kRootInode, "d");
  for (int i = 0; i < 10; ++i) MakeFile(RootCtx(), d, "f" + std::to_string(i));
  auto first = ReadEntries(d, 0, 4);  // ".", "..", two entries
  ASSERT_EQ(first.size(), 4u);
  const std::vector<std::string> first_names = Names(first);
  std::set<std::string> seen(first_names.begin(), first_names.end());
  ASSERT_EQ(seen.count("f7"), 0u);
  std::vector<std::string> expected;
  for (int i = 0; i < 10; ++i) {
    std::string n = "f" + std::to_string(i);
    if (!seen.count(n) && n != "f7") expected.push_back(n);
  }
  // Remove the entry we resume after, one not yet returned and one already
  // returned; add two new names.
  ASSERT_OK(vfs().Unlink(RootCtx(), d, first[3].name));
  ASSERT_OK(vfs().Unlink(RootCtx(), d, first[2].name));
  ASSERT_OK(vfs().Unlink(RootCtx(), d, "f7"));
  MakeFile(RootCtx(), d, "n1");
  MakeFile(RootCtx(), d, "n2");
  expected.push_back("n1");
  expected.push_back("n2");
  std::vector<std::string> rest;
  uint64_t cookie = first[3].cookie;
  // Resume in small batches, as NFS clients do; bounded so a cookie that
  // does not advance fails instead of looping.
  for (int i = 0; i < 20; ++i) {
    auto batch = ReadEntries(d, cookie, 3);
    if (batch.empty()) break;
    for (const auto& e : batch) rest.push_back(e.name);
    ASSERT_GT(batch.back().cookie, cookie) << "cookie did not advance";
    cookie = batch.back().cookie;
  }
  EXPECT_THAT(rest, UnorderedElementsAreArray(expected));
  EXPECT_EQ(rest.size(), expected.size());
}

TEST_P(VfsDataTest, ReadDirPlusCarriesAttributes) {
  InodeId d = MakeDir(RootCtx(), kRootInode, "d");
  InodeId f = FileWith(RootCtx(), d, "f", "12345", 0640);
  auto es = ReadEntries(d, 2, SIZE_MAX, /*plus=*/true);
  ASSERT_EQ(es.size(), 1u);
  EXPECT_EQ(es[0].name, "f");
  ASSERT_TRUE(es[0].attr.has_value());
  EXPECT_EQ(es[0].attr->inode.id, f);
  EXPECT_EQ(es[0].attr->inode.st_mode(), S_IFREG | 0640u);
  EXPECT_EQ(es[0].attr->inode.size, 5u);
  EXPECT_EQ(es[0].attr->inode.nlink, 1u);
}

TEST_P(VfsDataTest, ReadDirStopsWhenCallbackSaysSo) {
  InodeId d = MakeDir(RootCtx(), kRootInode, "d");
  MakeFile(RootCtx(), d, "a");
  MakeFile(RootCtx(), d, "b");
  EXPECT_EQ(ReadEntries(d, 0, 1).size(), 1u);
  EXPECT_THAT(Names(ReadEntries(d, 1, 1)), ElementsAre(".."));
}

TEST_P(VfsDataTest, ReadDirNeedsReadPermission) {
  InodeId d = UserDir(Alice(), "d", 0711);
  auto noop = [](const ReadDirEntry&) { return true; };
  EXPECT_ERRNO(vfs().ReadDir(Bob(), d, 0, 0, false, noop), EACCES);
  EXPECT_OK(vfs().ReadDir(Alice(), d, 0, 0, false, noop));
  // An open directory handle carries the permission checked at open.
  ASSERT_OK_AND_ASSIGN(OpenResult o, vfs().Open(Alice(), d, O_RDONLY));
  ASSERT_OK(Chmod(Alice(), d, 0311));
  EXPECT_ERRNO(vfs().ReadDir(Alice(), d, 0, 0, false, noop), EACCES);
  EXPECT_OK(vfs().ReadDir(Alice(), d, o.handle, 0, false, noop));
  EXPECT_OK(vfs().Release(o.handle));
  ASSERT_OK(Chmod(Alice(), d, 0000));
  EXPECT_OK(vfs().ReadDir(RootCtx(), d, 0, 0, false, noop));
}

TEST_P(VfsDataTest, ReadDirOnFileIsEnotdir) {
  InodeId f = MakeFile(RootCtx(), kRootInode, "f");
  EXPECT_ERRNO(vfs().ReadDir(RootCtx(), f, 0, 0, false,
                             [](const ReadDirEntry&) { return true; }),
               ENOTDIR);
}

// ---- statfs ----

TEST_P(VfsDataTest, StatFsNumbersAreSane) {
  ASSERT_OK_AND_ASSIGN(FsStats before, vfs().StatFs());
  EXPECT_EQ(before.name_max, 255u);
  EXPECT_GT(before.block_size, 0u);
  EXPECT_GT(before.total_bytes, 0u);
  EXPECT_LE(before.free_bytes, before.total_bytes);
  EXPECT_LE(before.avail_bytes, before.free_bytes);
  EXPECT_EQ(before.total_inodes, 1ULL << 32);
  EXPECT_LT(before.free_inodes, before.total_inodes);  // the root exists
  for (int i = 0; i < 3; ++i)
    MakeFile(RootCtx(), kRootInode, std::to_string(i));
  ASSERT_OK_AND_ASSIGN(FsStats after, vfs().StatFs());
  EXPECT_LE(after.free_inodes, before.free_inodes - 3);
  VfsOptions opts;
  opts.max_inodes = 1000;
  StartVfs(opts);
  ASSERT_OK_AND_ASSIGN(FsStats small, vfs().StatFs());
  EXPECT_EQ(small.total_inodes, 1000u);
  EXPECT_LE(small.free_inodes, 1000u - 4);
}

}  // namespace
}  // namespace concordfs
