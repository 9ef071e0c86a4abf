// Direct I/O (FUSE passthrough): the kernel writes a file's content file
// itself, and the vfs must still report and record the file as written.
// Each test writes the content file through the descriptor BeginDirect
// returns, as the kernel does.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/vfs/vfs_fixture.h"

namespace concordfs {
namespace {

class VfsDirectTest : public VfsTest {
 protected:
  // The content file's mtime, as the kernel's writes left it.
  static NanoTime ContentMtime(int fd) {
    struct stat st;
    EXPECT_EQ(::fstat(fd, &st), 0);
    return FromTimespec(st.st_mtim);
  }
  static uint64_t ContentSize(int fd) {
    struct stat st;
    EXPECT_EQ(::fstat(fd, &st), 0);
    return static_cast<uint64_t>(st.st_size);
  }
  static void PwriteAll(int fd, std::string_view data, off_t off) {
    ASSERT_EQ(::pwrite(fd, data.data(), data.size(), off),
              static_cast<ssize_t>(data.size()));
  }
  // File systems stamp mtimes at their clock's granularity: wait until a
  // new write gets a different one.
  static void NextTick(int fd) {
    NanoTime t = ContentMtime(fd);
    struct timespec now;
    do {
      ::usleep(1000);
      ::clock_gettime(CLOCK_REALTIME, &now);
    } while (FromTimespec(now) <= t + 20'000'000);
  }
};
// Only the store with content files offers direct I/O.
INSTANTIATE_TEST_SUITE_P(Backends, VfsDirectTest,
                         ::testing::Values(std::string("leveldb")),
                         ::concordfs::BackendName);
class VfsDirectSupportTest : public VfsTest {};
CFS_INSTANTIATE_VFS_SUITE(VfsDirectSupportTest);

TEST_P(VfsDirectSupportTest, OnlyAStoreWithFilesOffersIt) {
  InodeId f = FileWith(RootCtx(), kRootInode, "f", "data");
  Result<ContentStore::FileRef> r = vfs().BeginDirect(f);
  if (GetParam() == "memory") {
    EXPECT_ERRNO(r, ENOTSUP);
    return;
  }
  ASSERT_OK(r);
  EXPECT_GE(r->fd, 0);
  vfs().EndDirect(f);
  // Directories never qualify.
  InodeId d = MakeDir(RootCtx(), kRootInode, "d", 0755);
  EXPECT_ERRNO(vfs().BeginDirect(d), EINVAL);
}

TEST_P(VfsDirectTest, ContentFileHoldsExactlyTheSize) {
  // Grown by truncate (the store held 5 bytes of 100), never written, and
  // with stale bytes past the size: each content file is made the size.
  InodeId grown = FileWith(RootCtx(), kRootInode, "grown", "hello");
  ASSERT_OK(Truncate(RootCtx(), grown, 100));
  InodeId empty = FileWith(RootCtx(), kRootInode, "empty", "");
  ASSERT_OK_AND_ASSIGN(ContentStore::FileRef a, vfs().BeginDirect(grown));
  ASSERT_OK_AND_ASSIGN(ContentStore::FileRef b, vfs().BeginDirect(empty));
  EXPECT_EQ(ContentSize(a.fd), 100u);
  EXPECT_EQ(ContentSize(b.fd), 0u);
  EXPECT_EQ(Stat(grown).size, 100u);
  EXPECT_EQ(ReadAll(grown).substr(0, 6), std::string("hello\0", 6));
  vfs().EndDirect(grown);
  vfs().EndDirect(empty);
}

TEST_P(VfsDirectTest, DirectWritesShowAtOnceAndAreRecordedAtTheEnd) {
  InodeId f = FileWith(RootCtx(), kRootInode, "f", "0123456789");
  NanoTime before = Stat(f).mtime;
  ASSERT_OK_AND_ASSIGN(ContentStore::FileRef ref, vfs().BeginDirect(f));
  PwriteAll(ref.fd, "abcdefgh", 8);  // overwrites 8-9, extends to 16
  NanoTime m = ContentMtime(ref.fd);
  // Every caller sees it: attributes, lookups, listings, reads (NFS, SMB).
  Inode st = Stat(f);
  EXPECT_EQ(st.size, 16u);
  EXPECT_EQ(st.mtime, m);
  EXPECT_NE(st.mtime, before);
  EXPECT_GE(st.ctime, m);
  ASSERT_OK_AND_ASSIGN(Attr looked, vfs().Lookup(RootCtx(), kRootInode, "f"));
  EXPECT_EQ(looked.inode.size, 16u);
  EXPECT_GT(looked.used_bytes, 0u);
  bool listed = false;
  ASSERT_OK(vfs().ReadDir(RootCtx(), kRootInode, 0, 0, true,
                          [&](const ReadDirEntry& e) {
                            if (e.name == "f") {
                              listed = e.attr && e.attr->inode.size == 16;
                            }
                            return true;
                          }));
  EXPECT_TRUE(listed);
  EXPECT_EQ(ReadAll(f), "01234567abcdefgh");
  // Not recorded yet: the store still has the old size ...
  ASSERT_OK_AND_ASSIGN(Inode stored, md_->GetInode(f));
  EXPECT_EQ(stored.size, 10u);
  // ... until the last user ends.
  vfs().EndDirect(f);
  ASSERT_OK_AND_ASSIGN(stored, md_->GetInode(f));
  EXPECT_EQ(stored.size, 16u);
  EXPECT_EQ(stored.mtime, m);
  EXPECT_EQ(Stat(f).size, 16u);
}

TEST_P(VfsDirectTest, UsersNestAndOnlyTheLastEndStopsTheOverlay) {
  InodeId f = FileWith(RootCtx(), kRootInode, "f", "abc");
  ASSERT_OK_AND_ASSIGN(ContentStore::FileRef one, vfs().BeginDirect(f));
  ASSERT_OK_AND_ASSIGN(ContentStore::FileRef two, vfs().BeginDirect(f));
  int fd = ::dup(one.fd);
  ASSERT_GE(fd, 0);
  vfs().EndDirect(f);
  PwriteAll(fd, "defg", 3);
  EXPECT_EQ(Stat(f).size, 7u);  // one user left: still overlaid
  vfs().EndDirect(f);
  EXPECT_EQ(Stat(f).size, 7u);  // recorded
  // No user: bytes written behind the vfs's back are no longer its size.
  PwriteAll(fd, "xyz", 7);
  EXPECT_EQ(Stat(f).size, 7u);
  ::close(fd);
}

TEST_P(VfsDirectTest, DirectWriteClearsSetuidButAChmodAfterItSticks) {
  InodeId f = FileWith(RootCtx(), kRootInode, "f", "abc", 0755);
  ASSERT_OK_AND_ASSIGN(ContentStore::FileRef ref, vfs().BeginDirect(f));
  ASSERT_OK(Chmod(RootCtx(), f, 06755));
  EXPECT_EQ(Stat(f).mode, 06755u);  // not written since
  NextTick(ref.fd);
  PwriteAll(ref.fd, "z", 0);
  EXPECT_EQ(Stat(f).mode, 0755u);  // a write drops both
  ASSERT_OK(Chmod(RootCtx(), f, 04755));
  EXPECT_EQ(Stat(f).mode, 04755u);
  vfs().EndDirect(f);
  ASSERT_OK_AND_ASSIGN(Inode stored, md_->GetInode(f));
  EXPECT_EQ(stored.mode, 04755u);
}

TEST_P(VfsDirectTest, ExplicitTimesStickUntilTheNextDirectWrite) {
  InodeId f = FileWith(RootCtx(), kRootInode, "f", "abc");
  ASSERT_OK_AND_ASSIGN(ContentStore::FileRef ref, vfs().BeginDirect(f));
  PwriteAll(ref.fd, "defg", 3);
  // tar and cp -p set the times after writing the data.
  SetAttrRequest req;
  req.mtime = 1'000'000 * kNanosPerSecond;
  ASSERT_OK(vfs().SetAttr(RootCtx(), f, req));
  EXPECT_EQ(Stat(f).mtime, *req.mtime);
  EXPECT_EQ(Stat(f).size, 7u);
  NextTick(ref.fd);
  PwriteAll(ref.fd, "h", 7);
  EXPECT_EQ(Stat(f).mtime, ContentMtime(ref.fd));
  EXPECT_EQ(Stat(f).size, 8u);
  vfs().EndDirect(f);
}

TEST_P(VfsDirectTest, TruncateAndFallocateKeepTheContentFileTheSize) {
  InodeId f = FileWith(RootCtx(), kRootInode, "f", "abcdef");
  ASSERT_OK_AND_ASSIGN(ContentStore::FileRef ref, vfs().BeginDirect(f));
  ASSERT_OK(Truncate(RootCtx(), f, 4096));
  EXPECT_EQ(ContentSize(ref.fd), 4096u);  // grown too: the kernel reads it
  ASSERT_OK(Truncate(RootCtx(), f, 3));
  EXPECT_EQ(ContentSize(ref.fd), 3u);
  EXPECT_EQ(ReadAll(f), "abc");
  ASSERT_OK(vfs().Fallocate(RootCtx(), f, 0, FALLOC_FL_KEEP_SIZE, 0, 1 << 20));
  EXPECT_EQ(ContentSize(ref.fd), 3u);
  EXPECT_EQ(Stat(f).size, 3u);
  ASSERT_OK(vfs().Fallocate(RootCtx(), f, 0, 0, 0, 8192));
  EXPECT_EQ(ContentSize(ref.fd), 8192u);
  EXPECT_EQ(Stat(f).size, 8192u);
  vfs().EndDirect(f);
}

TEST_P(VfsDirectTest, ProtocolWritesAndAppendsSeeTheDirectSize) {
  InodeId f = FileWith(RootCtx(), kRootInode, "f", "abc");
  ASSERT_OK_AND_ASSIGN(ContentStore::FileRef ref, vfs().BeginDirect(f));
  PwriteAll(ref.fd, "0123456789", 3);  // 13 bytes now
  // An NFS write past the old recorded size does not cut the file.
  ASSERT_OK(vfs().Write(RootCtx(), f, 0, 5, "XY"));
  EXPECT_EQ(Stat(f).size, 13u);
  // An append goes after what the kernel wrote.
  ASSERT_OK_AND_ASSIGN(OpenResult o,
                       vfs().Open(RootCtx(), f, O_WRONLY | O_APPEND));
  ASSERT_OK(vfs().Write(RootCtx(), f, o.handle, 0, "!"));
  ASSERT_OK(vfs().Release(o.handle));
  EXPECT_EQ(ReadAll(f), "abc01XY456789!");
  // fsync records it while the file is still under direct I/O.
  ASSERT_OK(vfs().Fsync(f, false));
  ASSERT_OK_AND_ASSIGN(Inode stored, md_->GetInode(f));
  EXPECT_EQ(stored.size, 14u);
  vfs().EndDirect(f);
}

}  // namespace
}  // namespace concordfs
