#include "smb/info/dir_info.h"

#include <gtest/gtest.h>

#include "smb/info/attributes.h"
#include "smb/info/times.h"
#include "smb/wire/unicode.h"
#include "test_util.h"

namespace concordfs::smb {
namespace {

using testing::DirAttr;
using testing::FileAttr;
using testing::kT0;
using testing::U32At;
using testing::U64At;
using testing::U8At;
using testing::Utf16;

struct Layout {
  uint8_t cls;
  size_t name_at;
  int ea_at;     // -1: none
  int tag_at;    // -1: none
  int id64_at;   // -1: none
  int id128_at;  // -1: none
  int short_at;  // ShortNameLength, -1: none
};

const Layout kLayouts[] = {
    {kFileDirectoryInformation, 64, -1, -1, -1, -1, -1},
    {kFileFullDirectoryInformation, 68, 64, -1, -1, -1, -1},
    {kFileBothDirectoryInformation, 94, 64, -1, -1, -1, 68},
    {kFileIdBothDirectoryInformation, 104, 64, -1, 96, -1, 68},
    {kFileIdFullDirectoryInformation, 80, 64, -1, 72, -1, -1},
    {kFileIdExtdDirectoryInformation, 88, 64, 68, -1, 72, -1},
    {kFileId64ExtdDirectoryInformation, 80, 64, 68, 72, -1, -1},
    {kFileIdAllExtdDirectoryInformation, 96, 64, 68, 72, 80, -1},
};

DirEntryInfo Entry(std::string name, Attr attr = FileAttr()) {
  return DirEntryInfo{std::move(name), std::move(attr)};
}

TEST(DirInfo, Classes) {
  for (const Layout& l : kLayouts) {
    EXPECT_TRUE(IsDirInfoClass(l.cls));
    EXPECT_EQ(DirEntryFixedSize(l.cls), l.name_at) << int(l.cls);
  }
  EXPECT_TRUE(IsDirInfoClass(kFileNamesInformation));
  EXPECT_FALSE(IsDirInfoClass(0));
  EXPECT_FALSE(IsDirInfoClass(4));
  EXPECT_FALSE(IsDirInfoClass(79));  // the "Both" 64/All variants: not made
  EXPECT_FALSE(IsDirInfoClass(81));
}

TEST(DirInfo, LayoutOfEveryClass) {
  for (const Layout& l : kLayouts) {
    SCOPED_TRACE(int(l.cls));
    std::string out;
    size_t last = 99;
    ASSERT_TRUE(AppendDirEntry(l.cls, Entry("abc.txt"), 65536, &out, &last));
    EXPECT_EQ(last, 0u);
    std::string name = Utf16("abc.txt");
    ASSERT_EQ(out.size(), l.name_at + name.size());
    EXPECT_EQ(U32At(out, 0), 0u);  // NextEntryOffset
    EXPECT_EQ(U32At(out, 4), 0u);  // FileIndex
    EXPECT_EQ(U64At(out, 8), ToFiletime(kT0));
    EXPECT_EQ(U64At(out, 16), ToFiletime(kT0 + kNanosPerSecond));
    EXPECT_EQ(U64At(out, 24), ToFiletime(kT0 + 2 * kNanosPerSecond));
    EXPECT_EQ(U64At(out, 32), ToFiletime(kT0 + 3 * kNanosPerSecond));
    EXPECT_EQ(U64At(out, 40), 5000u);
    EXPECT_EQ(U64At(out, 48), 8192u);
    EXPECT_EQ(U32At(out, 56), kFileAttributeArchive);
    EXPECT_EQ(U32At(out, 60), name.size());
    if (l.ea_at >= 0) {
      EXPECT_EQ(U32At(out, l.ea_at), 0u);
    }
    if (l.tag_at >= 0) {
      EXPECT_EQ(U32At(out, l.tag_at), 0u);
    }
    if (l.id64_at >= 0) {
      EXPECT_EQ(U64At(out, l.id64_at), 42u);
    }
    if (l.id128_at >= 0) {
      EXPECT_EQ(U64At(out, l.id128_at), 42u);
      EXPECT_EQ(U64At(out, l.id128_at + 8), 0u);
    }
    if (l.short_at >= 0) {  // the 8.3 name of "abc.txt": "ABC.TXT"
      EXPECT_EQ(U8At(out, l.short_at), 14);
      std::string want = Utf8ToUtf16("ABC.TXT");
      want.resize(24, '\0');
      EXPECT_EQ(out.substr(l.short_at + 2, 24), want);
    }
    EXPECT_EQ(out.substr(l.name_at), name);
  }
}

TEST(DirInfo, Names) {
  std::string out;
  size_t last = 0;
  ASSERT_TRUE(
      AppendDirEntry(kFileNamesInformation, Entry("xy"), 100, &out, &last));
  ASSERT_EQ(out.size(), 16u);
  EXPECT_EQ(U32At(out, 0), 0u);
  EXPECT_EQ(U32At(out, 4), 0u);
  EXPECT_EQ(U32At(out, 8), 4u);
  EXPECT_EQ(out.substr(12), Utf16("xy"));
}

TEST(DirInfo, ReparsePointsCarryTheTag) {
  Attr a = FileAttr();
  a.inode.type = FileType::kSymlink;
  for (const Layout& l : kLayouts) {
    std::string out;
    size_t last = 0;
    ASSERT_TRUE(AppendDirEntry(l.cls, Entry("l", a), 4096, &out, &last));
    EXPECT_NE(U32At(out, 56) & kFileAttributeReparsePoint, 0u);
    if (l.tag_at >= 0) {
      EXPECT_EQ(U32At(out, l.tag_at), kIoReparseTagSymlink);
      EXPECT_EQ(U32At(out, l.ea_at), 0u);
    } else if (l.ea_at >= 0) {
      EXPECT_EQ(U32At(out, l.ea_at), kIoReparseTagSymlink) << int(l.cls);
    }
  }
}

TEST(DirInfo, DirectoryEntry) {
  std::string out;
  size_t last = 0;
  ASSERT_TRUE(AppendDirEntry(kFileIdBothDirectoryInformation,
                             Entry(".", DirAttr()), 4096, &out, &last));
  EXPECT_EQ(U64At(out, 40), 0u);
  EXPECT_EQ(U64At(out, 48), 0u);
  EXPECT_EQ(U32At(out, 56), kFileAttributeDirectory);
  EXPECT_EQ(U64At(out, 96), 7u);
}

TEST(DirInfo, ChainingAndAlignment) {
  std::string out;
  size_t last = 0;
  // 64 + 2*1 = 66 bytes: the next entry starts at 72.
  ASSERT_TRUE(
      AppendDirEntry(kFileDirectoryInformation, Entry("a"), 1000, &out, &last));
  EXPECT_EQ(out.size(), 66u);
  ASSERT_TRUE(AppendDirEntry(kFileDirectoryInformation, Entry("bcd"), 1000,
                             &out, &last));
  EXPECT_EQ(last, 72u);
  EXPECT_EQ(U32At(out, 0), 72u);
  EXPECT_EQ(out.substr(66, 6), std::string(6, '\0'));  // padding
  EXPECT_EQ(out.size(), 72u + 64 + 6);
  ASSERT_TRUE(
      AppendDirEntry(kFileDirectoryInformation, Entry("e"), 1000, &out, &last));
  EXPECT_EQ(last, 144u);
  EXPECT_EQ(U32At(out, 72), 72u);
  EXPECT_EQ(U32At(out, 144), 0u);  // the last entry ends the chain
  // Walk the chain.
  size_t pos = 0, count = 1;
  while (U32At(out, pos) != 0) {
    pos += U32At(out, pos);
    ++count;
    EXPECT_EQ(pos % 8, 0u);
  }
  EXPECT_EQ(count, 3u);
}

TEST(DirInfo, OverflowAppendsNothing) {
  std::string out;
  size_t last = 0;
  // Exactly fits.
  ASSERT_TRUE(
      AppendDirEntry(kFileDirectoryInformation, Entry("ab"), 68, &out, &last));
  // Does not fit at all.
  std::string before = out;
  EXPECT_FALSE(AppendDirEntry(kFileDirectoryInformation, Entry("c"), 72 + 65,
                              &out, &last));
  EXPECT_EQ(out, before);
  EXPECT_EQ(last, 0u);
  EXPECT_EQ(U32At(out, 0), 0u);
  // The padding counts: 68 -> 72, +66 = 138.
  EXPECT_TRUE(
      AppendDirEntry(kFileDirectoryInformation, Entry("c"), 138, &out, &last));
  EXPECT_EQ(out.size(), 138u);
  // A max_total smaller than what is already there.
  EXPECT_FALSE(
      AppendDirEntry(kFileDirectoryInformation, Entry("d"), 10, &out, &last));
  EXPECT_EQ(out.size(), 138u);
  // An empty buffer with a tiny limit.
  std::string empty;
  EXPECT_FALSE(
      AppendDirEntry(kFileDirectoryInformation, Entry("d"), 64, &empty, &last));
  EXPECT_TRUE(empty.empty());
}

TEST(DirInfo, UnknownClassAppendsNothing) {
  std::string out;
  size_t last = 0;
  EXPECT_FALSE(AppendDirEntry(4, Entry("a"), 4096, &out, &last));
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace concordfs::smb
