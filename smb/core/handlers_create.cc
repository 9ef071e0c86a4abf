// CREATE and CLOSE: name resolution, dispositions, access checks, create
// contexts, delete-on-close, named pipes on IPC$.
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>

#include "smb/core/connection.h"
#include "smb/info/access.h"
#include "smb/info/attributes.h"
#include "smb/info/names.h"
#include "smb/info/nt_status.h"
#include "smb/info/times.h"
#include "smb/wire/le.h"
#include "smb/wire/unicode.h"
#include "util/log.h"

namespace concordfs::smb {
namespace {

// CREATE stages after waiting for breaks (Call::create_stage bits).
constexpr uint32_t kStageOpenBreaks = 1;
constexpr uint32_t kStageHandleBreaks = 2;
static_assert(kStageRenameBreaks != kStageOpenBreaks &&
              kStageRenameBreaks != kStageHandleBreaks);

// Dispositions (FILE_OPEN_IF = 3 is the remaining one).
constexpr uint32_t kSupersede = 0, kOpen = 1, kCreateNew = 2, kOverwrite = 4,
                   kOverwriteIf = 5;
constexpr uint32_t kActionSuperseded = 0, kActionOpened = 1, kActionCreated = 2,
                   kActionOverwritten = 3;
constexpr uint32_t kOptDirectory = 0x1;
constexpr uint32_t kOptNonDirectory = 0x40;
constexpr uint32_t kOptDeleteOnClose = 0x1000;
// CreateOptions bits above these are reserved (INVALID_PARAMETER); these
// are valid but not supported (MS-SMB2 3.3.5.9): CREATE_TREE_CONNECTION,
// OPEN_BY_FILE_ID, RESERVE_OPFILTER.
constexpr uint32_t kOptValid = 0x00FFFFFF;
constexpr uint32_t kOptOpenById = 0x00002000;
constexpr uint32_t kOptNotSupported = 0x00000080 | kOptOpenById | 0x00100000;
// DesiredAccess bits that are reserved: asking for them is ACCESS_DENIED.
constexpr uint32_t kAccessReserved = 0x0CE0FE00;
constexpr uint32_t kAttrReadonly = 0x1;
constexpr uint32_t kValidAttrs = 0x00007FB7;

constexpr uint32_t kDataRead = 0x1 | 0x20;  // READ_DATA | EXECUTE
constexpr uint32_t kDataWrite = 0x2 | 0x4;  // WRITE_DATA | APPEND_DATA
constexpr uint32_t kWriteAccessBits =
    0x2 | 0x4 | 0x10 | 0x100 | kDelete | 0x00040000 | 0x00080000 | 0x40;

struct CreateContext {
  std::string_view name;
  std::string_view data;
};

bool ParseContexts(std::string_view msg, uint32_t off, uint32_t len,
                   std::vector<CreateContext>* out) {
  if (len == 0) return true;
  if (off < kSmb2HeaderSize || off > msg.size() || len > msg.size() - off)
    return false;
  std::string_view all = msg.substr(off, len);
  size_t pos = 0;
  while (true) {
    LeReader r(all.substr(pos));
    uint32_t next = r.U32();
    uint16_t name_off = r.U16();
    uint16_t name_len = r.U16();
    r.Skip(2);
    uint16_t data_off = r.U16();
    uint32_t data_len = r.U32();
    CreateContext c;
    c.name = r.At(name_off, name_len);
    c.data = r.At(data_off, data_len);
    if (!r.ok() || name_len == 0) return false;
    if (data_len && data_off % 8) return false;
    out->push_back(c);
    if (next == 0) break;
    if (next % 8 || next > all.size() - pos) return false;
    pos += next;
  }
  return true;
}

void AppendContext(std::string* buf, size_t* last, std::string_view name,
                   std::string_view data) {
  LeWriter w(buf);
  w.Align(8);
  if (*last != std::string::npos)
    w.PatchU32(*last, static_cast<uint32_t>(buf->size() - *last));
  *last = buf->size();
  w.U32(0);
  w.U16(16);
  w.U16(static_cast<uint16_t>(name.size()));
  w.U16(0);
  w.U16(data.empty() ? 0 : 24);
  w.U32(static_cast<uint32_t>(data.size()));
  w.Bytes(name);
  w.Align(8);
  w.Bytes(data);
}

int OpenFlags(uint32_t access) {
  bool rd = access & kDataRead;
  bool wr = access & kDataWrite;
  if (rd && wr) return O_RDWR;
  if (wr) return O_WRONLY;
  return O_RDONLY;
}

// Reads the durable contexts. Combinations the protocol forbids are
// INVALID_PARAMETER; a reconnect context makes the request contexts moot.
uint32_t ParseDurable(const std::vector<CreateContext>& contexts, bool v2_ok,
                      DurableAsk* d) {
  bool dhnc = false, dh2c = false;
  for (const CreateContext& cc : contexts) {
    LeReader r(cc.data);
    if (cc.name == "DHnQ") {
      if (cc.data.size() < 16) return kStatusInvalidParameter;
      d->v1 = true;
    } else if (cc.name == "DHnC") {
      if (cc.data.size() < 16) return kStatusInvalidParameter;
      dhnc = true;
      d->fid.persistent = r.U64();
      d->fid.volatile_id = r.U64();
    } else if (cc.name == "DH2Q" && v2_ok) {
      if (cc.data.size() < 32) return kStatusInvalidParameter;
      d->v2 = true;
      d->timeout_ms = r.U32();
      r.Skip(12);  // flags (persistent handles are not offered), reserved
      d->create_guid = std::string(r.Bytes(16));
    } else if (cc.name == "DH2C" && v2_ok) {
      if (cc.data.size() < 36) return kStatusInvalidParameter;
      dh2c = true;
      d->fid.persistent = r.U64();
      d->fid.volatile_id = r.U64();
      d->create_guid = std::string(r.Bytes(16));
    }
  }
  if (d->v2 && (d->v1 || dhnc)) return kStatusInvalidParameter;
  if (dh2c && (d->v1 || dhnc || d->v2)) return kStatusInvalidParameter;
  d->reconnect = dhnc || dh2c;
  d->reconnect_v2 = dh2c;
  if (d->reconnect) d->v1 = d->v2 = false;
  return kStatusSuccess;
}

}  // namespace

SmbFileId SmbConnection::ReadFileId(LeReader* r) {
  SmbFileId f;
  f.persistent = r->U64();
  f.volatile_id = r->U64();
  return f;
}

Open* SmbConnection::FindOpen(Call* c, SmbFileId fid) {
  if (fid.is_related_placeholder()) fid = c->created;
  Open* o = AnyOpen(fid.volatile_id);  // (held by any channel)
  if (!o) return nullptr;
  if (o->fid.persistent != fid.persistent || !c->session ||
      o->session_id != c->session->id || !c->tree ||
      o->tree_id != c->tree->id) {
    return nullptr;
  }
  return o;
}

locking::Owner ShareOwner(uint64_t session_id, uint64_t open_id) {
  locking::Owner w;
  w.protocol = locking::Protocol::kSmb;
  w.client = session_id;
  w.open = open_id;
  return w;
}

Open* SmbConnection::OpenOrClosed(Call* c, SmbFileId fid) {
  Open* o = FindOpen(c, fid);
  if (!o) c->status = kStatusFileClosed;
  return o;
}

bool SmbConnection::StructureSizeIs(Call* c, LeReader* r, uint16_t size) {
  r->Seek(kSmb2HeaderSize);
  if (r->U16() == size) return true;
  c->status = kStatusInvalidParameter;
  return false;
}

void ReleaseOpen(SmbServerState* st, Open* o) {
  if (o->share_registered && st->shares) {
    st->shares->Close(o->ino, ShareOwner(o->owner_session, o->fid.volatile_id));
    o->share_registered = false;
  }
  if (o->oplock_registered) {
    st->oplocks->Close(o->ino, o->fid.volatile_id);
    o->oplock_registered = false;
  }
  if (st->locks && o->ino != kInvalidInode && !o->pipe) {
    // The open's byte-range locks end with it.
    locking::ReleaseFilter f;
    f.protocol = locking::Protocol::kSmb;
    f.client = o->owner_session;
    f.open = o->fid.volatile_id;
    f.file = o->ino;
    st->locks->Release(f);
  }
  if (o->vfs_handle) (void)st->vfs->Release(o->vfs_handle);
  o->vfs_handle = 0;
  if (o->ino != kInvalidInode && !o->pipe) {
    if (o->delete_on_close) {
      st->files.SetDeletePending(o->ino, true);
      if (o->is_dir && st->notify) st->notify->DeletePending(o->ino);
    }
    if (st->files.RemoveOpen(o->ino) && o->parent != kInvalidInode) {
      // Last close of a delete-pending file: remove the name, if it still
      // names this file (another protocol may have renamed it).
      OpContext ctx = o->ctx;
      ctx.origin = Origin::kSmb;
      auto a = st->vfs->Lookup(ctx, o->parent, o->name);
      if (a.ok() && a->inode.id == o->ino) {
        Status r = o->is_dir ? st->vfs->Rmdir(ctx, o->parent, o->name)
                             : st->vfs->Unlink(ctx, o->parent, o->name);
        if (!r.ok()) {
          CFS_LOG_DEBUG("delete on close of {} failed: {}", o->path,
                        r.ToString());
        }
      }
    }
  }
}

void SmbConnection::EndWaits(Open* o) {
  if (o->notify_watch && st_->notify) st_->notify->Unwatch(o->notify_watch);
  o->notify_watch = 0;
  for (uint64_t async_id : o->notify_async_ids) {
    if (SmbConnection* h = AsyncHolder(async_id))
      h->CompleteAsync(async_id, kStatusNotifyCleanup, {});
  }
  o->notify_async_ids.clear();
  o->notify_buffer.clear();
  for (uint64_t async_id : o->lock_async_ids) {
    SmbConnection* h = AsyncHolder(async_id);
    if (!h) continue;
    auto p = h->pending_.find(async_id);
    if (p != h->pending_.end() && p->second.cancel) {
      p->second.closed = true;
      p->second.cancel();
    }
  }
  o->lock_async_ids.clear();
}

uint32_t SmbConnection::CloseOpen(Open* o) {
  EndWaits(o);
  ReleaseOpen(st_, o);
  SmbConnection* holder = this;  // (another channel's, for a bound session)
  AnyOpen(o->fid.volatile_id, &holder);
  holder->opens_.erase(o->fid.volatile_id);
  return kStatusSuccess;
}

std::function<void()> SmbConnection::RetryAfterBreaks(Call* c,
                                                      uint32_t next_stage,
                                                      uint64_t* async_id) {
  *async_id =
      c->retry_async_id ? c->retry_async_id : st_->next_async_id.fetch_add(1);
  auto msg = std::make_shared<std::string>(c->msg);
  uint64_t sid = c->session->id;
  uint32_t tid = c->tree->id;
  auto post = transport_->Poster();
  uint64_t id = *async_id;
  return [this, post, id, msg, sid, tid, next_stage] {
    post([this, id, msg, sid, tid, next_stage] {
      RetryCreate(id, msg, sid, tid, next_stage);
    });
  };
}

void SmbConnection::WaitForBreaks(Call* c, uint64_t async_id) {
  c->go_async = true;
  if (c->retry_async_id) return;  // the client has the interim response
  Pending p;
  p.message_id = c->req.message_id;
  p.session_id = c->session->id;
  p.command = c->req.command;
  p.cancel = [this, async_id] {
    CompleteAsync(async_id, kStatusCancelled, {});
  };
  pending_[async_id] = std::move(p);
  c->req.async_id = async_id;
}

void SmbConnection::RetryCreate(uint64_t async_id,
                                std::shared_ptr<std::string> msg,
                                uint64_t session_id, uint32_t tree_id,
                                uint32_t stage) {
  if (closing_ || !pending_.count(async_id)) return;  // cancelled
  Call c;
  if (!ParseHeader(*msg, &c.req)) return;
  c.msg = *msg;
  c.session = FindSession(session_id);
  if (!c.session || c.session->state != Session::State::kValid) {
    CompleteAsync(async_id, kStatusUserSessionDeleted, {});
    return;
  }
  auto t = c.session->trees.find(tree_id);
  if (t == c.session->trees.end()) {
    CompleteAsync(async_id, kStatusNetworkNameDeleted, {});
    return;
  }
  c.tree = t->second.get();
  c.retry_async_id = async_id;
  c.create_stage = stage;
  if (c.req.command == kSetInfo) {
    SetInfo(&c);
  } else {
    Create(&c);
  }
  if (c.go_async) return;  // waits again
  CompleteAsync(async_id, c.status,
                c.status == kStatusSuccess ? std::move(c.body) : std::string());
}

void SmbConnection::Create(Call* c) {
  LeReader r(c->msg);
  if (!StructureSizeIs(c, &r, 57)) return;
  r.Skip(1);  // security flags
  uint8_t oplock = r.U8();
  uint32_t impersonation = r.U32();
  r.Skip(16);  // SmbCreateFlags, Reserved
  uint32_t desired = r.U32();
  uint32_t file_attrs = r.U32();
  uint32_t share_access = r.U32();
  uint32_t disposition = r.U32();
  uint32_t options = r.U32();
  uint16_t name_off = r.U16();
  uint16_t name_len = r.U16();
  uint32_t ctx_off = r.U32();
  uint32_t ctx_len = r.U32();
  std::string_view raw_name =
      name_len ? r.At(name_off, name_len) : std::string_view();
  if (!r.ok()) {
    c->status = kStatusInvalidParameter;
    return;
  }
  std::vector<CreateContext> contexts;
  if (!ParseContexts(c->msg, ctx_off, ctx_len, &contexts)) {
    c->status = kStatusInvalidParameter;
    return;
  }
  // Durable handle requests and reconnects (MS-SMB2 3.3.5.9.6-3.3.5.9.12);
  // the v2 contexts exist from 3.0 on. A reconnect ignores the request's
  // other fields.
  DurableAsk dur;
  if (!c->tree->ipc) {
    uint32_t ds = ParseDurable(contexts, dialect_ >= kDialect300, &dur);
    if (ds != kStatusSuccess) {
      c->status = ds;
      return;
    }
  }
  if (dur.reconnect) {
    std::optional<LeaseRequest> lease;
    for (const CreateContext& cc : contexts) {
      if (cc.name == "RqLs" && cc.data.size() >= 16 &&
          dialect_ >= kDialect210) {
        lease.emplace();
        lease->key = std::string(cc.data.substr(0, 16));
      }
    }
    return Reconnect(c, dur, lease, raw_name);
  }
  if (impersonation > 3) {
    c->status = kStatusBadImpersonationLevel;
    return;
  }
  if (desired & kAccessReserved) {
    c->status = kStatusAccessDenied;
    return;
  }
  if ((options & ~kOptValid) || disposition > kOverwriteIf ||
      (file_attrs & ~kValidAttrs) || share_access > 7 ||
      ((options & kOptDirectory) && (options & kOptNonDirectory))) {
    c->status = kStatusInvalidParameter;
    return;
  }
  if (options & kOptNotSupported) {
    c->status = kStatusNotSupported;
    return;
  }
  // Checked before anything is created (MS-FSA 2.1.5.1): DELETE_ON_CLOSE
  // needs DELETE access; a directory cannot be superseded or overwritten.
  if ((options & kOptDeleteOnClose) &&
      !(MapGenericAccess(desired) & (kDelete | kMaximumAllowed))) {
    c->status = kStatusAccessDenied;
    return;
  }
  if ((options & kOptDirectory) &&
      (disposition == kSupersede || disposition == kOverwrite ||
       disposition == kOverwriteIf)) {
    c->status = kStatusInvalidParameter;
    return;
  }
  for (const CreateContext& cc : contexts) {
    if (cc.name.size() < 4) {  // context names are at least 4 bytes
      c->status = kStatusInvalidParameter;
      return;
    }
    if (cc.name == "TWrp") {  // previous versions: there are none
      c->status = kStatusObjectNameNotFound;
      return;
    }
  }
  // A lease request counts with oplock level LEASE on 2.1 and later.
  std::optional<LeaseRequest> lease;
  for (const CreateContext& cc : contexts) {
    if (cc.name != "RqLs" || !st_->oplocks || dialect_ < kDialect210 ||
        oplock != kOplockLease || c->tree->ipc) {
      continue;
    }
    if (cc.data.size() < 32) {
      c->status = kStatusInvalidParameter;
      return;
    }
    LeaseRequest lr;
    LeReader lrr(cc.data);
    lr.key = std::string(lrr.Bytes(16));
    lr.state = lrr.U32();
    uint32_t lease_flags = lrr.U32();
    lrr.Skip(8);  // duration
    if (cc.data.size() >= 52 && dialect_ >= kDialect300) {
      lr.version = 2;
      std::string parent(lrr.Bytes(16));
      if (lease_flags & kLeaseFlagParentKeySet) lr.parent_key = parent;
      lr.epoch = lrr.U16();
    }
    lease = lr;
  }
  std::string lease_id =
      lease ? std::string(client_guid_, 16) + lease->key : std::string();
  if (desired == 0) {
    c->status = kStatusAccessDenied;
    return;
  }
  std::vector<Ea> create_eas;
  for (const CreateContext& cc : contexts) {
    if (cc.name == "ExtA" && !c->tree->ipc) {
      uint32_t st = DecodeFullEaList(cc.data, &create_eas);
      if (st != kStatusSuccess) {
        c->status = st;
        return;
      }
    }
  }
  Session* s = c->session;
  OpContext ctx = Ctx(s);

  if (c->tree->ipc) {
    auto name = Utf16ToUtf8(raw_name);
    if (!name || !IsServedPipe(*name)) {
      c->status = kStatusObjectNameNotFound;
      return;
    }
    auto o = std::make_unique<Open>();
    o->fid.volatile_id = st_->next_file_id.fetch_add(1);
    o->fid.persistent = o->fid.volatile_id;
    o->session_id = s->id;
    o->owner_session = s->id;
    o->tree_id = c->tree->id;
    o->path = *name;
    o->access = desired;
    const SmbServerState* st = st_;
    PipeServerInfo info;
    info.server_name = st_->opts.server_name;
    o->pipe = std::make_unique<PipeEndpoint>(
        *name,
        [st] {
          std::vector<PipeShare> v;
          for (const SmbShare& sh : st->Config()->shares)
            v.push_back({sh.name, 0, sh.comment, "C:\\" + sh.name});
          v.push_back({"IPC$", 0x80000003, "IPC Service", ""});
          return v;
        },
        info);
    LeWriter w(&c->body);
    w.U16(89);
    w.U8(0);
    w.U8(0);
    w.U32(kActionOpened);
    w.Zeros(32);
    w.U64(4096);
    w.U64(0);
    w.U32(0x80);
    w.U32(0);
    w.U64(o->fid.persistent);
    w.U64(o->fid.volatile_id);
    w.U32(0);
    w.U32(0);
    c->created = o->fid;
    opens_[o->fid.volatile_id] = std::move(o);
    return;
  }

  SmbPath path;
  uint32_t ps = ParseSmbPath(raw_name, &path);
  if (ps != kStatusSuccess) {
    c->status = ps;
    return;
  }
  if (!path.stream.empty()) {
    c->status = kStatusObjectNameNotFound;  // alternate data streams
    return;
  }
  // Walk to the parent directory.
  InodeId parent = c->tree->root;
  InodeId grandparent = c->tree->root;
  for (size_t i = 0; i + 1 < path.components.size(); ++i) {
    auto a = LookupName(ctx, parent, path.components[i]);
    if (!a.ok()) {
      c->status = a.status().code() == ENOENT || a.status().code() == ENOTDIR
                      ? kStatusObjectPathNotFound
                      : ErrnoToNtStatus(a.status().code());
      return;
    }
    if (!a->inode.is_dir()) {
      c->status = kStatusObjectPathNotFound;
      return;
    }
    grandparent = parent;
    parent = a->inode.id;
  }
  std::string name = path.components.empty() ? "" : path.components.back();
  std::optional<Attr> attr;
  if (name.empty()) {
    auto a = st_->vfs->GetAttr(c->tree->root);
    if (!a.ok()) {
      c->status = ErrnoToNtStatus(a.status().code());
      return;
    }
    attr = *a;
  } else {
    std::string stored;
    auto a = LookupName(ctx, parent, name, &stored);
    if (a.ok()) name = stored;
    if (a.ok()) {
      attr = *a;
    } else if (a.status().code() != ENOENT) {
      c->status = ErrnoToNtStatus(a.status().code());
      return;
    }
  }
  (void)grandparent;

  bool read_only_tree = c->tree->read_only;
  if (lease &&
      st_->oplocks->LeaseKeyClash(lease_id, attr ? attr->inode.id : 0)) {
    c->status = kStatusInvalidParameter;  // a lease key names one file
    return;
  }
  const uint64_t vid = st_->next_file_id.fetch_add(1);
  bool share_registered = false;
  // Registers the open in the share-mode table (every front end's opens):
  // an open that reads, writes or deletes conflicts with opens that do not
  // share that, and its own share mode binds later opens.
  auto register_share = [&](InodeId file, uint32_t access) -> bool {
    uint32_t share_need = 0;
    if (access & kDataRead) share_need |= locking::kAccessRead;
    if (access & kDataWrite) share_need |= locking::kAccessWrite;
    if (access & kDelete) share_need |= locking::kAccessDelete;
    if (!share_need || !st_->shares) return true;
    locking::ShareOpen so;
    so.owner = ShareOwner(s->id, vid);
    so.access = share_need;
    so.share = share_access & locking::kShareAll;
    if (st_->shares->Open(file, so)) return false;
    share_registered = true;
    return true;
  };
  auto unregister_share = [&](InodeId file) {
    if (share_registered) st_->shares->Close(file, ShareOwner(s->id, vid));
    share_registered = false;
  };
  uint32_t action = kActionOpened;
  uint64_t handle = 0;
  bool created = false;
  // Another client may create the name between our lookup and our create:
  // for the "open if it exists" dispositions, start over once as an open.
  bool raced = false;
resolved:
  if (attr) {
    const Inode& ino = attr->inode;
    if (disposition == kCreateNew) {
      c->status = kStatusObjectNameCollision;
      return;
    }
    if ((options & kOptDirectory) && !ino.is_dir()) {
      c->status = kStatusNotADirectory;
      return;
    }
    if ((options & kOptNonDirectory) && ino.is_dir()) {
      c->status = kStatusFileIsADirectory;
      return;
    }
    if (st_->files.DeletePending(ino.id)) {
      c->status = kStatusDeletePending;
      return;
    }
    uint32_t maximal = SessionMaximalAccess(s, ino);
    if (read_only_tree) maximal &= ~kWriteAccessBits;
    uint32_t want = MapGenericAccess(desired);
    if (want & kMaximumAllowed) want = (want & ~kMaximumAllowed) | maximal;
    if (want & kAccessSystemSecurity) {
      c->status = kStatusPrivilegeNotHeld;
      return;
    }
    if (read_only_tree && (want & kWriteAccessBits)) {
      c->status = kStatusAccessDenied;
      return;
    }
    // DELETE may come from the parent directory's write permission.
    uint32_t need = want & ~kDelete;
    if ((want & kDelete) && !(maximal & kDelete) && !name.empty()) {
      if (!st_->vfs->Access(ctx, parent, 2 | 1).ok()) {
        c->status = kStatusAccessDenied;
        return;
      }
    }
    if ((need & maximal) != need) {
      c->status = kStatusAccessDenied;
      return;
    }
    desired = want;
    bool overwrite = disposition == kOverwrite || disposition == kOverwriteIf ||
                     disposition == kSupersede;
    if (overwrite) {
      if (ino.is_dir()) {
        c->status = kStatusInvalidParameter;
        return;
      }
      if (read_only_tree || !(maximal & 0x2)) {
        c->status = kStatusAccessDenied;
        return;
      }
      if ((ino.dos_attrs & kAttrReadonly)) {
        c->status = kStatusAccessDenied;
        return;
      }
      action =
          disposition == kSupersede ? kActionSuperseded : kActionOverwritten;
    }
    // Share modes first: a sharing violation breaks nothing unless the
    // conflicting open's handle is cached (batch oplock, H lease); then
    // that caching is broken and the check repeated, as Windows does. An
    // open that passes breaks the oplocks and leases it conflicts with
    // before it touches the file (the CREATE waits for the
    // acknowledgements).
    OpenIntent intent;
    intent.lease_id = lease_id;
    intent.access = desired;
    intent.overwrite = overwrite;
    intent.deleting = options & kOptDeleteOnClose;
    bool cached = st_->oplocks && !ino.is_dir();
    if (!register_share(ino.id, desired)) {
      if (cached && !(c->create_stage & kStageHandleBreaks) &&
          st_->oplocks->OthersHoldHandles(ino.id, lease_id)) {
        OpenIntent h = intent;
        h.break_handles = true;
        uint64_t async_id = 0;
        if (!st_->oplocks->BreakForOpen(
                ino.id, h,
                RetryAfterBreaks(c, c->create_stage | kStageHandleBreaks,
                                 &async_id))) {
          return WaitForBreaks(c, async_id);
        }
      }
      if (!register_share(ino.id, desired)) {
        c->status = kStatusSharingViolation;
        return;
      }
    }
    if (cached) {
      // A CREATE followed by more of its compound does not wait: the breaks
      // are sent and the compound goes on (the followers need its file).
      if (!(c->create_stage & kStageOpenBreaks) && !c->chain_continues) {
        uint64_t async_id = 0;
        if (!st_->oplocks->BreakForOpen(
                ino.id, intent,
                RetryAfterBreaks(c, c->create_stage | kStageOpenBreaks,
                                 &async_id))) {
          // Checked again when the CREATE runs after the breaks.
          unregister_share(ino.id);
          return WaitForBreaks(c, async_id);
        }
      } else {
        (void)st_->oplocks->BreakForOpen(ino.id, intent, [] {});
      }
    }
    if (!ino.is_dir() && ((desired & (kDataRead | kDataWrite)) || overwrite)) {
      int flags = OpenFlags(desired);
      if (overwrite) {
        flags = (desired & kDataRead) ? O_RDWR : O_WRONLY;
        flags |= O_TRUNC;
      }
      auto o = st_->vfs->Open(ctx, ino.id, flags);
      if (!o.ok() && overwrite && !(desired & kDataWrite)) {
        // Overwrite asked by someone who may write, but opened read-only.
        o = st_->vfs->Open(ctx, ino.id, O_RDONLY);
      }
      if (!o.ok()) {
        unregister_share(ino.id);
        c->status = ErrnoToNtStatus(o.status().code());
        return;
      }
      handle = o->handle;
      attr = o->attr;
    }
    if (overwrite) {
      SetAttrRequest sr;
      sr.dos_attrs = CreateDosAttributes(file_attrs, false);
      for (const CreateContext& cc : contexts) {
        if (cc.name == "AlSi" && cc.data.size() >= 8) {
          LeReader dr(cc.data);
          sr.alloc_size = dr.U64();
        }
      }
      if (handle) sr.handle = handle;
      auto a = st_->vfs->SetAttr(ctx, ino.id, sr);
      if (a.ok()) attr = *a;
    }
  } else {
    if (disposition == kOpen || disposition == kOverwrite) {
      c->status = kStatusObjectNameNotFound;
      return;
    }
    if (read_only_tree) {
      c->status = kStatusAccessDenied;
      return;
    }
    if (file_attrs & kFileAttributeEncrypted) {
      c->status = kStatusAccessDenied;  // no EFS on this server
      return;
    }
    if ((file_attrs & kAttrReadonly) && (options & kOptDeleteOnClose)) {
      c->status = kStatusCannotDelete;
      return;
    }
    uint32_t want = MapGenericAccess(desired);
    if (want & kMaximumAllowed) want = (want & ~kMaximumAllowed) | 0x001F01FF;
    desired = want;
    bool dir = options & kOptDirectory;
    uint32_t umask = st_->opts.umask;
    if (dir) {
      auto a = st_->vfs->Mkdir(ctx, parent, name, 0777 & ~umask);
      if (!a.ok() && a.status().code() == EEXIST && !raced &&
          disposition != kCreateNew) {
        auto again = LookupName(ctx, parent, name);
        if (again.ok()) {
          raced = true;
          attr = *again;
          goto resolved;
        }
      }
      if (!a.ok()) {
        c->status = ErrnoToNtStatus(a.status().code());
        return;
      }
      attr = *a;
    } else {
      int flags = OpenFlags(desired) | O_CREAT | O_EXCL;
      if (!(desired & (kDataRead | kDataWrite)))
        flags = O_RDONLY | O_CREAT | O_EXCL;
      auto o = st_->vfs->Create(ctx, parent, name, 0666 & ~umask, flags);
      if (!o.ok() && o.status().code() == EEXIST && !raced &&
          disposition != kCreateNew) {
        auto again = LookupName(ctx, parent, name);
        if (again.ok()) {
          raced = true;
          attr = *again;
          goto resolved;
        }
      }
      if (!o.ok()) {
        c->status = ErrnoToNtStatus(o.status().code());
        return;
      }
      handle = o->handle;
      attr = o->attr;
      if (!(desired & (kDataRead | kDataWrite))) {
        (void)st_->vfs->Release(handle);
        handle = 0;
      }
    }
    created = true;
    action = kActionCreated;
    uint32_t stored = CreateDosAttributes(file_attrs, dir);
    SetAttrRequest sr;
    if (stored) sr.dos_attrs = stored;
    for (const CreateContext& cc : contexts) {
      if (cc.name == "AlSi" && cc.data.size() >= 8 && !dir) {
        LeReader dr(cc.data);
        sr.alloc_size = dr.U64();
      }
    }
    if (sr.dos_attrs || sr.alloc_size) {
      auto a = st_->vfs->SetAttr(ctx, attr->inode.id, sr);
      if (a.ok()) attr = *a;
    }
  }

  // A failure from here on undoes the open (not what was created).
  auto abandon = [&](uint32_t status) {
    if (handle) (void)st_->vfs->Release(handle);
    unregister_share(attr->inode.id);
    c->status = status;
  };
  if (!create_eas.empty() && (created || action == kActionOverwritten ||
                              action == kActionSuperseded)) {
    uint32_t st = ApplyEas(ctx, attr->inode.id, create_eas);
    if (st != kStatusSuccess) return abandon(st);
  }
  if (created) {
    for (const CreateContext& cc : contexts) {
      if (cc.name != "SecD") continue;
      uint32_t st =
          SetSd(s, attr->inode.id, cc.data,
                kOwnerSecurityInformation | kGroupSecurityInformation |
                    kDaclSecurityInformation,
                /*at_create=*/true);
      if (st != kStatusSuccess) return abandon(st);
      auto a = st_->vfs->GetAttr(attr->inode.id);
      if (a.ok()) attr = *a;
    }
  }
  if (options & kOptDeleteOnClose) {
    if (!(desired & kDelete)) return abandon(kStatusAccessDenied);
    if (attr->inode.dos_attrs & kAttrReadonly) {
      return abandon(kStatusCannotDelete);
    }
  }

  // A new file's open registers its share mode now (an existing file's did
  // before its data was touched).
  if (created && !register_share(attr->inode.id, desired)) {
    return abandon(kStatusSharingViolation);
  }
  auto o = std::make_unique<Open>();
  o->fid.volatile_id = vid;
  o->fid.persistent = vid;
  o->share_registered = share_registered;
  o->session_id = s->id;
  o->owner_session = s->id;
  o->ctx = Ctx(s);
  o->client_guid = std::string(client_guid_, 16);
  o->user = s->user ? s->user->name : "";
  o->share = c->tree->share ? c->tree->share->name : "";
  o->tree_id = c->tree->id;
  o->ino = attr->inode.id;
  o->parent = name.empty() ? kInvalidInode : parent;
  o->name = name;
  {
    std::string p;
    for (const std::string& comp : path.components) {
      if (!p.empty()) p += '\\';
      p += comp;
    }
    o->path = p;
  }
  o->is_dir = attr->inode.is_dir();
  o->vfs_handle = handle;
  o->access = desired;
  o->share_access = share_access;
  o->create_options = options;
  o->delete_on_close = options & kOptDeleteOnClose;
  st_->files.AddOpen(o->ino);

  // Oplock or lease: what is safe of what was asked for.
  GrantResult grant;
  if (st_->oplocks && !o->is_dir) {
    GrantRequest g;
    g.file = o->ino;
    g.open_id = vid;
    g.persistent = vid;
    g.session_id = s->id;
    g.stat_open = IsOplockStatOpen(desired) && action == kActionOpened;
    g.oplock = oplock;
    g.lease = lease;
    g.client_guid = std::string(client_guid_, 16);
    g.leasing = dialect_ >= kDialect210;
    // What other protocols hold matters only to an open that asks for
    // caching.
    bool asks = oplock != kOplockNone && (oplock != kOplockLease || lease);
    if (asks && st_->shares) {
      for (const locking::ShareOpen& so : st_->shares->OpensOf(o->ino)) {
        if (so.owner.protocol == locking::Protocol::kSmb) continue;
        g.foreign_opens = true;
        if (so.access & locking::kAccessWrite) g.foreign_writers = true;
      }
    }
    if (asks && st_->locks) {
      g.foreign_locks =
          st_->locks
              ->CheckIo(o->ino, ShareOwner(s->id, vid), locking::Range::All(),
                        /*write=*/true)
              .has_value();
    }
    g.sender = MakeBreakSender();
    grant = st_->oplocks->Grant(g);
    o->oplock_registered = true;
    if (grant.lease) o->lease_id = g.client_guid + grant.lease_key;
  }

  // Durable: only with batch or handle caching (MS-SMB2 3.3.5.9.6/10),
  // which a disconnected client's open must still have to be kept.
  if ((dur.v1 || dur.v2) && st_->durable && !o->is_dir &&
      (grant.oplock == kOplockBatch ||
       (grant.lease && (grant.lease_state & kLeaseHandle)))) {
    o->durable = dur.v2 ? 2 : 1;
    o->create_guid = dur.create_guid;
    uint32_t t = st_->opts.durable_timeout_ms;
    if (dur.v2 && dur.timeout_ms) {
      t = std::min(dur.timeout_ms, st_->opts.max_durable_timeout_ms);
    }
    o->keep_ms = t;
  }

  // Create contexts answered: MxAc, QFid, RqLs (the lease granted), DHnQ /
  // DH2Q (durability granted).
  std::string ctx_buf;
  size_t last = std::string::npos;
  if (o->durable == 1) {
    AppendContext(&ctx_buf, &last, "DHnQ", std::string(8, '\0'));
  } else if (o->durable == 2) {
    std::string d;
    LeWriter dw(&d);
    dw.U32(o->keep_ms);
    dw.U32(0);  // not persistent
    AppendContext(&ctx_buf, &last, "DH2Q", d);
  }
  for (const CreateContext& cc : contexts) {
    if (cc.name == "MxAc") {
      std::string d;
      LeWriter dw(&d);
      uint32_t maximal = SessionMaximalAccess(s, attr->inode);
      if (read_only_tree) maximal &= ~kWriteAccessBits;
      dw.U32(0);
      dw.U32(maximal);
      AppendContext(&ctx_buf, &last, "MxAc", d);
    } else if (cc.name == "QFid") {
      std::string d;
      LeWriter dw(&d);
      dw.U64(attr->inode.id);
      dw.U64(st_->volume_serial);
      dw.Zeros(16);
      AppendContext(&ctx_buf, &last, "QFid", d);
    }
  }
  if (grant.lease) {
    std::string d;
    LeWriter dw(&d);
    dw.Bytes(grant.lease_key);
    dw.U32(grant.lease_state);
    dw.U32(grant.lease_flags);
    dw.U64(0);  // duration
    if (grant.version >= 2) {
      if (grant.parent_key.size() == 16) {
        dw.Bytes(grant.parent_key);
      } else {
        dw.Zeros(16);
      }
      dw.U16(grant.epoch);
      dw.U16(0);
    }
    AppendContext(&ctx_buf, &last, "RqLs", d);
  }

  CreateResponse(c, *o, *attr, grant.oplock, action, ctx_buf);
  c->created = o->fid;
  opens_[o->fid.volatile_id] = std::move(o);
}

void SmbConnection::Reconnect(Call* c, const DurableAsk& d,
                              const std::optional<LeaseRequest>& lease,
                              std::string_view raw_name) {
  Session* s = c->session;
  if (!st_->durable) {
    c->status = kStatusObjectNameNotFound;
    return;
  }
  std::string guid(client_guid_, 16);
  std::string user = s->user ? s->user->name : "";
  std::string share = c->tree->share ? c->tree->share->name : "";
  uint32_t status = kStatusSuccess;
  // MS-SMB2 3.3.5.9.7 / 3.3.5.9.12: the open must be kept, of the kind
  // asked for, with the same lease (or none), for the same user and share.
  std::unique_ptr<Open> o = st_->durable->Take(
      d.fid.persistent,
      [&](const Open& k) -> uint32_t {
        // DH2C must name the open's create GUID (zeros for a v1 open);
        // DHnC names none. A lease also ties the open to its client GUID.
        if (d.reconnect_v2) {
          std::string kguid =
              k.create_guid.empty() ? std::string(16, '\0') : k.create_guid;
          if (kguid != d.create_guid) return kStatusObjectNameNotFound;
        }
        if (k.lease_id.empty() ? lease.has_value()
                               : (!lease || guid + lease->key != k.lease_id)) {
          return kStatusObjectNameNotFound;
        }
        if (k.share != share) return kStatusObjectNameNotFound;
        if (k.user != user) return kStatusAccessDenied;
        // With a lease the name must be the open's (oplocks: ignored).
        if (!k.lease_id.empty()) {
          auto name = Utf16ToUtf8(raw_name);
          std::string want = k.path;
          if (!name || !Utf8EqualsIgnoreCase(*name, want))
            return kStatusInvalidParameter;
        }
        return kStatusSuccess;
      },
      &status);
  if (!o) {
    c->status = status;
    return;
  }
  auto attr = st_->vfs->GetAttr(o->ino);
  if (!attr.ok()) {
    ReleaseOpen(st_, o.get());
    c->status = kStatusObjectNameNotFound;
    return;
  }
  o->session_id = s->id;
  o->tree_id = c->tree->id;
  o->ctx = Ctx(s);
  uint64_t vid = o->fid.volatile_id;
  uint8_t level = kOplockNone;
  std::string ctx_buf;
  size_t last = std::string::npos;
  if (o->oplock_registered) {
    st_->oplocks->Rebind(vid, s->id, MakeBreakSender());
    level = st_->oplocks->OplockOf(vid);
    std::optional<GrantResult> g;
    if (!o->lease_id.empty()) g = st_->oplocks->LeaseOf(o->lease_id);
    if (g) {
      level = kOplockLease;
      std::string b;
      LeWriter dw(&b);
      dw.Bytes(g->lease_key);
      dw.U32(g->lease_state);
      dw.U32(g->lease_flags);
      dw.U64(0);
      if (g->version >= 2) {
        if (g->parent_key.size() == 16) {
          dw.Bytes(g->parent_key);
        } else {
          dw.Zeros(16);
        }
        dw.U16(g->epoch);
        dw.U16(0);
      }
      AppendContext(&ctx_buf, &last, "RqLs", b);
    }
  }
  CFS_LOG_DEBUG("{}: durable open {} of {} reconnected", peer_,
                o->fid.persistent, o->path);
  CreateResponse(c, *o, *attr, level, kActionOpened, ctx_buf);
  c->created = o->fid;
  opens_[vid] = std::move(o);
}

bool SmbConnection::KeepForReconnect(Open* o) {
  if (!st_->durable || o->pipe || (!o->durable && !o->resilient)) {
    return false;
  }
  if (!o->resilient) {
    // A durable open is kept only while it still caches handles (MS-SMB2
    // 3.3.7.1): batch oplock, or a lease with H.
    bool handles = false;
    if (o->oplock_registered) {
      handles = o->lease_id.empty()
                    ? st_->oplocks->OplockOf(o->fid.volatile_id) == kOplockBatch
                    : (st_->oplocks->LeaseStateOf(o->lease_id) & kLeaseHandle);
    }
    if (!handles) return false;
  }
  EndWaits(o);
  uint64_t vid = o->fid.volatile_id;
  uint64_t pid = o->fid.persistent;
  bool breaking = false;
  if (o->oplock_registered) {
    // Nobody can acknowledge a break now: one closes the kept open.
    DurableTable* table = st_->durable.get();
    st_->oplocks->Rebind(
        vid, 0, [table, pid](const BreakNotice&) { table->Purge(pid); },
        &breaking);
  }
  SmbConnection* holder = this;  // (another channel's, for a bound session)
  AnyOpen(vid, &holder);
  auto it = holder->opens_.find(vid);
  if (it == holder->opens_.end()) return false;
  std::unique_ptr<Open> kept = std::move(it->second);
  holder->opens_.erase(it);
  kept->session_id = 0;
  kept->tree_id = 0;
  st_->durable->Keep(std::move(kept));
  // A break sent to this connection can no longer be acknowledged.
  if (breaking) st_->durable->Purge(pid);
  return true;
}

void SmbConnection::CreateResponse(Call* c, const Open& o, const Attr& attr,
                                   uint8_t oplock, uint32_t action,
                                   const std::string& ctx_buf) {
  const Inode& in = attr.inode;
  LeWriter w(&c->body);
  w.U16(89);
  w.U8(oplock);
  w.U8(0);
  w.U32(action);
  w.U64(ToFiletime(in.btime ? in.btime : in.ctime));
  w.U64(ToFiletime(in.atime));
  w.U64(ToFiletime(in.mtime));
  w.U64(ToFiletime(in.ctime));
  w.U64(AllocationSize(attr));
  w.U64(in.is_dir() ? 0 : in.size);
  w.U32(DosAttributes(in));
  w.U32(0);
  w.U64(o.fid.persistent);
  w.U64(o.fid.volatile_id);
  size_t ctx_fields = w.size();
  w.U32(0);
  w.U32(0);
  if (!ctx_buf.empty()) {
    w.Align(8);
    w.PatchU32(ctx_fields, static_cast<uint32_t>(kSmb2HeaderSize + w.size()));
    w.PatchU32(ctx_fields + 4, static_cast<uint32_t>(ctx_buf.size()));
    w.Bytes(ctx_buf);
  } else {
    w.U8(0);  // the body's variable part must not be empty
  }
}

void SmbConnection::Close(Call* c) {
  LeReader r(c->msg);
  if (!StructureSizeIs(c, &r, 24)) return;
  uint16_t flags = r.U16();
  r.Skip(4);
  SmbFileId fid = ReadFileId(&r);
  if (!r.ok()) {
    c->status = kStatusInvalidParameter;
    return;
  }
  Open* o = OpenOrClosed(c, fid);
  if (!o) return;
  InodeId ino = o->ino;
  bool pipe = o->pipe != nullptr;
  CloseOpen(o);
  LeWriter w(&c->body);
  w.U16(60);
  if ((flags & 1) && !pipe) {
    auto a = st_->vfs->GetAttr(ino);
    if (a.ok()) {
      const Inode& in = a->inode;
      w.U16(1);
      w.U32(0);
      w.U64(ToFiletime(in.btime ? in.btime : in.ctime));
      w.U64(ToFiletime(in.atime));
      w.U64(ToFiletime(in.mtime));
      w.U64(ToFiletime(in.ctime));
      w.U64(AllocationSize(*a));
      w.U64(in.is_dir() ? 0 : in.size);
      w.U32(DosAttributes(in));
      return;
    }
  }
  w.U16(0);
  w.U32(0);
  w.Zeros(48);
  w.U32(0);
}

}  // namespace concordfs::smb
