// QUERY_DIRECTORY: enumeration with wildcard patterns, resume across calls,
// restart/reopen and single-entry flags.
#include "smb/core/connection.h"
#include "smb/info/dir_info.h"
#include "smb/info/names.h"
#include "smb/info/nt_status.h"
#include "smb/wire/le.h"
#include "smb/wire/unicode.h"

namespace concordfs::smb {
namespace {

constexpr uint8_t kRestartScans = 0x1;
constexpr uint8_t kSingleEntry = 0x2;
constexpr uint8_t kIndexSpecified = 0x4;
constexpr uint8_t kReopen = 0x10;

}  // namespace

void SmbConnection::QueryDirectory(Call* c) {
  LeReader r(c->msg);
  if (!StructureSizeIs(c, &r, 33)) return;
  uint8_t info_class = r.U8();
  uint8_t flags = r.U8();
  r.Skip(4);  // file index
  SmbFileId fid = ReadFileId(&r);
  uint16_t name_off = r.U16();
  uint16_t name_len = r.U16();
  uint32_t out_len = r.U32();
  std::string_view raw =
      name_len ? r.At(name_off, name_len) : std::string_view();
  if (!r.ok()) {
    c->status = kStatusInvalidParameter;
    return;
  }
  Open* o = OpenOrClosed(c, fid);
  if (!o) return;
  if (!o->is_dir || o->pipe) {
    c->status = kStatusInvalidParameter;
    return;
  }
  if (!IsDirInfoClass(info_class)) {
    c->status = kStatusInvalidInfoClass;
    return;
  }
  if (!(o->access & 0x1)) {  // FILE_LIST_DIRECTORY
    c->status = kStatusAccessDenied;
    return;
  }
  if (out_len > st_->opts.max_transact) out_len = st_->opts.max_transact;
  auto decoded = Utf16ToUtf8(raw);
  if (!decoded) {
    c->status = kStatusInvalidParameter;
    return;
  }
  // (Built rather than assigned: GCC 12 warns falsely on the assignment.)
  const std::string pattern = decoded->empty() ? std::string(1, '*') : *decoded;
  if (pattern.find('\\') != std::string::npos) {
    c->status = kStatusInvalidParameter;
    return;
  }
  bool restart = (flags & (kRestartScans | kReopen)) || !o->dir_started ||
                 (name_len && pattern != o->pattern);
  (void)kIndexSpecified;
  if (restart) {
    o->dir_cookie = 0;
    o->dir_done = false;
    o->pattern = pattern;
  }
  bool first_call = restart;
  o->dir_started = true;
  if (o->dir_done) {
    c->status = kStatusNoMoreFiles;
    return;
  }

  std::string out;
  size_t last = std::string::npos;
  size_t count = 0;
  bool full = false;
  bool single = flags & kSingleEntry;
  uint64_t resume = o->dir_cookie;
  OpContext ctx = Ctx(c->session);
  Attr parent_attr;
  bool have_parent = false;
  Status s = st_->vfs->ReadDir(
      ctx, o->ino, 0, o->dir_cookie, true, [&](const ReadDirEntry& e) {
        if (!WildcardMatch(o->pattern, e.name)) {
          resume = e.cookie;
          return true;
        }
        DirEntryInfo di;
        di.name = e.name;
        if (e.name == "..") {
          if (!have_parent) {
            InodeId p = o->ino == c->tree->root ? o->ino : kInvalidInode;
            if (p == kInvalidInode) {
              auto self = st_->vfs->GetAttr(o->ino);
              p = self.ok() ? self->inode.parent : o->ino;
            }
            auto pa = st_->vfs->GetAttr(p);
            if (pa.ok()) parent_attr = *pa;
            have_parent = true;
          }
          di.attr = parent_attr;
        } else if (e.attr) {
          di.attr = *e.attr;
        } else {
          auto a = st_->vfs->GetAttr(e.ino);
          if (!a.ok()) {
            resume = e.cookie;
            return true;  // removed meanwhile
          }
          di.attr = *a;
        }
        if (info_class == 2 || info_class == 3 || info_class == 37 ||
            info_class == 38) {
          di.ea_size = EaListSize(LoadEas(ctx, di.attr.inode.id));
        }
        if (!AppendDirEntry(info_class, di, out_len, &out, &last)) {
          full = true;
          return false;
        }
        ++count;
        resume = e.cookie;
        return !single;
      });
  if (!s.ok()) {
    c->status = ErrnoToNtStatus(s.code());
    return;
  }
  o->dir_cookie = resume;
  if (count == 0) {
    if (full) {
      c->status = kStatusInfoLengthMismatch;
      return;
    }
    o->dir_done = true;
    c->status = first_call ? kStatusNoSuchFile : kStatusNoMoreFiles;
    return;
  }
  LeWriter w(&c->body);
  w.U16(9);
  w.U16(kSmb2HeaderSize + 8);
  w.U32(static_cast<uint32_t>(out.size()));
  w.Bytes(out);
}

}  // namespace concordfs::smb
