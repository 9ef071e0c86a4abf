#include "smb/info/fs_info.h"

#include <gtest/gtest.h>

#include "smb/info/times.h"
#include "test_util.h"

namespace concordfs::smb {
namespace {

using testing::kT0;
using testing::U32At;
using testing::U64At;
using testing::U8At;
using testing::Utf16;

FsInfoContext Ctx() {
  FsInfoContext c;
  c.stats.block_size = 4096;
  c.stats.total_bytes = 4096ULL * 1000;
  c.stats.free_bytes = 4096ULL * 300;
  c.stats.avail_bytes = 4096ULL * 250 + 100;  // partial unit rounds down
  c.volume_serial = 0xAABBCCDD11223344ULL;
  c.created = kT0;
  return c;
}

std::string Encode(uint8_t cls, const FsInfoContext& c,
                   NtStatus want = kStatusSuccess) {
  std::string out = "garbage";
  EXPECT_EQ(EncodeFsInfo(cls, c, &out), want) << int(cls);
  return out;
}

TEST(FsInfo, Volume) {
  std::string b = Encode(kFileFsVolumeInformation, Ctx());
  std::string label = Utf16("concordfs");
  ASSERT_EQ(b.size(), 18 + label.size());
  EXPECT_EQ(U64At(b, 0), ToFiletime(kT0));
  EXPECT_EQ(U32At(b, 8), 0x11223344u);
  EXPECT_EQ(U32At(b, 12), label.size());
  EXPECT_EQ(U8At(b, 16), 0);
  EXPECT_EQ(U8At(b, 17), 0);
  EXPECT_EQ(b.substr(18), label);
}

TEST(FsInfo, SizeAndFullSize) {
  std::string b = Encode(kFileFsSizeInformation, Ctx());
  ASSERT_EQ(b.size(), 24u);
  EXPECT_EQ(U64At(b, 0), 1000u);
  EXPECT_EQ(U64At(b, 8), 250u);
  EXPECT_EQ(U32At(b, 16), 8u);    // sectors per unit
  EXPECT_EQ(U32At(b, 20), 512u);  // bytes per sector

  b = Encode(kFileFsFullSizeInformation, Ctx());
  ASSERT_EQ(b.size(), 32u);
  EXPECT_EQ(U64At(b, 0), 1000u);
  EXPECT_EQ(U64At(b, 8), 250u);   // caller available
  EXPECT_EQ(U64At(b, 16), 300u);  // actual available
  EXPECT_EQ(U32At(b, 24), 8u);
  EXPECT_EQ(U32At(b, 28), 512u);
}

TEST(FsInfo, OddGeometryNeverDividesByZero) {
  FsInfoContext c = Ctx();
  c.stats.block_size = 0;
  c.sector_size = 0;
  std::string b = Encode(kFileFsSizeInformation, c);
  EXPECT_EQ(U32At(b, 16), 8u);
  EXPECT_EQ(U32At(b, 20), 512u);
  c.stats.block_size = 256;  // smaller than a sector
  b = Encode(kFileFsSizeInformation, c);
  EXPECT_EQ(U32At(b, 16), 1u);
  EXPECT_EQ(U64At(b, 0), 4096ULL * 1000 / 512);
}

TEST(FsInfo, Device) {
  std::string b = Encode(kFileFsDeviceInformation, Ctx());
  ASSERT_EQ(b.size(), 8u);
  EXPECT_EQ(U32At(b, 0), kFileDeviceDisk);
  EXPECT_EQ(U32At(b, 4), kFileDeviceIsMounted);
  FsInfoContext c = Ctx();
  c.read_only = true;
  b = Encode(kFileFsDeviceInformation, c);
  EXPECT_EQ(U32At(b, 4), kFileDeviceIsMounted | kFileReadOnlyDevice);
}

TEST(FsInfo, Attribute) {
  std::string b = Encode(kFileFsAttributeInformation, Ctx());
  std::string name = Utf16("NTFS");
  ASSERT_EQ(b.size(), 12 + name.size());
  EXPECT_EQ(U32At(b, 0), kDefaultFsAttributes);
  EXPECT_EQ(U32At(b, 0) & 0xF, 0xFu);  // case, preserved, unicode, ACLs
  EXPECT_EQ(U32At(b, 0) & kFileNamedStreams, 0u);
  EXPECT_EQ(U32At(b, 4), 255u);
  EXPECT_EQ(U32At(b, 8), name.size());
  EXPECT_EQ(b.substr(12), name);
  FsInfoContext c = Ctx();
  c.read_only = true;
  b = Encode(kFileFsAttributeInformation, c);
  EXPECT_NE(U32At(b, 0) & kFileReadOnlyVolume, 0u);
}

TEST(FsInfo, ObjectIdAndSectorSize) {
  std::string b = Encode(kFileFsObjectIdInformation, Ctx());
  ASSERT_EQ(b.size(), 64u);
  EXPECT_EQ(U64At(b, 0), 0xAABBCCDD11223344ULL);
  b = Encode(kFileFsSectorSizeInformation, Ctx());
  ASSERT_EQ(b.size(), 28u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(U32At(b, 4 * i), 512u);
  EXPECT_EQ(U32At(b, 16), 3u);
  EXPECT_EQ(U32At(b, 20), 0u);
  EXPECT_EQ(U32At(b, 24), 0u);
}

TEST(FsInfo, UnknownClasses) {
  for (uint8_t cls : {0, 2, 9, 10, 12, 255}) {
    EXPECT_EQ(Encode(cls, Ctx(), kStatusInvalidInfoClass), "");
  }
}

TEST(FsInfo, Fit) {
  std::string b = Encode(kFileFsVolumeInformation, Ctx());
  std::string full = b;
  EXPECT_EQ(FitFsInfo(kFileFsVolumeInformation, 24, &b), kStatusBufferOverflow);
  EXPECT_EQ(b, full.substr(0, 24));
  b = full;
  EXPECT_EQ(FitFsInfo(kFileFsVolumeInformation, 23, &b),
            kStatusInfoLengthMismatch);
  b = Encode(kFileFsSizeInformation, Ctx());
  EXPECT_EQ(FitFsInfo(kFileFsSizeInformation, 24, &b), kStatusSuccess);
  EXPECT_EQ(FitFsInfo(kFileFsSizeInformation, 23, &b),
            kStatusInfoLengthMismatch);
}

}  // namespace
}  // namespace concordfs::smb
