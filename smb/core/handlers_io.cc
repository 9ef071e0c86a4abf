// READ, WRITE, FLUSH (files and named pipes).
#include <sys/uio.h>

#include <algorithm>

#include "metrics/metrics.h"
#include "smb/core/connection.h"
#include "smb/info/nt_status.h"
#include "smb/wire/le.h"

namespace concordfs::smb {
namespace {

constexpr uint32_t kReadAccess = 0x1 | 0x20;  // READ_DATA | EXECUTE
constexpr uint32_t kWriteAccess = 0x2 | 0x4;  // WRITE_DATA | APPEND_DATA
constexpr uint32_t kStatusPipeEmpty = 0xC00000D9;
constexpr uint8_t kReadDataOffset = kSmb2HeaderSize + 16;

}  // namespace

bool SmbConnection::IoLocked(const Open& o, uint64_t offset, uint64_t length,
                             bool write) {
  // SMB I/O honours other owners' byte-range locks of every protocol
  // (mandatory, as on Windows); local and NFS I/O stay advisory.
  if (!st_->locks || length == 0) return false;
  auto range = locking::Range::FromSmb(offset, length);
  if (!range) return false;
  return st_->locks
      ->CheckIo(o.ino, ShareOwner(o.owner_session, o.fid.volatile_id), *range,
                write)
      .has_value();
}

void SmbConnection::Read(Call* c) {
  LeReader r(c->msg);
  if (!StructureSizeIs(c, &r, 49)) return;
  r.Skip(2);  // padding, flags
  uint32_t length = r.U32();
  uint64_t offset = r.U64();
  SmbFileId fid = ReadFileId(&r);
  uint32_t minimum = r.U32();
  if (!r.ok()) {
    c->status = kStatusInvalidParameter;
    return;
  }
  Open* o = OpenOrClosed(c, fid);
  if (!o) return;
  if (length > st_->opts.max_io) {
    c->status = kStatusInvalidParameter;
    return;
  }
  if (o->pipe) {
    bool more = false;
    std::string data = o->pipe->Read(length, &more);
    if (data.empty()) {
      c->status = kStatusPipeEmpty;
      return;
    }
    LeWriter w(&c->body);
    w.U16(17);
    w.U8(kReadDataOffset);
    w.U8(0);
    w.U32(static_cast<uint32_t>(data.size()));
    w.U32(0);
    w.U32(0);
    w.Bytes(data);
    if (more) c->status = kStatusBufferOverflow;
    return;
  }
  if (o->is_dir) {
    c->status = kStatusInvalidDeviceRequest;
    return;
  }
  if (!(o->access & kReadAccess)) {
    c->status = kStatusAccessDenied;
    return;
  }
  if (offset > static_cast<uint64_t>(INT64_MAX)) {
    c->status = kStatusInvalidParameter;
    return;
  }
  if (length && IoLocked(*o, offset, length, false)) {
    c->status = kStatusFileLockConflict;
    return;
  }
  size_t n = 0;
  std::shared_ptr<char[]> data;
  if (length) {
    // Not value-initialized: the bytes are read over at once.
    data = std::shared_ptr<char[]>(new char[length]);
    auto got = st_->vfs->ReadInto(Ctx(c->session), o->ino, o->vfs_handle,
                                  offset, length, data.get());
    if (!got.ok()) {
      c->status = ErrnoToNtStatus(got.status().code());
      return;
    }
    n = *got;
    metrics::AddBytesRead(metrics::Protocol::kSmb, n);
  }
  // Zero bytes for a zero-length read is success; otherwise fewer bytes
  // than asked for (or than MinimumCount) at the end is END_OF_FILE.
  if ((n == 0 && length > 0) || n < minimum) {
    c->status = kStatusEndOfFile;
    return;
  }
  LeWriter w(&c->body);
  w.U16(17);
  w.U8(kReadDataOffset);
  w.U8(0);
  w.U32(static_cast<uint32_t>(n));
  w.U32(0);
  w.U32(0);
  if (n) {
    c->bulk = std::move(data);
    c->bulk_len = n;
  } else {
    w.U8(0);  // the variable part is never empty
  }
  o->position = offset + n;
}

void SmbConnection::Write(Call* c) {
  LeReader r(c->msg);
  if (!StructureSizeIs(c, &r, 49)) return;
  uint16_t data_off = r.U16();
  uint32_t length = r.U32();
  uint64_t offset = r.U64();
  SmbFileId fid = ReadFileId(&r);
  r.Skip(4 + 4 + 2 + 2);  // channel, remaining, channel info
  uint32_t flags = r.U32();
  std::string_view data = r.At(data_off, length);
  if (!r.ok()) {
    c->status = kStatusInvalidParameter;
    return;
  }
  Open* o = OpenOrClosed(c, fid);
  if (!o) return;
  if (length > st_->opts.max_io) {
    c->status = kStatusInvalidParameter;
    return;
  }
  uint32_t written = 0;
  if (o->pipe) {
    uint32_t st = o->pipe->Write(data);
    if (st != 0) {
      c->status = st;
      return;
    }
    written = length;
  } else {
    if (o->is_dir) {
      c->status = kStatusInvalidDeviceRequest;
      return;
    }
    if (!(o->access & kWriteAccess) || c->tree->read_only) {
      c->status = kStatusAccessDenied;
      return;
    }
    if (offset == ~0ULL && (o->access & 0x4)) {
      auto a = st_->vfs->GetAttr(o->ino);
      offset = a.ok() ? a->inode.size : 0;
    }
    if (offset > static_cast<uint64_t>(INT64_MAX) - length) {
      c->status = kStatusInvalidParameter;
      return;
    }
    if (length && IoLocked(*o, offset, length, true)) {
      c->status = kStatusFileLockConflict;
      return;
    }
    if (length) {
      BreakReaders(*o);
      auto a =
          st_->vfs->Write(Ctx(c->session), o->ino, o->vfs_handle, offset, data);
      if (!a.ok()) {
        c->status = ErrnoToNtStatus(a.status().code());
        return;
      }
      if (flags & 1) (void)st_->vfs->Fsync(o->ino, true);  // write-through
      metrics::AddBytesWritten(metrics::Protocol::kSmb, length);
    }
    written = length;
    o->position = offset + length;
  }
  LeWriter w(&c->body);
  w.U16(17);
  w.U16(0);
  w.U32(written);
  w.U32(0);
  w.U16(0);
  w.U16(0);
}

void SmbConnection::Flush(Call* c) {
  LeReader r(c->msg);
  if (!StructureSizeIs(c, &r, 24)) return;
  r.Skip(6);
  SmbFileId fid = ReadFileId(&r);
  if (!r.ok()) {
    c->status = kStatusInvalidParameter;
    return;
  }
  Open* o = OpenOrClosed(c, fid);
  if (!o) return;
  if (!o->pipe) {
    if (!(o->access & (kWriteAccess))) {
      c->status = kStatusAccessDenied;
      return;
    }
    Status s = st_->vfs->Fsync(o->ino, false);
    if (!s.ok()) {
      c->status = ErrnoToNtStatus(s.code());
      return;
    }
  }
  LeWriter w(&c->body);
  w.U16(4);
  w.U16(0);
}

}  // namespace concordfs::smb
