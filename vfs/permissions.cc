#include "vfs/permissions.h"

#include "vfs/vfs.h"

namespace concordfs {

Status CheckAccess(const Inode& inode, const Credential& cred, int mask) {
  if (cred.is_root()) {
    if ((mask & kMayExec) && !inode.is_dir() && (inode.mode & 0111) == 0) {
      return Status::Access();
    }
    return Status::Ok();
  }
  uint32_t bits;
  if (cred.uid == inode.uid) {
    bits = (inode.mode >> 6) & 7;
  } else if (cred.InGroup(inode.gid)) {
    bits = (inode.mode >> 3) & 7;
  } else {
    bits = inode.mode & 7;
  }
  if ((static_cast<uint32_t>(mask) & bits) != static_cast<uint32_t>(mask)) {
    return Status::Access();
  }
  return Status::Ok();
}

Status CheckOwner(const Inode& inode, const Credential& cred) {
  if (cred.is_root() || cred.uid == inode.uid) return Status::Ok();
  return Status::Perm();
}

Status CheckDelete(const Inode& dir, const Inode& victim,
                   const Credential& cred) {
  CFS_RETURN_IF_ERROR(CheckAccess(dir, cred, kMayWrite | kMayExec));
  if ((dir.mode & S_ISVTX) && !cred.is_root() && cred.uid != dir.uid &&
      cred.uid != victim.uid) {
    return Status::Perm();
  }
  return Status::Ok();
}

uint32_t ModeWithoutSetId(uint32_t mode) {
  mode &= ~static_cast<uint32_t>(S_ISUID);
  if ((mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP)) mode &= ~S_ISGID;
  return mode;
}

uint32_t ModeAfterWrite(const Inode& inode, const Credential& cred) {
  return cred.is_root() ? inode.mode : ModeWithoutSetId(inode.mode);
}

uint32_t ModeAfterChown(const Inode& inode) {
  return inode.is_dir() ? inode.mode : ModeWithoutSetId(inode.mode);
}

}  // namespace concordfs
