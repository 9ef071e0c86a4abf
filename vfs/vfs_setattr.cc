// Vfs::SetAttr: chmod, chown, truncate, utimens and the SMB-only attributes,
// with the kernel's rules for who may change what (setattr_prepare).
#include <fcntl.h>

#include "vfs/group_commit.h"
#include "vfs/inode_locks.h"
#include "vfs/open_files.h"
#include "vfs/permissions.h"
#include "vfs/vfs.h"
#include "vfs/vfs_internal.h"

namespace concordfs {

Status Vfs::CheckSetAttr(const OpContext& ctx, const Inode& n,
                         const SetAttrRequest& req) {
  const Credential& cred = ctx.cred;
  bool owner = cred.is_root() || cred.uid == n.uid;
  if (req.size) {
    if (n.is_dir()) return Status::Error(EISDIR);
    if (!n.is_reg()) return Status::Invalid("truncate of a special file");
    if (req.handle != 0) {
      auto f = open_files_->Get(req.handle);
      if (!f || f->ino != n.id) return Status::Error(EBADF);
      if (!f->writable) return Status::Invalid("file not open for writing");
    } else {
      CFS_RETURN_IF_ERROR(CheckAccess(n, cred, kMayWrite));
    }
    if (*req.size > opts_.max_file_size) return Status::Error(EFBIG);
  }
  if (req.uid && !cred.is_root() && (cred.uid != n.uid || *req.uid != n.uid)) {
    return Status::Perm("only root changes the owner");
  }
  if (req.gid && !cred.is_root() &&
      (cred.uid != n.uid || (*req.gid != n.gid && !cred.InGroup(*req.gid)))) {
    return Status::Perm("chgrp to a group the caller is not in");
  }
  // Anyone may drop setuid/setgid (and nothing else): kernels and NFS
  // clients send exactly that on behalf of a writer who is not the owner.
  const uint32_t kSetId = S_ISUID | S_ISGID;
  bool only_clears_setid =
      req.mode && (*req.mode & ~n.mode & 07777) == 0 &&
      ((*req.mode | kSetId) & 07777) == ((n.mode | kSetId) & 07777);
  if (req.mode && !owner && !only_clears_setid) {
    return Status::Perm("chmod by non-owner");
  }
  if ((req.atime || req.mtime || req.btime || req.ctime) && !owner) {
    return Status::Perm("explicit times by non-owner");
  }
  if ((req.atime_now || req.mtime_now || req.dos_attrs || req.alloc_size) &&
      !owner) {
    CFS_RETURN_IF_ERROR(CheckAccess(n, cred, kMayWrite));
  }
  return Status::Ok();
}

Result<Attr> Vfs::SetAttr(const OpContext& ctx, InodeId ino,
                          const SetAttrRequest& req) {
  LockedSet lk(locks_.get(), {ino});
  CFS_ASSIGN_OR_RETURN(Inode n, LiveInode(ino));
  CFS_RETURN_IF_ERROR(CheckSetAttr(ctx, n, req));
  NanoTime now = Now();
  if (req.size) {
    // Content first: a crash in between leaves zeros, never stale bytes. A
    // file under direct I/O keeps its content file exactly its size.
    CFS_RETURN_IF_ERROR(content_->Truncate(
        ino, IsDirect(ino) ? *req.size : std::min(n.size, *req.size)));
    n.size = *req.size;
    n.mtime = now;
    n.mode = ModeAfterWrite(n, ctx.cred);
  }
  if (req.uid || req.gid) {
    n.mode = ModeAfterChown(n);
    if (req.uid) n.uid = *req.uid;
    if (req.gid) n.gid = *req.gid;
  }
  if (req.mode) {
    n.mode = *req.mode & 07777;
    if (!ctx.cred.is_root() && !ctx.cred.InGroup(n.gid)) n.mode &= ~S_ISGID;
  }
  if (req.atime_now) n.atime = now;
  if (req.mtime_now) n.mtime = now;
  if (req.atime) n.atime = *req.atime;
  if (req.mtime) n.mtime = *req.mtime;
  if (req.btime) n.btime = *req.btime;
  if (req.dos_attrs) n.dos_attrs = *req.dos_attrs;
  if (req.alloc_size) n.alloc_size = *req.alloc_size;
  vfs_internal::TouchCtime(&n, now);
  if (req.ctime) n.ctime = *req.ctime;
  MetadataBatch b;
  b.set_durable(false);  // synced by CommitFor, outside the locks
  b.PutInode(n);
  CFS_RETURN_IF_ERROR(md_->Write(b));
  RebaseDirect(ino);  // what was just recorded is the base now
  Emit(req.size ? ChangeEvent::Kind::kData : ChangeEvent::Kind::kAttr, ino,
       kInvalidInode, {}, ctx.origin);
  lk.Release();
  CFS_RETURN_IF_ERROR(CommitFor(ctx));
  return MakeAttr(n);
}

Status Vfs::CommitFor(const OpContext& ctx) {
  // Under kAlways every write was synced already; under kNone nothing is.
  if (!vfs_internal::SyncedFor(ctx) ||
      md_->sync_policy() != SyncPolicy::kBatch) {
    return Status::Ok();
  }
  return commit_->Sync();
}

}  // namespace concordfs
