// QUERY_INFO for files (InfoType SMB2_0_INFO_FILE): encodes the MS-FSCC 2.4
// information classes from a file's attributes and its open's state.
//
// Encoders replace *out with the little-endian structure and return an NT
// status. Output that is longer than the client's OutputBufferLength is cut
// by FitFileInfo (MS-SMB2 3.3.5.20.1). Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "smb/info/nt_status.h"
#include "util/clock.h"
#include "vfs/vfs.h"

namespace concordfs::smb {

// FILE_INFORMATION_CLASS values (MS-FSCC 2.4). Directory enumeration
// classes are in dir_info.h.
inline constexpr uint8_t kFileBasicInformation = 4;
inline constexpr uint8_t kFileStandardInformation = 5;
inline constexpr uint8_t kFileInternalInformation = 6;
inline constexpr uint8_t kFileEaInformation = 7;
inline constexpr uint8_t kFileAccessInformation = 8;
inline constexpr uint8_t kFileNameInformation = 9;
inline constexpr uint8_t kFileRenameInformation = 10;
inline constexpr uint8_t kFileLinkInformation = 11;
inline constexpr uint8_t kFileDispositionInformation = 13;
inline constexpr uint8_t kFilePositionInformation = 14;
inline constexpr uint8_t kFileFullEaInformation = 15;
inline constexpr uint8_t kFileModeInformation = 16;
inline constexpr uint8_t kFileAlignmentInformation = 17;
inline constexpr uint8_t kFileAllInformation = 18;
inline constexpr uint8_t kFileAllocationInformation = 19;
inline constexpr uint8_t kFileEndOfFileInformation = 20;
inline constexpr uint8_t kFileAlternateNameInformation = 21;
inline constexpr uint8_t kFileStreamInformation = 22;
inline constexpr uint8_t kFilePipeInformation = 23;
inline constexpr uint8_t kFilePipeLocalInformation = 24;
inline constexpr uint8_t kFilePipeRemoteInformation = 25;
inline constexpr uint8_t kFileCompressionInformation = 28;
inline constexpr uint8_t kFileObjectIdInformation = 29;
inline constexpr uint8_t kFileQuotaInformation = 32;
inline constexpr uint8_t kFileReparsePointInformation = 33;
inline constexpr uint8_t kFileNetworkOpenInformation = 34;
inline constexpr uint8_t kFileAttributeTagInformation = 35;
inline constexpr uint8_t kFileTrackingInformation = 36;
inline constexpr uint8_t kFileValidDataLengthInformation = 39;
inline constexpr uint8_t kFileShortNameInformation = 40;
inline constexpr uint8_t kFileSfioReserveInformation = 44;
inline constexpr uint8_t kFileSfioVolumeInformation = 45;
inline constexpr uint8_t kFileHardLinkInformation = 46;
inline constexpr uint8_t kFileNormalizedNameInformation = 48;
inline constexpr uint8_t kFileStandardLinkInformation = 54;
inline constexpr uint8_t kFileIdInformation = 59;
inline constexpr uint8_t kFileDispositionInformationEx = 64;
inline constexpr uint8_t kFileRenameInformationEx = 65;
inline constexpr uint8_t kFileCaseSensitiveInformation = 71;

// FileModeInformation bits (MS-FSCC 2.4.31).
inline constexpr uint32_t kFileWriteThrough = 0x00000002;
inline constexpr uint32_t kFileSequentialOnly = 0x00000004;
inline constexpr uint32_t kFileNoIntermediateBuffering = 0x00000008;
inline constexpr uint32_t kFileSynchronousIoAlert = 0x00000010;
inline constexpr uint32_t kFileSynchronousIoNonalert = 0x00000020;
inline constexpr uint32_t kFileDeleteOnClose = 0x00001000;

struct FileInfoContext {
  Attr attr;
  // Path relative to the share root, components separated by backslashes,
  // with or without a leading backslash ("" or "\" is the root).
  std::string name;
  uint64_t position = 0;     // FilePositionInformation (SMB2 servers send 0)
  uint32_t mode = 0;         // FileModeInformation
  uint32_t access_mask = 0;  // the open's granted access
  bool delete_pending = false;
  uint32_t ea_size = 0;
  uint64_t volume_serial = 0;  // FileIdInformation
};

// Encodes `info_class` into *out (replacing it). Returns kStatusSuccess,
// kStatusInvalidInfoClass for classes MS-FSCC does not define for queries,
// kStatusNotSupported for defined ones concordfs does not implement,
// kStatusNoEasOnFile for FileFullEaInformation (no EAs are kept) and
// kStatusObjectNameNotFound for FileAlternateNameInformation (no 8.3 names).
// On failure *out is empty.
//
// Names: FileNameInformation and FileAllInformation carry "\dir\file";
// FileNormalizedNameInformation carries "dir\file" (root: empty).
// Streams: files list one "::$DATA" stream, directories none.
NtStatus EncodeFileInfo(uint8_t info_class, const FileInfoContext& ctx,
                        std::string* out);

// The fixed part of a class's structure: a reply buffer smaller than this
// fails with INFO_LENGTH_MISMATCH. 0 for classes EncodeFileInfo does not
// produce.
size_t FileInfoMinSize(uint8_t info_class);

// Applies the client's OutputBufferLength to an encoded structure: kept as
// is when it fits; INFO_LENGTH_MISMATCH (and *out cleared) when even the
// fixed part does not fit; otherwise cut to `max_output` bytes with
// BUFFER_OVERFLOW (variable-length classes).
NtStatus FitFileInfo(uint8_t info_class, size_t max_output, std::string* out);

}  // namespace concordfs::smb
