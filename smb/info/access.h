// Access masks (MS-DTYP ACCESS_MASK, MS-SMB2 2.2.13.1): the rights an SMB
// open asks for and is granted, generic-right mapping, and the maximal
// access a user has to an inode under POSIX mode bits (what the MxAc create
// context and a MAXIMUM_ALLOWED open report).
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>

#include "metadata/records.h"
#include "vfs/credential.h"

namespace concordfs::smb {

// File and directory specific rights (the directory names share values).
inline constexpr uint32_t kFileReadData = 0x00000001;    // FILE_LIST_DIRECTORY
inline constexpr uint32_t kFileWriteData = 0x00000002;   // FILE_ADD_FILE
inline constexpr uint32_t kFileAppendData = 0x00000004;  // ADD_SUBDIRECTORY
inline constexpr uint32_t kFileReadEa = 0x00000008;
inline constexpr uint32_t kFileWriteEa = 0x00000010;
inline constexpr uint32_t kFileExecute = 0x00000020;  // FILE_TRAVERSE
inline constexpr uint32_t kFileDeleteChild = 0x00000040;
inline constexpr uint32_t kFileReadAttributes = 0x00000080;
inline constexpr uint32_t kFileWriteAttributes = 0x00000100;
// Standard rights.
inline constexpr uint32_t kDelete = 0x00010000;
inline constexpr uint32_t kReadControl = 0x00020000;
inline constexpr uint32_t kWriteDac = 0x00040000;
inline constexpr uint32_t kWriteOwner = 0x00080000;
inline constexpr uint32_t kSynchronize = 0x00100000;
inline constexpr uint32_t kAccessSystemSecurity = 0x01000000;
inline constexpr uint32_t kMaximumAllowed = 0x02000000;
// Generic rights.
inline constexpr uint32_t kGenericAll = 0x10000000;
inline constexpr uint32_t kGenericExecute = 0x20000000;
inline constexpr uint32_t kGenericWrite = 0x40000000;
inline constexpr uint32_t kGenericRead = 0x80000000;

// Composites (winnt.h values).
inline constexpr uint32_t kFileGenericRead = kReadControl | kFileReadData |
                                             kFileReadAttributes | kFileReadEa |
                                             kSynchronize;
inline constexpr uint32_t kFileGenericWrite =
    kReadControl | kFileWriteData | kFileWriteAttributes | kFileWriteEa |
    kFileAppendData | kSynchronize;
inline constexpr uint32_t kFileGenericExecute =
    kReadControl | kFileReadAttributes | kFileExecute | kSynchronize;
inline constexpr uint32_t kFileAllAccess = 0x001F01FF;
// Rights that modify the file's data or metadata.
inline constexpr uint32_t kFileWriteRights =
    kFileWriteData | kFileAppendData | kFileWriteEa | kFileWriteAttributes |
    kFileDeleteChild | kDelete | kWriteDac | kWriteOwner;

// Replaces GENERIC_READ/WRITE/EXECUTE/ALL by the file rights they stand for
// (FILE_GENERIC_*, FILE_ALL_ACCESS); other bits are kept.
uint32_t MapGenericAccess(uint32_t desired);

// The rights `cred` has to `inode` by its mode bits, using the POSIX class
// (owner, else group, else other) that applies:
//  - root: FILE_ALL_ACCESS;
//  - everyone: READ_CONTROL | SYNCHRONIZE | FILE_READ_ATTRIBUTES;
//  - r: FILE_READ_DATA | FILE_READ_EA;
//  - w: FILE_WRITE_DATA | FILE_APPEND_DATA | FILE_WRITE_EA |
//       FILE_WRITE_ATTRIBUTES (directories also FILE_DELETE_CHILD);
//  - x: FILE_EXECUTE;
//  - owner: also WRITE_DAC | WRITE_OWNER | DELETE | FILE_WRITE_ATTRIBUTES.
// Deleting really depends on the parent directory; the overload below
// decides DELETE from it.
uint32_t MaximalAccess(const Inode& inode, const Credential& cred);

// As above, with DELETE granted when `cred` may remove entries from
// `parent` (w and x on it, and the sticky-bit rule) instead of by ownership.
uint32_t MaximalAccess(const Inode& inode, const Credential& cred,
                       const Inode& parent);

}  // namespace concordfs::smb
