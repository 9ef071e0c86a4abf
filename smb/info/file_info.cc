#include "smb/info/file_info.h"

#include <string_view>

#include "smb/info/attributes.h"
#include "smb/info/names.h"
#include "smb/wire/le.h"
#include "smb/wire/unicode.h"

namespace concordfs::smb {
namespace {

// "\a\b" for FileNameInformation, "a\b" for the normalized name.
std::string ShareRelativeName(std::string_view name, bool leading_backslash) {
  while (!name.empty() && name.front() == '\\') name.remove_prefix(1);
  std::string s = leading_backslash ? "\\" : "";
  s.append(name);
  return s;
}

void PutBasic(LeWriter* w, const Inode& n) {
  FileTimes t = FileTimesOf(n);
  w->U64(t.creation);
  w->U64(t.last_access);
  w->U64(t.last_write);
  w->U64(t.change);
  w->U32(DosAttributes(n));
  w->U32(0);  // Reserved
}

uint32_t LinkCount(const FileInfoContext& c) {
  const Inode& n = c.attr.inode;
  // Windows directories always report one link; a pending delete removes
  // the name the open refers to.
  uint32_t links = n.is_dir() ? 1 : n.nlink;
  if (c.delete_pending && links > 0) --links;
  return links;
}

void PutStandard(LeWriter* w, const FileInfoContext& c) {
  const Inode& n = c.attr.inode;
  w->U64(AllocationSize(c.attr));
  w->U64(EndOfFile(n));
  w->U32(LinkCount(c));
  w->U8(c.delete_pending ? 1 : 0);
  w->U8(n.is_dir() ? 1 : 0);
  w->U16(0);  // Reserved
}

void PutName(LeWriter* w, std::string_view utf8) {
  std::string u16 = Utf8ToUtf16(utf8);
  w->U32(static_cast<uint32_t>(u16.size()));
  w->Bytes(u16);
}

void PutStreams(LeWriter* w, const FileInfoContext& c) {
  if (c.attr.inode.is_dir()) return;
  std::string u16 = Utf8ToUtf16("::$DATA");
  w->U32(0);  // NextEntryOffset: the only entry
  w->U32(static_cast<uint32_t>(u16.size()));
  w->U64(EndOfFile(c.attr.inode));
  w->U64(AllocationSize(c.attr));
  w->Bytes(u16);
}

void PutAll(LeWriter* w, const FileInfoContext& c) {
  const Inode& n = c.attr.inode;
  PutBasic(w, n);
  PutStandard(w, c);
  w->U64(FileIdOf(n));    // InternalInformation
  w->U32(c.ea_size);      // EaInformation
  w->U32(c.access_mask);  // AccessInformation
  w->U64(c.position);     // PositionInformation
  w->U32(c.mode);         // ModeInformation
  w->U32(0);              // AlignmentInformation
  PutName(w, ShareRelativeName(c.name, true));
}

void PutNetworkOpen(LeWriter* w, const FileInfoContext& c) {
  const Inode& n = c.attr.inode;
  FileTimes t = FileTimesOf(n);
  w->U64(t.creation);
  w->U64(t.last_access);
  w->U64(t.last_write);
  w->U64(t.change);
  w->U64(AllocationSize(c.attr));
  w->U64(EndOfFile(n));
  w->U32(DosAttributes(n));
  w->U32(0);
}

void PutCompression(LeWriter* w, const Inode& n) {
  w->U64(EndOfFile(n));  // CompressedFileSize: not compressed
  w->U16(0);             // COMPRESSION_FORMAT_NONE
  w->U8(0);              // CompressionUnitShift
  w->U8(0);              // ChunkShift
  w->U8(0);              // ClusterShift
  w->Zeros(3);
}

void PutStandardLink(LeWriter* w, const FileInfoContext& c) {
  const Inode& n = c.attr.inode;
  w->U32(LinkCount(c));  // NumberOfAccessibleLinks
  w->U32(n.is_dir() ? 1 : n.nlink);
  w->U8(c.delete_pending ? 1 : 0);
  w->U8(n.is_dir() ? 1 : 0);
  w->U16(0);
}

// Classes MS-FSCC 2.4 defines that a query may name but concordfs does not
// answer (MS-SMB2 3.3.5.20.1: STATUS_NOT_SUPPORTED for those).
bool IsKnownUnsupported(uint8_t c) {
  switch (c) {
    case kFilePipeInformation:
    case kFilePipeLocalInformation:
    case kFilePipeRemoteInformation:
    case kFileObjectIdInformation:
    case kFileQuotaInformation:
    case kFileReparsePointInformation:
    case kFileTrackingInformation:
    case kFileShortNameInformation:
    case kFileSfioReserveInformation:
    case kFileSfioVolumeInformation:
    case kFileHardLinkInformation:
    case kFileCaseSensitiveInformation:
      return true;
    default:
      return false;
  }
}

}  // namespace

NtStatus EncodeFileInfo(uint8_t info_class, const FileInfoContext& c,
                        std::string* out) {
  out->clear();
  LeWriter w(out);
  const Inode& n = c.attr.inode;
  switch (info_class) {
    case kFileBasicInformation:
      PutBasic(&w, n);
      break;
    case kFileStandardInformation:
      PutStandard(&w, c);
      break;
    case kFileInternalInformation:
      w.U64(FileIdOf(n));
      break;
    case kFileEaInformation:
      w.U32(c.ea_size);
      break;
    case kFileAccessInformation:
      w.U32(c.access_mask);
      break;
    case kFileNameInformation:
      PutName(&w, ShareRelativeName(c.name, true));
      break;
    case kFileNormalizedNameInformation:
      PutName(&w, ShareRelativeName(c.name, false));
      break;
    case kFilePositionInformation:
      w.U64(c.position);
      break;
    case kFileFullEaInformation:
      return kStatusNoEasOnFile;
    case kFileModeInformation:
      w.U32(c.mode);
      break;
    case kFileAlignmentInformation:
      w.U32(0);  // FILE_BYTE_ALIGNMENT
      break;
    case kFileAllInformation:
      PutAll(&w, c);
      break;
    case kFileAlternateNameInformation: {
      std::string_view full = c.name;
      size_t slash = full.rfind('\\');
      std::string_view last =
          slash == std::string_view::npos ? full : full.substr(slash + 1);
      if (last.empty()) return kStatusObjectNameNotFound;  // the root
      std::string u16 = Utf8ToUtf16(ShortName(last));
      w.U32(static_cast<uint32_t>(u16.size()));
      w.Bytes(u16);
      break;
    }
    case kFileStreamInformation:
      PutStreams(&w, c);
      break;
    case kFileCompressionInformation:
      PutCompression(&w, n);
      break;
    case kFileNetworkOpenInformation:
      PutNetworkOpen(&w, c);
      break;
    case kFileAttributeTagInformation:
      w.U32(DosAttributes(n));
      w.U32(ReparseTagOf(n));
      break;
    case kFileStandardLinkInformation:
      PutStandardLink(&w, c);
      break;
    case kFileIdInformation:
      w.U64(c.volume_serial);
      w.U64(FileIdOf(n));  // 128-bit id: low half
      w.U64(0);            // high half
      break;
    default:
      return IsKnownUnsupported(info_class) ? kStatusNotSupported
                                            : kStatusInvalidInfoClass;
  }
  return kStatusSuccess;
}

size_t FileInfoMinSize(uint8_t info_class) {
  switch (info_class) {
    case kFileBasicInformation:
      return 40;
    case kFileStandardInformation:
      return 24;
    case kFileInternalInformation:
    case kFilePositionInformation:
    case kFileAttributeTagInformation:
      return 8;
    case kFileEaInformation:
    case kFileAccessInformation:
    case kFileModeInformation:
    case kFileAlignmentInformation:
    case kFileNameInformation:
    case kFileNormalizedNameInformation:
      return 4;
    // Variable-length classes: Windows (and smbtorture's buffer checks)
    // count the fixed part rounded up to 8 bytes.
    case kFileAlternateNameInformation:
      return 8;
    case kFileAllInformation:
      return 104;
    case kFileStreamInformation:
      return 32;
    case kFileCompressionInformation:
      return 16;
    case kFileNetworkOpenInformation:
      return 56;
    case kFileStandardLinkInformation:
      return 12;
    case kFileIdInformation:
      return 24;
    default:
      return 0;
  }
}

NtStatus FitFileInfo(uint8_t info_class, size_t max_output, std::string* out) {
  if (out->size() <= max_output) return kStatusSuccess;
  if (max_output < FileInfoMinSize(info_class)) {
    out->clear();
    return kStatusInfoLengthMismatch;
  }
  out->resize(max_output);
  return kStatusBufferOverflow;
}

}  // namespace concordfs::smb
