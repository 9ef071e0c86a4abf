#include "smb/info/file_info.h"

#include <gtest/gtest.h>

#include "smb/info/attributes.h"
#include "smb/info/names.h"
#include "smb/info/times.h"
#include "smb/wire/unicode.h"
#include "test_util.h"

namespace concordfs::smb {
namespace {

using testing::DirAttr;
using testing::FileAttr;
using testing::kT0;
using testing::U16At;
using testing::U32At;
using testing::U64At;
using testing::U8At;
using testing::Utf16;

FileInfoContext FileCtx() {
  FileInfoContext c;
  c.attr = FileAttr();
  c.name = "dir\\file.txt";
  c.position = 123;
  c.mode = kFileSynchronousIoNonalert;
  c.access_mask = 0x12019F;
  c.ea_size = 0;
  c.volume_serial = 0x1122334455667788ULL;
  return c;
}

std::string Encode(uint8_t cls, const FileInfoContext& c,
                   NtStatus want = kStatusSuccess) {
  std::string out = "garbage";
  EXPECT_EQ(EncodeFileInfo(cls, c, &out), want) << int(cls);
  return out;
}

void ExpectBasicAt(const std::string& b, size_t off, const Inode& n) {
  EXPECT_EQ(U64At(b, off + 0), ToFiletime(n.btime));
  EXPECT_EQ(U64At(b, off + 8), ToFiletime(n.atime));
  EXPECT_EQ(U64At(b, off + 16), ToFiletime(n.mtime));
  EXPECT_EQ(U64At(b, off + 24), ToFiletime(n.ctime));
  EXPECT_EQ(U32At(b, off + 32), DosAttributes(n));
  EXPECT_EQ(U32At(b, off + 36), 0u);
}

TEST(FileInfo, Basic) {
  FileInfoContext c = FileCtx();
  std::string b = Encode(kFileBasicInformation, c);
  ASSERT_EQ(b.size(), 40u);
  ExpectBasicAt(b, 0, c.attr.inode);
  EXPECT_EQ(U64At(b, 0), ToFiletime(kT0));
  EXPECT_EQ(U32At(b, 32), kFileAttributeArchive);
}

TEST(FileInfo, StandardFileAndDirectory) {
  FileInfoContext c = FileCtx();
  std::string b = Encode(kFileStandardInformation, c);
  ASSERT_EQ(b.size(), 24u);
  EXPECT_EQ(U64At(b, 0), 8192u);  // AllocationSize
  EXPECT_EQ(U64At(b, 8), 5000u);  // EndOfFile
  EXPECT_EQ(U32At(b, 16), 2u);    // NumberOfLinks
  EXPECT_EQ(U8At(b, 20), 0);      // DeletePending
  EXPECT_EQ(U8At(b, 21), 0);      // Directory
  EXPECT_EQ(U16At(b, 22), 0);

  c.delete_pending = true;
  b = Encode(kFileStandardInformation, c);
  EXPECT_EQ(U32At(b, 16), 1u);
  EXPECT_EQ(U8At(b, 20), 1);

  c = FileCtx();
  c.attr = DirAttr();
  b = Encode(kFileStandardInformation, c);
  EXPECT_EQ(U64At(b, 0), 0u);
  EXPECT_EQ(U64At(b, 8), 0u);
  EXPECT_EQ(U32At(b, 16), 1u);
  EXPECT_EQ(U8At(b, 21), 1);
}

TEST(FileInfo, SmallFixedClasses) {
  FileInfoContext c = FileCtx();
  c.ea_size = 9;
  std::string b = Encode(kFileInternalInformation, c);
  ASSERT_EQ(b.size(), 8u);
  EXPECT_EQ(U64At(b, 0), 42u);
  b = Encode(kFileEaInformation, c);
  ASSERT_EQ(b.size(), 4u);
  EXPECT_EQ(U32At(b, 0), 9u);
  b = Encode(kFileAccessInformation, c);
  ASSERT_EQ(b.size(), 4u);
  EXPECT_EQ(U32At(b, 0), 0x12019Fu);
  b = Encode(kFilePositionInformation, c);
  ASSERT_EQ(b.size(), 8u);
  EXPECT_EQ(U64At(b, 0), 123u);
  b = Encode(kFileModeInformation, c);
  ASSERT_EQ(b.size(), 4u);
  EXPECT_EQ(U32At(b, 0), kFileSynchronousIoNonalert);
  b = Encode(kFileAlignmentInformation, c);
  ASSERT_EQ(b.size(), 4u);
  EXPECT_EQ(U32At(b, 0), 0u);
}

TEST(FileInfo, Names) {
  FileInfoContext c = FileCtx();
  std::string b = Encode(kFileNameInformation, c);
  std::string want = Utf16("\\dir\\file.txt");
  ASSERT_EQ(b.size(), 4 + want.size());
  EXPECT_EQ(U32At(b, 0), want.size());
  EXPECT_EQ(b.substr(4), want);

  b = Encode(kFileNormalizedNameInformation, c);
  EXPECT_EQ(U32At(b, 0), Utf16("dir\\file.txt").size());
  EXPECT_EQ(b.substr(4), Utf16("dir\\file.txt"));

  // A leading backslash in the context is not doubled; the root is "\".
  c.name = "\\a";
  EXPECT_EQ(Encode(kFileNameInformation, c).substr(4), Utf16("\\a"));
  c.name = "";
  EXPECT_EQ(Encode(kFileNameInformation, c).substr(4), Utf16("\\"));
  EXPECT_EQ(Encode(kFileNormalizedNameInformation, c).size(), 4u);

  // Non-ASCII names are UTF-16.
  c.name = "\xC3\xA9";  // é
  b = Encode(kFileNameInformation, c);
  EXPECT_EQ(U32At(b, 0), 4u);
  EXPECT_EQ(U16At(b, 6), 0x00E9);
}

TEST(FileInfo, All) {
  FileInfoContext c = FileCtx();
  c.ea_size = 3;
  std::string b = Encode(kFileAllInformation, c);
  std::string name = Utf16("\\dir\\file.txt");
  ASSERT_EQ(b.size(), 100 + name.size());
  ExpectBasicAt(b, 0, c.attr.inode);
  EXPECT_EQ(U64At(b, 40), 8192u);
  EXPECT_EQ(U64At(b, 48), 5000u);
  EXPECT_EQ(U32At(b, 56), 2u);
  EXPECT_EQ(U8At(b, 60), 0);
  EXPECT_EQ(U8At(b, 61), 0);
  EXPECT_EQ(U64At(b, 64), 42u);        // InternalInformation
  EXPECT_EQ(U32At(b, 72), 3u);         // EaInformation
  EXPECT_EQ(U32At(b, 76), 0x12019Fu);  // AccessInformation
  EXPECT_EQ(U64At(b, 80), 123u);       // PositionInformation
  EXPECT_EQ(U32At(b, 88), kFileSynchronousIoNonalert);
  EXPECT_EQ(U32At(b, 92), 0u);  // AlignmentInformation
  EXPECT_EQ(U32At(b, 96), name.size());
  EXPECT_EQ(b.substr(100), name);
}

TEST(FileInfo, Streams) {
  FileInfoContext c = FileCtx();
  std::string b = Encode(kFileStreamInformation, c);
  std::string name = Utf16("::$DATA");
  ASSERT_EQ(b.size(), 24 + name.size());
  EXPECT_EQ(U32At(b, 0), 0u);
  EXPECT_EQ(U32At(b, 4), 14u);
  EXPECT_EQ(U64At(b, 8), 5000u);
  EXPECT_EQ(U64At(b, 16), 8192u);
  EXPECT_EQ(b.substr(24), name);
  c.attr = DirAttr();
  EXPECT_EQ(Encode(kFileStreamInformation, c), "");
}

TEST(FileInfo, CompressionNetworkOpenTagId) {
  FileInfoContext c = FileCtx();
  std::string b = Encode(kFileCompressionInformation, c);
  ASSERT_EQ(b.size(), 16u);
  EXPECT_EQ(U64At(b, 0), 5000u);
  EXPECT_EQ(U16At(b, 8), 0);

  b = Encode(kFileNetworkOpenInformation, c);
  ASSERT_EQ(b.size(), 56u);
  EXPECT_EQ(U64At(b, 0), ToFiletime(kT0));
  EXPECT_EQ(U64At(b, 24), ToFiletime(c.attr.inode.ctime));
  EXPECT_EQ(U64At(b, 32), 8192u);
  EXPECT_EQ(U64At(b, 40), 5000u);
  EXPECT_EQ(U32At(b, 48), kFileAttributeArchive);
  EXPECT_EQ(U32At(b, 52), 0u);

  b = Encode(kFileAttributeTagInformation, c);
  ASSERT_EQ(b.size(), 8u);
  EXPECT_EQ(U32At(b, 0), kFileAttributeArchive);
  EXPECT_EQ(U32At(b, 4), 0u);
  c.attr.inode.type = FileType::kSymlink;
  b = Encode(kFileAttributeTagInformation, c);
  EXPECT_EQ(U32At(b, 0), kFileAttributeReparsePoint | kFileAttributeArchive);
  EXPECT_EQ(U32At(b, 4), kIoReparseTagSymlink);

  c = FileCtx();
  b = Encode(kFileIdInformation, c);
  ASSERT_EQ(b.size(), 24u);
  EXPECT_EQ(U64At(b, 0), 0x1122334455667788ULL);
  EXPECT_EQ(U64At(b, 8), 42u);
  EXPECT_EQ(U64At(b, 16), 0u);

  b = Encode(kFileStandardLinkInformation, c);
  ASSERT_EQ(b.size(), 12u);
  EXPECT_EQ(U32At(b, 0), 2u);
  EXPECT_EQ(U32At(b, 4), 2u);
}

TEST(FileInfo, AlternateNameIsTheShortName) {
  FileInfoContext c = FileCtx();
  c.name = "\\dir\\file.txt";
  std::string b = Encode(kFileAlternateNameInformation, c);
  ASSERT_EQ(b.size(), 4u + 16u);
  EXPECT_EQ(U32At(b, 0), 16u);
  EXPECT_EQ(b.substr(4), Utf8ToUtf16("FILE.TXT"));
  EXPECT_EQ(ShortName("readme"), "README");
  EXPECT_EQ(ShortName("a.b.c"), ShortName("a.b.c"));
  std::string longer = ShortName("a long file name.jpeg");
  EXPECT_EQ(longer.substr(0, 6), "ALONG~");
  EXPECT_EQ(longer.substr(longer.size() - 4), ".JPE");
  EXPECT_NE(ShortName("a long file name 1.txt"),
            ShortName("a long file name 2.txt"));
}

TEST(FileInfo, ErrorsLeaveOutputEmpty) {
  FileInfoContext c = FileCtx();
  EXPECT_EQ(Encode(kFileFullEaInformation, c, kStatusNoEasOnFile), "");
  FileInfoContext root = c;
  root.name = "\\";
  EXPECT_EQ(
      Encode(kFileAlternateNameInformation, root, kStatusObjectNameNotFound),
      "");
  EXPECT_EQ(Encode(kFilePipeInformation, c, kStatusNotSupported), "");
  EXPECT_EQ(Encode(kFileHardLinkInformation, c, kStatusNotSupported), "");
  EXPECT_EQ(Encode(0, c, kStatusInvalidInfoClass), "");
  EXPECT_EQ(Encode(1, c, kStatusInvalidInfoClass), "");  // a dir class
  EXPECT_EQ(Encode(200, c, kStatusInvalidInfoClass), "");
  // Set-only classes cannot be queried.
  EXPECT_EQ(Encode(kFileRenameInformation, c, kStatusInvalidInfoClass), "");
}

TEST(FileInfo, EveryClassIsItsMinSizeOrLonger) {
  FileInfoContext c = FileCtx();
  for (int cls = 0; cls < 256; ++cls) {
    std::string out;
    if (EncodeFileInfo(static_cast<uint8_t>(cls), c, &out) != kStatusSuccess) {
      continue;
    }
    EXPECT_GT(FileInfoMinSize(static_cast<uint8_t>(cls)), 0u) << cls;
    EXPECT_GE(out.size(), FileInfoMinSize(static_cast<uint8_t>(cls))) << cls;
  }
}

TEST(FileInfo, Fit) {
  FileInfoContext c = FileCtx();
  std::string b = Encode(kFileAllInformation, c);
  std::string full = b;
  EXPECT_EQ(FitFileInfo(kFileAllInformation, 4096, &b), kStatusSuccess);
  EXPECT_EQ(b, full);
  EXPECT_EQ(FitFileInfo(kFileAllInformation, 104, &b), kStatusBufferOverflow);
  EXPECT_EQ(b, full.substr(0, 104));
  // The length field still tells the full name length.
  EXPECT_EQ(U32At(b, 96), full.size() - 100);
  b = full;
  EXPECT_EQ(FitFileInfo(kFileAllInformation, 99, &b),
            kStatusInfoLengthMismatch);
  EXPECT_EQ(b, "");
  b = Encode(kFileBasicInformation, c);
  EXPECT_EQ(FitFileInfo(kFileBasicInformation, 39, &b),
            kStatusInfoLengthMismatch);
  b = Encode(kFileBasicInformation, c);
  EXPECT_EQ(FitFileInfo(kFileBasicInformation, 40, &b), kStatusSuccess);
}

}  // namespace
}  // namespace concordfs::smb
