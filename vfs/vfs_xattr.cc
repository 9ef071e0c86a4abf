// Vfs extended attributes with the kernel's namespace rules
// (xattr_permission): user.* on files and directories only and checked
// against the mode bits, trusted.* and security.* writes for root only,
// system.* (POSIX ACLs) and security.selinux not supported. SELinux labels
// a mount like this one as a whole (genfscon), never per file, so
// "security.selinux" is answered EOPNOTSUPP as on an NFS mount: `ls -l`
// (libselinux) then remembers that for the whole file system instead of
// asking every entry, which through FUSE costs a round trip each.
#include <string_view>

#include "vfs/inode_locks.h"
#include "vfs/permissions.h"
#include "vfs/vfs.h"
#include "vfs/vfs_internal.h"

namespace concordfs {
namespace {

enum class Ns { kUser, kTrusted, kSecurity };

Result<Ns> NamespaceOf(std::string_view name) {
  if (name.empty() || name.size() > kXattrNameMax) {
    return Status::Error(ERANGE, "xattr name length");
  }
  if (name.starts_with("user.") && name.size() > 5) return Ns::kUser;
  if (name.starts_with("trusted.") && name.size() > 8) return Ns::kTrusted;
  if (name == "security.selinux") {
    return Status::NotSupported("SELinux labels are not stored per file");
  }
  if (name.starts_with("security.") && name.size() > 9) return Ns::kSecurity;
  return Status::NotSupported("xattr namespace not supported");
}

// `write`: set/remove; otherwise get.
Status XattrPermission(const Inode& n, const Credential& cred, Ns ns,
                       bool write) {
  switch (ns) {
    case Ns::kTrusted:  // invisible to others, as in Linux
      if (cred.is_root()) return Status::Ok();
      return write ? Status::Perm() : Status::Error(ENODATA);
    case Ns::kSecurity:
      return (!write || cred.is_root()) ? Status::Ok() : Status::Perm();
    case Ns::kUser:
      if (!n.is_reg() && !n.is_dir()) {
        return write ? Status::Perm() : Status::Error(ENODATA);
      }
      if (write && n.is_dir() && (n.mode & S_ISVTX) && !cred.is_root() &&
          cred.uid != n.uid) {
        return Status::Perm();
      }
      return CheckAccess(n, cred, write ? kMayWrite : kMayRead);
  }
  return Status::Perm();
}

}  // namespace

Status Vfs::SetXattr(const OpContext& ctx, InodeId ino, std::string_view name,
                     std::string_view value, int flags) {
  CFS_ASSIGN_OR_RETURN(Ns ns, NamespaceOf(name));
  if (value.size() > kXattrValueMax) return Status::Error(E2BIG);
  if (flags & ~(kXattrCreate | kXattrReplace)) return Status::Invalid();
  LockedSet lk(locks_.get(), {ino});
  CFS_ASSIGN_OR_RETURN(Inode n, LiveInode(ino));
  CFS_RETURN_IF_ERROR(XattrPermission(n, ctx.cred, ns, true));
  Result<std::string> old = md_->GetXattr(ino, name);
  if (!old.ok() && old.code() != ENODATA) return old.status();
  if (old.ok() && (flags & kXattrCreate)) return Status::Exists();
  if (!old.ok() && (flags & kXattrReplace)) return Status::Error(ENODATA);
  vfs_internal::TouchCtime(&n, Now());
  MetadataBatch b;
  b.set_durable(false);  // synced by CommitFor, outside the locks
  b.PutXattr(ino, name, value);
  b.PutInode(n);
  CFS_RETURN_IF_ERROR(md_->Write(b));
  Emit(ChangeEvent::Kind::kAttr, ino, kInvalidInode, {}, ctx.origin);
  lk.Release();
  return CommitFor(ctx);
}

Result<std::string> Vfs::GetXattr(const OpContext& ctx, InodeId ino,
                                  std::string_view name) {
  CFS_ASSIGN_OR_RETURN(Ns ns, NamespaceOf(name));
  CFS_ASSIGN_OR_RETURN(Inode n, LiveInode(ino));
  CFS_RETURN_IF_ERROR(XattrPermission(n, ctx.cred, ns, false));
  return md_->GetXattr(ino, name);
}

Result<std::vector<std::string>> Vfs::ListXattr(const OpContext& ctx,
                                                InodeId ino) {
  CFS_RETURN_IF_ERROR(LiveInode(ino).status());
  std::vector<std::string> names;
  CFS_RETURN_IF_ERROR(md_->ListXattrs(ino, &names));
  // Like the kernel, trusted.* names are listed for root only.
  if (!ctx.cred.is_root()) {
    std::erase_if(
        names, [](const std::string& s) { return s.starts_with("trusted."); });
  }
  return names;
}

Status Vfs::RemoveXattr(const OpContext& ctx, InodeId ino,
                        std::string_view name) {
  CFS_ASSIGN_OR_RETURN(Ns ns, NamespaceOf(name));
  LockedSet lk(locks_.get(), {ino});
  CFS_ASSIGN_OR_RETURN(Inode n, LiveInode(ino));
  CFS_RETURN_IF_ERROR(XattrPermission(n, ctx.cred, ns, true));
  Result<std::string> old = md_->GetXattr(ino, name);
  if (!old.ok()) return old.status();
  vfs_internal::TouchCtime(&n, Now());
  MetadataBatch b;
  b.set_durable(false);  // synced by CommitFor, outside the locks
  b.DeleteXattr(ino, name);
  b.PutInode(n);
  CFS_RETURN_IF_ERROR(md_->Write(b));
  Emit(ChangeEvent::Kind::kAttr, ino, kInvalidInode, {}, ctx.origin);
  lk.Release();
  return CommitFor(ctx);
}

}  // namespace concordfs
