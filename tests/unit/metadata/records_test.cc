#include "metadata/records.h"

#include <gtest/gtest.h>

namespace concordfs {
namespace {

Inode SampleInode() {
  Inode n;
  n.id = 42;
  n.generation = 7;
  n.type = FileType::kSymlink;
  n.mode = 04755;
  n.uid = 1000;
  n.gid = 100;
  n.nlink = 3;
  n.size = 1ULL << 40;
  n.rdev = 0x0801;
  n.atime = -1;
  n.mtime = 2;
  n.ctime = 3;
  n.btime = 4;
  n.change = 99;
  n.dos_attrs = kDosHidden | kDosArchive;
  n.alloc_size = 8192;
  n.next_cookie = 17;
  n.parent = 5;
  return n;
}

TEST(RecordsTest, InodeRoundTrip) {
  Inode n = SampleInode();
  Inode back;
  ASSERT_TRUE(DecodeInode(EncodeInode(n), &back).ok());
  EXPECT_EQ(back, n);
  EXPECT_EQ(n.st_mode(), S_IFLNK | 04755u);
}

TEST(RecordsTest, InodeRejectsEveryTruncationAndBadType) {
  std::string bytes = EncodeInode(SampleInode());
  for (size_t len = 0; len < bytes.size(); ++len) {
    Inode out;
    EXPECT_EQ(DecodeInode(bytes.substr(0, len), &out).code(), EUCLEAN) << len;
  }
  Inode out;
  EXPECT_EQ(DecodeInode(bytes + "x", &out).code(), EUCLEAN);
  std::string bad = bytes;
  bad[13] = 9;  // type byte after format(1) id(8) generation(4)
  EXPECT_EQ(DecodeInode(bad, &out).code(), EUCLEAN);
}

TEST(RecordsTest, EntryAndCookieValues) {
  DirEntry e{"name", 9, FileType::kDirectory, 12};
  DirEntry a;
  ASSERT_TRUE(DecodeEntryValue(EncodeEntryValue(e), &a).ok());
  EXPECT_EQ(a.child, 9u);
  EXPECT_EQ(a.type, FileType::kDirectory);
  EXPECT_EQ(a.cookie, 12u);
  DirEntry c;
  ASSERT_TRUE(DecodeCookieValue(EncodeCookieValue(e), &c).ok());
  EXPECT_EQ(c.name, "name");
  EXPECT_EQ(c.child, 9u);
  EXPECT_FALSE(DecodeEntryValue("short", &a).ok());
  EXPECT_FALSE(DecodeCookieValue(std::string(9, '\0'), &c).ok());
}

TEST(RecordsTest, FileTypeModes) {
  for (FileType t : {FileType::kRegular, FileType::kDirectory,
                     FileType::kSymlink, FileType::kFifo, FileType::kSocket,
                     FileType::kCharDevice, FileType::kBlockDevice}) {
    FileType back;
    ASSERT_TRUE(FileTypeFromMode(FileTypeToMode(t) | 0644, &back));
    EXPECT_EQ(back, t);
  }
  FileType out;
  EXPECT_FALSE(FileTypeFromMode(0644, &out));
}

}  // namespace
}  // namespace concordfs
