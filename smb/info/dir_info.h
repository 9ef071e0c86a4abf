// QUERY_DIRECTORY entries: encodes one directory entry in an MS-FSCC
// directory information class and chains it to the previous one in the
// response buffer (8-byte aligned, NextEntryOffset).
//
// Pure functions over a caller-owned buffer; thread-compatible.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "vfs/vfs.h"

namespace concordfs::smb {

inline constexpr uint8_t kFileDirectoryInformation = 1;
inline constexpr uint8_t kFileFullDirectoryInformation = 2;
inline constexpr uint8_t kFileBothDirectoryInformation = 3;
inline constexpr uint8_t kFileNamesInformation = 12;
inline constexpr uint8_t kFileIdBothDirectoryInformation = 37;
inline constexpr uint8_t kFileIdFullDirectoryInformation = 38;
inline constexpr uint8_t kFileIdExtdDirectoryInformation = 60;
inline constexpr uint8_t kFileId64ExtdDirectoryInformation = 78;
inline constexpr uint8_t kFileIdAllExtdDirectoryInformation = 80;

// True for the classes AppendDirEntry encodes.
bool IsDirInfoClass(uint8_t info_class);

struct DirEntryInfo {
  std::string name;  // UTF-8, as stored ("." and ".." included by callers)
  Attr attr;
  uint32_t ea_size = 0;  // FileEaInformation size, for the classes with EaSize
};

// Size in bytes of the fixed part of an entry of `info_class` (the offset
// of FileName), 0 for unknown classes.
size_t DirEntryFixedSize(uint8_t info_class);

// Appends `entry` to *out, which holds the entries appended so far (and
// nothing else). Pads to 8 bytes first and sets the previous entry's
// NextEntryOffset (*last_entry_offset is that entry's offset; ignored when
// *out is empty) and then *last_entry_offset to the new entry. Returns false
// and leaves *out untouched when the class is unknown or the padded entry
// would make *out longer than `max_total`.
//
// FileIndex is 0, short names are empty; EaSize is 0, or the reparse tag
// for reparse points (MS-FSCC); 128-bit file ids are the inode id.
bool AppendDirEntry(uint8_t info_class, const DirEntryInfo& entry,
                    size_t max_total, std::string* out,
                    size_t* last_entry_offset);

}  // namespace concordfs::smb
