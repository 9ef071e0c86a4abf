// Vfs: fallocate, SEEK_DATA/SEEK_HOLE and copy_file_range.
#include <fcntl.h>
#include <linux/falloc.h>
#include <unistd.h>

#include "vfs/inode_locks.h"
#include "vfs/open_files.h"
#include "vfs/permissions.h"
#include "vfs/vfs.h"
#include "vfs/vfs_internal.h"

namespace concordfs {

Result<Attr> Vfs::Fallocate(const OpContext& ctx, InodeId ino, uint64_t handle,
                            int mode, uint64_t off, uint64_t len) {
  const int kPunch = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
  if (mode != 0 && mode != FALLOC_FL_KEEP_SIZE && mode != kPunch) {
    return Status::NotSupported("fallocate mode");
  }
  if (len == 0) return Status::Invalid("fallocate length 0");
  if (off > opts_.max_file_size || len > opts_.max_file_size - off) {
    return Status::Error(EFBIG);
  }
  if (handle != 0) {
    auto f = open_files_->Get(handle);
    if (!f || f->ino != ino || !f->writable) return Status::Error(EBADF);
  }
  LockedSet lk(locks_.get(), {ino});
  CFS_ASSIGN_OR_RETURN(Inode n, md_->GetInode(ino));
  bool direct = OverlayDirect(&n);
  if (n.is_dir()) return Status::Error(EISDIR);
  if (!n.is_reg()) return Status::Error(ENODEV);
  if (handle == 0) CFS_RETURN_IF_ERROR(CheckAccess(n, ctx.cred, kMayWrite));
  if (mode == kPunch) {
    if (off < n.size) {
      uint64_t end = std::min(n.size, off + len);
      CFS_RETURN_IF_ERROR(content_->PunchHole(ino, off, end - off));
    }
  } else {
    CFS_RETURN_IF_ERROR(content_->Allocate(ino, off, len));
    if (mode == 0) n.size = std::max(n.size, off + len);
    // The content file of a file under direct I/O is exactly its size (the
    // kernel reads it up to its end): blocks reserved past it go again.
    if (direct && off + len > n.size) {
      CFS_RETURN_IF_ERROR(content_->Truncate(ino, n.size));
    }
  }
  NanoTime now = Now();
  n.mtime = now;
  vfs_internal::TouchCtime(&n, now);
  MetadataBatch b;
  b.set_durable(false);
  b.PutInode(n);
  CFS_RETURN_IF_ERROR(md_->Write(b));
  Emit(ChangeEvent::Kind::kData, ino, kInvalidInode, {}, ctx.origin);
  return MakeAttr(n);
}

Result<uint64_t> Vfs::SeekData(InodeId ino, uint64_t off, int whence) {
  if (whence != SEEK_DATA && whence != SEEK_HOLE) return Status::Invalid();
  CFS_ASSIGN_OR_RETURN(Inode n, md_->GetInode(ino));
  OverlayDirect(&n);
  if (!n.is_reg()) return Status::Invalid("seek on a non-regular file");
  if (off >= n.size) return Status::Error(ENXIO);
  Result<uint64_t> r = content_->Seek(ino, off, whence == SEEK_DATA);
  if (whence == SEEK_DATA) {
    // Beyond the stored bytes the file is a hole up to its size.
    if (!r.ok()) return r.code() == ENXIO ? Status::Error(ENXIO) : r.status();
    if (*r >= n.size) return Status::Error(ENXIO);
    return *r;
  }
  if (!r.ok()) {
    if (r.code() == ENXIO) return off;  // nothing stored there: a hole
    return r.status();
  }
  return std::min(*r, n.size);
}

Result<uint64_t> Vfs::CopyFileRange(const OpContext& ctx, InodeId src,
                                    uint64_t src_handle, uint64_t src_off,
                                    InodeId dst, uint64_t dst_handle,
                                    uint64_t dst_off, uint64_t len) {
  constexpr size_t kChunk = 1 << 20;
  uint64_t done = 0;
  while (done < len) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(kChunk, len - done));
    CFS_ASSIGN_OR_RETURN(std::string data,
                         Read(ctx, src, src_handle, src_off + done, n));
    if (data.empty()) break;
    CFS_RETURN_IF_ERROR(
        Write(ctx, dst, dst_handle, dst_off + done, data).status());
    done += data.size();
    if (data.size() < n) break;
  }
  return done;
}

}  // namespace concordfs
