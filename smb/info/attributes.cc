#include "smb/info/attributes.h"

#include <algorithm>

namespace concordfs::smb {

uint32_t DosAttributes(const Inode& inode) {
  uint32_t stored = inode.dos_attrs;
  uint32_t bits = stored & kStorableDosAttributes;
  uint32_t a = 0;
  switch (inode.type) {
    case FileType::kDirectory:
      a = kFileAttributeDirectory | bits;
      break;
    case FileType::kSymlink:
      a = kFileAttributeReparsePoint |
          (stored == 0 ? kFileAttributeArchive : bits);
      break;
    default:
      a = stored == 0 ? kFileAttributeArchive : bits;
      break;
  }
  return a == 0 ? kFileAttributeNormal : a;
}

uint32_t StoredDosAttributes(uint32_t wire_attrs, bool is_dir) {
  uint32_t bits = wire_attrs & kStorableDosAttributes;
  // A directory's default is "no bits", so it needs no marker.
  return is_dir ? bits : (bits | kDosAttrsExplicit);
}

uint32_t CreateDosAttributes(uint32_t wire_attrs, bool is_dir) {
  uint32_t bits = wire_attrs & kStorableDosAttributes;
  if (is_dir) return bits;
  bits |= kFileAttributeArchive;
  return bits == kFileAttributeArchive ? 0 : (bits | kDosAttrsExplicit);
}

uint64_t AllocationSize(const Attr& attr) {
  const Inode& n = attr.inode;
  if (n.is_dir()) return 0;
  constexpr uint64_t kUnit = 4096;
  uint64_t used = attr.used_bytes;
  if (used > UINT64_MAX - (kUnit - 1)) return UINT64_MAX & ~(kUnit - 1);
  // A reserved allocation (CREATE AllocationSize, SET_INFO) counts until
  // the data outgrows it.
  return std::max<uint64_t>(n.alloc_size, (used + kUnit - 1) / kUnit * kUnit);
}

FileTimes FileTimesOf(const Inode& inode) {
  FileTimes t;
  NanoTime birth = inode.btime;
  if (birth == 0) birth = inode.mtime < inode.ctime ? inode.mtime : inode.ctime;
  t.creation = ToFiletime(birth);
  t.last_access = ToFiletime(inode.atime);
  t.last_write = ToFiletime(inode.mtime);
  t.change = ToFiletime(inode.ctime);
  return t;
}

uint32_t ReparseTagOf(const Inode& inode) {
  return inode.type == FileType::kSymlink ? kIoReparseTagSymlink : 0;
}

}  // namespace concordfs::smb
