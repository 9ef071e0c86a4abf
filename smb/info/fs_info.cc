#include "smb/info/fs_info.h"

#include "smb/info/times.h"
#include "smb/wire/le.h"
#include "smb/wire/unicode.h"

namespace concordfs::smb {
namespace {

struct Geometry {
  uint32_t bytes_per_sector;
  uint32_t sectors_per_unit;
  uint64_t unit;
};

Geometry GeometryOf(const FsInfoContext& c) {
  Geometry g;
  g.bytes_per_sector = c.sector_size ? c.sector_size : 512;
  uint64_t block = c.stats.block_size ? c.stats.block_size : 4096;
  uint64_t spu = block / g.bytes_per_sector;
  if (spu == 0) spu = 1;
  if (spu > UINT32_MAX) spu = UINT32_MAX;
  g.sectors_per_unit = static_cast<uint32_t>(spu);
  g.unit = spu * g.bytes_per_sector;
  return g;
}

void PutLengthAndName(LeWriter* w, const std::string& utf8) {
  std::string u16 = Utf8ToUtf16(utf8);
  w->U32(static_cast<uint32_t>(u16.size()));
  w->Bytes(u16);
}

}  // namespace

NtStatus EncodeFsInfo(uint8_t info_class, const FsInfoContext& c,
                      std::string* out) {
  out->clear();
  LeWriter w(out);
  Geometry g = GeometryOf(c);
  switch (info_class) {
    case kFileFsVolumeInformation: {
      std::string label = Utf8ToUtf16(c.volume_label);
      w.U64(ToFiletime(c.created));
      w.U32(static_cast<uint32_t>(c.volume_serial));
      w.U32(static_cast<uint32_t>(label.size()));
      w.U8(0);  // SupportsObjects
      w.U8(0);  // Reserved
      w.Bytes(label);
      break;
    }
    case kFileFsSizeInformation:
      w.U64(c.stats.total_bytes / g.unit);
      w.U64(c.stats.avail_bytes / g.unit);
      w.U32(g.sectors_per_unit);
      w.U32(g.bytes_per_sector);
      break;
    case kFileFsDeviceInformation:
      w.U32(kFileDeviceDisk);
      w.U32(kFileDeviceIsMounted | (c.read_only ? kFileReadOnlyDevice : 0));
      break;
    case kFileFsAttributeInformation:
      w.U32(c.fs_attributes | (c.read_only ? kFileReadOnlyVolume : 0));
      w.U32(c.stats.name_max ? c.stats.name_max : 255);
      PutLengthAndName(&w, c.fs_name);
      break;
    case kFileFsFullSizeInformation:
      w.U64(c.stats.total_bytes / g.unit);
      w.U64(c.stats.avail_bytes / g.unit);
      w.U64(c.stats.free_bytes / g.unit);
      w.U32(g.sectors_per_unit);
      w.U32(g.bytes_per_sector);
      break;
    case kFileFsControlInformation:
      // No quotas: every threshold and limit zero, no control flags.
      w.Zeros(48);
      break;
    case kFileFsObjectIdInformation:
      // The volume's object id: its serial, then zeros; no extended info.
      w.U64(c.volume_serial);
      w.U64(0);
      w.Zeros(48);
      break;
    case kFileFsSectorSizeInformation: {
      constexpr uint32_t kAlignedDevice = 0x1;
      constexpr uint32_t kPartitionAlignedOnDevice = 0x2;
      w.U32(g.bytes_per_sector);  // LogicalBytesPerSector
      w.U32(g.bytes_per_sector);  // PhysicalBytesPerSectorForAtomicity
      w.U32(g.bytes_per_sector);  // PhysicalBytesPerSectorForPerformance
      w.U32(g.bytes_per_sector);  // FileSystemEffective...ForAtomicity
      w.U32(kAlignedDevice | kPartitionAlignedOnDevice);
      w.U32(0);  // ByteOffsetForSectorAlignment
      w.U32(0);  // ByteOffsetForPartitionAlignment
      break;
    }
    default:
      return kStatusInvalidInfoClass;
  }
  return kStatusSuccess;
}

size_t FsInfoMinSize(uint8_t info_class) {
  switch (info_class) {
    // Windows (and smbtorture's qfs_buffercheck) count the variable-length
    // classes' fixed part rounded up to 8 bytes.
    case kFileFsVolumeInformation:
      return 24;
    case kFileFsSizeInformation:
      return 24;
    case kFileFsDeviceInformation:
      return 8;
    case kFileFsAttributeInformation:
      return 16;
    case kFileFsControlInformation:
      return 48;
    case kFileFsFullSizeInformation:
      return 32;
    case kFileFsObjectIdInformation:
      return 64;
    case kFileFsSectorSizeInformation:
      return 28;
    default:
      return 0;
  }
}

NtStatus FitFsInfo(uint8_t info_class, size_t max_output, std::string* out) {
  if (out->size() <= max_output) return kStatusSuccess;
  if (max_output < FsInfoMinSize(info_class)) {
    out->clear();
    return kStatusInfoLengthMismatch;
  }
  out->resize(max_output);
  return kStatusBufferOverflow;
}

}  // namespace concordfs::smb
