// What SMB reports about a file beyond its times: DOS attributes
// (FILE_ATTRIBUTE_*, MS-FSCC 2.6), the 64-bit file id, the allocation size
// and the reparse tag, derived from the backend's Inode / Attr.
//
// DOS attributes live in Inode::dos_attrs as READONLY|HIDDEN|SYSTEM|ARCHIVE
// plus kDosAttrsExplicit, a marker meaning "set by a client". An inode whose
// dos_attrs is 0 was never set: regular files then read as ARCHIVE (as
// Samba and NTFS show new files), directories as DIRECTORY only. Symlinks
// are reported as reparse points (IO_REPARSE_TAG_SYMLINK).
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>

#include "metadata/records.h"
#include "smb/info/times.h"
#include "vfs/vfs.h"

namespace concordfs::smb {

inline constexpr uint32_t kFileAttributeReadonly = 0x00000001;
inline constexpr uint32_t kFileAttributeHidden = 0x00000002;
inline constexpr uint32_t kFileAttributeSystem = 0x00000004;
inline constexpr uint32_t kFileAttributeDirectory = 0x00000010;
inline constexpr uint32_t kFileAttributeArchive = 0x00000020;
inline constexpr uint32_t kFileAttributeNormal = 0x00000080;
inline constexpr uint32_t kFileAttributeTemporary = 0x00000100;
inline constexpr uint32_t kFileAttributeSparseFile = 0x00000200;
inline constexpr uint32_t kFileAttributeReparsePoint = 0x00000400;
inline constexpr uint32_t kFileAttributeCompressed = 0x00000800;
inline constexpr uint32_t kFileAttributeOffline = 0x00001000;
inline constexpr uint32_t kFileAttributeNotContentIndexed = 0x00002000;
inline constexpr uint32_t kFileAttributeEncrypted = 0x00004000;
inline constexpr uint32_t kFileAttributeIntegrityStream = 0x00008000;

// The attribute bits concordfs stores.
inline constexpr uint32_t kStorableDosAttributes =
    kFileAttributeReadonly | kFileAttributeHidden | kFileAttributeSystem |
    kFileAttributeArchive | kFileAttributeTemporary | kFileAttributeOffline;
// Marker in Inode::dos_attrs: attributes were set explicitly (so a file
// without ARCHIVE stays without it).
inline constexpr uint32_t kDosAttrsExplicit = 0x00000080;

inline constexpr uint32_t kIoReparseTagSymlink = 0xA000000C;

// The FileAttributes field for `inode` (never 0: NORMAL when nothing else).
uint32_t DosAttributes(const Inode& inode);

// The Inode::dos_attrs value to store for attributes a client sets with
// SET_INFO FileBasicInformation (call only when its FileAttributes field is
// non-zero; 0 there means "no change"). Bits concordfs cannot keep
// (TEMPORARY, OFFLINE, NOT_CONTENT_INDEXED, ...) and bits that describe the
// file type (DIRECTORY, REPARSE_POINT) are dropped.
uint32_t StoredDosAttributes(uint32_t wire_attrs, bool is_dir);

// The dos_attrs value for a file or directory created by SMB CREATE with
// `wire_attrs` (NTFS adds ARCHIVE to new files). 0 when that is the default.
uint32_t CreateDosAttributes(uint32_t wire_attrs, bool is_dir);

// The 64-bit file id (FileInternalInformation, FileId fields): the inode id,
// which is never reused.
inline uint64_t FileIdOf(const Inode& inode) { return inode.id; }

// AllocationSize: the client's hint (alloc_size) if set, else the bytes in
// use rounded up to 4096 (0 for an empty file). Directories report 0.
uint64_t AllocationSize(const Attr& attr);

// The four FILETIMEs every class reports. CreationTime is the birth time,
// or the earlier of mtime and ctime for inodes without one (btime 0).
struct FileTimes {
  uint64_t creation = 0;
  uint64_t last_access = 0;
  uint64_t last_write = 0;
  uint64_t change = 0;
};
FileTimes FileTimesOf(const Inode& inode);

// EndOfFile: the size, 0 for directories.
inline uint64_t EndOfFile(const Inode& inode) {
  return inode.is_dir() ? 0 : inode.size;
}

// IO_REPARSE_TAG_SYMLINK for symlinks, 0 otherwise.
uint32_t ReparseTagOf(const Inode& inode);

}  // namespace concordfs::smb
