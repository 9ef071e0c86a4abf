#include "metadata/records.h"

#include "util/coding.h"

namespace concordfs {
namespace {
constexpr uint8_t kInodeFormat = 1;

bool ValidType(uint8_t t) {
  return t >= static_cast<uint8_t>(FileType::kRegular) &&
         t <= static_cast<uint8_t>(FileType::kBlockDevice);
}
}  // namespace

uint32_t FileTypeToMode(FileType t) {
  switch (t) {
    case FileType::kRegular:
      return S_IFREG;
    case FileType::kDirectory:
      return S_IFDIR;
    case FileType::kSymlink:
      return S_IFLNK;
    case FileType::kFifo:
      return S_IFIFO;
    case FileType::kSocket:
      return S_IFSOCK;
    case FileType::kCharDevice:
      return S_IFCHR;
    case FileType::kBlockDevice:
      return S_IFBLK;
  }
  return 0;
}

bool FileTypeFromMode(uint32_t mode, FileType* out) {
  switch (mode & S_IFMT) {
    case S_IFREG:
      *out = FileType::kRegular;
      return true;
    case S_IFDIR:
      *out = FileType::kDirectory;
      return true;
    case S_IFLNK:
      *out = FileType::kSymlink;
      return true;
    case S_IFIFO:
      *out = FileType::kFifo;
      return true;
    case S_IFSOCK:
      *out = FileType::kSocket;
      return true;
    case S_IFCHR:
      *out = FileType::kCharDevice;
      return true;
    case S_IFBLK:
      *out = FileType::kBlockDevice;
      return true;
  }
  return false;
}

const char* FileTypeName(FileType t) {
  switch (t) {
    case FileType::kRegular:
      return "file";
    case FileType::kDirectory:
      return "dir";
    case FileType::kSymlink:
      return "symlink";
    case FileType::kFifo:
      return "fifo";
    case FileType::kSocket:
      return "socket";
    case FileType::kCharDevice:
      return "chardev";
    case FileType::kBlockDevice:
      return "blockdev";
  }
  return "?";
}

std::string EncodeInode(const Inode& n) {
  std::string s;
  s.reserve(128);
  PutU8(&s, kInodeFormat);
  PutU64(&s, n.id);
  PutU32(&s, n.generation);
  PutU8(&s, static_cast<uint8_t>(n.type));
  PutU32(&s, n.mode);
  PutU32(&s, n.uid);
  PutU32(&s, n.gid);
  PutU32(&s, n.nlink);
  PutU64(&s, n.size);
  PutU64(&s, n.rdev);
  PutI64(&s, n.atime);
  PutI64(&s, n.mtime);
  PutI64(&s, n.ctime);
  PutI64(&s, n.btime);
  PutU64(&s, n.change);
  PutU32(&s, n.dos_attrs);
  PutU64(&s, n.alloc_size);
  PutU64(&s, n.next_cookie);
  PutU64(&s, n.parent);
  return s;
}

Status DecodeInode(std::string_view bytes, Inode* out) {
  Decoder d(bytes);
  if (d.U8() != kInodeFormat) return Status::Corruption("inode: bad format");
  Inode n;
  n.id = d.U64();
  n.generation = d.U32();
  uint8_t t = d.U8();
  n.mode = d.U32();
  n.uid = d.U32();
  n.gid = d.U32();
  n.nlink = d.U32();
  n.size = d.U64();
  n.rdev = d.U64();
  n.atime = d.I64();
  n.mtime = d.I64();
  n.ctime = d.I64();
  n.btime = d.I64();
  n.change = d.U64();
  n.dos_attrs = d.U32();
  n.alloc_size = d.U64();
  n.next_cookie = d.U64();
  n.parent = d.U64();
  if (!d.done()) return Status::Corruption("inode: bad length");
  if (!ValidType(t)) return Status::Corruption("inode: bad type");
  n.type = static_cast<FileType>(t);
  *out = n;
  return Status::Ok();
}

std::string EncodeEntryValue(const DirEntry& e) {
  std::string s;
  PutU64(&s, e.child);
  PutU8(&s, static_cast<uint8_t>(e.type));
  PutU64(&s, e.cookie);
  return s;
}

Status DecodeEntryValue(std::string_view bytes, DirEntry* out) {
  Decoder d(bytes);
  out->child = d.U64();
  uint8_t t = d.U8();
  out->cookie = d.U64();
  if (!d.done() || !ValidType(t)) return Status::Corruption("entry: bad value");
  out->type = static_cast<FileType>(t);
  return Status::Ok();
}

std::string EncodeCookieValue(const DirEntry& e) {
  std::string s;
  PutU64(&s, e.child);
  PutU8(&s, static_cast<uint8_t>(e.type));
  s.append(e.name);
  return s;
}

Status DecodeCookieValue(std::string_view bytes, DirEntry* out) {
  Decoder d(bytes);
  out->child = d.U64();
  uint8_t t = d.U8();
  std::string_view name = d.Rest();
  if (!d.ok() || !ValidType(t) || name.empty()) {
    return Status::Corruption("cookie: bad value");
  }
  out->type = static_cast<FileType>(t);
  out->name = std::string(name);
  return Status::Ok();
}

}  // namespace concordfs
