// Key layout of the metadata store. Every key starts with a one-byte tag;
// ids are 8-byte big-endian so bytewise order is numeric order and a
// directory listing is a prefix scan.
//
//   'S'                      superblock (format, filesystem id, id high-water)
//   'I' id                   inode record
//   'D' parent name          entry value (child, type, cookie)
//   'C' parent cookie        cookie value (child, type, name) for readdir
//   'L' id                   symlink target
//   'X' id name              extended attribute value
//   'O' id                   orphan: nlink 0 but still open, reclaim later
//   'K' file owner           durable (NLM) locks of one owner on one file
//   'E'                      the lock manager's boot epoch
//   'R'                      the lock store's run marker (boot id, whether
//                            the last run stopped cleanly)
//
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "metadata/records.h"
#include "util/coding.h"

namespace concordfs::keys {

inline constexpr char kSuper = 'S';
inline constexpr char kInode = 'I';
inline constexpr char kEntry = 'D';
inline constexpr char kCookie = 'C';
inline constexpr char kSymlink = 'L';
inline constexpr char kXattr = 'X';
inline constexpr char kOrphan = 'O';
inline constexpr char kLockRecord = 'K';
inline constexpr char kLockEpoch = 'E';
inline constexpr char kRunMarker = 'R';

inline std::string Tagged(char tag, InodeId id) {
  std::string k(1, tag);
  PutU64(&k, id);
  return k;
}
inline std::string Super() { return std::string(1, kSuper); }
inline std::string InodeKey(InodeId id) { return Tagged(kInode, id); }
inline std::string EntryPrefix(InodeId parent) {
  return Tagged(kEntry, parent);
}
inline std::string EntryKey(InodeId parent, std::string_view name) {
  std::string k = Tagged(kEntry, parent);
  k.append(name);
  return k;
}
inline std::string CookiePrefix(InodeId parent) {
  return Tagged(kCookie, parent);
}
inline std::string CookieKey(InodeId parent, uint64_t cookie) {
  std::string k = Tagged(kCookie, parent);
  PutU64(&k, cookie);
  return k;
}
inline std::string SymlinkKey(InodeId id) { return Tagged(kSymlink, id); }
inline std::string XattrPrefix(InodeId id) { return Tagged(kXattr, id); }
inline std::string XattrKey(InodeId id, std::string_view name) {
  std::string k = Tagged(kXattr, id);
  k.append(name);
  return k;
}
inline std::string OrphanKey(InodeId id) { return Tagged(kOrphan, id); }
inline std::string TagPrefix(char tag) { return std::string(1, tag); }

// The id in a tagged key (bytes 1..8), or kInvalidInode if too short.
inline InodeId KeyId(std::string_view key) {
  return key.size() >= 9 ? LoadU64(key.data() + 1) : kInvalidInode;
}
// What follows tag+id (a name, a cookie).
inline std::string_view KeySuffix(std::string_view key) {
  return key.size() >= 9 ? key.substr(9) : std::string_view();
}

}  // namespace concordfs::keys
