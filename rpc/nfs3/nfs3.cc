#include "rpc/nfs3/nfs3.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <chrono>
#include <cstring>
#include <memory>

#include "metrics/metrics.h"
#include "vfs/permissions.h"

namespace concordfs::rpc {

using namespace nfs3;  // NOLINT: the wire constants

namespace {

constexpr uint32_t kUdpMaxIo = 32768;
// READs this large send their data by sendfile; smaller ones by a gather
// write from a buffer, which costs less for them (one write for many
// replies instead of a sendfile each).
constexpr uint32_t kSendfileMin = 64 * 1024;

bool Writes(uint32_t proc) {
  switch (proc) {
    case kSetattr:
    case kWrite:
    case kCreate:
    case kMkdir:
    case kSymlink:
    case kMknod:
    case kRemove:
    case kRmdir:
    case kRename:
    case kLink:
    case kCommit:
      return true;
    default:
      return false;
  }
}

// Exclusive CREATE keeps the client's verifier in the times (31 bits each,
// so the values are valid timestamps).
NanoTime VerfTime(std::string_view verf, int half) {
  uint32_t v = LoadU32(verf.data() + 4 * half) & 0x7fffffffu;
  return static_cast<NanoTime>(v) * kNanosPerSecond;
}

}  // namespace

Nfs3Program::Nfs3Program(Vfs* vfs, const ExportRegistry* exports,
                         const HandleCodec* codec, Nfs3Options opts)
    : vfs_(vfs), exports_(exports), codec_(codec), opts_(opts) {
  verifier_.resize(8);
  if (RAND_bytes(reinterpret_cast<unsigned char*>(verifier_.data()), 8) != 1) {
    // Fall back to the start time: still differs between runs.
    uint64_t t = static_cast<uint64_t>(
        std::chrono::system_clock::now().time_since_epoch().count());
    verifier_.clear();
    PutU64(&verifier_, t);
  }
}

bool Nfs3Program::NonIdempotent(uint32_t, uint32_t proc) const {
  switch (proc) {
    case kSetattr:
    case kCreate:
    case kMkdir:
    case kSymlink:
    case kMknod:
    case kRemove:
    case kRmdir:
    case kRename:
    case kLink:
      return true;
    default:
      return false;
  }
}

bool Nfs3Program::Quick(uint32_t, uint32_t proc) const {
  // Metadata reads served from LevelDB's cache: cheap and never syncing.
  switch (proc) {
    case kNull:
    case kGetattr:
    case kLookup:
    case kAccess:
    case kReadlink:
    case kFsinfo:
    case kPathconf:
      return true;
    default:
      return false;
  }
}

HandlerResult Nfs3Program::Call(const CallContext& ctx, XdrDecoder& args,
                                std::string* out) {
  static const Proc kProcs[kProcCount] = {
      nullptr,
      &Nfs3Program::Getattr,
      &Nfs3Program::Setattr,
      &Nfs3Program::Lookup,
      &Nfs3Program::Access,
      &Nfs3Program::Readlink,
      &Nfs3Program::Read,
      &Nfs3Program::Write,
      &Nfs3Program::Create,
      &Nfs3Program::Mkdir,
      &Nfs3Program::Symlink,
      &Nfs3Program::Mknod,
      &Nfs3Program::Remove,
      &Nfs3Program::Rmdir,
      &Nfs3Program::Rename,
      &Nfs3Program::Link,
      &Nfs3Program::Readdir,
      &Nfs3Program::Readdirplus,
      &Nfs3Program::Fsstat,
      &Nfs3Program::Fsinfo,
      &Nfs3Program::Pathconf,
      &Nfs3Program::Commit,
  };
  uint32_t proc = ctx.header.proc;
  if (proc == kNull) return {};
  if (proc >= kProcCount) return {AcceptStat::kProcUnavail};
  XdrEncoder e(out);
  // Read into a local first: g++ 12's -fsanitize=bounds at -O0 reports a
  // bogus index when the table entry is used directly in the call.
  const Proc fn = kProcs[proc];
  return (this->*fn)(ctx, args, e);
}

Stat Nfs3Program::Resolve(const CallContext& ctx, std::string_view fh,
                          Target* t) const {
  std::optional<FileHandle> h = codec_->Decode(fh);
  if (!h) return kErrBadhandle;
  // A handle of an export that a reload removed is stale, as with Linux
  // knfsd after `exportfs -u`: its export lookup fails and fh_verify
  // answers nfserr_stale. The table read here is the one this whole call
  // uses (ExportRegistry keeps it alive).
  const Export* exp = exports_->Current().FindById(h->export_id);
  if (exp == nullptr) return kErrStale;
  if (!exp->AllowsClient(ctx.peer) ||
      (exp->opts.secure && ctx.peer.port >= 1024)) {
    return kErrAcces;
  }
  Result<Attr> a = vfs_->GetAttr(h->ino);
  if (!a.ok()) return a.code() == ENOENT ? kErrStale : StatFromErrno(a.code());
  if (a->inode.generation != h->generation) return kErrStale;
  t->exp = exp;
  t->ino = h->ino;
  t->attr = std::move(*a);
  t->op.cred = exp->MapCredential(ctx.header);
  t->op.origin = Origin::kNfs;
  t->op.owner_override = true;
  if (exp->opts.read_only && Writes(ctx.header.proc)) return kErrRofs;
  return kOk;
}

std::string Nfs3Program::HandleOf(const Export* exp, const Attr& a) const {
  return codec_->Encode({exp->id, a.inode.id, a.inode.generation});
}

bool Nfs3Program::CachesBroken(InodeId ino, locking::CacheAccess a) const {
  if (!breaks_ || !breaks_->Active()) return true;
  return breaks_->BreakAndWait(ino, a, std::chrono::milliseconds(100));
}

bool Nfs3Program::NameCachesBroken(const Target& dir,
                                   std::string_view name) const {
  if (!breaks_ || !breaks_->Active()) return true;
  Result<Attr> a = vfs_->Lookup(dir.op, dir.ino, name);
  return !a.ok() || CachesBroken(a->inode.id, locking::CacheAccess::kRemove);
}

std::optional<Attr> Nfs3Program::AttrOf(InodeId ino) const {
  Result<Attr> a = vfs_->GetAttr(ino);
  if (!a.ok()) return std::nullopt;
  return std::move(*a);
}

bool Nfs3Program::UdpLimit(const CallContext& ctx) const {
  return ctx.transport == Transport::kUdp;
}

// ---- attributes ----

HandlerResult Nfs3Program::Getattr(const CallContext& ctx, XdrDecoder& a,
                                   XdrEncoder& e) {
  std::string_view fh = a.Opaque(kFhSizeMax);
  if (!a.ok()) return {AcceptStat::kGarbageArgs};
  Target t;
  Stat s = Resolve(ctx, fh, &t);
  e.U32(s);
  if (s == kOk) PutFattr(&e, t.attr, opts_.fsid);
  return {};
}

HandlerResult Nfs3Program::Setattr(const CallContext& ctx, XdrDecoder& a,
                                   XdrEncoder& e) {
  std::string_view fh = a.Opaque(kFhSizeMax);
  Sattr sa = GetSattr(&a);
  bool guard = a.Bool();
  NanoTime guard_ctime = guard ? GetTime(&a) : 0;
  if (!a.ok()) return {AcceptStat::kGarbageArgs};
  Target t;
  Stat s = Resolve(ctx, fh, &t);
  if (s != kOk) {
    e.U32(s);
    PutWcc(&e, t.Pre(), std::nullopt, opts_.fsid);
    return {};
  }
  if (guard) {
    // Compare at the wire's resolution (what the client saw).
    NanoTime cur = t.attr.inode.ctime < 0 ? 0 : t.attr.inode.ctime;
    if (cur != guard_ctime) {
      e.U32(kErrNotSync);
      PutWcc(&e, t.attr, t.attr, opts_.fsid);
      return {};
    }
  }
  if (sa.req.size && t.attr.inode.is_dir()) {
    e.U32(kErrInval);
    PutWcc(&e, t.attr, t.attr, opts_.fsid);
    return {};
  }
  if (sa.req.size && !CachesBroken(t.ino, locking::CacheAccess::kWrite)) {
    e.U32(kErrJukebox);
    PutWcc(&e, t.attr, t.attr, opts_.fsid);
    return {};
  }
  Result<Attr> r =
      sa.any() ? vfs_->SetAttr(t.op, t.ino, sa.req) : Result<Attr>(t.attr);
  e.U32(StatOf(r.status()));
  PutWcc(&e, t.attr, r.ok() ? std::optional<Attr>(*r) : AttrOf(t.ino),
         opts_.fsid);
  return {};
}

HandlerResult Nfs3Program::Lookup(const CallContext& ctx, XdrDecoder& a,
                                  XdrEncoder& e) {
  std::string_view fh = a.Opaque(kFhSizeMax);
  std::string_view name = a.String(kNameMaxWire);
  if (!a.ok()) return {AcceptStat::kGarbageArgs};
  Target dir;
  Stat s = Resolve(ctx, fh, &dir);
  if (s != kOk) {
    e.U32(s);
    PutPostOpAttr(&e, std::nullopt, opts_.fsid);
    return {};
  }
  Result<Attr> r = Status::Ok();
  if (name == ".." && dir.ino == dir.exp->root) {
    // Never climb out of the export.
    if (Status st = vfs_->Access(dir.op, dir.ino, kMayExec); !st.ok()) {
      r = st;
    } else {
      r = dir.attr;
    }
  } else if (!dir.attr.inode.is_dir()) {
    r = Status::Error(ENOTDIR);
  } else {
    r = vfs_->Lookup(dir.op, dir.ino, name);
  }
  if (!r.ok()) {
    e.U32(StatOf(r.status()));
    PutPostOpAttr(&e, dir.attr, opts_.fsid);
    return {};
  }
  e.U32(kOk);
  e.Opaque(HandleOf(dir.exp, *r));
  PutPostOpAttr(&e, *r, opts_.fsid);
  PutPostOpAttr(&e, dir.attr, opts_.fsid);
  return {};
}

HandlerResult Nfs3Program::Access(const CallContext& ctx, XdrDecoder& a,
                                  XdrEncoder& e) {
  std::string_view fh = a.Opaque(kFhSizeMax);
  uint32_t want = a.U32();
  if (!a.ok()) return {AcceptStat::kGarbageArgs};
  Target t;
  Stat s = Resolve(ctx, fh, &t);
  if (s != kOk) {
    e.U32(s);
    PutPostOpAttr(&e, std::nullopt, opts_.fsid);
    return {};
  }
  const Inode& i = t.attr.inode;
  auto may = [&](int mask) { return CheckAccess(i, t.op.cred, mask).ok(); };
  uint32_t got = 0;
  if ((want & kAccessRead) && may(kMayRead)) got |= kAccessRead;
  if (i.is_dir()) {
    if ((want & kAccessLookup) && may(kMayExec)) got |= kAccessLookup;
    if (may(kMayWrite | kMayExec)) {
      got |= want & (kAccessModify | kAccessExtend | kAccessDelete);
    }
  } else {
    if (may(kMayWrite)) got |= want & (kAccessModify | kAccessExtend);
    if ((want & kAccessExecute) && i.type == FileType::kRegular &&
        may(kMayExec)) {
      got |= kAccessExecute;
    }
  }
  if (t.exp->opts.read_only) {
    got &= ~(kAccessModify | kAccessExtend | kAccessDelete);
  }
  e.U32(kOk);
  PutPostOpAttr(&e, t.attr, opts_.fsid);
  e.U32(got);
  return {};
}

HandlerResult Nfs3Program::Readlink(const CallContext& ctx, XdrDecoder& a,
                                    XdrEncoder& e) {
  std::string_view fh = a.Opaque(kFhSizeMax);
  if (!a.ok()) return {AcceptStat::kGarbageArgs};
  Target t;
  Stat s = Resolve(ctx, fh, &t);
  if (s != kOk) {
    e.U32(s);
    PutPostOpAttr(&e, std::nullopt, opts_.fsid);
    return {};
  }
  Result<std::string> r = vfs_->ReadLink(t.op, t.ino);
  e.U32(StatOf(r.status()));
  PutPostOpAttr(&e, t.attr, opts_.fsid);
  if (r.ok()) e.String(*r);
  return {};
}

// ---- data ----

HandlerResult Nfs3Program::Read(const CallContext& ctx, XdrDecoder& a,
                                XdrEncoder& e) {
  std::string_view fh = a.Opaque(kFhSizeMax);
  uint64_t off = a.U64();
  uint32_t count = a.U32();
  if (!a.ok()) return {AcceptStat::kGarbageArgs};
  Target t;
  Stat s = Resolve(ctx, fh, &t);
  if (s != kOk) {
    e.U32(s);
    PutPostOpAttr(&e, std::nullopt, opts_.fsid);
    return {};
  }
  count = std::min(count, UdpLimit(ctx) ? kUdpMaxIo : opts_.max_io);
  if (t.attr.inode.is_dir()) {
    e.U32(kErrIsdir);
    PutPostOpAttr(&e, t.attr, opts_.fsid);
    return {};
  }
  if (!CachesBroken(t.ino, locking::CacheAccess::kRead)) {
    e.U32(kErrJukebox);
    PutPostOpAttr(&e, t.attr, opts_.fsid);
    return {};
  }
  std::string* out = e.out();
  const size_t start = out->size();
  uint64_t size = t.attr.inode.size;
  // What precedes the data of a READ sent with a tail: status, attributes,
  // count, eof, the opaque's length. False on a failed read.
  auto head = [&](const Result<size_t>& r) {
    e.U32(StatOf(r.status()));
    PutPostOpAttr(&e, t.attr, opts_.fsid);
    if (!r.ok()) return false;
    metrics::AddBytesRead(metrics::Protocol::kNfs, *r);
    e.U32(static_cast<uint32_t>(*r));
    e.Bool(off + *r >= size);
    e.U32(static_cast<uint32_t>(*r));  // opaque length
    return true;
  };
  if (ctx.tail != nullptr && count >= kSendfileMin) {
    // The data goes from the content file to the socket by sendfile, after
    // the results: no copy through this process at all.
    ContentStore::FileRef ref;
    Result<size_t> r = vfs_->ReadRef(t.op, t.ino, 0, off, count, &ref, &size);
    if (!r.ok() || ref.fd >= 0) {
      if (!head(r)) return {};
      size_t pad = XdrPad(*r);
      ctx.tail->data.reset(new char[4]());
      ctx.tail->size = pad;
      ctx.tail->file = std::move(ref.keep);
      ctx.tail->fd = ref.fd;
      ctx.tail->file_off = off;
      ctx.tail->file_len = *r;
      return {};
    }
  }
  if (ctx.tail != nullptr) {
    // No file to send from (a file never written, or a store without
    // files): the data goes out by a gather write from its own
    // (uninitialised) buffer, read straight from the content store: no
    // copy, no zeroing.
    std::unique_ptr<char[]> buf(new char[count + 4]);
    Result<size_t> r =
        vfs_->ReadInto(t.op, t.ino, 0, off, count, buf.get(), &size);
    if (!head(r)) return {};
    size_t pad = XdrPad(*r);
    std::memset(buf.get() + *r, 0, pad);
    ctx.tail->data = std::move(buf);
    ctx.tail->size = *r + pad;
    return {};
  }
  // Without a tail (UDP) the data is read straight into the reply: status,
  // attributes, count and eof are written first and patched after the read.
  e.U32(kOk);
  PutPostOpAttr(&e, t.attr, opts_.fsid);
  const size_t count_at = out->size();
  e.U32(0);       // count
  e.Bool(false);  // eof
  const size_t data_at = e.ReserveOpaque(count);
  Result<size_t> r =
      vfs_->ReadInto(t.op, t.ino, 0, off, count, out->data() + data_at, &size);
  if (!r.ok()) {
    out->resize(start);
    e.U32(StatOf(r.status()));
    PutPostOpAttr(&e, t.attr, opts_.fsid);
    return {};
  }
  e.FinishReserved(data_at, *r);
  metrics::AddBytesRead(metrics::Protocol::kNfs, *r);
  std::string patch;
  PutU32(&patch, static_cast<uint32_t>(*r));
  PutU32(&patch, off + *r >= size ? 1 : 0);
  out->replace(count_at, 8, patch);
  return {};
}

HandlerResult Nfs3Program::Write(const CallContext& ctx, XdrDecoder& a,
                                 XdrEncoder& e) {
  std::string_view fh = a.Opaque(kFhSizeMax);
  uint64_t off = a.U64();
  uint32_t count = a.U32();
  uint32_t stable = a.U32();
  std::string_view data = a.Opaque();
  if (!a.ok() || stable > kFileSync) return {AcceptStat::kGarbageArgs};
  Target t;
  Stat s = Resolve(ctx, fh, &t);
  if (s != kOk) {
    e.U32(s);
    PutWcc(&e, t.Pre(), std::nullopt, opts_.fsid);
    return {};
  }
  if (data.size() < count) {
    e.U32(kErrInval);
    PutWcc(&e, t.attr, t.attr, opts_.fsid);
    return {};
  }
  data = data.substr(0, count);
  if (t.attr.inode.is_dir()) {
    e.U32(kErrIsdir);
    PutWcc(&e, t.attr, t.attr, opts_.fsid);
    return {};
  }
  if (!CachesBroken(t.ino, locking::CacheAccess::kWrite)) {
    e.U32(kErrJukebox);
    PutWcc(&e, t.attr, t.attr, opts_.fsid);
    return {};
  }
  Result<Attr> r = vfs_->Write(t.op, t.ino, 0, off, data);
  uint32_t committed = kUnstable;
  if (r.ok() && stable != kUnstable) {
    Status st = vfs_->Fsync(t.ino, stable == kDataSync);
    if (!st.ok()) {
      r = st;
    } else {
      committed = stable;
    }
  }
  e.U32(StatOf(r.status()));
  PutWcc(&e, t.attr, r.ok() ? std::optional<Attr>(*r) : AttrOf(t.ino),
         opts_.fsid);
  if (!r.ok()) return {};
  metrics::AddBytesWritten(metrics::Protocol::kNfs, count);
  e.U32(count);
  e.U32(committed);
  e.Fixed(verifier_);
  return {};
}

HandlerResult Nfs3Program::Commit(const CallContext& ctx, XdrDecoder& a,
                                  XdrEncoder& e) {
  std::string_view fh = a.Opaque(kFhSizeMax);
  a.U64();  // offset
  a.U32();  // count: the whole file is synced either way
  if (!a.ok()) return {AcceptStat::kGarbageArgs};
  Target t;
  Stat s = Resolve(ctx, fh, &t);
  if (s != kOk) {
    e.U32(s);
    PutWcc(&e, std::nullopt, std::nullopt, opts_.fsid);
    return {};
  }
  Status st = vfs_->Fsync(t.ino, false);
  e.U32(StatOf(st));
  PutWcc(&e, t.attr, t.attr, opts_.fsid);
  if (st.ok()) e.Fixed(verifier_);
  return {};
}

// ---- namespace ----

void Nfs3Program::NewObjectReply(XdrEncoder& e, const Target& dir,
                                 Result<Attr> created, const Sattr* rest) {
  if (created.ok() && rest != nullptr) {
    // Ownership and times the create itself could not set.
    SetAttrRequest req;
    req.uid = rest->req.uid;
    req.gid = rest->req.gid;
    req.atime = rest->req.atime;
    req.mtime = rest->req.mtime;
    req.atime_now = rest->req.atime_now;
    req.mtime_now = rest->req.mtime_now;
    if (created->inode.uid == req.uid.value_or(created->inode.uid)) {
      req.uid.reset();
    }
    if (created->inode.gid == req.gid.value_or(created->inode.gid)) {
      req.gid.reset();
    }
    if (req.uid || req.gid || req.atime || req.mtime || req.atime_now ||
        req.mtime_now) {
      Result<Attr> r = vfs_->SetAttr(dir.op, created->inode.id, req);
      if (r.ok()) created = std::move(*r);
    }
  }
  e.U32(StatOf(created.status()));
  if (created.ok()) {
    PutPostOpFh(&e, HandleOf(dir.exp, *created));
    PutPostOpAttr(&e, *created, opts_.fsid);
  }
  PutWcc(&e, dir.attr, AttrOf(dir.ino), opts_.fsid);
}

HandlerResult Nfs3Program::Create(const CallContext& ctx, XdrDecoder& a,
                                  XdrEncoder& e) {
  std::string_view fh = a.Opaque(kFhSizeMax);
  std::string_view name = a.String(kNameMaxWire);
  uint32_t how = a.U32();
  Sattr sa;
  std::string_view verf;
  if (how == kUnchecked || how == kGuarded) {
    sa = GetSattr(&a);
  } else if (how == kExclusive) {
    verf = a.Fixed(8);
  } else {
    a.Fail();
  }
  if (!a.ok()) return {AcceptStat::kGarbageArgs};
  Target dir;
  Stat s = Resolve(ctx, fh, &dir);
  if (s != kOk) {
    e.U32(s);
    PutWcc(&e, dir.Pre(), std::nullopt, opts_.fsid);
    return {};
  }
  uint32_t mode = how == kExclusive ? 0600 : sa.req.mode.value_or(0644);
  Result<Attr> r = vfs_->Mknod(dir.op, dir.ino, name, S_IFREG | mode, 0);
  if (how == kExclusive) {
    if (r.ok()) {
      SetAttrRequest req;
      req.atime = VerfTime(verf, 0);
      req.mtime = VerfTime(verf, 1);
      Result<Attr> v = vfs_->SetAttr(dir.op, r->inode.id, req);
      if (v.ok()) r = std::move(*v);
    } else if (r.code() == EEXIST) {
      // A retransmission of our own create is a success.
      Result<Attr> found = vfs_->Lookup(dir.op, dir.ino, name);
      if (found.ok() && found->inode.is_reg() &&
          found->inode.atime == VerfTime(verf, 0) &&
          found->inode.mtime == VerfTime(verf, 1)) {
        r = std::move(*found);
      }
    }
    NewObjectReply(e, dir, std::move(r), nullptr);
    return {};
  }
  if (!r.ok() && r.code() == EEXIST && how == kUnchecked) {
    Result<Attr> found = vfs_->Lookup(dir.op, dir.ino, name);
    if (found.ok() && found->inode.is_reg()) {
      r = std::move(*found);
      if (sa.req.size) {
        SetAttrRequest req;
        req.size = sa.req.size;
        r = vfs_->SetAttr(dir.op, r->inode.id, req);
      }
    }
    NewObjectReply(e, dir, std::move(r), nullptr);
    return {};
  }
  if (r.ok() && sa.req.size.value_or(0) != 0) {
    SetAttrRequest req;
    req.size = sa.req.size;
    Result<Attr> t = vfs_->SetAttr(dir.op, r->inode.id, req);
    if (t.ok()) r = std::move(*t);
  }
  NewObjectReply(e, dir, std::move(r), &sa);
  return {};
}

HandlerResult Nfs3Program::Mkdir(const CallContext& ctx, XdrDecoder& a,
                                 XdrEncoder& e) {
  std::string_view fh = a.Opaque(kFhSizeMax);
  std::string_view name = a.String(kNameMaxWire);
  Sattr sa = GetSattr(&a);
  if (!a.ok()) return {AcceptStat::kGarbageArgs};
  Target dir;
  Stat s = Resolve(ctx, fh, &dir);
  if (s != kOk) {
    e.U32(s);
    PutWcc(&e, dir.Pre(), std::nullopt, opts_.fsid);
    return {};
  }
  Result<Attr> r =
      vfs_->Mkdir(dir.op, dir.ino, name, sa.req.mode.value_or(0755));
  NewObjectReply(e, dir, std::move(r), &sa);
  return {};
}

HandlerResult Nfs3Program::Symlink(const CallContext& ctx, XdrDecoder& a,
                                   XdrEncoder& e) {
  std::string_view fh = a.Opaque(kFhSizeMax);
  std::string_view name = a.String(kNameMaxWire);
  Sattr sa = GetSattr(&a);
  std::string_view target = a.String(kPathMaxWire);
  if (!a.ok()) return {AcceptStat::kGarbageArgs};
  Target dir;
  Stat s = Resolve(ctx, fh, &dir);
  if (s != kOk) {
    e.U32(s);
    PutWcc(&e, dir.Pre(), std::nullopt, opts_.fsid);
    return {};
  }
  Result<Attr> r = vfs_->Symlink(dir.op, dir.ino, name, target);
  sa.req.mode.reset();  // symlink permissions are not used
  NewObjectReply(e, dir, std::move(r), &sa);
  return {};
}

HandlerResult Nfs3Program::Mknod(const CallContext& ctx, XdrDecoder& a,
                                 XdrEncoder& e) {
  std::string_view fh = a.Opaque(kFhSizeMax);
  std::string_view name = a.String(kNameMaxWire);
  uint32_t type = a.U32();
  Sattr sa;
  uint64_t rdev = 0;
  uint32_t fmt = 0;
  switch (type) {
    case kChr:
    case kBlk: {
      sa = GetSattr(&a);
      uint32_t maj = a.U32(), min = a.U32();
      rdev = makedev(maj, min);
      fmt = type == kChr ? S_IFCHR : S_IFBLK;
      break;
    }
    case kSock:
    case kFifo:
      sa = GetSattr(&a);
      fmt = type == kSock ? S_IFSOCK : S_IFIFO;
      break;
    default:
      break;  // void arm: NFS3ERR_BADTYPE below
  }
  if (!a.ok()) return {AcceptStat::kGarbageArgs};
  Target dir;
  Stat s = Resolve(ctx, fh, &dir);
  if (s == kOk && fmt == 0) s = kErrBadtype;
  if (s != kOk) {
    e.U32(s);
    PutWcc(&e, dir.Pre(), std::nullopt, opts_.fsid);
    return {};
  }
  Result<Attr> r = vfs_->Mknod(dir.op, dir.ino, name,
                               fmt | sa.req.mode.value_or(0644), rdev);
  NewObjectReply(e, dir, std::move(r), &sa);
  return {};
}

HandlerResult Nfs3Program::Remove(const CallContext& ctx, XdrDecoder& a,
                                  XdrEncoder& e) {
  std::string_view fh = a.Opaque(kFhSizeMax);
  std::string_view name = a.String(kNameMaxWire);
  if (!a.ok()) return {AcceptStat::kGarbageArgs};
  Target dir;
  Stat s = Resolve(ctx, fh, &dir);
  if (s == kOk && !NameCachesBroken(dir, name)) s = kErrJukebox;
  Status st = s == kOk ? vfs_->Unlink(dir.op, dir.ino, name) : Status::Ok();
  e.U32(s != kOk ? s : StatOf(st));
  PutWcc(&e, dir.Pre(), PostOf(dir), opts_.fsid);
  return {};
}

HandlerResult Nfs3Program::Rmdir(const CallContext& ctx, XdrDecoder& a,
                                 XdrEncoder& e) {
  std::string_view fh = a.Opaque(kFhSizeMax);
  std::string_view name = a.String(kNameMaxWire);
  if (!a.ok()) return {AcceptStat::kGarbageArgs};
  Target dir;
  Stat s = Resolve(ctx, fh, &dir);
  Status st = s == kOk ? vfs_->Rmdir(dir.op, dir.ino, name) : Status::Ok();
  e.U32(s != kOk ? s : StatOf(st));
  PutWcc(&e, dir.Pre(), PostOf(dir), opts_.fsid);
  return {};
}

HandlerResult Nfs3Program::Rename(const CallContext& ctx, XdrDecoder& a,
                                  XdrEncoder& e) {
  std::string_view from_fh = a.Opaque(kFhSizeMax);
  std::string_view from_name = a.String(kNameMaxWire);
  std::string_view to_fh = a.Opaque(kFhSizeMax);
  std::string_view to_name = a.String(kNameMaxWire);
  if (!a.ok()) return {AcceptStat::kGarbageArgs};
  Target from, to;
  Stat s = Resolve(ctx, from_fh, &from);
  if (s == kOk) s = Resolve(ctx, to_fh, &to);
  if (s == kOk && from.exp->id != to.exp->id) s = kErrXdev;
  if (s == kOk &&
      (!NameCachesBroken(from, from_name) || !NameCachesBroken(to, to_name))) {
    s = kErrJukebox;
  }
  Status st;
  if (s == kOk) {
    st = vfs_->Rename(from.op, from.ino, from_name, to.ino, to_name);
    s = StatOf(st);
  }
  e.U32(s);
  PutWcc(&e, from.Pre(), PostOf(from), opts_.fsid);
  PutWcc(&e, to.Pre(), PostOf(to), opts_.fsid);
  return {};
}

HandlerResult Nfs3Program::Link(const CallContext& ctx, XdrDecoder& a,
                                XdrEncoder& e) {
  std::string_view file_fh = a.Opaque(kFhSizeMax);
  std::string_view dir_fh = a.Opaque(kFhSizeMax);
  std::string_view name = a.String(kNameMaxWire);
  if (!a.ok()) return {AcceptStat::kGarbageArgs};
  Target file, dir;
  Stat s = Resolve(ctx, file_fh, &file);
  if (s == kOk) s = Resolve(ctx, dir_fh, &dir);
  if (s == kOk && file.exp->id != dir.exp->id) s = kErrXdev;
  if (s == kOk)
    s = StatOf(vfs_->Link(dir.op, file.ino, dir.ino, name).status());
  e.U32(s);
  PutPostOpAttr(&e, PostOf(file), opts_.fsid);
  PutWcc(&e, dir.Pre(), PostOf(dir), opts_.fsid);
  return {};
}

// ---- directories ----

HandlerResult Nfs3Program::Readdir(const CallContext& ctx, XdrDecoder& a,
                                   XdrEncoder& e) {
  return DoReaddir(ctx, a, e, false);
}

HandlerResult Nfs3Program::Readdirplus(const CallContext& ctx, XdrDecoder& a,
                                       XdrEncoder& e) {
  return DoReaddir(ctx, a, e, true);
}

HandlerResult Nfs3Program::DoReaddir(const CallContext& ctx, XdrDecoder& a,
                                     XdrEncoder& e, bool plus) {
  std::string_view fh = a.Opaque(kFhSizeMax);
  uint64_t cookie = a.U64();
  std::string_view verf = a.Fixed(8);
  uint32_t dircount = a.U32();
  uint32_t maxcount = plus ? a.U32() : dircount;
  if (!a.ok()) return {AcceptStat::kGarbageArgs};
  Target dir;
  Stat s = Resolve(ctx, fh, &dir);
  if (s == kOk && !dir.attr.inode.is_dir()) s = kErrNotdir;
  if (s != kOk) {
    e.U32(s);
    PutPostOpAttr(&e, dir.Pre(), opts_.fsid);
    return {};
  }
  // The verifier names the directory; cookies stay valid for its life.
  std::string my_verf;
  PutU64(&my_verf,
         (dir.ino * 0x9e3779b97f4a7c15ULL) ^ dir.attr.inode.generation);
  static const std::string kZero(8, '\0');
  if (cookie != 0 && verf != kZero && verf != my_verf) {
    e.U32(kErrBadCookie);
    PutPostOpAttr(&e, dir.attr, opts_.fsid);
    return {};
  }
  maxcount = std::min(maxcount, UdpLimit(ctx) ? kUdpMaxIo : opts_.max_io);
  std::string* out = e.out();
  const size_t start = out->size();
  e.U32(kOk);
  PutPostOpAttr(&e, dir.attr, opts_.fsid);
  e.Fixed(my_verf);
  // Room for the list terminator and eof.
  const size_t trailer = 8;
  size_t names_bytes = 0;
  bool full = false;
  int entries = 0;
  std::string entry;
  Status st = vfs_->ReadDir(
      dir.op, dir.ino, 0, cookie, plus, [&](const ReadDirEntry& de) {
        InodeId ino = de.ino;
        std::optional<Attr> attr = de.attr;
        if (de.name == ".." && dir.ino == dir.exp->root) {
          ino = dir.ino;  // the export root is its own parent
          if (plus) attr = dir.attr;
        }
        entry.clear();
        XdrEncoder en(&entry);
        en.Bool(true);
        en.U64(ino);
        en.String(de.name);
        en.U64(de.cookie);
        size_t dir_part = entry.size();
        if (plus) {
          PutPostOpAttr(&en, attr, opts_.fsid);
          PutPostOpFh(
              &en, attr ? std::optional<std::string>(HandleOf(dir.exp, *attr))
                        : std::nullopt);
        }
        if (out->size() - start + entry.size() + trailer > maxcount ||
            (plus && names_bytes + dir_part > dircount)) {
          full = true;
          return false;
        }
        names_bytes += dir_part;
        out->append(entry);
        ++entries;
        return true;
      });
  if (!st.ok()) {
    out->resize(start);
    e.U32(StatOf(st));
    PutPostOpAttr(&e, dir.attr, opts_.fsid);
    return {};
  }
  if (full && entries == 0) {
    out->resize(start);
    e.U32(kErrToosmall);
    PutPostOpAttr(&e, dir.attr, opts_.fsid);
    return {};
  }
  e.Bool(false);
  e.Bool(!full);
  return {};
}

// ---- file system ----

HandlerResult Nfs3Program::Fsstat(const CallContext& ctx, XdrDecoder& a,
                                  XdrEncoder& e) {
  std::string_view fh = a.Opaque(kFhSizeMax);
  if (!a.ok()) return {AcceptStat::kGarbageArgs};
  Target t;
  Stat s = Resolve(ctx, fh, &t);
  Result<FsStats> fs = Status::Ok();
  if (s == kOk) {
    fs = vfs_->StatFs();
    s = StatOf(fs.status());
  }
  e.U32(s);
  PutPostOpAttr(&e, t.Pre(), opts_.fsid);
  if (s != kOk) return {};
  e.U64(fs->total_bytes);
  e.U64(fs->free_bytes);
  e.U64(fs->avail_bytes);
  e.U64(fs->total_inodes);
  e.U64(fs->free_inodes);
  e.U64(fs->free_inodes);
  e.U32(0);  // invarsec: may change at any time
  return {};
}

HandlerResult Nfs3Program::Fsinfo(const CallContext& ctx, XdrDecoder& a,
                                  XdrEncoder& e) {
  std::string_view fh = a.Opaque(kFhSizeMax);
  if (!a.ok()) return {AcceptStat::kGarbageArgs};
  Target t;
  Stat s = Resolve(ctx, fh, &t);
  e.U32(s);
  PutPostOpAttr(&e, t.Pre(), opts_.fsid);
  if (s != kOk) return {};
  uint32_t io = UdpLimit(ctx) ? kUdpMaxIo : opts_.max_io;
  e.U32(io);                             // rtmax
  e.U32(io);                             // rtpref
  e.U32(4096);                           // rtmult
  e.U32(io);                             // wtmax
  e.U32(io);                             // wtpref
  e.U32(4096);                           // wtmult
  e.U32(std::min<uint32_t>(io, 65536));  // dtpref
  e.U64(opts_.max_file_size);
  e.U32(0);  // time_delta: nanosecond timestamps
  e.U32(1);
  // FSF3_LINK | FSF3_SYMLINK | FSF3_HOMOGENEOUS | FSF3_CANSETTIME
  e.U32(0x1 | 0x2 | 0x8 | 0x10);
  return {};
}

HandlerResult Nfs3Program::Pathconf(const CallContext& ctx, XdrDecoder& a,
                                    XdrEncoder& e) {
  std::string_view fh = a.Opaque(kFhSizeMax);
  if (!a.ok()) return {AcceptStat::kGarbageArgs};
  Target t;
  Stat s = Resolve(ctx, fh, &t);
  e.U32(s);
  PutPostOpAttr(&e, t.Pre(), opts_.fsid);
  if (s != kOk) return {};
  e.U32(65000);  // linkmax (the vfs's EMLINK limit)
  e.U32(static_cast<uint32_t>(kMaxNameLength));
  e.Bool(true);   // no_trunc: long names are refused, not truncated
  e.Bool(true);   // chown_restricted
  e.Bool(false);  // case_insensitive
  e.Bool(true);   // case_preserving
  return {};
}

}  // namespace concordfs::rpc
