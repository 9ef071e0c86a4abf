// Helpers shared by the smb/info tests: little-endian field readers and
// attribute builders.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "metadata/records.h"
#include "util/clock.h"
#include "vfs/vfs.h"

namespace concordfs::smb::testing {

inline uint64_t Le(std::string_view b, size_t off, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) {
    v |= static_cast<uint64_t>(static_cast<uint8_t>(b.at(off + i))) << (8 * i);
  }
  return v;
}
inline uint8_t U8At(std::string_view b, size_t off) {
  return static_cast<uint8_t>(Le(b, off, 1));
}
inline uint16_t U16At(std::string_view b, size_t off) {
  return static_cast<uint16_t>(Le(b, off, 2));
}
inline uint32_t U32At(std::string_view b, size_t off) {
  return static_cast<uint32_t>(Le(b, off, 4));
}
inline uint64_t U64At(std::string_view b, size_t off) { return Le(b, off, 8); }

// ASCII -> UTF-16LE, for expected name bytes.
inline std::string Utf16(std::string_view ascii) {
  std::string s;
  for (char c : ascii) {
    s.push_back(c);
    s.push_back('\0');
  }
  return s;
}

inline constexpr NanoTime kT0 = 1'700'000'000 * kNanosPerSecond;

// A regular file with distinct times, id 42, 5000 bytes.
inline Attr FileAttr() {
  Attr a;
  Inode& n = a.inode;
  n.id = 42;
  n.type = FileType::kRegular;
  n.mode = 0644;
  n.uid = 1000;
  n.gid = 100;
  n.nlink = 2;
  n.size = 5000;
  n.btime = kT0;
  n.atime = kT0 + 1 * kNanosPerSecond;
  n.mtime = kT0 + 2 * kNanosPerSecond;
  n.ctime = kT0 + 3 * kNanosPerSecond;
  a.used_bytes = 8192;
  return a;
}

inline Attr DirAttr() {
  Attr a = FileAttr();
  a.inode.id = 7;
  a.inode.type = FileType::kDirectory;
  a.inode.mode = 0755;
  a.inode.nlink = 3;
  a.inode.size = 4096;
  return a;
}

}  // namespace concordfs::smb::testing
