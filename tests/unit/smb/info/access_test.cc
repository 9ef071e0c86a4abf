#include "smb/info/access.h"

#include <gtest/gtest.h>

namespace concordfs::smb {
namespace {

Inode Node(FileType type, uint32_t mode, uint32_t uid, uint32_t gid) {
  Inode n;
  n.type = type;
  n.mode = mode;
  n.uid = uid;
  n.gid = gid;
  return n;
}

Credential User(uint32_t uid, uint32_t gid, std::vector<uint32_t> groups = {}) {
  Credential c;
  c.uid = uid;
  c.gid = gid;
  c.groups = std::move(groups);
  return c;
}

constexpr uint32_t kBase = kReadControl | kSynchronize | kFileReadAttributes;
constexpr uint32_t kRead = kFileReadData | kFileReadEa;
constexpr uint32_t kWrite =
    kFileWriteData | kFileAppendData | kFileWriteEa | kFileWriteAttributes;
constexpr uint32_t kOwner =
    kWriteDac | kWriteOwner | kDelete | kFileWriteAttributes;

TEST(Access, Composites) {
  EXPECT_EQ(kFileGenericRead, 0x00120089u);
  EXPECT_EQ(kFileGenericWrite, 0x00120116u);
  EXPECT_EQ(kFileGenericExecute, 0x001200A0u);
  EXPECT_EQ(kFileAllAccess, 0x001F01FFu);
}

TEST(Access, MapGeneric) {
  EXPECT_EQ(MapGenericAccess(kGenericRead), kFileGenericRead);
  EXPECT_EQ(MapGenericAccess(kGenericWrite), kFileGenericWrite);
  EXPECT_EQ(MapGenericAccess(kGenericExecute), kFileGenericExecute);
  EXPECT_EQ(MapGenericAccess(kGenericAll), kFileAllAccess);
  EXPECT_EQ(MapGenericAccess(kGenericRead | kDelete | kMaximumAllowed),
            kFileGenericRead | kDelete | kMaximumAllowed);
  EXPECT_EQ(MapGenericAccess(kFileReadData), kFileReadData);
  EXPECT_EQ(MapGenericAccess(0), 0u);
}

TEST(MaximalAccess, Root) {
  Inode f = Node(FileType::kRegular, 0, 1000, 100);
  EXPECT_EQ(MaximalAccess(f, Credential::Root()), kFileAllAccess);
}

TEST(MaximalAccess, ClassesOfAFile) {
  Inode f = Node(FileType::kRegular, 0754, 1000, 100);
  // Owner: rwx plus the owner's rights.
  EXPECT_EQ(MaximalAccess(f, User(1000, 1)),
            kBase | kRead | kWrite | kFileExecute | kOwner);
  // Group by primary or supplementary group: r-x.
  EXPECT_EQ(MaximalAccess(f, User(2000, 100)), kBase | kRead | kFileExecute);
  EXPECT_EQ(MaximalAccess(f, User(2000, 5, {7, 100})),
            kBase | kRead | kFileExecute);
  // Other: r--.
  EXPECT_EQ(MaximalAccess(f, User(2000, 5)), kBase | kRead);
}

TEST(MaximalAccess, PosixClassSelectionNotUnion) {
  // Owner without read while others may read: the owner class applies.
  Inode f = Node(FileType::kRegular, 0044, 1000, 100);
  uint32_t m = MaximalAccess(f, User(1000, 100));
  EXPECT_EQ(m & kFileReadData, 0u);
  EXPECT_NE(m & kWriteDac, 0u);
}

TEST(MaximalAccess, DirectoryWriteAddsDeleteChild) {
  Inode d = Node(FileType::kDirectory, 0770, 1000, 100);
  uint32_t m = MaximalAccess(d, User(2000, 100));
  EXPECT_NE(m & kFileDeleteChild, 0u);
  EXPECT_EQ(m & kDelete, 0u);
  EXPECT_EQ(MaximalAccess(d, User(3000, 3)), kBase);
}

TEST(MaximalAccess, DeleteFromParent) {
  Inode f = Node(FileType::kRegular, 0644, 1000, 100);
  Inode parent = Node(FileType::kDirectory, 0777, 0, 0);
  EXPECT_NE(MaximalAccess(f, User(2000, 5), parent) & kDelete, 0u);
  parent.mode = 0755;
  EXPECT_EQ(MaximalAccess(f, User(2000, 5), parent) & kDelete, 0u);
  // Owner of the file but no write on the parent: no DELETE.
  EXPECT_EQ(MaximalAccess(f, User(1000, 5), parent) & kDelete, 0u);
  // Sticky directory: only the file's or the directory's owner.
  parent.mode = 01777;
  EXPECT_EQ(MaximalAccess(f, User(2000, 5), parent) & kDelete, 0u);
  EXPECT_NE(MaximalAccess(f, User(1000, 5), parent) & kDelete, 0u);
  parent.uid = 2000;
  EXPECT_NE(MaximalAccess(f, User(2000, 5), parent) & kDelete, 0u);
  EXPECT_EQ(MaximalAccess(f, Credential::Root(), parent), kFileAllAccess);
}

}  // namespace
}  // namespace concordfs::smb
