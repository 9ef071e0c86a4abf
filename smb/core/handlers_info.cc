// QUERY_INFO and SET_INFO: file, filesystem and security information.
#include <algorithm>

#include "smb/core/connection.h"
#include "smb/info/access.h"
#include "smb/info/attributes.h"
#include "smb/info/file_info.h"
#include "smb/info/fs_info.h"
#include "smb/info/names.h"
#include "smb/info/nt_status.h"
#include "smb/info/security.h"
#include "smb/info/set_info.h"
#include "smb/info/times.h"
#include "smb/wire/le.h"

namespace concordfs::smb {
namespace {

constexpr uint8_t kInfoFile = 1;
constexpr uint8_t kInfoFilesystem = 2;
constexpr uint8_t kInfoSecurity = 3;
constexpr uint8_t kInfoQuota = 4;

constexpr uint32_t kWriteAttributes = kFileWriteAttributes;
constexpr uint32_t kWriteData = kFileWriteData;

// Access a file information class needs (MS-FSA 2.1.5.11).
uint32_t QueryAccess(uint8_t cls) {
  switch (cls) {
    case 4:   // basic
    case 18:  // all
    case 34:  // network open
    case 35:  // attribute tag
      return kFileReadAttributes;
    case 15:  // full EA
      return kFileReadEa;
    default:
      return 0;
  }
}

}  // namespace

void SmbConnection::QueryInfo(Call* c) {
  LeReader r(c->msg);
  if (!StructureSizeIs(c, &r, 41)) return;
  uint8_t type = r.U8();
  uint8_t cls = r.U8();
  uint32_t out_len = r.U32();
  uint16_t in_off = r.U16();
  r.Skip(2);
  uint32_t in_len = r.U32();
  uint32_t additional = r.U32();
  r.Skip(4);  // flags
  SmbFileId fid = ReadFileId(&r);
  if (in_len) r.At(in_off, in_len);  // the EA name list / quota SIDs
  if (!r.ok()) {
    c->status = kStatusInvalidParameter;
    return;
  }
  Open* o = OpenOrClosed(c, fid);
  if (!o) return;
  std::string out;
  uint32_t status = kStatusSuccess;
  bool fitted = false;  // output already cut to the client's buffer
  if (o->pipe) {
    if (type == kInfoFile && cls == 5) {  // FileStandardInformation
      LeWriter w(&out);
      w.U64(4096);
      w.U64(0);
      w.U32(1);
      w.U8(1);  // delete pending: pipes go away on close
      w.U8(0);
      w.U16(0);
    } else {
      c->status = kStatusNotSupported;
      return;
    }
  } else if (type == kInfoFile) {
    uint32_t need = QueryAccess(cls);
    if (need && !(o->access & need)) {
      c->status = kStatusAccessDenied;
      return;
    }
    auto a = st_->vfs->GetAttr(o->ino);
    if (!a.ok()) {
      c->status = ErrnoToNtStatus(a.status().code());
      return;
    }
    FileInfoContext fc;
    fc.attr = *a;
    fc.name = "\\" + o->path;
    fc.position = o->position;
    fc.mode = o->mode;
    fc.access_mask = o->access;
    fc.delete_pending = st_->files.DeletePending(o->ino);
    fc.volume_serial = st_->volume_serial;
    if (cls == 15) {  // FileFullEaInformation
      std::vector<Ea> eas = LoadEas(Ctx(c->session), o->ino);
      if (eas.empty()) {
        c->status = kStatusNoEasOnFile;
        return;
      }
      bool all = true;
      out = EncodeFullEaList(eas, out_len, &all);
      if (out.empty()) {
        c->status = kStatusBufferTooSmall;
        return;
      }
      if (!all) status = kStatusBufferOverflow;
      fitted = true;
    } else {
      if (cls == 7 || cls == 18) {
        fc.ea_size = EaListSize(LoadEas(Ctx(c->session), o->ino));
      }
      status = EncodeFileInfo(cls, fc, &out);
    }
  } else if (type == kInfoFilesystem) {
    auto fs = st_->vfs->StatFs();
    if (!fs.ok()) {
      c->status = ErrnoToNtStatus(fs.status().code());
      return;
    }
    FsInfoContext fc;
    fc.stats = *fs;
    fc.volume_serial = st_->volume_serial;
    fc.created = st_->volume_created;
    if (c->tree->share) fc.volume_label = c->tree->share->name;
    status = EncodeFsInfo(cls, fc, &out);
  } else if (type == kInfoSecurity) {
    if (!(o->access & kReadControl)) {
      c->status = kStatusAccessDenied;
      return;
    }
    if (additional & 0x8) {  // SACL needs ACCESS_SYSTEM_SECURITY
      c->status = kStatusPrivilegeNotHeld;
      return;
    }
    auto a = st_->vfs->GetAttr(o->ino);
    if (!a.ok()) {
      c->status = ErrnoToNtStatus(a.status().code());
      return;
    }
    out = QuerySd(a->inode, additional);
    if (out.size() > out_len) {
      LeWriter e(&c->error_data);
      e.U32(static_cast<uint32_t>(out.size()));
      c->status = kStatusBufferTooSmall;
      return;
    }
  } else if (type == kInfoQuota) {
    c->status = kStatusNotSupported;
    return;
  } else {
    c->status = kStatusInvalidParameter;
    return;
  }
  if (status != kStatusSuccess && status != kStatusBufferOverflow) {
    c->status = status;
    return;
  }
  if (type == kInfoFile && !fitted) {
    NtStatus fit = FitFileInfo(cls, out_len, &out);
    if (fit != kStatusSuccess) status = fit;
  } else if (type == kInfoFilesystem) {
    status = FitFsInfo(cls, out_len, &out);
  }
  if (status != kStatusSuccess && status != kStatusBufferOverflow) {
    c->status = status;
    return;
  }
  c->status = status;
  LeWriter w(&c->body);
  w.U16(9);
  w.U16(kSmb2HeaderSize + 8);
  w.U32(static_cast<uint32_t>(out.size()));
  w.Bytes(out);
  if (out.empty()) w.U8(0);
}

void SmbConnection::SetInfo(Call* c) {
  LeReader r(c->msg);
  if (!StructureSizeIs(c, &r, 33)) return;
  uint8_t type = r.U8();
  uint8_t cls = r.U8();
  uint32_t len = r.U32();
  uint16_t off = r.U16();
  r.Skip(2);
  uint32_t additional = r.U32();
  SmbFileId fid = ReadFileId(&r);
  std::string_view buf = r.At(off, len);
  if (!r.ok()) {
    c->status = kStatusInvalidParameter;
    return;
  }
  Open* o = OpenOrClosed(c, fid);
  if (!o) return;
  if (o->pipe) {
    c->status = kStatusNotSupported;
    return;
  }
  OpContext ctx = Ctx(c->session);
  auto done = [c] {
    LeWriter w(&c->body);
    w.U16(2);
  };
  if (c->tree->read_only && type != kInfoFile) {
    c->status = kStatusAccessDenied;
    return;
  }
  if (type == kInfoSecurity) {
    if (((additional & 1) && !(o->access & kWriteOwner)) ||
        ((additional & 2) && !(o->access & kWriteOwner)) ||
        ((additional & 4) && !(o->access & kWriteDac))) {
      c->status = kStatusAccessDenied;
      return;
    }
    if (additional & kSaclSecurityInformation) {
      c->status = kStatusPrivilegeNotHeld;
      return;
    }
    uint32_t st = SetSd(c->session, o->ino, buf, additional);
    if (st != kStatusSuccess) {
      c->status = st;
      return;
    }
    return done();
  }
  if (type == kInfoFilesystem || type == kInfoQuota) {
    c->status = kStatusNotSupported;
    return;
  }
  if (type != kInfoFile) {
    c->status = kStatusInvalidParameter;
    return;
  }
  bool ro = c->tree->read_only;
  switch (cls) {
    case 4: {  // FileBasicInformation
      BasicInfoChange bi;
      uint32_t st = DecodeBasicInformation(buf, &bi);
      if (st != kStatusSuccess) {
        c->status = st;
        return;
      }
      if (!(o->access & kWriteAttributes) || ro) {
        c->status = kStatusAccessDenied;
        return;
      }
      SetAttrRequest sr;
      using K = TimeChange::Kind;
      if (bi.creation.kind == K::kSet) sr.btime = bi.creation.value;
      if (bi.last_access.kind == K::kSet) sr.atime = bi.last_access.value;
      if (bi.last_write.kind == K::kSet) sr.mtime = bi.last_write.value;
      if (bi.change.kind == K::kSet) {
        sr.ctime = bi.change.value;
      } else {
        // Setting other fields does not move ChangeTime for SMB clients.
        auto cur = st_->vfs->GetAttr(o->ino);
        if (cur.ok()) sr.ctime = cur->inode.ctime;
      }
      if (bi.attributes) {
        // A file cannot become a directory, nor a directory temporary.
        if (((bi.attributes & kFileAttributeDirectory) && !o->is_dir) ||
            ((bi.attributes & kFileAttributeTemporary) && o->is_dir)) {
          c->status = kStatusInvalidParameter;
          return;
        }
        sr.dos_attrs = StoredDosAttributes(bi.attributes, o->is_dir);
      }
      auto a = st_->vfs->SetAttr(ctx, o->ino, sr);
      if (!a.ok()) {
        c->status = ErrnoToNtStatus(a.status().code());
        return;
      }
      return done();
    }
    case 10:    // FileRenameInformation
    case 11: {  // FileLinkInformation
      RenameInfo ri;
      uint32_t st = cls == 10 ? DecodeRenameInformation(buf, &ri)
                              : DecodeLinkInformation(buf, &ri);
      if (st != kStatusSuccess) {
        c->status = st;
        return;
      }
      if (ro) {
        c->status = kStatusAccessDenied;
        return;
      }
      if (cls == 10 && !(o->access & kDelete)) {
        c->status = kStatusAccessDenied;
        return;
      }
      if (ri.path.components.empty() || o->parent == kInvalidInode) {
        c->status = kStatusInvalidParameter;
        return;
      }
      InodeId np = c->tree->root;
      for (size_t i = 0; i + 1 < ri.path.components.size(); ++i) {
        auto a = LookupName(ctx, np, ri.path.components[i]);
        if (!a.ok() || !a->inode.is_dir()) {
          c->status = kStatusObjectPathNotFound;
          return;
        }
        np = a->inode.id;
      }
      const std::string& nn = ri.path.components.back();
      auto existing = LookupName(ctx, np, nn);
      if (existing.ok()) {
        if (existing->inode.id == o->ino && cls == 10) {
          // Same file (maybe a case change): rename onto itself.
        } else if (!ri.replace_if_exists) {
          c->status = kStatusObjectNameCollision;
          return;
        } else if (existing->inode.is_dir()) {
          c->status = kStatusAccessDenied;
          return;
        } else if (st_->files.HasOpens(existing->inode.id)) {
          c->status = kStatusAccessDenied;
          return;
        }
      }
      if (cls == 11) {
        if (o->is_dir) {
          c->status = kStatusFileIsADirectory;
          return;
        }
        if (existing.ok()) {
          Status u = st_->vfs->Unlink(ctx, np, nn);
          if (!u.ok()) {
            c->status = ErrnoToNtStatus(u.code());
            return;
          }
        }
        auto a = st_->vfs->Link(ctx, o->ino, np, nn);
        if (!a.ok()) {
          c->status = ErrnoToNtStatus(a.status().code());
          return;
        }
        return done();
      }
      if (o->is_dir && HasOpensBelow(o)) {
        c->status = kStatusAccessDenied;
        return;
      }
      // Other leases that cache a handle to the file give it up first (a
      // cached handle would keep the old name): the rename waits for their
      // acknowledgement (MS-SMB2 3.3.4.7), unless more of its compound
      // follows. The open's own lease keeps its caching.
      if (st_->oplocks && !(c->create_stage & kStageRenameBreaks)) {
        uint64_t async_id = 0;
        if (c->chain_continues) {
          (void)st_->oplocks->BreakForRename(o->ino, o->lease_id, [] {});
        } else if (!st_->oplocks->BreakForRename(
                       o->ino, o->lease_id,
                       RetryAfterBreaks(c, c->create_stage | kStageRenameBreaks,
                                        &async_id))) {
          return WaitForBreaks(c, async_id);
        }
      }
      // Renaming changes the parent directory: an open of the parent that
      // may delete, or that does not let others delete, forbids it.
      if (st_->shares) {
        locking::ShareOpen probe;
        probe.owner = ShareOwner(c->session->id, 0);
        probe.access = locking::kAccessDelete;
        probe.share = locking::kAccessRead | locking::kAccessWrite;
        if (st_->shares->Check(o->parent, probe)) {
          c->status = kStatusSharingViolation;
          return;
        }
      }
      Status s = st_->vfs->Rename(ctx, o->parent, o->name, np, nn, 0);
      if (!s.ok()) {
        c->status = ErrnoToNtStatus(s.code());
        return;
      }
      o->parent = np;
      o->name = nn;
      std::string p;
      for (const std::string& comp : ri.path.components) {
        if (!p.empty()) p += '\\';
        p += comp;
      }
      o->path = p;
      return done();
    }
    case 13:    // FileDispositionInformation
    case 64: {  // FileDispositionInformationEx
      bool del = false;
      uint32_t st;
      if (cls == 13) {
        st = DecodeDispositionInformation(buf, &del);
      } else {
        DispositionEx dx;
        st = DecodeDispositionInformationEx(buf, &dx);
        del = dx.delete_file();
      }
      if (st != kStatusSuccess) {
        c->status = st;
        return;
      }
      if (!(o->access & kDelete)) {
        c->status = kStatusAccessDenied;
        return;
      }
      if (del) {
        if (ro) {
          c->status = kStatusAccessDenied;
          return;
        }
        if (o->parent == kInvalidInode) {
          c->status = kStatusCannotDelete;  // the share root
          return;
        }
        auto a = st_->vfs->GetAttr(o->ino);
        if (a.ok() && (a->inode.dos_attrs & 0x1)) {
          c->status = kStatusCannotDelete;
          return;
        }
        if (o->is_dir) {
          bool empty = true;
          (void)st_->vfs->ReadDir(ctx, o->ino, 0, 0, false,
                                  [&](const ReadDirEntry& e) {
                                    if (e.name == "." || e.name == "..")
                                      return true;
                                    empty = false;
                                    return false;
                                  });
          if (!empty) {
            c->status = kStatusDirectoryNotEmpty;
            return;
          }
        }
      }
      st_->files.SetDeletePending(o->ino, del);
      if (!del) o->delete_on_close = false;
      // Watches of a directory being deleted end (DELETE_PENDING).
      if (del && o->is_dir && st_->notify) st_->notify->DeletePending(o->ino);
      return done();
    }
    case 14: {  // FilePositionInformation
      uint64_t pos = 0;
      uint32_t st = DecodePositionInformation(buf, &pos);
      if (st != kStatusSuccess) {
        c->status = st;
        return;
      }
      o->position = pos;
      return done();
    }
    case 16: {  // FileModeInformation
      uint32_t mode = 0;
      uint32_t st = DecodeModeInformation(buf, &mode);
      if (st != kStatusSuccess) {
        c->status = st;
        return;
      }
      o->mode = mode;
      return done();
    }
    case 19:    // FileAllocationInformation
    case 20: {  // FileEndOfFileInformation
      uint64_t v = 0;
      uint32_t st = cls == 20 ? DecodeEndOfFileInformation(buf, &v)
                              : DecodeAllocationInformation(buf, &v);
      if (st != kStatusSuccess) {
        c->status = st;
        return;
      }
      if (!(o->access & kWriteData) || ro) {
        c->status = kStatusAccessDenied;
        return;
      }
      if (o->is_dir) {
        c->status = kStatusInvalidParameter;
        return;
      }
      BreakReaders(*o);
      SetAttrRequest sr;
      sr.handle = o->vfs_handle;
      if (cls == 20) {
        sr.size = v;
      } else {
        auto a = st_->vfs->GetAttr(o->ino);
        if (a.ok() && v < a->inode.size) sr.size = v;
        sr.alloc_size = v;
      }
      auto a = st_->vfs->SetAttr(ctx, o->ino, sr);
      if (!a.ok()) {
        c->status = ErrnoToNtStatus(a.status().code());
        return;
      }
      return done();
    }
    case 39:  // FileValidDataLengthInformation
      if (!(o->access & kWriteData)) {
        c->status = kStatusAccessDenied;
        return;
      }
      return done();
    case 15: {  // FileFullEaInformation
      std::vector<Ea> eas;
      uint32_t st = DecodeFullEaList(buf, &eas);
      if (st != kStatusSuccess) {
        c->status = st;
        return;
      }
      if (!(o->access & kFileWriteEa) || ro) {
        c->status = kStatusAccessDenied;
        return;
      }
      st = ApplyEas(ctx, o->ino, eas);
      if (st != kStatusSuccess) {
        c->status = st;
        return;
      }
      return done();
    }
    default:
      c->status = kStatusInvalidInfoClass;
      return;
  }
}

}  // namespace concordfs::smb
