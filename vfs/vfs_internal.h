// Helpers shared by the vfs_*.cc files. Not part of the vfs interface.
#pragma once

#include <string_view>

#include "metadata/records.h"
#include "util/status.h"
#include "vfs/credential.h"

namespace concordfs::vfs_internal {

// A name that may be created: not empty, not "." or "..", no '/' or NUL,
// at most 255 bytes.
inline Status ValidateNewName(std::string_view name) {
  if (name.empty()) return Status::NotFound("empty name");
  if (name.size() > kMaxNameLength) return Status::Error(ENAMETOOLONG);
  if (name == "." || name == "..") return Status::Exists();
  if (name.find('/') != std::string_view::npos ||
      name.find('\0') != std::string_view::npos) {
    return Status::Invalid("bad character in name");
  }
  return Status::Ok();
}

// A name that may be looked up (same rules, "." and ".." allowed).
inline Status ValidateLookupName(std::string_view name) {
  if (name == "." || name == "..") return Status::Ok();
  return ValidateNewName(name);
}

// Marks a directory's content as changed at `now`.
inline void TouchDir(Inode* dir, NanoTime now) {
  dir->mtime = dir->ctime = now;
  ++dir->change;
}

// Marks an inode's attributes as changed at `now`.
inline void TouchCtime(Inode* inode, NanoTime now) {
  inode->ctime = now;
  ++inode->change;
}

// Must this change be on stable storage before the caller hears of it?
// Local (FUSE) callers get local-filesystem semantics: changes are durable
// at fsync/fsyncdir/syncfs, like ext4. SMB clients get what NTFS (and Samba
// on a local filesystem) give them: durable at FLUSH or with write-through.
// NFS requires namespace and attribute changes to be stable before the reply
// (RFC 1813). Crash consistency is the same either way.
inline bool SyncedFor(const OpContext& ctx) {
  return ctx.origin != Origin::kFuse && ctx.origin != Origin::kSmb;
}

inline Result<Inode> RequireDir(Result<Inode> r) {
  if (r.ok() && !r->is_dir()) return Status::Error(ENOTDIR);
  return r;
}

}  // namespace concordfs::vfs_internal
