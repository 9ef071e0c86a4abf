// Vfs direct I/O: files whose content file the kernel reads and writes
// itself (FUSE passthrough), and how their attributes are kept true.
//
// While a file is under direct I/O the vfs sees none of its reads and
// writes, so the content file is the truth for what they change: its length
// is the file's size (BeginDirect makes it so), its mtime, once it differs
// from the base recorded, the file's mtime. OverlayDirect applies that to
// every inode the vfs reads for a caller (LiveInode, MakeAttr); FoldDirect
// records it under the inode's lock (Fsync, last EndDirect), so a crash
// loses only what was not fsynced, as with any write.
#include <sys/stat.h>

#include <algorithm>

#include "util/log.h"
#include "vfs/inode_locks.h"
#include "vfs/permissions.h"
#include "vfs/vfs.h"

namespace concordfs {

Result<ContentStore::FileRef> Vfs::BeginDirect(InodeId ino) {
  LockedSet lk(locks_.get(), {ino});
  {
    std::lock_guard<std::mutex> l(direct_mu_);
    auto it = direct_.find(ino);
    if (it != direct_.end()) {
      ++it->second.users;
      return it->second.ref;
    }
  }
  CFS_ASSIGN_OR_RETURN(Inode n, LiveInode(ino));
  if (!n.is_reg()) return Status::Invalid("not a regular file");
  CFS_ASSIGN_OR_RETURN(ContentStore::FileRef ref,
                       content_->PrepareDirect(ino, n.size));
  struct stat st;
  if (::fstat(ref.fd, &st) != 0) return Status::Error(errno, "fstat content");
  std::lock_guard<std::mutex> l(direct_mu_);
  DirectFile& d = direct_[ino];
  d.ref = ref;
  d.users = 1;
  d.base_mtime = FromTimespec(st.st_mtim);
  direct_count_.store(direct_.size(), std::memory_order_relaxed);
  return ref;
}

void Vfs::EndDirect(InodeId ino) {
  {
    std::lock_guard<std::mutex> l(direct_mu_);
    auto it = direct_.find(ino);
    if (it == direct_.end()) return;
    if (it->second.users > 1) {
      --it->second.users;
      return;
    }
  }
  // The last user: record what the direct I/O changed, then stop
  // overlaying (unless a BeginDirect came meanwhile).
  LockedSet lk(locks_.get(), {ino});
  bool changed = false;
  Status st = FoldDirect(ino, &changed);
  if (!st.ok() && st.code() != ENOENT) {
    CFS_LOG_WARN("recording the attributes of inode {} after direct I/O: {}",
                 ino, st.ToString());
  }
  {
    std::lock_guard<std::mutex> l(direct_mu_);
    auto it = direct_.find(ino);
    if (it != direct_.end() && --it->second.users == 0) direct_.erase(it);
    direct_count_.store(direct_.size(), std::memory_order_relaxed);
  }
  content_->Forget(ino);
  lk.Release();
  if (changed) {
    Emit(ChangeEvent::Kind::kData, ino, kInvalidInode, {}, Origin::kFuse);
  }
}

bool Vfs::StatDirect(InodeId ino, struct stat* st, NanoTime* base) {
  if (direct_count_.load(std::memory_order_relaxed) == 0) return false;
  ContentStore::FileRef ref;
  {
    std::lock_guard<std::mutex> l(direct_mu_);
    auto it = direct_.find(ino);
    if (it == direct_.end()) return false;
    ref = it->second.ref;  // keeps the descriptor open for the fstat
    if (base != nullptr) *base = it->second.base_mtime;
  }
  return ::fstat(ref.fd, st) == 0;
}

bool Vfs::IsDirect(InodeId ino) {
  if (direct_count_.load(std::memory_order_relaxed) == 0) return false;
  std::lock_guard<std::mutex> l(direct_mu_);
  return direct_.count(ino) > 0;
}

bool Vfs::OverlayDirect(Inode* n, uint64_t* used) {
  struct stat st;
  NanoTime base;
  if (!n->is_reg() || !StatDirect(n->id, &st, &base)) return false;
  n->size = static_cast<uint64_t>(st.st_size);
  NanoTime m = FromTimespec(st.st_mtim);
  if (m != base) {
    // Written directly since the base: what a write through the vfs does.
    n->mtime = m;
    n->ctime = std::max(n->ctime, m);
    n->mode = ModeWithoutSetId(n->mode);
  }
  if (used != nullptr) *used = static_cast<uint64_t>(st.st_blocks) * 512;
  return true;
}

Status Vfs::FoldDirect(InodeId ino, bool* changed) {
  CFS_ASSIGN_OR_RETURN(Inode stored, md_->GetInode(ino));
  Inode n = stored;
  if (!OverlayDirect(&n) || n == stored) return Status::Ok();
  ++n.change;
  MetadataBatch b;
  b.set_durable(false);  // made durable by Fsync or the next group commit
  b.PutInode(n);
  CFS_RETURN_IF_ERROR(md_->Write(b));
  if (changed != nullptr) *changed = true;
  return Status::Ok();
}

void Vfs::RebaseDirect(InodeId ino) {
  struct stat st;
  if (!StatDirect(ino, &st)) return;
  std::lock_guard<std::mutex> l(direct_mu_);
  auto it = direct_.find(ino);
  if (it != direct_.end()) it->second.base_mtime = FromTimespec(st.st_mtim);
}

}  // namespace concordfs
