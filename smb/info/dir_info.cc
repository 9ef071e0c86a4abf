#include "smb/info/dir_info.h"

#include "smb/info/attributes.h"
#include "smb/info/names.h"
#include "smb/wire/le.h"
#include "smb/wire/unicode.h"

namespace concordfs::smb {
namespace {

// The fields between FileNameLength and FileName, per class.
// ShortName (8.3) field of the "Both" classes: length byte, reserved
// byte, 24 bytes of UTF-16. "." and ".." have none.
void PutShortName(LeWriter* w, std::string_view name) {
  std::string s;
  if (name != "." && name != "..") s = Utf8ToUtf16(ShortName(name));
  if (s.size() > 24) s.resize(24);
  w->U8(static_cast<uint8_t>(s.size()));
  w->U8(0);
  w->Bytes(s);
  w->Zeros(24 - s.size());
}

void PutClassFields(LeWriter* w, uint8_t info_class, const Inode& n,
                    std::string_view utf8_name, uint32_t ea_size,
                    uint32_t tag) {
  switch (info_class) {
    case kFileDirectoryInformation:
      break;
    case kFileFullDirectoryInformation:
      w->U32(ea_size);
      break;
    case kFileBothDirectoryInformation:
      w->U32(ea_size);
      PutShortName(w, utf8_name);
      break;
    case kFileIdBothDirectoryInformation:
      w->U32(ea_size);
      PutShortName(w, utf8_name);
      w->U16(0);  // Reserved2
      w->U64(FileIdOf(n));
      break;
    case kFileIdFullDirectoryInformation:
      w->U32(ea_size);
      w->U32(0);  // Reserved
      w->U64(FileIdOf(n));
      break;
    case kFileIdExtdDirectoryInformation:
      w->U32(0);  // EaSize
      w->U32(tag);
      w->U64(FileIdOf(n));
      w->U64(0);
      break;
    case kFileId64ExtdDirectoryInformation:
      w->U32(0);
      w->U32(tag);
      w->U64(FileIdOf(n));
      break;
    case kFileIdAllExtdDirectoryInformation:
      w->U32(0);
      w->U32(tag);
      w->U64(FileIdOf(n));
      w->U64(FileIdOf(n));  // FileId128, low half
      w->U64(0);
      break;
  }
}

}  // namespace

bool IsDirInfoClass(uint8_t info_class) {
  return DirEntryFixedSize(info_class) != 0;
}

size_t DirEntryFixedSize(uint8_t info_class) {
  switch (info_class) {
    case kFileDirectoryInformation:
      return 64;
    case kFileFullDirectoryInformation:
      return 68;
    case kFileBothDirectoryInformation:
      return 94;
    case kFileNamesInformation:
      return 12;
    case kFileIdBothDirectoryInformation:
      return 104;
    case kFileIdFullDirectoryInformation:
      return 80;
    case kFileIdExtdDirectoryInformation:
      return 88;
    case kFileId64ExtdDirectoryInformation:
      return 80;
    case kFileIdAllExtdDirectoryInformation:
      return 96;
    default:
      return 0;
  }
}

bool AppendDirEntry(uint8_t info_class, const DirEntryInfo& entry,
                    size_t max_total, std::string* out,
                    size_t* last_entry_offset) {
  size_t fixed = DirEntryFixedSize(info_class);
  if (fixed == 0) return false;
  std::string name = Utf8ToUtf16(entry.name);
  size_t start = out->size();
  if (start % 8) start += 8 - start % 8;
  if (start > max_total || fixed + name.size() > max_total - start) {
    return false;
  }
  LeWriter w(out);
  bool first = out->empty();
  w.Zeros(start - out->size());
  if (!first) {
    w.PatchU32(*last_entry_offset,
               static_cast<uint32_t>(start - *last_entry_offset));
  }
  *last_entry_offset = start;

  const Inode& n = entry.attr.inode;
  uint32_t name_len = static_cast<uint32_t>(name.size());
  w.U32(0);  // NextEntryOffset, patched by the next append
  w.U32(0);  // FileIndex
  if (info_class == kFileNamesInformation) {
    w.U32(name_len);
    w.Bytes(name);
    return true;
  }
  FileTimes t = FileTimesOf(n);
  uint32_t attrs = DosAttributes(n);
  uint32_t tag = ReparseTagOf(n);
  // EaSize carries the reparse tag for reparse points (MS-FSCC 2.4.x).
  uint32_t ea_size = (attrs & kFileAttributeReparsePoint) ? tag : entry.ea_size;
  w.U64(t.creation);
  w.U64(t.last_access);
  w.U64(t.last_write);
  w.U64(t.change);
  w.U64(EndOfFile(n));
  w.U64(AllocationSize(entry.attr));
  w.U32(attrs);
  w.U32(name_len);
  PutClassFields(&w, info_class, n, entry.name, ea_size, tag);
  w.Bytes(name);
  return true;
}

}  // namespace concordfs::smb
