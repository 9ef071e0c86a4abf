// Vfs::Rename: plain rename, replace, RENAME_NOREPLACE, RENAME_EXCHANGE.
//
// Locking: the stripes of both parents and of both names' inodes. A rename
// that moves a directory to another parent also holds rename_mu_, so the
// ancestry walk (no directory moves into its own subtree) cannot race with
// another directory move.
#include <mutex>
#include <optional>

#include "util/log.h"
#include "vfs/inode_locks.h"
#include "vfs/permissions.h"
#include "vfs/vfs.h"
#include "vfs/vfs_internal.h"

namespace concordfs {

using vfs_internal::RequireDir;
using vfs_internal::TouchCtime;
using vfs_internal::TouchDir;

namespace {

// Everything Rename read under its locks.
struct RenameState {
  Inode src_dir, dst_dir;  // equal ids when renaming within one directory
  DirEntry src;
  Inode src_inode;
  std::optional<DirEntry> dst;
  std::optional<Inode> dst_inode;
};

}  // namespace

// Is `dir` equal to `ancestor` or below it? Caller holds rename_mu_.
static Result<bool> IsWithin(MetadataStore* md, InodeId dir, InodeId ancestor) {
  for (int depth = 0; depth < 4096; ++depth) {
    if (dir == ancestor) return true;
    if (dir == kRootInode) return false;
    CFS_ASSIGN_OR_RETURN(Inode n, md->GetInode(dir));
    dir = n.parent;
  }
  return Status::Corruption("directory ancestry too deep or cyclic");
}

// Checks permissions and type rules for a rename; EINVAL/ENOTDIR/... .
static Status CheckRename(MetadataStore* md, const OpContext& ctx,
                          const RenameState& s, bool exchange) {
  const Credential& cred = ctx.cred;
  bool cross = s.src_dir.id != s.dst_dir.id;
  CFS_RETURN_IF_ERROR(CheckDelete(s.src_dir, s.src_inode, cred));
  if (s.dst_inode) {
    CFS_RETURN_IF_ERROR(CheckDelete(s.dst_dir, *s.dst_inode, cred));
  } else {
    CFS_RETURN_IF_ERROR(CheckAccess(s.dst_dir, cred, kMayWrite | kMayExec));
  }
  if (cross && s.src_inode.is_dir()) {
    CFS_RETURN_IF_ERROR(CheckAccess(s.src_inode, cred, kMayWrite));
    CFS_ASSIGN_OR_RETURN(bool loop, IsWithin(md, s.dst_dir.id, s.src.child));
    if (loop) return Status::Invalid("move into own subtree");
  }
  if (exchange) {
    if (cross && s.dst_inode->is_dir()) {
      CFS_RETURN_IF_ERROR(CheckAccess(*s.dst_inode, cred, kMayWrite));
      CFS_ASSIGN_OR_RETURN(bool loop, IsWithin(md, s.src_dir.id, s.dst->child));
      if (loop) return Status::Invalid("move into own subtree");
    }
    return Status::Ok();
  }
  if (!s.dst_inode) return Status::Ok();
  if (s.src_inode.is_dir() && !s.dst_inode->is_dir()) {
    return Status::Error(ENOTDIR);
  }
  if (!s.src_inode.is_dir() && s.dst_inode->is_dir()) {
    return Status::Error(EISDIR);
  }
  if (s.dst_inode->is_dir()) {
    CFS_ASSIGN_OR_RETURN(bool busy, md->HasEntries(s.dst_inode->id));
    if (busy) return Status::Error(ENOTEMPTY);
  }
  return Status::Ok();
}

Status Vfs::Rename(const OpContext& ctx, InodeId parent, std::string_view name,
                   InodeId new_parent, std::string_view new_name,
                   unsigned flags) {
  if ((flags & ~(kRenameNoReplace | kRenameExchange)) != 0 ||
      flags == (kRenameNoReplace | kRenameExchange)) {
    return Status::Invalid("rename flags");
  }
  bool exchange = flags & kRenameExchange;
  if (name == "." || name == "..") return Status::Error(EBUSY);
  if (new_name == "." || new_name == "..") {
    return Status::Error((flags & kRenameNoReplace) ? EEXIST : EBUSY);
  }
  CFS_RETURN_IF_ERROR(vfs_internal::ValidateLookupName(name));
  CFS_RETURN_IF_ERROR(vfs_internal::ValidateNewName(new_name));

  std::unique_lock<std::mutex> move_lock(rename_mu_, std::defer_lock);
  RenameState s;
  std::optional<LockedSet> lk;
  lk.emplace(locks_.get(), std::initializer_list<InodeId>{parent, new_parent});
  for (;;) {
    CFS_ASSIGN_OR_RETURN(s.src_dir, RequireDir(md_->GetInode(parent)));
    CFS_ASSIGN_OR_RETURN(s.dst_dir, RequireDir(md_->GetInode(new_parent)));
    CFS_RETURN_IF_ERROR(CheckAccess(s.src_dir, ctx.cred, kMayExec));
    CFS_RETURN_IF_ERROR(CheckAccess(s.dst_dir, ctx.cred, kMayExec));
    CFS_ASSIGN_OR_RETURN(s.src, md_->Lookup(parent, name));
    s.dst.reset();
    Result<DirEntry> d = md_->Lookup(new_parent, new_name);
    if (d.ok()) {
      s.dst = *d;
    } else if (d.code() != ENOENT) {
      return d.status();
    }
    bool moves_dir =
        parent != new_parent &&
        (s.src.type == FileType::kDirectory ||
         (exchange && s.dst && s.dst->type == FileType::kDirectory));
    if (moves_dir && !move_lock.owns_lock()) {
      lk.reset();  // rename_mu_ comes before the stripes
      move_lock.lock();
      lk.emplace(locks_.get(),
                 std::initializer_list<InodeId>{parent, new_parent});
      continue;
    }
    // Holding every stripe already: what was read is current. Otherwise
    // Extend re-locked everything and the names are read again.
    if (lk->Extend({s.src.child, s.dst ? s.dst->child : kInvalidInode})) break;
  }
  if (s.dst && (flags & kRenameNoReplace)) return Status::Exists();
  if (!s.dst && exchange) return Status::NotFound();
  if (s.dst && s.dst->child == s.src.child) return Status::Ok();  // same file
  if (s.dst_dir.nlink == 0) return Status::NotFound("directory was removed");
  CFS_ASSIGN_OR_RETURN(s.src_inode, md_->GetInode(s.src.child));
  if (s.dst) {
    CFS_ASSIGN_OR_RETURN(Inode di, md_->GetInode(s.dst->child));
    s.dst_inode = di;
  }
  CFS_RETURN_IF_ERROR(CheckRename(md_, ctx, s, exchange));

  // Apply. When both names are in one directory, src_dir is the one copy.
  NanoTime now = Now();
  bool cross = parent != new_parent;
  Inode& sd = s.src_dir;
  Inode& dd = cross ? s.dst_dir : s.src_dir;
  MetadataBatch b;
  b.set_durable(false);  // synced by CommitFor, outside the locks
  b.DeleteEntry(parent, s.src);
  if (exchange) {
    b.DeleteEntry(new_parent, *s.dst);
    b.PutEntry(parent, DirEntry{s.src.name, s.dst->child, s.dst->type,
                                sd.next_cookie++});
    b.PutEntry(new_parent, DirEntry{s.dst->name, s.src.child, s.src.type,
                                    dd.next_cookie++});
    if (cross && s.src_inode.is_dir()) {
      --sd.nlink, ++dd.nlink, s.src_inode.parent = new_parent;
    }
    if (cross && s.dst_inode->is_dir()) {
      --dd.nlink, ++sd.nlink, s.dst_inode->parent = parent;
    }
    TouchCtime(&*s.dst_inode, now);
  } else {
    if (s.dst) {
      b.DeleteEntry(new_parent, *s.dst);
      Inode& victim = *s.dst_inode;
      if (victim.is_dir()) {
        victim.nlink = 0;
        --dd.nlink;
      } else {
        --victim.nlink;
      }
      TouchCtime(&victim, now);
      if (victim.nlink == 0) b.AddOrphan(victim.id);
    }
    b.PutEntry(new_parent, DirEntry{std::string(new_name), s.src.child,
                                    s.src.type, dd.next_cookie++});
    if (cross && s.src_inode.is_dir()) {
      --sd.nlink, ++dd.nlink, s.src_inode.parent = new_parent;
    }
  }
  TouchCtime(&s.src_inode, now);
  TouchDir(&sd, now);
  TouchDir(&dd, now);
  b.PutInode(sd);
  if (cross) b.PutInode(dd);
  b.PutInode(s.src_inode);
  if (s.dst_inode) b.PutInode(*s.dst_inode);
  CFS_RETURN_IF_ERROR(md_->Write(b));
  lk.reset();
  if (move_lock.owns_lock()) move_lock.unlock();

  using K = ChangeEvent::Kind;
  Emit(K::kEntryRemoved, s.src.child, parent, name, ctx.origin);
  if (s.dst)
    Emit(K::kEntryRemoved, s.dst->child, new_parent, new_name, ctx.origin);
  Emit(K::kEntryAdded, s.src.child, new_parent, new_name, ctx.origin);
  if (exchange) Emit(K::kEntryAdded, s.dst->child, parent, name, ctx.origin);
  CFS_RETURN_IF_ERROR(CommitFor(ctx));
  if (!exchange && s.dst_inode && s.dst_inode->nlink == 0) {
    QueueReclaim(s.dst_inode->id);
  }
  return Status::Ok();
}

}  // namespace concordfs
