// QUERY_INFO for the file system (InfoType SMB2_0_INFO_FILESYSTEM): encodes
// the MS-FSCC 2.5 FileFs* classes from the vfs statistics and share facts.
//
// Encoders replace *out and return an NT status; FitFsInfo applies the
// client's OutputBufferLength. Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "smb/info/nt_status.h"
#include "util/clock.h"
#include "vfs/vfs.h"

namespace concordfs::smb {

// FS_INFORMATION_CLASS values.
inline constexpr uint8_t kFileFsVolumeInformation = 1;
inline constexpr uint8_t kFileFsLabelInformation = 2;
inline constexpr uint8_t kFileFsSizeInformation = 3;
inline constexpr uint8_t kFileFsDeviceInformation = 4;
inline constexpr uint8_t kFileFsAttributeInformation = 5;
inline constexpr uint8_t kFileFsControlInformation = 6;
inline constexpr uint8_t kFileFsFullSizeInformation = 7;
inline constexpr uint8_t kFileFsObjectIdInformation = 8;
inline constexpr uint8_t kFileFsDriverPathInformation = 9;
inline constexpr uint8_t kFileFsVolumeFlagsInformation = 10;
inline constexpr uint8_t kFileFsSectorSizeInformation = 11;

// FileSystemAttributes bits (MS-FSCC 2.5.1).
inline constexpr uint32_t kFileCaseSensitiveSearch = 0x00000001;
inline constexpr uint32_t kFileCasePreservedNames = 0x00000002;
inline constexpr uint32_t kFileUnicodeOnDisk = 0x00000004;
inline constexpr uint32_t kFilePersistentAcls = 0x00000008;
inline constexpr uint32_t kFileSupportsSparseFiles = 0x00000040;
inline constexpr uint32_t kFileSupportsReparsePoints = 0x00000080;
inline constexpr uint32_t kFileNamedStreams = 0x00040000;
inline constexpr uint32_t kFileReadOnlyVolume = 0x00080000;
inline constexpr uint32_t kFileSupportsHardLinks = 0x00400000;

// What concordfs is: names are stored case-sensitively and as given, in
// Unicode; ACLs map onto mode bits that persist; symlinks show as reparse
// points; hard links work. No named streams, no EAs, no object ids.
inline constexpr uint32_t kDefaultFsAttributes =
    kFileCaseSensitiveSearch | kFileCasePreservedNames | kFileUnicodeOnDisk |
    kFilePersistentAcls | kFileSupportsReparsePoints | kFileSupportsHardLinks |
    0x00800000 /* FILE_SUPPORTS_EXTENDED_ATTRIBUTES */;

inline constexpr uint32_t kFileDeviceDisk = 0x00000007;
// FileFsDeviceInformation Characteristics.
inline constexpr uint32_t kFileReadOnlyDevice = 0x00000002;
inline constexpr uint32_t kFileRemoteDevice = 0x00000010;
inline constexpr uint32_t kFileDeviceIsMounted = 0x00000020;

struct FsInfoContext {
  FsStats stats;
  std::string volume_label = "concordfs";
  uint64_t volume_serial = 0;  // FileFsVolumeInformation sends the low 32 bits
  NanoTime created = 0;
  uint32_t sector_size = 512;
  std::string fs_name = "NTFS";
  uint32_t fs_attributes = kDefaultFsAttributes;
  bool read_only = false;  // adds FILE_READ_ONLY_VOLUME / _DEVICE
};

// Encodes `info_class` into *out (replacing it). Classes other than Volume,
// Size, Device, Attribute, FullSize, ObjectId and SectorSize give
// kStatusInvalidInfoClass and an empty *out.
//
// Allocation units are stats.block_size bytes (4096 if 0), made of
// block_size / sector_size sectors; the caller's available space is
// avail_bytes, the actual free space free_bytes.
NtStatus EncodeFsInfo(uint8_t info_class, const FsInfoContext& ctx,
                      std::string* out);

// The fixed part of a class (0 for classes EncodeFsInfo does not produce).
size_t FsInfoMinSize(uint8_t info_class);
// As FitFileInfo, for file system classes.
NtStatus FitFsInfo(uint8_t info_class, size_t max_output, std::string* out);

}  // namespace concordfs::smb
