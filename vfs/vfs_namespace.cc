// Vfs namespace operations: create, mknod, mkdir, symlink, link, unlink,
// rmdir, rename. Each is one MetadataBatch under the stripes of every inode
// it reads and changes.
#include <fcntl.h>

#include "util/log.h"
#include "vfs/inode_locks.h"
#include "vfs/open_files.h"
#include "vfs/permissions.h"
#include "vfs/vfs.h"
#include "vfs/vfs_internal.h"

namespace concordfs {

using vfs_internal::RequireDir;
using vfs_internal::TouchCtime;
using vfs_internal::TouchDir;
using vfs_internal::ValidateNewName;

namespace {

// Owner, group and mode of a new inode, as the kernel sets them.
void InitOwner(const Inode& dir, const Credential& cred, Inode* n,
               uint32_t mode) {
  n->uid = cred.uid;
  n->mode = mode & 07777;
  if (dir.mode & S_ISGID) {
    n->gid = dir.gid;
    if (n->is_dir()) n->mode |= S_ISGID;
  } else {
    n->gid = cred.gid;
  }
  if (!n->is_dir() && !cred.is_root() && !cred.InGroup(n->gid) &&
      (n->mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP)) {
    n->mode &= ~S_ISGID;
  }
}

uint32_t NewGeneration(InodeId id, NanoTime now) {
  uint64_t x = static_cast<uint64_t>(now) ^ (id * 0x9E3779B97F4A7C15ULL);
  return static_cast<uint32_t>(x ^ (x >> 32)) | 1;
}

}  // namespace

Result<Attr> Vfs::CreateNode(const OpContext& ctx, InodeId parent,
                             std::string_view name, FileType type,
                             uint32_t mode, uint64_t rdev,
                             std::string_view target, uint64_t* open_handle,
                             int open_flags) {
  CFS_RETURN_IF_ERROR(ValidateNewName(name));
  CFS_ASSIGN_OR_RETURN(InodeId id, md_->AllocateId());
  LockedSet lk(locks_.get(), {parent, id});
  CFS_ASSIGN_OR_RETURN(Inode dir, RequireDir(md_->GetInode(parent)));
  CFS_RETURN_IF_ERROR(CheckAccess(dir, ctx.cred, kMayExec));
  if (dir.nlink == 0) return Status::NotFound("directory was removed");
  Result<DirEntry> existing = md_->Lookup(parent, name);
  if (existing.ok()) return Status::Exists();
  if (existing.code() != ENOENT) return existing.status();
  CFS_RETURN_IF_ERROR(CheckAccess(dir, ctx.cred, kMayWrite | kMayExec));

  NanoTime now = Now();
  Inode n;
  n.id = id;
  n.generation = NewGeneration(id, now);
  n.type = type;
  InitOwner(dir, ctx.cred, &n, mode);
  n.nlink = type == FileType::kDirectory ? 2 : 1;
  n.rdev = rdev;
  n.size = type == FileType::kSymlink ? target.size() : 0;
  n.atime = n.mtime = n.ctime = n.btime = now;
  n.change = 1;
  if (n.is_dir()) {
    n.next_cookie = kFirstEntryCookie;
    n.parent = parent;
    ++dir.nlink;
  }
  DirEntry e{std::string(name), id, type, dir.next_cookie++};
  TouchDir(&dir, now);

  MetadataBatch b;
  b.set_durable(false);  // synced by CommitFor, outside the locks
  b.PutInode(n);
  b.PutEntry(parent, e);
  b.PutInode(dir);
  if (type == FileType::kSymlink) b.PutSymlink(id, target);
  CFS_RETURN_IF_ERROR(md_->Write(b));
  live_inodes_.fetch_add(1);
  if (open_handle) {
    int acc = open_flags & O_ACCMODE;
    *open_handle =
        open_files_->Add(OpenFile{id, acc != O_WRONLY, acc != O_RDONLY,
                                  (open_flags & O_APPEND) != 0, n.is_reg()});
  }
  Emit(ChangeEvent::Kind::kEntryAdded, id, parent, name, ctx.origin);
  lk.Release();
  CFS_RETURN_IF_ERROR(CommitFor(ctx));
  return MakeAttr(n);
}

Result<Attr> Vfs::Mknod(const OpContext& ctx, InodeId parent,
                        std::string_view name, uint32_t mode, uint64_t rdev) {
  FileType type;
  if (!FileTypeFromMode(mode, &type) || type == FileType::kDirectory ||
      type == FileType::kSymlink) {
    return Status::Invalid("mknod: bad file type");
  }
  if ((type == FileType::kCharDevice || type == FileType::kBlockDevice) &&
      !ctx.cred.is_root()) {
    return Status::Perm("mknod: devices need root");
  }
  bool dev = type == FileType::kCharDevice || type == FileType::kBlockDevice;
  return CreateNode(ctx, parent, name, type, mode, dev ? rdev : 0, {}, nullptr,
                    0);
}

Result<Attr> Vfs::Mkdir(const OpContext& ctx, InodeId parent,
                        std::string_view name, uint32_t mode) {
  // mkdir keeps permission and sticky bits only (setgid comes from a
  // setgid parent), as in Linux.
  return CreateNode(ctx, parent, name, FileType::kDirectory, mode & 01777, 0,
                    {}, nullptr, 0);
}

Result<Attr> Vfs::Symlink(const OpContext& ctx, InodeId parent,
                          std::string_view name, std::string_view target) {
  if (target.empty()) return Status::NotFound("empty symlink target");
  if (target.size() >= 4096) return Status::Error(ENAMETOOLONG);
  return CreateNode(ctx, parent, name, FileType::kSymlink, 0777, 0, target,
                    nullptr, 0);
}

Result<Attr> Vfs::Link(const OpContext& ctx, InodeId ino, InodeId new_parent,
                       std::string_view new_name) {
  CFS_RETURN_IF_ERROR(ValidateNewName(new_name));
  LockedSet lk(locks_.get(), {new_parent, ino});
  CFS_ASSIGN_OR_RETURN(Inode inode, md_->GetInode(ino));
  CFS_ASSIGN_OR_RETURN(Inode dir, RequireDir(md_->GetInode(new_parent)));
  CFS_RETURN_IF_ERROR(CheckAccess(dir, ctx.cred, kMayExec));
  if (dir.nlink == 0) return Status::NotFound("directory was removed");
  Result<DirEntry> existing = md_->Lookup(new_parent, new_name);
  if (existing.ok()) return Status::Exists();
  if (existing.code() != ENOENT) return existing.status();
  CFS_RETURN_IF_ERROR(CheckAccess(dir, ctx.cred, kMayWrite | kMayExec));
  if (inode.is_dir()) return Status::Perm("hard link to a directory");
  if (inode.nlink == 0) return Status::NotFound("file was removed");
  if (inode.nlink >= 65000) return Status::Error(EMLINK);

  NanoTime now = Now();
  ++inode.nlink;
  TouchCtime(&inode, now);
  DirEntry e{std::string(new_name), ino, inode.type, dir.next_cookie++};
  TouchDir(&dir, now);
  MetadataBatch b;
  b.set_durable(false);  // synced by CommitFor, outside the locks
  b.PutInode(inode);
  b.PutInode(dir);
  b.PutEntry(new_parent, e);
  CFS_RETURN_IF_ERROR(md_->Write(b));
  Emit(ChangeEvent::Kind::kEntryAdded, ino, new_parent, new_name, ctx.origin);
  Emit(ChangeEvent::Kind::kAttr, ino, kInvalidInode, {}, ctx.origin);
  lk.Release();
  CFS_RETURN_IF_ERROR(CommitFor(ctx));
  return MakeAttr(inode);
}

Status Vfs::Unlink(const OpContext& ctx, InodeId parent,
                   std::string_view name) {
  if (name == "." || name == "..") return Status::Error(EISDIR);
  return RemoveName(ctx, parent, name, false);
}

Status Vfs::Rmdir(const OpContext& ctx, InodeId parent, std::string_view name) {
  if (name == ".") return Status::Invalid("rmdir .");
  if (name == "..") return Status::Error(ENOTEMPTY);
  return RemoveName(ctx, parent, name, true);
}

Status Vfs::RemoveName(const OpContext& ctx, InodeId parent,
                       std::string_view name, bool want_dir) {
  if (name.empty()) return Status::NotFound();
  if (name.size() > kMaxNameLength) return Status::Error(ENAMETOOLONG);
  LockedSet lk(locks_.get(), {parent});
  Inode dir;
  DirEntry e;
  for (;;) {
    CFS_ASSIGN_OR_RETURN(dir, RequireDir(md_->GetInode(parent)));
    CFS_RETURN_IF_ERROR(CheckAccess(dir, ctx.cred, kMayExec));
    CFS_ASSIGN_OR_RETURN(e, md_->Lookup(parent, name));
    if (lk.Extend({e.child})) break;  // else re-read under the new locks
  }
  CFS_ASSIGN_OR_RETURN(Inode victim, md_->GetInode(e.child));
  CFS_RETURN_IF_ERROR(CheckDelete(dir, victim, ctx.cred));
  if (want_dir && !victim.is_dir()) return Status::Error(ENOTDIR);
  if (!want_dir && victim.is_dir()) return Status::Error(EISDIR);
  if (want_dir) {
    CFS_ASSIGN_OR_RETURN(bool busy, md_->HasEntries(victim.id));
    if (busy) return Status::Error(ENOTEMPTY);
  }

  NanoTime now = Now();
  TouchDir(&dir, now);
  if (victim.is_dir()) {
    --dir.nlink;
    victim.nlink = 0;
  } else {
    --victim.nlink;
  }
  TouchCtime(&victim, now);
  MetadataBatch b;
  b.set_durable(false);  // synced by CommitFor, outside the locks
  b.DeleteEntry(parent, e);
  b.PutInode(dir);
  b.PutInode(victim);
  // Recorded in the same batch so a crash before reclaiming leaves a
  // findable orphan, never a leak.
  if (victim.nlink == 0) b.AddOrphan(victim.id);
  CFS_RETURN_IF_ERROR(md_->Write(b));
  lk.Release();
  Emit(ChangeEvent::Kind::kEntryRemoved, victim.id, parent, name, ctx.origin);
  if (victim.nlink > 0) {
    Emit(ChangeEvent::Kind::kAttr, victim.id, kInvalidInode, {}, ctx.origin);
  }
  CFS_RETURN_IF_ERROR(CommitFor(ctx));
  // The orphan record is in the store: a crash from here on only delays
  // the reclaim to the next start. Reclaiming is not the caller's wait.
  if (victim.nlink == 0) QueueReclaim(victim.id);
  return Status::Ok();
}

}  // namespace concordfs
