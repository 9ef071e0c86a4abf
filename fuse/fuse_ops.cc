// The FUSE request handlers: each turns a request into one vfs call and
// replies. Handlers never block on anything but the vfs.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "fuse/fuse_internal.h"
#include "metrics/metrics.h"
#include "util/log.h"

namespace concordfs::fuse_internal {
namespace {

using locking::ShareOpen;

void FillStat(const Attr& a, struct stat* st) {
  std::memset(st, 0, sizeof(*st));
  const Inode& n = a.inode;
  st->st_ino = n.id;
  st->st_mode = n.st_mode();
  st->st_nlink = n.nlink;
  st->st_uid = n.uid;
  st->st_gid = n.gid;
  st->st_rdev = n.rdev;
  st->st_size = static_cast<off_t>(n.size);
  st->st_blksize = 4096;
  st->st_blocks = static_cast<blkcnt_t>((a.used_bytes + 511) / 512);
  st->st_atim = ToTimespec(n.atime);
  st->st_mtim = ToTimespec(n.mtime);
  st->st_ctim = ToTimespec(n.ctime);
}

void ReplyEntry(fuse_req_t req, const Attr& a) {
  const FuseOptions& o = Frontend(req)->options();
  fuse_entry_param e;
  std::memset(&e, 0, sizeof(e));
  e.ino = a.inode.id;
  e.generation = a.inode.generation;
  FillStat(a, &e.attr);
  e.attr_timeout = o.attr_timeout;
  e.entry_timeout = o.entry_timeout;
  fuse_reply_entry(req, &e);
}

void ReplyAttr(fuse_req_t req, const Attr& a) {
  struct stat st;
  FillStat(a, &st);
  fuse_reply_attr(req, &st, Frontend(req)->options().attr_timeout);
}

uint32_t AccessOf(int flags) {
  int acc = flags & O_ACCMODE;
  uint32_t a = 0;
  if (acc != O_WRONLY) a |= locking::kAccessRead;
  if (acc != O_RDONLY || (flags & O_TRUNC)) a |= locking::kAccessWrite;
  return a;
}

// Registers a local open in the share-mode table. A local open shares
// everything; it fails only when enforcing and an SMB open denies it.
Status RegisterOpen(FuseFrontend* fe, InodeId ino, uint64_t handle, int flags) {
  ShareOpen so;
  so.owner.protocol = locking::Protocol::kLocal;
  so.owner.open = handle;
  so.access = AccessOf(flags);
  so.share = locking::kShareAll;
  if (fe->shares()->Open(ino, so) && fe->options().enforce_share_modes) {
    return Status::Access("an SMB open denies this access");
  }
  return Status::Ok();
}

void BreakNamed(FuseFrontend* fe, fuse_req_t req, fuse_ino_t parent,
                const char* name) {
  locking::CacheBreaks* b = fe->cache_breaks();
  if (!b || !b->Active()) return;
  Result<Attr> a = fe->vfs()->Lookup(ContextOf(req), parent, name);
  if (a.ok()) b->BreakAndWait(a->inode.id, locking::CacheAccess::kRemove);
}

}  // namespace

void BreakCaching(FuseFrontend* fe, fuse_ino_t ino, locking::CacheAccess a) {
  locking::CacheBreaks* b = fe->cache_breaks();
  if (b && b->Active()) b->BreakAndWait(ino, a);
}

namespace {

void UnregisterOpen(FuseFrontend* fe, InodeId ino, uint64_t handle) {
  locking::Owner o;
  o.protocol = locking::Protocol::kLocal;
  o.open = handle;
  fe->shares()->Close(ino, o);
}

// ---- names and attributes ----

void OpLookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  FuseFrontend* fe = Frontend(req);
  Result<Attr> a = fe->vfs()->Lookup(ContextOf(req), parent, name);
  if (a.code() == ENOENT) {
    // A negative entry the kernel may cache (stat of missing files is
    // common: shells, git, make); a name created over NFS/SMB invalidates it.
    fuse_entry_param e;
    std::memset(&e, 0, sizeof(e));
    e.entry_timeout = fe->options().entry_timeout;
    fuse_reply_entry(req, &e);
    return;
  }
  if (!a.ok()) return ReplyError(req, a.status());
  ReplyEntry(req, *a);
}

void OpGetAttr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  Result<Attr> a = Frontend(req)->vfs()->GetAttr(ino);
  if (!a.ok()) return ReplyError(req, a.status());
  ReplyAttr(req, *a);
}

void OpSetAttr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set,
               fuse_file_info* fi) {
  SetAttrRequest r;
  if (to_set & FUSE_SET_ATTR_MODE) r.mode = attr->st_mode & 07777;
  if (to_set & FUSE_SET_ATTR_UID) r.uid = attr->st_uid;
  if (to_set & FUSE_SET_ATTR_GID) r.gid = attr->st_gid;
  if (to_set & FUSE_SET_ATTR_SIZE) r.size = attr->st_size;
  if (to_set & FUSE_SET_ATTR_ATIME_NOW) {
    r.atime_now = true;
  } else if (to_set & FUSE_SET_ATTR_ATIME) {
    r.atime = FromTimespec(attr->st_atim);
  }
  if (to_set & FUSE_SET_ATTR_MTIME_NOW) {
    r.mtime_now = true;
  } else if (to_set & FUSE_SET_ATTR_MTIME) {
    r.mtime = FromTimespec(attr->st_mtim);
  }
  if (fi) r.handle = fi->fh;
  if (r.size) BreakCaching(Frontend(req), ino, locking::CacheAccess::kWrite);
  Result<Attr> a = Frontend(req)->vfs()->SetAttr(ContextOf(req), ino, r);
  if (!a.ok()) return ReplyError(req, a.status());
  ReplyAttr(req, *a);
}

void OpReadLink(fuse_req_t req, fuse_ino_t ino) {
  Result<std::string> t = Frontend(req)->vfs()->ReadLink(ContextOf(req), ino);
  if (!t.ok()) return ReplyError(req, t.status());
  fuse_reply_readlink(req, t->c_str());
}

void OpAccess(fuse_req_t req, fuse_ino_t ino, int mask) {
  Status st = Frontend(req)->vfs()->Access(ContextOf(req), ino, mask);
  fuse_reply_err(req, st.ok() ? 0 : st.code());
}

// ---- namespace ----

void OpMknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
             dev_t rdev) {
  Result<Attr> a =
      Frontend(req)->vfs()->Mknod(ContextOf(req), parent, name, mode, rdev);
  if (!a.ok()) return ReplyError(req, a.status());
  ReplyEntry(req, *a);
}

void OpMkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  Result<Attr> a =
      Frontend(req)->vfs()->Mkdir(ContextOf(req), parent, name, mode);
  if (!a.ok()) return ReplyError(req, a.status());
  ReplyEntry(req, *a);
}

void OpSymlink(fuse_req_t req, const char* target, fuse_ino_t parent,
               const char* name) {
  Result<Attr> a =
      Frontend(req)->vfs()->Symlink(ContextOf(req), parent, name, target);
  if (!a.ok()) return ReplyError(req, a.status());
  ReplyEntry(req, *a);
}

void OpLink(fuse_req_t req, fuse_ino_t ino, fuse_ino_t parent,
            const char* name) {
  Result<Attr> a =
      Frontend(req)->vfs()->Link(ContextOf(req), ino, parent, name);
  if (!a.ok()) return ReplyError(req, a.status());
  ReplyEntry(req, *a);
}

void OpUnlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  BreakNamed(Frontend(req), req, parent, name);
  Status st = Frontend(req)->vfs()->Unlink(ContextOf(req), parent, name);
  fuse_reply_err(req, st.ok() ? 0 : st.code());
}

void OpRmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Status st = Frontend(req)->vfs()->Rmdir(ContextOf(req), parent, name);
  fuse_reply_err(req, st.ok() ? 0 : st.code());
}

void OpRename(fuse_req_t req, fuse_ino_t parent, const char* name,
              fuse_ino_t newparent, const char* newname, unsigned int flags) {
  BreakNamed(Frontend(req), req, parent, name);
  BreakNamed(Frontend(req), req, newparent, newname);
  Status st = Frontend(req)->vfs()->Rename(ContextOf(req), parent, name,
                                           newparent, newname, flags);
  fuse_reply_err(req, st.ok() ? 0 : st.code());
}

// ---- files ----

// Decides the open's I/O (passthrough or FUSE requests) and sets its reply
// flags; a passthrough reply is marked for the device hook to complete.
void SetOpenFlags(FuseFrontend* fe, const Inode& inode, fuse_file_info* fi) {
  int32_t backing = fe->passthrough()->Open(fe, inode);
  fi->keep_cache = fe->options().kernel_cache && backing == 0 ? 1 : 0;
  if (backing != 0) MarkPassthroughReply(backing);
}

void OpOpen(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  FuseFrontend* fe = Frontend(req);
  BreakCaching(fe, ino,
               (fi->flags & O_TRUNC) ? locking::CacheAccess::kWrite
               : (fi->flags & O_ACCMODE) != O_RDONLY
                   ? locking::CacheAccess::kOpenWrite
                   : locking::CacheAccess::kOpenRead);
  Result<OpenResult> r = fe->vfs()->Open(ContextOf(req), ino, fi->flags);
  if (!r.ok()) return ReplyError(req, r.status());
  Status st = RegisterOpen(fe, ino, r->handle, fi->flags);
  if (!st.ok()) {
    (void)fe->vfs()->Release(r->handle);
    return ReplyError(req, st);
  }
  fi->fh = r->handle;
  SetOpenFlags(fe, r->attr.inode, fi);
  if (fuse_reply_open(req, fi) != 0) {  // the caller went away
    UnregisterOpen(fe, ino, r->handle);
    fe->passthrough()->Release(fe, ino);
    (void)fe->vfs()->Release(r->handle);
  }
}

void OpCreate(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
              fuse_file_info* fi) {
  FuseFrontend* fe = Frontend(req);
  Result<OpenResult> r =
      fe->vfs()->Create(ContextOf(req), parent, name, mode, fi->flags);
  if (!r.ok()) return ReplyError(req, r.status());
  Status st = RegisterOpen(fe, r->attr.inode.id, r->handle, fi->flags);
  if (!st.ok()) {
    (void)fe->vfs()->Release(r->handle);
    return ReplyError(req, st);
  }
  fi->fh = r->handle;
  SetOpenFlags(fe, r->attr.inode, fi);
  fuse_entry_param e;
  std::memset(&e, 0, sizeof(e));
  e.ino = r->attr.inode.id;
  e.generation = r->attr.inode.generation;
  FillStat(r->attr, &e.attr);
  e.attr_timeout = fe->options().attr_timeout;
  e.entry_timeout = fe->options().entry_timeout;
  if (fuse_reply_create(req, &e, fi) != 0) {
    UnregisterOpen(fe, r->attr.inode.id, r->handle);
    fe->passthrough()->Release(fe, r->attr.inode.id);
    (void)fe->vfs()->Release(r->handle);
  }
}

void OpRead(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
            fuse_file_info* fi) {
  // One buffer per reader thread, kept: a fresh zeroed buffer per request
  // cost a memset (and page faults) of up to max_read bytes.
  thread_local std::vector<char> buf;
  if (buf.size() < size) buf.resize(size);
  Result<size_t> n = Frontend(req)->vfs()->ReadInto(ContextOf(req), ino, fi->fh,
                                                    off, size, buf.data());
  if (!n.ok()) return ReplyError(req, n.status());
  metrics::AddBytesRead(metrics::Protocol::kFuse, *n);
  fuse_reply_buf(req, buf.data(), *n);
}

void OpWrite(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size,
             off_t off, fuse_file_info* fi) {
  BreakCaching(Frontend(req), ino, locking::CacheAccess::kWrite);
  Result<Attr> a = Frontend(req)->vfs()->Write(ContextOf(req), ino, fi->fh, off,
                                               std::string_view(buf, size));
  if (!a.ok()) return ReplyError(req, a.status());
  metrics::AddBytesWritten(metrics::Protocol::kFuse, size);
  fuse_reply_write(req, size);
}

void OpFlush(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  // close(2) of any descriptor drops the process's POSIX locks on the file.
  DropPosixLocks(Frontend(req), ino, fi->lock_owner);
  fuse_reply_err(req, 0);
}

void OpRelease(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  FuseFrontend* fe = Frontend(req);
  if (fi->flock_release) DropFlock(fe, ino, fi->lock_owner);
  UnregisterOpen(fe, ino, fi->fh);
  fe->passthrough()->Release(fe, ino);
  Status st = fe->vfs()->Release(fi->fh);
  fuse_reply_err(req, st.ok() ? 0 : st.code());
}

void OpFsync(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info*) {
  Status st = Frontend(req)->vfs()->Fsync(ino, datasync != 0);
  fuse_reply_err(req, st.ok() ? 0 : st.code());
}

void OpFallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off, off_t len,
                 fuse_file_info* fi) {
  BreakCaching(Frontend(req), ino, locking::CacheAccess::kWrite);
  Result<Attr> a = Frontend(req)->vfs()->Fallocate(ContextOf(req), ino, fi->fh,
                                                   mode, off, len);
  fuse_reply_err(req, a.ok() ? 0 : a.code());
}

void OpLseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
             fuse_file_info*) {
  Result<uint64_t> r = Frontend(req)->vfs()->SeekData(ino, off, whence);
  if (!r.ok()) return ReplyError(req, r.status());
  fuse_reply_lseek(req, static_cast<off_t>(*r));
}

void OpCopyFileRange(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
                     fuse_file_info* fi_in, fuse_ino_t ino_out, off_t off_out,
                     fuse_file_info* fi_out, size_t len, int) {
  BreakCaching(Frontend(req), ino_in, locking::CacheAccess::kRead);
  BreakCaching(Frontend(req), ino_out, locking::CacheAccess::kWrite);
  Result<uint64_t> n = Frontend(req)->vfs()->CopyFileRange(
      ContextOf(req), ino_in, fi_in->fh, off_in, ino_out, fi_out->fh, off_out,
      len);
  if (!n.ok()) return ReplyError(req, n.status());
  fuse_reply_write(req, static_cast<size_t>(*n));
}

// ---- directories ----

void OpOpenDir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  FuseFrontend* fe = Frontend(req);
  Result<Attr> a = fe->vfs()->GetAttr(ino);
  if (!a.ok()) return ReplyError(req, a.status());
  if (!a->inode.is_dir()) return fuse_reply_err(req, ENOTDIR), void();
  Result<OpenResult> r = fe->vfs()->Open(ContextOf(req), ino, O_RDONLY);
  if (!r.ok()) return ReplyError(req, r.status());
  fi->fh = r->handle;
  if (fuse_reply_open(req, fi) != 0) (void)fe->vfs()->Release(r->handle);
}

void ReadDirCommon(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                   fuse_file_info* fi, bool plus) {
  FuseFrontend* fe = Frontend(req);
  std::vector<char> buf(size);
  size_t used = 0;
  Status st = fe->vfs()->ReadDir(
      ContextOf(req), ino, fi->fh, static_cast<uint64_t>(off), plus,
      [&](const ReadDirEntry& e) {
        size_t n;
        if (plus) {
          fuse_entry_param p;
          std::memset(&p, 0, sizeof(p));
          if (e.attr) FillStat(*e.attr, &p.attr);
          p.attr.st_ino = e.ino;
          p.attr.st_mode = FileTypeToMode(e.type);
          if (e.attr) p.attr.st_mode = e.attr->inode.st_mode();
          bool dot = e.name == "." || e.name == "..";
          // "." and ".." carry no entry (the kernel takes no reference).
          p.ino = dot ? 0 : e.ino;
          if (!dot && e.attr) {
            p.generation = e.attr->inode.generation;
            p.attr_timeout = fe->options().attr_timeout;
            p.entry_timeout = fe->options().entry_timeout;
          }
          n = fuse_add_direntry_plus(req, buf.data() + used, size - used,
                                     e.name.c_str(), &p, e.cookie);
        } else {
          struct stat s;
          std::memset(&s, 0, sizeof(s));
          s.st_ino = e.ino;
          s.st_mode = FileTypeToMode(e.type);
          n = fuse_add_direntry(req, buf.data() + used, size - used,
                                e.name.c_str(), &s, e.cookie);
        }
        if (n > size - used) return false;  // full: the kernel asks again
        used += n;
        return true;
      });
  if (!st.ok()) return ReplyError(req, st);
  fuse_reply_buf(req, buf.data(), used);
}

void OpReadDir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
               fuse_file_info* fi) {
  ReadDirCommon(req, ino, size, off, fi, false);
}

void OpReadDirPlus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                   fuse_file_info* fi) {
  ReadDirCommon(req, ino, size, off, fi, true);
}

void OpReleaseDir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  Status st = Frontend(req)->vfs()->Release(fi->fh);
  fuse_reply_err(req, st.ok() ? 0 : st.code());
}

void OpFsyncDir(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info*) {
  Status st = Frontend(req)->vfs()->Fsync(ino, datasync != 0);
  fuse_reply_err(req, st.ok() ? 0 : st.code());
}

void OpStatFs(fuse_req_t req, fuse_ino_t) {
  Result<FsStats> s = Frontend(req)->vfs()->StatFs();
  if (!s.ok()) return ReplyError(req, s.status());
  struct statvfs v;
  std::memset(&v, 0, sizeof(v));
  v.f_bsize = v.f_frsize = s->block_size;
  v.f_blocks = s->total_bytes / s->block_size;
  v.f_bfree = s->free_bytes / s->block_size;
  v.f_bavail = s->avail_bytes / s->block_size;
  v.f_files = s->total_inodes;
  v.f_ffree = v.f_favail = s->free_inodes;
  v.f_namemax = s->name_max;
  fuse_reply_statfs(req, &v);
}

// ---- extended attributes ----

void OpSetXattr(fuse_req_t req, fuse_ino_t ino, const char* name,
                const char* value, size_t size, int flags) {
  Status st = Frontend(req)->vfs()->SetXattr(
      ContextOf(req), ino, name, std::string_view(value, size), flags);
  fuse_reply_err(req, st.ok() ? 0 : st.code());
}

void ReplyXattrBytes(fuse_req_t req, const std::string& v, size_t size) {
  if (size == 0) return fuse_reply_xattr(req, v.size()), void();
  if (v.size() > size) return fuse_reply_err(req, ERANGE), void();
  fuse_reply_buf(req, v.data(), v.size());
}

void OpGetXattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  Result<std::string> v =
      Frontend(req)->vfs()->GetXattr(ContextOf(req), ino, name);
  if (!v.ok()) return ReplyError(req, v.status());
  ReplyXattrBytes(req, *v, size);
}

void OpListXattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  Result<std::vector<std::string>> names =
      Frontend(req)->vfs()->ListXattr(ContextOf(req), ino);
  if (!names.ok()) return ReplyError(req, names.status());
  std::string all;
  for (const std::string& n : *names) {
    all += n;
    all.push_back('\0');
  }
  ReplyXattrBytes(req, all, size);
}

void OpRemoveXattr(fuse_req_t req, fuse_ino_t ino, const char* name) {
  Status st = Frontend(req)->vfs()->RemoveXattr(ContextOf(req), ino, name);
  fuse_reply_err(req, st.ok() ? 0 : st.code());
}

void OpInit(void*, fuse_conn_info* conn) {
  // Locks must reach the lock manager, or other protocols never see them.
  if (conn->capable & FUSE_CAP_POSIX_LOCKS) conn->want |= FUSE_CAP_POSIX_LOCKS;
  if (conn->capable & FUSE_CAP_FLOCK_LOCKS) conn->want |= FUSE_CAP_FLOCK_LOCKS;
  if (conn->capable & FUSE_CAP_READDIRPLUS) conn->want |= FUSE_CAP_READDIRPLUS;
  // Always READDIRPLUS, not only for a listing's first request or after
  // lookups ("auto"): `ls -l` reads the whole directory before it stats
  // anything, so where the kernel reads a directory a page at a time every
  // entry past the first page cost a LOOKUP round trip. Attributes cost the
  // vfs one record read per entry, far less than a round trip.
  conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
  if (conn->capable & FUSE_CAP_PARALLEL_DIROPS) {
    conn->want |= FUSE_CAP_PARALLEL_DIROPS;
  }
  // The vfs clears setuid/setgid on write, truncate and chown itself, so
  // the kernel must not try (it would send a chmod as the writer).
  if (conn->capable & FUSE_CAP_HANDLE_KILLPRIV) {
    conn->want |= FUSE_CAP_HANDLE_KILLPRIV;
  }
  // Large requests: fewer round trips for sequential I/O (the kernel
  // negotiates max_pages from this).
  conn->max_write = 1 << 20;
  conn->max_readahead = 1 << 20;
}

void OpForget(fuse_req_t req, fuse_ino_t, uint64_t) {
  fuse_reply_none(req);  // inode ids are stable; nothing to drop
}

void OpForgetMulti(fuse_req_t req, size_t, fuse_forget_data*) {
  fuse_reply_none(req);
}

// Counts and times every operation (metrics/metrics.h): the wrapper runs
// the handler inside an OpTimer, so its time is until the reply is sent (or,
// for a blocking lock, queued).
template <uint32_t kOp, auto kFn>
struct Timed;
template <uint32_t kOp, typename... A, void (*kFn)(fuse_req_t, A...)>
struct Timed<kOp, kFn> {
  static void Run(fuse_req_t req, A... a) {
    metrics::OpTimer timer(metrics::Protocol::kFuse, kOp);
    kFn(req, a...);
  }
};

fuse_lowlevel_ops MakeOps() {
  fuse_lowlevel_ops ops;
  std::memset(&ops, 0, sizeof(ops));
  ops.init = OpInit;
  ops.lookup = Timed<metrics::kFuseLookup, OpLookup>::Run;
  ops.forget = Timed<metrics::kFuseForget, OpForget>::Run;
  ops.forget_multi = Timed<metrics::kFuseForgetMulti, OpForgetMulti>::Run;
  ops.getattr = Timed<metrics::kFuseGetattr, OpGetAttr>::Run;
  ops.setattr = Timed<metrics::kFuseSetattr, OpSetAttr>::Run;
  ops.readlink = Timed<metrics::kFuseReadlink, OpReadLink>::Run;
  ops.mknod = Timed<metrics::kFuseMknod, OpMknod>::Run;
  ops.mkdir = Timed<metrics::kFuseMkdir, OpMkdir>::Run;
  ops.unlink = Timed<metrics::kFuseUnlink, OpUnlink>::Run;
  ops.rmdir = Timed<metrics::kFuseRmdir, OpRmdir>::Run;
  ops.symlink = Timed<metrics::kFuseSymlink, OpSymlink>::Run;
  ops.rename = Timed<metrics::kFuseRename, OpRename>::Run;
  ops.link = Timed<metrics::kFuseLink, OpLink>::Run;
  ops.open = Timed<metrics::kFuseOpen, OpOpen>::Run;
  ops.read = Timed<metrics::kFuseRead, OpRead>::Run;
  ops.write = Timed<metrics::kFuseWrite, OpWrite>::Run;
  ops.flush = Timed<metrics::kFuseFlush, OpFlush>::Run;
  ops.release = Timed<metrics::kFuseRelease, OpRelease>::Run;
  ops.fsync = Timed<metrics::kFuseFsync, OpFsync>::Run;
  ops.opendir = Timed<metrics::kFuseOpendir, OpOpenDir>::Run;
  ops.readdir = Timed<metrics::kFuseReaddir, OpReadDir>::Run;
  ops.readdirplus = Timed<metrics::kFuseReaddirplus, OpReadDirPlus>::Run;
  ops.releasedir = Timed<metrics::kFuseReleasedir, OpReleaseDir>::Run;
  ops.fsyncdir = Timed<metrics::kFuseFsyncdir, OpFsyncDir>::Run;
  ops.statfs = Timed<metrics::kFuseStatfs, OpStatFs>::Run;
  ops.setxattr = Timed<metrics::kFuseSetxattr, OpSetXattr>::Run;
  ops.getxattr = Timed<metrics::kFuseGetxattr, OpGetXattr>::Run;
  ops.listxattr = Timed<metrics::kFuseListxattr, OpListXattr>::Run;
  ops.removexattr = Timed<metrics::kFuseRemovexattr, OpRemoveXattr>::Run;
  ops.access = Timed<metrics::kFuseAccess, OpAccess>::Run;
  ops.create = Timed<metrics::kFuseCreate, OpCreate>::Run;
  ops.getlk = Timed<metrics::kFuseGetlk, OpGetLk>::Run;
  ops.setlk = Timed<metrics::kFuseSetlk, OpSetLk>::Run;
  ops.flock = Timed<metrics::kFuseFlock, OpFlock>::Run;
  ops.fallocate = Timed<metrics::kFuseFallocate, OpFallocate>::Run;
  ops.lseek = Timed<metrics::kFuseLseek, OpLseek>::Run;
  ops.copy_file_range =
      Timed<metrics::kFuseCopyFileRange, OpCopyFileRange>::Run;
  return ops;
}

}  // namespace

const fuse_lowlevel_ops* Operations() {
  static const fuse_lowlevel_ops ops = MakeOps();
  return &ops;
}

OpContext ContextOf(fuse_req_t req) {
  const fuse_ctx* c = fuse_req_ctx(req);
  OpContext ctx;
  ctx.origin = Origin::kFuse;
  ctx.cred.uid = c->uid;
  ctx.cred.gid = c->gid;
  if (c->uid != 0) {
    // Supplementary groups matter only for non-root callers.
    gid_t groups[64];
    int n = fuse_req_getgroups(req, 64, groups);
    for (int i = 0; i < std::min(n, 64); ++i)
      ctx.cred.groups.push_back(groups[i]);
  }
  return ctx;
}

void ReplyError(fuse_req_t req, const Status& st) {
  int code = st.code();
  if (code == EUCLEAN || code <= 0 || code > 4095) code = EIO;
  fuse_reply_err(req, code);
}

}  // namespace concordfs::fuse_internal
