// SET_INFO for files (InfoType SMB2_0_INFO_FILE): bounds-checked decoders
// of the MS-FSCC 2.4 structures a client sends, into small structs the
// server core applies through the vfs.
//
// Every decoder accepts a buffer at least as long as the structure (longer
// is allowed, as on Windows) and returns kStatusInfoLengthMismatch when it
// is shorter, kStatusInvalidParameter for values MS-FSA rejects, or the
// path status of a bad rename/link target. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "smb/info/file_info.h"
#include "smb/info/names.h"
#include "smb/info/nt_status.h"
#include "util/clock.h"

namespace concordfs::smb {

// One time field of FileBasicInformation.
struct TimeChange {
  enum class Kind {
    kUnchanged,  // 0
    kSet,        // a time: `value`
    kFreeze,     // -1: unchanged, and stop automatic updates on this handle
    kUnfreeze,   // -2: unchanged, and resume automatic updates
  };
  Kind kind = Kind::kUnchanged;
  NanoTime value = 0;

  bool operator==(const TimeChange&) const = default;
};

struct BasicInfoChange {
  TimeChange creation;
  TimeChange last_access;
  TimeChange last_write;
  TimeChange change;
  // FileAttributes as sent; 0 = unchanged. See StoredDosAttributes.
  uint32_t attributes = 0;
};
// 40 bytes. Times below -2 are invalid. (FILE_ATTRIBUTE_DIRECTORY on a
// file and TEMPORARY on a directory are the caller's checks: they need
// the file type.)
NtStatus DecodeBasicInformation(std::string_view in, BasicInfoChange* out);

// FileRenameInformation / FileLinkInformation (SMB2 layout, MS-FSCC
// 2.4.42.2 / 2.4.27.2): ReplaceIfExists, 7 reserved, RootDirectory (must
// be 0), FileNameLength, FileName.
struct RenameInfo {
  bool replace_if_exists = false;
  std::string name;  // UTF-8, as sent
  SmbPath path;      // parsed; leading backslashes are tolerated
};
NtStatus DecodeRenameInformation(std::string_view in, RenameInfo* out);
NtStatus DecodeLinkInformation(std::string_view in, RenameInfo* out);

// FileDispositionInformation: DeletePending (1 byte).
NtStatus DecodeDispositionInformation(std::string_view in, bool* delete_file);

// FileDispositionInformationEx flags (MS-FSCC 2.4.12).
inline constexpr uint32_t kFileDispositionDelete = 0x00000001;
inline constexpr uint32_t kFileDispositionPosixSemantics = 0x00000002;
inline constexpr uint32_t kFileDispositionForceImageSectionCheck = 0x4;
inline constexpr uint32_t kFileDispositionOnClose = 0x00000008;
inline constexpr uint32_t kFileDispositionIgnoreReadonlyAttribute = 0x10;
struct DispositionEx {
  uint32_t flags = 0;
  bool delete_file() const { return flags & kFileDispositionDelete; }
  bool posix_semantics() const {
    return flags & kFileDispositionPosixSemantics;
  }
  bool on_close() const { return flags & kFileDispositionOnClose; }
  bool ignore_readonly() const {
    return flags & kFileDispositionIgnoreReadonlyAttribute;
  }
};
// 4 bytes; unknown flag bits are invalid.
NtStatus DecodeDispositionInformationEx(std::string_view in,
                                        DispositionEx* out);

// FilePositionInformation: CurrentByteOffset (8, non-negative).
NtStatus DecodePositionInformation(std::string_view in, uint64_t* offset);
// FileModeInformation: Mode (4); only WRITE_THROUGH, SEQUENTIAL_ONLY and
// the two SYNCHRONOUS_IO flags may be set, not both of the latter.
NtStatus DecodeModeInformation(std::string_view in, uint32_t* mode);
// FileAllocationInformation: AllocationSize (8, non-negative).
NtStatus DecodeAllocationInformation(std::string_view in, uint64_t* size);
// FileEndOfFileInformation: EndOfFile (8, non-negative).
NtStatus DecodeEndOfFileInformation(std::string_view in, uint64_t* size);
// FileValidDataLengthInformation: ValidDataLength (8, non-negative).
NtStatus DecodeValidDataLengthInformation(std::string_view in,
                                          uint64_t* length);

}  // namespace concordfs::smb
