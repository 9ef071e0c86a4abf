// Extended attributes: round trips, create/replace flags, limits, namespace
// permission rules (user.*, trusted.*) as Linux's fs/xattr.c applies them.
#include <fcntl.h>
#include <sys/stat.h>

#include <string>
#include <vector>

#include "tests/unit/vfs/vfs_fixture.h"

namespace concordfs {
namespace {

using ::testing::Contains;
using ::testing::Not;
using ::testing::UnorderedElementsAre;

class VfsXattrTest : public VfsTest {
 protected:
  std::vector<std::string> List(const OpContext& ctx, InodeId ino) {
    auto r = vfs().ListXattr(ctx, ino);
    EXPECT_TRUE(r.ok()) << StatusText(r);
    return r.ok() ? *r : std::vector<std::string>{};
  }
};
CFS_INSTANTIATE_VFS_SUITE(VfsXattrTest);

TEST_P(VfsXattrTest, SetGetListRemove) {
  InodeId f = MakeFile(RootCtx(), kRootInode, "f");
  EXPECT_TRUE(List(RootCtx(), f).empty());
  const std::string binary("a\0b\xff", 4);
  ASSERT_OK(vfs().SetXattr(RootCtx(), f, "user.a", "1", 0));
  ASSERT_OK(vfs().SetXattr(RootCtx(), f, "user.b", "", 0));
  ASSERT_OK(vfs().SetXattr(RootCtx(), f, "user.bin", binary, 0));
  ASSERT_OK_AND_ASSIGN(std::string a, vfs().GetXattr(RootCtx(), f, "user.a"));
  EXPECT_EQ(a, "1");
  ASSERT_OK_AND_ASSIGN(std::string b, vfs().GetXattr(RootCtx(), f, "user.b"));
  EXPECT_EQ(b, "");
  ASSERT_OK_AND_ASSIGN(std::string bin,
                       vfs().GetXattr(RootCtx(), f, "user.bin"));
  EXPECT_EQ(bin, binary);
  EXPECT_THAT(List(RootCtx(), f),
              UnorderedElementsAre("user.a", "user.b", "user.bin"));
  ASSERT_OK(vfs().SetXattr(RootCtx(), f, "user.a", "two", 0));  // replaces
  ASSERT_OK_AND_ASSIGN(std::string a2, vfs().GetXattr(RootCtx(), f, "user.a"));
  EXPECT_EQ(a2, "two");
  ASSERT_OK(vfs().RemoveXattr(RootCtx(), f, "user.a"));
  EXPECT_ERRNO(vfs().GetXattr(RootCtx(), f, "user.a"), ENODATA);
  EXPECT_THAT(List(RootCtx(), f), UnorderedElementsAre("user.b", "user.bin"));
}

TEST_P(VfsXattrTest, DirectoriesCarryXattrs) {
  InodeId d = MakeDir(RootCtx(), kRootInode, "d");
  ASSERT_OK(vfs().SetXattr(RootCtx(), d, "user.tag", "v", 0));
  ASSERT_OK_AND_ASSIGN(std::string v, vfs().GetXattr(RootCtx(), d, "user.tag"));
  EXPECT_EQ(v, "v");
}

TEST_P(VfsXattrTest, CreateAndReplaceFlags) {
  InodeId f = MakeFile(RootCtx(), kRootInode, "f");
  ASSERT_OK(vfs().SetXattr(RootCtx(), f, "user.x", "old", kXattrCreate));
  EXPECT_ERRNO(vfs().SetXattr(RootCtx(), f, "user.x", "new", kXattrCreate),
               EEXIST);
  EXPECT_EQ(*vfs().GetXattr(RootCtx(), f, "user.x"), "old");
  EXPECT_ERRNO(vfs().SetXattr(RootCtx(), f, "user.y", "v", kXattrReplace),
               ENODATA);
  EXPECT_ERRNO(vfs().GetXattr(RootCtx(), f, "user.y"), ENODATA);
  ASSERT_OK(vfs().SetXattr(RootCtx(), f, "user.x", "new", kXattrReplace));
  EXPECT_EQ(*vfs().GetXattr(RootCtx(), f, "user.x"), "new");
}

TEST_P(VfsXattrTest, MissingAttributeIsEnodata) {
  InodeId f = MakeFile(RootCtx(), kRootInode, "f");
  EXPECT_ERRNO(vfs().GetXattr(RootCtx(), f, "user.none"), ENODATA);
  EXPECT_ERRNO(vfs().RemoveXattr(RootCtx(), f, "user.none"), ENODATA);
}

TEST_P(VfsXattrTest, NameAndValueLimits) {
  InodeId f = MakeFile(RootCtx(), kRootInode, "f");
  const std::string max_name = "user." + std::string(250, 'n');
  const std::string long_name = max_name + "n";
  ASSERT_EQ(max_name.size(), kXattrNameMax);
  EXPECT_OK(vfs().SetXattr(RootCtx(), f, max_name, "v", 0));
  EXPECT_EQ(*vfs().GetXattr(RootCtx(), f, max_name), "v");
  EXPECT_ERRNO(vfs().SetXattr(RootCtx(), f, long_name, "v", 0), ERANGE);
  EXPECT_ERRNO(vfs().GetXattr(RootCtx(), f, long_name), ERANGE);
  EXPECT_ERRNO(vfs().RemoveXattr(RootCtx(), f, long_name), ERANGE);
  EXPECT_ERRNO(vfs().SetXattr(RootCtx(), f, "", "v", 0), ERANGE);
  const std::string max_value(kXattrValueMax, 'v');
  EXPECT_OK(vfs().SetXattr(RootCtx(), f, "user.big", max_value, 0));
  EXPECT_EQ(*vfs().GetXattr(RootCtx(), f, "user.big"), max_value);
  EXPECT_ERRNO(vfs().SetXattr(RootCtx(), f, "user.huge", max_value + "v", 0),
               E2BIG);
  EXPECT_ERRNO(vfs().GetXattr(RootCtx(), f, "user.huge"), ENODATA);
}

TEST_P(VfsXattrTest, UnknownNamespaceIsEopnotsupp) {
  InodeId f = MakeFile(RootCtx(), kRootInode, "f");
  EXPECT_ERRNO(vfs().SetXattr(RootCtx(), f, "nonamespace", "v", 0), EOPNOTSUPP);
  EXPECT_ERRNO(vfs().SetXattr(RootCtx(), f, "bogus.x", "v", 0), EOPNOTSUPP);
  // SELinux labels a mount of this file system as a whole.
  EXPECT_ERRNO(vfs().SetXattr(RootCtx(), f, "security.selinux", "v", 0),
               EOPNOTSUPP);
  EXPECT_ERRNO(vfs().GetXattr(RootCtx(), f, "security.selinux"), EOPNOTSUPP);
  EXPECT_ERRNO(vfs().GetXattr(RootCtx(), f, "security.other"), ENODATA);
}

TEST_P(VfsXattrTest, UserNamespaceFollowsFilePermissions) {
  InodeId d = SharedDir("d");
  InodeId ro = MakeFile(Alice(), d, "ro", 0644);
  InodeId priv = MakeFile(Alice(), d, "priv", 0600);
  InodeId rw = MakeFile(Alice(), d, "rw", 0666);
  ASSERT_OK(vfs().SetXattr(Alice(), ro, "user.a", "v", 0));
  ASSERT_OK(vfs().SetXattr(Alice(), priv, "user.a", "v", 0));
  // Setting and removing need write permission, reading needs read.
  EXPECT_ERRNO(vfs().SetXattr(Bob(), ro, "user.b", "v", 0), EACCES);
  EXPECT_ERRNO(vfs().RemoveXattr(Bob(), ro, "user.a"), EACCES);
  EXPECT_OK(vfs().GetXattr(Bob(), ro, "user.a"));
  EXPECT_ERRNO(vfs().GetXattr(Bob(), priv, "user.a"), EACCES);
  EXPECT_OK(vfs().SetXattr(Bob(), rw, "user.b", "v", 0));
  EXPECT_OK(vfs().RemoveXattr(Bob(), rw, "user.b"));
  // Ownership alone is not enough.
  ASSERT_OK(Chmod(Alice(), ro, 0444));
  EXPECT_ERRNO(vfs().SetXattr(Alice(), ro, "user.c", "v", 0), EACCES);
  ASSERT_OK(Chmod(Alice(), priv, 0000));
  EXPECT_OK(vfs().SetXattr(RootCtx(), priv, "user.c", "v", 0));
  EXPECT_OK(vfs().GetXattr(RootCtx(), priv, "user.c"));
}

TEST_P(VfsXattrTest, UserXattrOnStickyDirNeedsOwner) {
  InodeId st = SharedDir("st", 01777);
  EXPECT_ERRNO(vfs().SetXattr(Alice(), st, "user.x", "v", 0), EPERM);
  EXPECT_OK(vfs().SetXattr(RootCtx(), st, "user.x", "v", 0));
  InodeId mine = UserDir(Alice(), "mine", 01777);
  EXPECT_OK(vfs().SetXattr(Alice(), mine, "user.x", "v", 0));
}

TEST_P(VfsXattrTest, UserXattrOnlyOnFilesAndDirectories) {
  ASSERT_OK_AND_ASSIGN(Attr link,
                       vfs().Symlink(RootCtx(), kRootInode, "l", "target"));
  ASSERT_OK_AND_ASSIGN(
      Attr fifo, vfs().Mknod(RootCtx(), kRootInode, "p", S_IFIFO | 0666, 0));
  for (InodeId ino : {link.inode.id, fifo.inode.id}) {
    SCOPED_TRACE(ino);
    EXPECT_ERRNO(vfs().SetXattr(RootCtx(), ino, "user.x", "v", 0), EPERM);
    EXPECT_ERRNO(vfs().GetXattr(RootCtx(), ino, "user.x"), ENODATA);
    // trusted.* has no such restriction.
    EXPECT_OK(vfs().SetXattr(RootCtx(), ino, "trusted.x", "v", 0));
  }
}

TEST_P(VfsXattrTest, TrustedNamespaceNeedsRoot) {
  InodeId f = MakeFile(Alice(), SharedDir("d"), "f", 0666);
  EXPECT_ERRNO(vfs().SetXattr(Alice(), f, "trusted.t", "v", 0), EPERM);
  ASSERT_OK(vfs().SetXattr(RootCtx(), f, "trusted.t", "secret", 0));
  ASSERT_OK(vfs().SetXattr(Alice(), f, "user.u", "v", 0));
  // Unprivileged callers neither see nor read trusted.* attributes.
  EXPECT_ERRNO(vfs().GetXattr(Alice(), f, "trusted.t"), ENODATA);
  EXPECT_ERRNO(vfs().RemoveXattr(Alice(), f, "trusted.t"), EPERM);
  EXPECT_THAT(List(Alice(), f), Not(Contains("trusted.t")));
  EXPECT_THAT(List(Alice(), f), Contains("user.u"));
  EXPECT_THAT(List(RootCtx(), f), UnorderedElementsAre("trusted.t", "user.u"));
  EXPECT_EQ(*vfs().GetXattr(RootCtx(), f, "trusted.t"), "secret");
}

TEST_P(VfsXattrTest, ChangesUpdateCtime) {
  InodeId f = MakeFile(RootCtx(), kRootInode, "f");
  const Inode before = Stat(f);
  NanoTime t = Tick();
  ASSERT_OK(vfs().SetXattr(RootCtx(), f, "user.x", "v", 0));
  Inode after = Stat(f);
  EXPECT_EQ(after.ctime, t);
  EXPECT_EQ(after.mtime, before.mtime);
  EXPECT_GT(after.change, before.change);
  t = Tick();
  ASSERT_OK(vfs().RemoveXattr(RootCtx(), f, "user.x"));
  EXPECT_EQ(Stat(f).ctime, t);
  // Reading changes nothing.
  Tick();
  EXPECT_ERRNO(vfs().GetXattr(RootCtx(), f, "user.x"), ENODATA);
  EXPECT_OK(vfs().ListXattr(RootCtx(), f));
  EXPECT_EQ(Stat(f).ctime, t);
}

TEST_P(VfsXattrTest, MissingInodeIsEnoent) {
  const InodeId missing = 1ULL << 40;
  EXPECT_ERRNO(vfs().SetXattr(RootCtx(), missing, "user.x", "v", 0), ENOENT);
  EXPECT_ERRNO(vfs().GetXattr(RootCtx(), missing, "user.x"), ENOENT);
  EXPECT_ERRNO(vfs().ListXattr(RootCtx(), missing), ENOENT);
}

TEST_P(VfsXattrTest, XattrsDieWithTheInode) {
  InodeId f = MakeFile(RootCtx(), kRootInode, "f");
  ASSERT_OK(vfs().SetXattr(RootCtx(), f, "user.x", "v", 0));
  ASSERT_OK(vfs().Unlink(RootCtx(), kRootInode, "f"));
  InodeId g = MakeFile(RootCtx(), kRootInode, "f");
  EXPECT_NE(g, f);
  EXPECT_TRUE(List(RootCtx(), g).empty());
  EXPECT_ERRNO(vfs().GetXattr(RootCtx(), f, "user.x"), ENOENT);
}

}  // namespace
}  // namespace concordfs
