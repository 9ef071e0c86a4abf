// FUSE passthrough through the real mount: local reads and writes of regular
// files go straight to their content files (the daemon's metrics see no
// bytes), yet every other way in (the vfs, which NFS and SMB call) sees the
// file as written at once, and the mount sees their writes at once. Files
// with setuid/setgid bits or capabilities, and a mount with passthrough off,
// keep FUSE requests (the daemon sees the bytes).
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <string>

#include "metrics/metrics.h"
#include "tests/integration/fuse/fuse_fixture.h"

namespace concordfs::fusetest {
namespace {

uint64_t FuseBytesWritten() {
  return metrics::Global()
      .bytes_written(metrics::Protocol::kFuse)
      .load(std::memory_order_relaxed);
}
uint64_t FuseBytesRead() {
  return metrics::Global()
      .bytes_read(metrics::Protocol::kFuse)
      .load(std::memory_order_relaxed);
}

OpContext NfsCaller() {
  OpContext c;
  c.origin = Origin::kNfs;
  return c;
}

class FusePassthroughTest : public FuseFixture {
 protected:
  void SetUp() override {
    metrics::SetEnabled(true);
    FuseFixture::SetUp();
    if (!HasFatalFailure() && !frontend()->passthrough_active()) {
      GTEST_SKIP() << "the kernel did not offer FUSE passthrough (Linux 6.9+)";
    }
  }
  InodeId Ino(const std::string& rel) { return Stat(Path(rel)).st_ino; }
};

TEST_F(FusePassthroughTest, WritesSkipTheDaemonAndShowEverywhereAtOnce) {
  std::string f = Path("data");
  UniqueFd fd(open(f.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644));
  ASSERT_GE(fd.get(), 0);
  std::string block(1 << 20, 'a');
  uint64_t written = FuseBytesWritten();
  ASSERT_EQ(pwrite(fd.get(), block.data(), block.size(), 0),
            static_cast<ssize_t>(block.size()));
  ASSERT_EQ(pwrite(fd.get(), "tail", 4, block.size()), 4);
  EXPECT_EQ(FuseBytesWritten(), written);  // the daemon saw no WRITE
  // While the file is still open: what NFS and SMB would see.
  InodeId ino = Ino("data");
  Result<Attr> a = vfs()->GetAttr(ino);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->inode.size, block.size() + 4);
  Result<std::string> tail =
      vfs()->Read(NfsCaller(), ino, 0, block.size() - 2, 16);
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(*tail, "aatail");
  // A remote write into the open file is read locally at once.
  ASSERT_TRUE(vfs()->Write(NfsCaller(), ino, 0, 10, "REMOTE").ok());
  char buf[8] = {};
  ASSERT_EQ(pread(fd.get(), buf, 6, 10), 6);
  EXPECT_EQ(std::string(buf, 6), "REMOTE");
  fd.Reset();
  // After the close the store has it too (the kernel's RELEASE is sent
  // just after close returns).
  uint64_t stored = 0;
  for (int i = 0; i < 200 && stored != block.size() + 4; ++i) {
    Result<Inode> n = vfs()->metadata()->GetInode(ino);
    ASSERT_TRUE(n.ok());
    stored = n->size;
    if (stored != block.size() + 4) usleep(5000);
  }
  EXPECT_EQ(stored, block.size() + 4);
  EXPECT_EQ(Stat(f).st_size, static_cast<off_t>(block.size() + 4));
}

TEST_F(FusePassthroughTest, ReadsSkipTheDaemon) {
  std::string f = Path("r");
  {
    UniqueFd w(open(f.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
    ASSERT_GE(w.get(), 0);
    ASSERT_EQ(write(w.get(), "hello world", 11), 11);
  }
  uint64_t read_before = FuseBytesRead();
  UniqueFd r(open(f.c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_GE(r.get(), 0);
  char buf[32] = {};
  ASSERT_EQ(pread(r.get(), buf, sizeof buf, 0), 11);
  EXPECT_EQ(std::string(buf, 11), "hello world");
  EXPECT_EQ(FuseBytesRead(), read_before);
}

TEST_F(FusePassthroughTest, AppendsTruncatesAndTimesAreThoseOfAFile) {
  std::string f = Path("t");
  UniqueFd fd(open(f.c_str(), O_CREAT | O_WRONLY | O_APPEND | O_CLOEXEC, 0644));
  ASSERT_GE(fd.get(), 0);
  ASSERT_EQ(write(fd.get(), "one ", 4), 4);
  ASSERT_EQ(write(fd.get(), "two", 3), 3);
  EXPECT_EQ(Stat(f).st_size, 7);
  ASSERT_SYS_OK(ftruncate(fd.get(), 3));
  ASSERT_EQ(write(fd.get(), "!", 1), 1);  // appends after the cut
  EXPECT_EQ(Stat(f).st_size, 4);
  // cp -p / tar: times set after the data stick.
  struct timespec times[2] = {{1000000, 0}, {2000000, 0}};
  ASSERT_SYS_OK(futimens(fd.get(), times));
  EXPECT_EQ(Stat(f).st_mtime, 2000000);
  fd.Reset();
  char buf[8] = {};
  UniqueFd r(open(f.c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_EQ(read(r.get(), buf, sizeof buf), 4);
  EXPECT_EQ(std::string(buf, 4), "one!");
  EXPECT_EQ(Stat(f).st_mtime, 2000000);
}

TEST_F(FusePassthroughTest, SetuidFilesKeepFuseRequests) {
  std::string f = Path("suid");
  {
    UniqueFd c(open(f.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0755));
    ASSERT_GE(c.get(), 0);
  }
  ASSERT_SYS_OK(chmod(f.c_str(), 04755));
  uint64_t written = FuseBytesWritten();
  {
    UniqueFd fd(open(f.c_str(), O_WRONLY | O_CLOEXEC));
    ASSERT_GE(fd.get(), 0);
    ASSERT_EQ(write(fd.get(), "x", 1), 1);
  }
  EXPECT_EQ(FuseBytesWritten(), written + 1);  // a WRITE request
  // Root keeps setuid on its own writes (CAP_FSETID); a non-root writer
  // drops it. Root wrote here: the bit stays, as on a local disk.
  EXPECT_EQ(Stat(f).st_mode & 07777, 04755u);
}

// A file made setuid while open keeps passthrough (the opens of an inode
// must agree); a direct write cannot tell who wrote, so the next one drops
// setuid/setgid as it would for any writer.
TEST_F(FusePassthroughTest, ChmodSetuidWhileOpenIsDroppedByTheNextWrite) {
  std::string f = Path("later");
  UniqueFd fd(open(f.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0755));
  ASSERT_GE(fd.get(), 0);
  ASSERT_SYS_OK(chmod(f.c_str(), 02755 | 04000));
  EXPECT_EQ(Stat(f).st_mode & 07777, 06755u);  // not written since
  usleep(20000);                               // a write gets a new mtime
  ASSERT_EQ(write(fd.get(), "x", 1), 1);
  EXPECT_EQ(Stat(f).st_mode & 07777, 0755u);
}

TEST_F(FusePassthroughTest, FilesOpenAtUnmountHaveTheirSizesRecorded) {
  std::string f = Path("open-at-stop");
  UniqueFd fd(open(f.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
  ASSERT_GE(fd.get(), 0);
  ASSERT_EQ(pwrite(fd.get(), "0123456789", 10, 90), 10);
  InodeId ino = Ino("open-at-stop");
  // The kernel sends no RELEASE once the mount is gone: the stop records
  // what the direct writes did.
  Remount();
  Result<Inode> n = vfs()->metadata()->GetInode(ino);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->size, 100u);
  fd.Reset();
  EXPECT_EQ(Stat(f).st_size, 100);
}

class FuseNoPassthroughTest : public FuseFixture {
 protected:
  void SetUp() override {
    metrics::SetEnabled(true);
    FuseFixture::SetUp();
  }
  void Customize(Config* config, FuseOptions* opts) override {
    FuseFixture::Customize(config, opts);
    opts->passthrough = false;
  }
};

TEST_F(FuseNoPassthroughTest, EveryWriteAndReadIsARequest) {
  EXPECT_FALSE(frontend()->passthrough_active());
  std::string f = Path("req");
  uint64_t written = FuseBytesWritten(), bytes_read = FuseBytesRead();
  {
    UniqueFd fd(open(f.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644));
    ASSERT_GE(fd.get(), 0);
    ASSERT_EQ(pwrite(fd.get(), "abcdef", 6, 0), 6);
  }
  EXPECT_EQ(FuseBytesWritten(), written + 6);
  Remount();  // no cached pages: the read must ask the daemon
  UniqueFd r(open(f.c_str(), O_RDONLY | O_CLOEXEC));
  char buf[8];
  ASSERT_EQ(read(r.get(), buf, sizeof buf), 6);
  EXPECT_GE(FuseBytesRead(), bytes_read + 6);
}

}  // namespace
}  // namespace concordfs::fusetest
