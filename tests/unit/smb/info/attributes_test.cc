#include "smb/info/attributes.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace concordfs::smb {
namespace {

using testing::FileAttr;
using testing::kT0;

Inode Node(FileType type, uint32_t dos) {
  Inode n;
  n.type = type;
  n.dos_attrs = dos;
  return n;
}

TEST(DosAttributes, Table) {
  struct Case {
    FileType type;
    uint32_t stored;
    uint32_t want;
  } cases[] = {
      // Never set: files are ARCHIVE, directories DIRECTORY.
      {FileType::kRegular, 0, kFileAttributeArchive},
      {FileType::kDirectory, 0, kFileAttributeDirectory},
      {FileType::kSymlink, 0,
       kFileAttributeReparsePoint | kFileAttributeArchive},
      {FileType::kFifo, 0, kFileAttributeArchive},
      // Explicitly set to nothing: NORMAL, alone.
      {FileType::kRegular, kDosAttrsExplicit, kFileAttributeNormal},
      {FileType::kRegular, kDosAttrsExplicit | kDosReadOnly,
       kFileAttributeReadonly},
      {FileType::kRegular, kDosAttrsExplicit | kDosHidden | kDosArchive,
       kFileAttributeHidden | kFileAttributeArchive},
      {FileType::kDirectory, kDosHidden | kDosSystem,
       kFileAttributeDirectory | kFileAttributeHidden | kFileAttributeSystem},
      {FileType::kSymlink, kDosAttrsExplicit, kFileAttributeReparsePoint},
      // Unknown stored bits are not reported.
      {FileType::kRegular, kDosAttrsExplicit | 0x8000, kFileAttributeNormal},
      {FileType::kRegular, kDosAttrsExplicit | kFileAttributeTemporary,
       kFileAttributeTemporary},

  };
  for (const Case& c : cases) {
    EXPECT_EQ(DosAttributes(Node(c.type, c.stored)), c.want)
        << FileTypeName(c.type) << " " << c.stored;
  }
}

TEST(DosAttributes, StoredRoundTrip) {
  for (uint32_t wire : {0x0u, 0x1u, 0x2u, 0x4u, 0x20u, 0x27u, 0x80u, 0x100u,
                        0x10u | 0x2u, 0x400u | 0x1u}) {
    uint32_t file = DosAttributes(
        Node(FileType::kRegular, StoredDosAttributes(wire, false)));
    uint32_t want = wire & kStorableDosAttributes;
    EXPECT_EQ(file, want ? want : kFileAttributeNormal) << wire;
    uint32_t dir = DosAttributes(
        Node(FileType::kDirectory, StoredDosAttributes(wire, true)));
    EXPECT_EQ(dir, kFileAttributeDirectory | want) << wire;
  }
}

TEST(DosAttributes, Create) {
  EXPECT_EQ(CreateDosAttributes(0, false), 0u);
  EXPECT_EQ(CreateDosAttributes(kFileAttributeNormal, false), 0u);
  EXPECT_EQ(CreateDosAttributes(kFileAttributeArchive, false), 0u);
  EXPECT_EQ(
      DosAttributes(Node(FileType::kRegular,
                         CreateDosAttributes(kFileAttributeHidden, false))),
      kFileAttributeHidden | kFileAttributeArchive);
  EXPECT_EQ(CreateDosAttributes(kFileAttributeDirectory, true), 0u);
  EXPECT_EQ(CreateDosAttributes(kFileAttributeSystem, true),
            kFileAttributeSystem);
}

TEST(AllocationSize, HintElseUsedRoundedUp) {
  Attr a = FileAttr();
  a.used_bytes = 0;
  a.inode.size = 0;
  EXPECT_EQ(AllocationSize(a), 0u);
  a.used_bytes = 1;
  EXPECT_EQ(AllocationSize(a), 4096u);
  a.used_bytes = 4096;
  EXPECT_EQ(AllocationSize(a), 4096u);
  a.used_bytes = 4097;
  EXPECT_EQ(AllocationSize(a), 8192u);
  a.inode.alloc_size = 1 << 20;
  EXPECT_EQ(AllocationSize(a), 1u << 20);
  a.used_bytes = UINT64_MAX;
  a.inode.alloc_size = 0;
  EXPECT_EQ(AllocationSize(a) % 4096, 0u);
  a.inode.type = FileType::kDirectory;
  EXPECT_EQ(AllocationSize(a), 0u);
}

TEST(FileTimes, BirthTimeFallsBackToEarliest) {
  Attr a = FileAttr();
  FileTimes t = FileTimesOf(a.inode);
  EXPECT_EQ(t.creation, ToFiletime(kT0));
  EXPECT_EQ(t.last_access, ToFiletime(a.inode.atime));
  EXPECT_EQ(t.last_write, ToFiletime(a.inode.mtime));
  EXPECT_EQ(t.change, ToFiletime(a.inode.ctime));
  a.inode.btime = 0;
  EXPECT_EQ(FileTimesOf(a.inode).creation, ToFiletime(a.inode.mtime));
}

TEST(FileIds, InodeIdAndTags) {
  Attr a = FileAttr();
  EXPECT_EQ(FileIdOf(a.inode), 42u);
  EXPECT_EQ(ReparseTagOf(a.inode), 0u);
  a.inode.type = FileType::kSymlink;
  EXPECT_EQ(ReparseTagOf(a.inode), kIoReparseTagSymlink);
  EXPECT_EQ(EndOfFile(a.inode), 5000u);
  a.inode.type = FileType::kDirectory;
  EXPECT_EQ(EndOfFile(a.inode), 0u);
}

}  // namespace
}  // namespace concordfs::smb
