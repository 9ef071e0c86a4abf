// IOCTL (the FSCTLs clients send at mount, for pipes and multichannel),
// CHANGE_NOTIFY (asynchronous, cancellable).
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>

#include "smb/core/connection.h"
#include "smb/info/nt_status.h"
#include "smb/wire/le.h"
#include "smb/wire/unicode.h"

namespace concordfs::smb {
namespace {

constexpr uint32_t kFsctlValidateNegotiate = 0x00140204;
constexpr uint32_t kFsctlPipeTransceive = 0x0011C017;
constexpr uint32_t kFsctlPipeWait = 0x00110018;
constexpr uint32_t kFsctlPipePeek = 0x0011400C;
constexpr uint32_t kFsctlDfsGetReferrals = 0x00060194;
constexpr uint32_t kFsctlDfsGetReferralsEx = 0x000601B0;
constexpr uint32_t kFsctlQueryNetworkInterfaces = 0x001401FC;
constexpr uint32_t kFsctlEnumerateSnapshots = 0x00144064;
constexpr uint32_t kFsctlSetSparse = 0x000900C4;
constexpr uint32_t kFsctlGetReparsePoint = 0x000900A8;
constexpr uint32_t kFsctlCreateOrGetObjectId = 0x000900C0;
constexpr uint32_t kFsctlGetCompression = 0x0009003C;
constexpr uint32_t kFsctlSetCompression = 0x0009C040;
constexpr uint32_t kFsctlQueryAllocatedRanges = 0x000940CF;
constexpr uint32_t kFsctlGetIntegrity = 0x0009027C;
constexpr uint32_t kFsctlLmrRequestResiliency = 0x001401D4;
constexpr uint32_t kIoctlIsFsctl = 1;

// NETWORK_INTERFACE_INFO (MS-SMB2 2.2.32.5) of every address a client may
// open another channel to: the listening address, or, when listening on
// every address, each address of every interface that is up.
std::string NetworkInterfaces(const std::string& listen) {
  in_addr v4{};
  in6_addr v6{};
  bool any4 = listen == "0.0.0.0";
  bool any6 = listen == "::";
  bool is4 = inet_pton(AF_INET, listen.c_str(), &v4) == 1;
  bool is6 = !is4 && inet_pton(AF_INET6, listen.c_str(), &v6) == 1;
  std::string out;
  size_t last = std::string::npos;
  auto add = [&](uint32_t index, const sockaddr* sa) {
    if (last != std::string::npos) {
      LeWriter patch(&out);
      patch.PatchU32(last, static_cast<uint32_t>(out.size() - last));
    }
    last = out.size();
    LeWriter w(&out);
    w.U32(0);              // Next, patched when another entry follows
    w.U32(index);          // IfIndex
    w.U32(0);              // Capability: neither RSS nor RDMA
    w.U32(0);              // Reserved
    w.U64(1000000000ULL);  // LinkSpeed (bits/s; not measured)
    std::string storage(128, '\0');
    if (sa->sa_family == AF_INET) {
      const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
      storage[0] = 0x02;  // InterNetwork, little-endian; port 0
      std::memcpy(&storage[4], &in->sin_addr, 4);
    } else {
      const auto* in = reinterpret_cast<const sockaddr_in6*>(sa);
      storage[0] = 0x17;  // InterNetworkV6; port 0, flow info 0
      std::memcpy(&storage[8], &in->sin6_addr, 16);
    }
    w.Bytes(storage);
  };
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) list = nullptr;
  for (ifaddrs* i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr || !(i->ifa_flags & IFF_UP)) continue;
    int fam = i->ifa_addr->sa_family;
    bool take = false;
    if (fam == AF_INET) {
      const auto* in = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
      take = any4 || any6 || (is4 && std::memcmp(&in->sin_addr, &v4, 4) == 0);
    } else if (fam == AF_INET6) {
      const auto* in = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
      take = any6 || (is6 && std::memcmp(&in->sin6_addr, &v6, 16) == 0);
    }
    if (take) add(if_nametoindex(i->ifa_name), i->ifa_addr);
  }
  if (list) freeifaddrs(list);
  return out;
}

}  // namespace

void SmbConnection::Ioctl(Call* c) {
  LeReader r(c->msg);
  if (!StructureSizeIs(c, &r, 57)) return;
  r.Skip(2);
  uint32_t code = r.U32();
  SmbFileId fid = ReadFileId(&r);
  uint32_t in_off = r.U32();
  uint32_t in_len = r.U32();
  r.Skip(4);  // max input response
  r.Skip(8);  // output offset, count
  uint32_t max_out = r.U32();
  uint32_t flags = r.U32();
  std::string_view in = in_len ? r.At(in_off, in_len) : std::string_view();
  if (!r.ok()) {
    c->status = kStatusInvalidParameter;
    return;
  }
  if (!(flags & kIoctlIsFsctl)) {
    c->status = kStatusNotSupported;
    return;
  }
  std::string out;
  uint32_t status = kStatusSuccess;
  switch (code) {
    case kFsctlValidateNegotiate: {
      // Any mismatch with what NEGOTIATE saw means a downgrade attack: the
      // connection is dropped (MS-SMB2 3.3.5.15.12).
      LeReader v(in);
      uint32_t caps = v.U32();
      std::string_view guid = v.Bytes(16);
      uint16_t mode = v.U16();
      uint16_t count = v.U16();
      std::string_view dialects = v.Bytes(count * 2u);
      (void)caps;
      bool ok = v.ok() && dialect_ < kDialect311 &&
                std::memcmp(guid.data(), client_guid_, 16) == 0 &&
                mode == client_security_mode_ && dialects == client_dialects_;
      if (!ok || max_out < 24) {
        closing_ = true;
        transport_->Close();
        c->no_response = true;
        return;
      }
      LeWriter w(&out);
      w.U32(server_caps_);  // as NEGOTIATE answered
      w.Bytes(std::string_view(st_->server_guid, 16));
      w.U16(kSigningEnabled |
            (st_->opts.signing_required ? kSigningRequired : 0));
      w.U16(dialect_);
      break;
    }
    case kFsctlPipeTransceive: {
      Open* o = OpenOrClosed(c, fid);
      if (!o) return;
      if (!o->pipe) {
        c->status = kStatusInvalidDeviceRequest;
        return;
      }
      uint32_t st = o->pipe->Write(in);
      if (st != 0) {
        c->status = st;
        return;
      }
      bool more = false;
      out = o->pipe->Read(max_out, &more);
      if (more) status = kStatusBufferOverflow;
      break;
    }
    case kFsctlPipeWait:
    case kFsctlPipePeek:
      c->status =
          c->tree->ipc ? kStatusNotSupported : kStatusInvalidDeviceRequest;
      return;
    case kFsctlDfsGetReferrals:
    case kFsctlDfsGetReferralsEx:
      c->status = kStatusFsDriverRequired;  // not a DFS server
      return;
    case kFsctlQueryNetworkInterfaces:
      // Multichannel: where else the client may connect.
      if (!st_->opts.multichannel || dialect_ < kDialect300) {
        c->status = kStatusNotSupported;
        return;
      }
      out = NetworkInterfaces(st_->opts.address);
      if (out.empty()) {
        c->status = kStatusNotSupported;
        return;
      }
      break;
    case kFsctlEnumerateSnapshots: {
      Open* o = OpenOrClosed(c, fid);
      if (!o) return;
      if (max_out < 16) {
        c->status = kStatusInvalidParameter;
        return;
      }
      LeWriter w(&out);
      w.U32(0);  // no snapshots
      w.U32(0);
      w.U32(2);
      w.U16(0);
      w.U16(0);
      break;
    }
    case kFsctlSetSparse:
    case kFsctlSetCompression: {
      Open* o = OpenOrClosed(c, fid);
      if (!o) return;
      break;  // files are sparse already; compression is not offered
    }
    case kFsctlGetCompression: {
      Open* o = OpenOrClosed(c, fid);
      if (!o) return;
      LeWriter w(&out);
      w.U16(0);  // COMPRESSION_FORMAT_NONE
      break;
    }
    case kFsctlGetReparsePoint: {
      Open* o = OpenOrClosed(c, fid);
      if (!o) return;
      c->status = kStatusNotAReparsePoint;
      return;
    }
    case kFsctlCreateOrGetObjectId: {
      Open* o = OpenOrClosed(c, fid);
      if (!o) return;
      // FILE_OBJECTID_BUFFER: the object id is the file id (unique and
      // stable); birth volume is this volume, no domain.
      LeWriter w(&out);
      w.U64(o->ino);
      w.U64(0);
      w.U64(st_->volume_serial);
      w.U64(0);
      w.U64(o->ino);
      w.U64(0);
      w.Zeros(16);
      break;
    }
    case kFsctlLmrRequestResiliency: {
      // The open is kept for Timeout ms after a disconnect (MS-SMB2
      // 3.3.5.15.9); 2.0.2 has no resilient handles.
      if (dialect_ < kDialect210 || !st_->durable) {
        c->status = kStatusInvalidDeviceRequest;
        return;
      }
      Open* o = OpenOrClosed(c, fid);
      if (!o) return;
      LeReader v(in);
      uint32_t timeout = v.U32();
      if (!v.ok() || in.size() < 8 || o->pipe ||
          timeout > st_->opts.max_resilient_timeout_ms) {
        c->status = kStatusInvalidParameter;
        return;
      }
      o->resilient = true;
      o->keep_ms = timeout ? timeout : st_->opts.resilient_timeout_ms;
      break;
    }
    case kFsctlQueryAllocatedRanges:
    case kFsctlGetIntegrity:
    default:
      c->status = kStatusNotSupported;
      return;
  }
  if (out.size() > max_out) {
    c->status = kStatusBufferTooSmall;
    return;
  }
  c->status = status;
  LeWriter w(&c->body);
  w.U16(49);
  w.U16(0);
  w.U32(code);
  w.U64(fid.persistent);
  w.U64(fid.volatile_id);
  w.U32(kSmb2HeaderSize + 48);  // input offset (no input echoed)
  w.U32(0);
  w.U32(kSmb2HeaderSize + 48);
  w.U32(static_cast<uint32_t>(out.size()));
  w.U32(0);
  w.U32(0);
  w.Bytes(out);
  if (out.empty()) w.U8(0);
}

void SmbConnection::ChangeNotify(Call* c) {
  LeReader r(c->msg);
  if (!StructureSizeIs(c, &r, 32)) return;
  uint16_t flags = r.U16();
  uint32_t out_len = r.U32();
  SmbFileId fid = ReadFileId(&r);
  uint32_t filter = r.U32();
  if (!r.ok()) {
    c->status = kStatusInvalidParameter;
    return;
  }
  Open* o = OpenOrClosed(c, fid);
  if (!o) return;
  if (!o->is_dir) {
    c->status = kStatusInvalidParameter;
    return;
  }
  if (!(o->access & 0x1 /* FILE_LIST_DIRECTORY */)) {
    c->status = kStatusAccessDenied;
    return;
  }
  if (st_->files.DeletePending(o->ino)) {
    c->status = kStatusDeletePending;
    return;
  }
  if (c->req.next_command != 0) {
    // Only the last command of a compound may go asynchronous (Windows
    // answers a watch in the middle of a chain this way).
    c->status = kStatusInternalError;
    return;
  }
  o->notify_out_len = out_len;
  if (!o->notify_watch && st_->notify) {
    auto post = transport_->Poster();
    uint64_t vid = o->fid.volatile_id;
    o->notify_watch =
        st_->notify->Watch(o->ino, flags & 0x1 /* WATCH_TREE */, filter,
                           [this, post, vid](const NotifyChange& ch) {
                             post([this, vid, ch] { OnNotifyChange(vid, ch); });
                           });
  }
  if (!o->notify_buffer.empty()) {
    // Changes since the last answer: reply at once.
    std::vector<NotifyChange> changes;
    changes.swap(o->notify_buffer);
    c->status = EncodeNotify(changes, out_len, &c->body);
    return;
  }
  // Until a change arrives the watch waits (asynchronously), or until it
  // is cancelled or its handle closed.
  uint64_t async_id = st_->next_async_id.fetch_add(1);
  c->req.async_id = async_id;
  c->go_async = true;
  Pending p;
  p.message_id = c->req.message_id;
  p.session_id = c->session->id;
  p.command = kChangeNotify;
  p.cancel = [this, async_id] {
    CompleteAsync(async_id, kStatusCancelled, {});
  };
  pending_[async_id] = std::move(p);
  o->notify_async_ids.push_back(async_id);
}

uint32_t EncodeNotify(const std::vector<NotifyChange>& changes,
                      uint32_t out_len, std::string* body) {
  std::string list;
  bool enum_dir = false;
  LeWriter w(&list);
  size_t last = std::string::npos;
  for (const NotifyChange& ch : changes) {
    if (ch.action == kFileActionEnumDir) {
      enum_dir = true;
      break;
    }
    w.Align(4);
    if (last != std::string::npos)
      w.PatchU32(last, static_cast<uint32_t>(list.size() - last));
    last = list.size();
    std::string name = Utf8ToUtf16(ch.name);
    w.U32(0);
    w.U32(ch.action);
    w.U32(static_cast<uint32_t>(name.size()));
    w.Bytes(name);
  }
  body->clear();
  if (enum_dir || list.size() > out_len) {
    // Too much (or too deep) to list: the client enumerates again.
    return kStatusNotifyEnumDir;
  }
  LeWriter b(body);
  b.U16(9);
  b.U16(kSmb2HeaderSize + 8);
  b.U32(static_cast<uint32_t>(list.size()));
  b.Bytes(list);
  if (list.empty()) b.U8(0);
  return kStatusSuccess;
}

void SmbConnection::OnNotifyChange(uint64_t volatile_id,
                                   const NotifyChange& change) {
  Open* o = AnyOpen(volatile_id);
  if (!o) return;
  if (change.action == kFileActionDeletePending) {
    // The directory is going away: waiting watches end.
    std::vector<uint64_t> ids;
    ids.swap(o->notify_async_ids);
    for (uint64_t id : ids) {
      if (SmbConnection* h = AsyncHolder(id))
        h->CompleteAsync(id, kStatusDeletePending, {});
    }
    return;
  }
  if (o->notify_buffer.size() < 256) {
    o->notify_buffer.push_back(change);
  } else if (o->notify_buffer.back().action != kFileActionEnumDir) {
    o->notify_buffer.push_back(NotifyChange{kFileActionEnumDir, {}});
  }
  FlushNotify(o);
}

void SmbConnection::FlushNotify(Open* o) {
  while (!o->notify_async_ids.empty() && !o->notify_buffer.empty()) {
    uint64_t async_id = o->notify_async_ids.front();
    o->notify_async_ids.erase(o->notify_async_ids.begin());
    SmbConnection* h = AsyncHolder(async_id);  // (a channel's request)
    if (!h) continue;                          // cancelled meanwhile
    std::vector<NotifyChange> changes;
    changes.swap(o->notify_buffer);
    std::string body;
    uint32_t status = EncodeNotify(changes, o->notify_out_len, &body);
    h->CompleteAsync(async_id, status, std::move(body));
  }
}

}  // namespace concordfs::smb
