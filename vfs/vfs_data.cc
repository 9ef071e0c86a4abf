// Vfs open files and data: open, create, release, read, write, fsync,
// setattr (incl. truncate) and readdir.
//
// Reads and writes of file data go to the content store without any vfs
// lock; only the attribute update after a write (size, mtime, setuid
// clearing) takes the inode's stripe. Two exceptions hold the stripe across
// content I/O because ordering is their point: O_APPEND writes (the offset is
// the size at the time of the write) and truncation.
#include <fcntl.h>

#include <algorithm>
#include <cstring>
#include <numeric>

#include "util/log.h"
#include "vfs/group_commit.h"
#include "vfs/inode_locks.h"
#include "vfs/open_files.h"
#include "vfs/permissions.h"
#include "vfs/vfs.h"
#include "vfs/vfs_internal.h"

namespace concordfs {

using vfs_internal::TouchCtime;

namespace {
constexpr NanoTime kRelatimeInterval = 24 * 3600 * kNanosPerSecond;

bool AtimeDue(AtimePolicy p, const Inode& n, NanoTime now) {
  switch (p) {
    case AtimePolicy::kNoatime:
      return false;
    case AtimePolicy::kStrict:
      return true;
    case AtimePolicy::kRelatime:
      return n.atime <= n.mtime || n.atime <= n.ctime ||
             now - n.atime >= kRelatimeInterval;
  }
  return false;
}
}  // namespace

Result<OpenResult> Vfs::Open(const OpContext& ctx, InodeId ino, int flags) {
  int acc = flags & O_ACCMODE;
  bool readable = acc != O_WRONLY;
  bool writable = acc != O_RDONLY;
  bool trunc = (flags & O_TRUNC) != 0;
  LockedSet lk(locks_.get(), {ino});
  CFS_ASSIGN_OR_RETURN(Inode inode, LiveInode(ino));
  if (inode.type == FileType::kSymlink) return Status::Error(ELOOP);
  if (inode.is_dir() && (writable || trunc)) return Status::Error(EISDIR);
  int mask = (readable ? kMayRead : 0) | (writable || trunc ? kMayWrite : 0);
  CFS_RETURN_IF_ERROR(CheckAccess(inode, ctx.cred, mask));
  if (trunc && inode.is_reg()) {
    CFS_RETURN_IF_ERROR(content_->Truncate(ino, 0));
    NanoTime now = Now();
    inode.size = 0;
    inode.mtime = now;
    inode.mode = ModeAfterWrite(inode, ctx.cred);
    TouchCtime(&inode, now);
    MetadataBatch b;
    b.set_durable(false);  // synced by CommitFor, outside the locks
    b.PutInode(inode);
    CFS_RETURN_IF_ERROR(md_->Write(b));
  }
  lk.Release();
  if (trunc && inode.is_reg()) CFS_RETURN_IF_ERROR(CommitFor(ctx));
  OpenResult r;
  r.handle = open_files_->Add(OpenFile{
      ino, readable, writable, (flags & O_APPEND) != 0, inode.is_reg()});
  CFS_ASSIGN_OR_RETURN(r.attr, MakeAttr(inode));
  if (trunc && inode.is_reg()) {
    Emit(ChangeEvent::Kind::kData, ino, kInvalidInode, {}, ctx.origin);
  }
  return r;
}

Result<OpenResult> Vfs::Create(const OpContext& ctx, InodeId parent,
                               std::string_view name, uint32_t mode,
                               int flags) {
  bool excl = (flags & O_EXCL) != 0;
  for (int attempt = 0; attempt < 8; ++attempt) {
    OpenResult r;
    Result<Attr> a = CreateNode(ctx, parent, name, FileType::kRegular, mode, 0,
                                {}, &r.handle, flags);
    if (a.ok()) {
      r.attr = *a;
      return r;
    }
    if (a.code() != EEXIST || excl) return a.status();
    // The name exists: open what is there, as open(2) without O_EXCL does.
    Result<Attr> found = Lookup(ctx, parent, name);
    if (found.code() == ENOENT) continue;  // removed meanwhile: create again
    if (!found.ok()) return found.status();
    if (found->inode.is_dir()) return Status::Error(EISDIR);
    return Open(ctx, found->inode.id, flags & ~(O_CREAT | O_EXCL));
  }
  return Status::Error(EAGAIN, "create raced with removal");
}

Status Vfs::Release(uint64_t handle) {
  auto removed = open_files_->Remove(handle);
  if (!removed) return Status::Error(EBADF);
  if (removed->second > 0) return Status::Ok();
  InodeId ino = removed->first.ino;
  LockedSet lk(locks_.get(), {ino});
  return ReclaimIfUnused(ino);
}

Status Vfs::UpdateAtime(InodeId ino) {
  LockedSet lk(locks_.get(), {ino});
  CFS_ASSIGN_OR_RETURN(Inode inode, md_->GetInode(ino));
  NanoTime now = Now();
  if (!AtimeDue(opts_.atime, inode, now)) return Status::Ok();
  inode.atime = now;
  MetadataBatch b;
  b.set_durable(false);
  b.PutInode(inode);
  return md_->Write(b);
}

Result<std::string> Vfs::Read(const OpContext& ctx, InodeId ino,
                              uint64_t handle, uint64_t off, size_t len) {
  std::string out(len, '\0');
  CFS_ASSIGN_OR_RETURN(size_t n,
                       ReadInto(ctx, ino, handle, off, len, out.data()));
  out.resize(n);
  return out;
}

Result<Inode> Vfs::ReadableInode(const OpContext& ctx, InodeId ino,
                                 uint64_t handle) {
  if (handle != 0) {
    auto f = open_files_->Get(handle);
    if (!f || f->ino != ino || !f->readable) return Status::Error(EBADF);
  }
  CFS_ASSIGN_OR_RETURN(Inode inode, LiveInode(ino));
  if (inode.is_dir()) return Status::Error(EISDIR);
  if (!inode.is_reg()) return Status::Invalid("not a regular file");
  if (handle == 0 && !(ctx.owner_override && inode.uid == ctx.cred.uid)) {
    CFS_RETURN_IF_ERROR(CheckAccess(inode, ctx.cred, kMayRead));
  }
  return inode;
}

Result<size_t> Vfs::ReadInto(const OpContext& ctx, InodeId ino, uint64_t handle,
                             uint64_t off, size_t len, char* buf,
                             uint64_t* size) {
  CFS_ASSIGN_OR_RETURN(Inode inode, ReadableInode(ctx, ino, handle));
  if (size != nullptr) *size = inode.size;
  size_t n = 0;
  if (off < inode.size) {
    n = static_cast<size_t>(std::min<uint64_t>(len, inode.size - off));
    CFS_ASSIGN_OR_RETURN(size_t got, content_->Read(ino, off, n, buf));
    // What the store lacks (a hole, or the range between stored data and
    // the size) reads as zeros.
    if (got < n) std::memset(buf + got, 0, n - got);
  }
  if (AtimeDue(opts_.atime, inode, Now())) {
    Status st = UpdateAtime(ino);
    if (!st.ok() && st.code() != ENOENT) return st;
  }
  return n;
}

Result<size_t> Vfs::ReadRef(const OpContext& ctx, InodeId ino, uint64_t handle,
                            uint64_t off, size_t len,
                            ContentStore::FileRef* ref, uint64_t* size) {
  CFS_ASSIGN_OR_RETURN(Inode inode, ReadableInode(ctx, ino, handle));
  CFS_ASSIGN_OR_RETURN(*ref, content_->Ref(ino));
  if (ref->fd < 0) return size_t{0};  // the caller reads instead
  if (size != nullptr) *size = inode.size;
  size_t n = 0;
  if (off < inode.size) {
    n = static_cast<size_t>(std::min<uint64_t>(len, inode.size - off));
  }
  if (AtimeDue(opts_.atime, inode, Now())) {
    Status st = UpdateAtime(ino);
    if (!st.ok() && st.code() != ENOENT) return st;
  }
  return n;
}

Result<Attr> Vfs::Write(const OpContext& ctx, InodeId ino, uint64_t handle,
                        uint64_t off, std::string_view data) {
  struct iovec v = {const_cast<char*>(data.data()), data.size()};
  return Write(ctx, ino, handle, off, &v, 1);
}

Result<Attr> Vfs::Write(const OpContext& ctx, InodeId ino, uint64_t handle,
                        uint64_t off, const struct iovec* iov, int iovcnt) {
  bool append = false;
  bool checked = false;  // type and access known from the open
  if (handle != 0) {
    auto f = open_files_->Get(handle);
    if (!f || f->ino != ino || !f->writable) return Status::Error(EBADF);
    append = f->append;
    checked = f->regular;
  }
  uint64_t total = 0;
  for (int i = 0; i < iovcnt; ++i) total += iov[i].iov_len;

  std::optional<LockedSet> lk;
  if (append) lk.emplace(locks_.get(), std::initializer_list<InodeId>{ino});
  if (!checked || append || total == 0) {
    // Handle-less writes (NFS), appends and empty writes need the inode now;
    // a plain write through a handle reads it only once, after the data.
    CFS_ASSIGN_OR_RETURN(Inode inode, md_->GetInode(ino));
    OverlayDirect(&inode);
    if (inode.is_dir()) return Status::Error(EISDIR);
    if (!inode.is_reg()) return Status::Invalid("not a regular file");
    if (handle == 0 && !(ctx.owner_override && inode.uid == ctx.cred.uid)) {
      CFS_RETURN_IF_ERROR(CheckAccess(inode, ctx.cred, kMayWrite));
    }
    if (append) off = inode.size;
    if (total == 0) return MakeAttr(inode);
  }
  if (off > opts_.max_file_size || total > opts_.max_file_size - off) {
    return Status::Error(EFBIG);
  }
  CFS_RETURN_IF_ERROR(content_->Write(ino, off, iov, iovcnt));

  if (!lk) lk.emplace(locks_.get(), std::initializer_list<InodeId>{ino});
  CFS_ASSIGN_OR_RETURN(Inode inode, md_->GetInode(ino));
  OverlayDirect(&inode);
  NanoTime now = Now();
  inode.size = std::max(inode.size, off + total);
  inode.mtime = now;
  inode.mode = ModeAfterWrite(inode, ctx.cred);
  TouchCtime(&inode, now);
  MetadataBatch b;
  b.set_durable(false);  // like the data itself: durable at fsync
  b.PutInode(inode);
  CFS_RETURN_IF_ERROR(md_->Write(b));
  lk.reset();
  Emit(ChangeEvent::Kind::kData, ino, kInvalidInode, {}, ctx.origin);
  return MakeAttr(inode);
}

Status Vfs::Fsync(InodeId ino, bool data_only) {
  (void)data_only;  // sizes live in metadata, so both sync the same
  if (direct_count_.load(std::memory_order_relaxed) > 0) {
    // Sizes written directly (FUSE passthrough) are recorded first.
    LockedSet lk(locks_.get(), {ino});
    CFS_RETURN_IF_ERROR(FoldDirect(ino));
  }
  CFS_ASSIGN_OR_RETURN(Inode inode, md_->GetInode(ino));
  if (inode.is_reg()) CFS_RETURN_IF_ERROR(content_->Sync(ino));
  return commit_->Sync();
}

Status Vfs::ReadDir(const OpContext& ctx, InodeId dir, uint64_t handle,
                    uint64_t cookie, bool plus,
                    const std::function<bool(const ReadDirEntry&)>& fn) {
  CFS_ASSIGN_OR_RETURN(Inode d, md_->GetInode(dir));
  if (!d.is_dir()) return Status::Error(ENOTDIR);
  if (handle == 0) CFS_RETURN_IF_ERROR(CheckAccess(d, ctx.cred, kMayRead));
  auto emit_dot = [&](const char* name, InodeId ino, uint64_t c) -> bool {
    ReadDirEntry e{name, ino, FileType::kDirectory, c, std::nullopt};
    if (plus) {
      Result<Attr> a = GetAttr(ino);
      if (a.ok()) e.attr = *a;
    }
    return fn(e);
  };
  if (cookie < 1 && !emit_dot(".", dir, 1)) return Status::Ok();
  if (cookie < 2 && !emit_dot("..", d.parent, 2)) return Status::Ok();
  uint64_t from = std::max<uint64_t>(cookie + 1, kFirstEntryCookie);
  if (cookie == UINT64_MAX) return Status::Ok();
  Status inner;
  CFS_RETURN_IF_ERROR(md_->ListEntries(dir, from, [&](const DirEntry& de) {
    ReadDirEntry e{de.name, de.child, de.type, de.cookie, std::nullopt};
    if (plus) {
      Result<Attr> a = GetAttr(de.child);
      if (a.ok()) {
        e.attr = *a;
      } else if (a.code() != ENOENT) {
        inner = a.status();
        return false;
      }
    }
    return fn(e);
  }));
  CFS_RETURN_IF_ERROR(inner);
  if (AtimeDue(opts_.atime, d, Now())) {
    Status st = UpdateAtime(dir);
    if (!st.ok() && st.code() != ENOENT) return st;
  }
  return Status::Ok();
}

}  // namespace concordfs
