// The record model of the backend: inodes, directory entries, and their
// on-disk encodings.
//
// Records are plain values. Encode* functions produce the bytes stored under
// the keys of metadata/keys.h; Decode* functions are pure and reject
// truncated or malformed bytes with a Corruption status instead of crashing.
// Thread-compatible.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "util/clock.h"
#include "util/status.h"

namespace concordfs {

using InodeId = uint64_t;
inline constexpr InodeId kInvalidInode = 0;
inline constexpr InodeId kRootInode = 1;

enum class FileType : uint8_t {
  kRegular = 1,
  kDirectory = 2,
  kSymlink = 3,
  kFifo = 4,
  kSocket = 5,
  kCharDevice = 6,
  kBlockDevice = 7,
};

// S_IFREG etc. for a FileType, and back (0 / false for anything else).
uint32_t FileTypeToMode(FileType t);
bool FileTypeFromMode(uint32_t mode, FileType* out);
const char* FileTypeName(FileType t);

// DOS attribute bits kept for SMB (FILE_ATTRIBUTE_*).
inline constexpr uint32_t kDosReadOnly = 0x1;
inline constexpr uint32_t kDosHidden = 0x2;
inline constexpr uint32_t kDosSystem = 0x4;
inline constexpr uint32_t kDosArchive = 0x20;

struct Inode {
  InodeId id = kInvalidInode;  // never reused
  uint32_t generation = 0;     // with id, forms NFS file handles
  FileType type = FileType::kRegular;
  uint32_t mode = 0;  // permission bits incl. S_ISUID/S_ISGID/S_ISVTX only
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t nlink = 0;
  uint64_t size = 0;  // bytes; for symlinks the target length
  uint64_t rdev = 0;
  NanoTime atime = 0;
  NanoTime mtime = 0;
  NanoTime ctime = 0;
  NanoTime btime = 0;   // birth
  uint64_t change = 0;  // bumped on every data or metadata change (NFS)
  uint32_t dos_attrs = 0;
  uint64_t alloc_size = 0;  // SMB allocation size hint; 0 = derive from size
  // Directories only: the cookie the next entry will get (readdir cookies
  // are per-directory, increasing, never reused).
  uint64_t next_cookie = 0;
  // Directories only: the directory holding this one (root: itself). Files
  // may have several links and record no parent.
  InodeId parent = kInvalidInode;

  bool is_dir() const { return type == FileType::kDirectory; }
  bool is_reg() const { return type == FileType::kRegular; }
  // st_mode: type bits | permission bits.
  uint32_t st_mode() const { return FileTypeToMode(type) | (mode & 07777); }

  bool operator==(const Inode&) const = default;
};

// Cookies 1 and 2 are "." and ".."; real entries start here.
inline constexpr uint64_t kFirstEntryCookie = 3;

// A name in a directory.
struct DirEntry {
  std::string name;
  InodeId child = kInvalidInode;
  FileType type = FileType::kRegular;
  uint64_t cookie = 0;  // position for readdir, stable for the entry's life

  bool operator==(const DirEntry&) const = default;
};

inline constexpr size_t kMaxNameLength = 255;

std::string EncodeInode(const Inode& inode);
Status DecodeInode(std::string_view bytes, Inode* out);

// The value stored under an entry key: child, type, cookie.
std::string EncodeEntryValue(const DirEntry& e);
Status DecodeEntryValue(std::string_view bytes, DirEntry* out);
// The value stored under a cookie key: child, type, name.
std::string EncodeCookieValue(const DirEntry& e);
Status DecodeCookieValue(std::string_view bytes, DirEntry* out);

}  // namespace concordfs
