#include "smb/info/access.h"

namespace concordfs::smb {
namespace {

// rwx (0..7) of the class that applies to `cred` (root is handled apart).
uint32_t ClassBits(const Inode& inode, const Credential& cred) {
  if (cred.uid == inode.uid) return (inode.mode >> 6) & 7;
  if (cred.InGroup(inode.gid)) return (inode.mode >> 3) & 7;
  return inode.mode & 7;
}

uint32_t RightsFromBits(uint32_t rwx, bool is_dir) {
  uint32_t m = kReadControl | kSynchronize | kFileReadAttributes;
  if (rwx & 4) m |= kFileReadData | kFileReadEa;
  if (rwx & 2) {
    m |= kFileWriteData | kFileAppendData | kFileWriteEa | kFileWriteAttributes;
    if (is_dir) m |= kFileDeleteChild;
  }
  if (rwx & 1) m |= kFileExecute;
  return m;
}

uint32_t Maximal(const Inode& inode, const Credential& cred) {
  uint32_t m = RightsFromBits(ClassBits(inode, cred), inode.is_dir());
  if (cred.uid == inode.uid)
    m |= kWriteDac | kWriteOwner | kFileWriteAttributes;
  return m;
}

}  // namespace

uint32_t MapGenericAccess(uint32_t desired) {
  uint32_t m =
      desired & ~(kGenericAll | kGenericExecute | kGenericWrite | kGenericRead);
  if (desired & kGenericRead) m |= kFileGenericRead;
  if (desired & kGenericWrite) m |= kFileGenericWrite;
  if (desired & kGenericExecute) m |= kFileGenericExecute;
  if (desired & kGenericAll) m |= kFileAllAccess;
  return m;
}

uint32_t MaximalAccess(const Inode& inode, const Credential& cred) {
  if (cred.is_root()) return kFileAllAccess;
  uint32_t m = Maximal(inode, cred);
  if (cred.uid == inode.uid) m |= kDelete;
  return m;
}

uint32_t MaximalAccess(const Inode& inode, const Credential& cred,
                       const Inode& parent) {
  if (cred.is_root()) return kFileAllAccess;
  uint32_t m = Maximal(inode, cred);
  bool may_delete = (ClassBits(parent, cred) & 3) == 3;
  if ((parent.mode & S_ISVTX) && cred.uid != parent.uid &&
      cred.uid != inode.uid) {
    may_delete = false;
  }
  if (may_delete) m |= kDelete;
  return m;
}

}  // namespace concordfs::smb
