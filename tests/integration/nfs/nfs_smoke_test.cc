// Smoke test of the fixture: the daemon starts, libnfs mounts, writes and
// reads back a file.
#include "tests/integration/nfs/nfs_fixture.h"

namespace cfs_nfs_test {
namespace {

TEST(NfsSmoke, WriteReadBack) {
  NfsDaemon d;
  ASSERT_TRUE(d.Start());
  NfsMount m;
  ASSERT_EQ(0, m.Mount(d)) << m.error();
  struct nfsfh* fh = nullptr;
  ASSERT_EQ(0, nfs_creat(m.get(), "/hello", 0644, &fh)) << m.error();
  const char msg[] = "hello over nfs";
  ASSERT_EQ(static_cast<int>(sizeof(msg)),
            nfs_pwrite(m.get(), fh, 0, sizeof(msg), msg));
  ASSERT_EQ(0, nfs_close(m.get(), fh));
  ASSERT_EQ(0, nfs_open(m.get(), "/hello", O_RDONLY, &fh));
  char buf[64] = {};
  ASSERT_EQ(static_cast<int>(sizeof(msg)),
            nfs_pread(m.get(), fh, 0, sizeof(buf), buf));
  EXPECT_STREQ(msg, buf);
  nfs_close(m.get(), fh);
}

}  // namespace
}  // namespace cfs_nfs_test
