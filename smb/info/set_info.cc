#include "smb/info/set_info.h"

#include <optional>
#include <utility>

#include "smb/info/times.h"
#include "smb/wire/le.h"
#include "smb/wire/unicode.h"

namespace concordfs::smb {
namespace {

constexpr size_t kRenameFixedSize = 20;

TimeChange ToTimeChange(uint64_t ft) {
  TimeChange t;
  switch (ft) {
    case kFiletimeNoChange:
      t.kind = TimeChange::Kind::kUnchanged;
      break;
    case kFiletimeFreeze:
      t.kind = TimeChange::Kind::kFreeze;
      break;
    case kFiletimeUnfreeze:
      t.kind = TimeChange::Kind::kUnfreeze;
      break;
    default:
      t.kind = TimeChange::Kind::kSet;
      t.value = FromFiletime(ft);
      break;
  }
  return t;
}

// Values below -2 as signed 64-bit.
bool InvalidTime(uint64_t ft) { return static_cast<int64_t>(ft) < -2; }

NtStatus DecodeU64NonNegative(std::string_view in, uint64_t* v) {
  LeReader r(in);
  uint64_t x = r.U64();
  if (!r.ok()) return kStatusInfoLengthMismatch;
  if (static_cast<int64_t>(x) < 0) return kStatusInvalidParameter;
  *v = x;
  return kStatusSuccess;
}

}  // namespace

NtStatus DecodeBasicInformation(std::string_view in, BasicInfoChange* out) {
  LeReader r(in);
  uint64_t t[4];
  for (uint64_t& x : t) x = r.U64();
  uint32_t attrs = r.U32();
  r.U32();  // Reserved
  if (!r.ok()) return kStatusInfoLengthMismatch;
  for (uint64_t x : t) {
    if (InvalidTime(x)) return kStatusInvalidParameter;
  }
  out->creation = ToTimeChange(t[0]);
  out->last_access = ToTimeChange(t[1]);
  out->last_write = ToTimeChange(t[2]);
  out->change = ToTimeChange(t[3]);
  out->attributes = attrs;
  return kStatusSuccess;
}

NtStatus DecodeRenameInformation(std::string_view in, RenameInfo* out) {
  LeReader r(in);
  bool replace = r.U8() != 0;
  r.Skip(7);
  uint64_t root = r.U64();
  uint32_t len = r.U32();
  if (!r.ok()) return kStatusInfoLengthMismatch;
  if (root != 0) return kStatusInvalidParameter;
  if (len > in.size() - kRenameFixedSize) return kStatusInfoLengthMismatch;
  if (len == 0 || len % 2) return kStatusInvalidParameter;
  std::optional<std::string> name = Utf16ToUtf8(r.Bytes(len));
  if (!name) return kStatusObjectNameInvalid;
  // Clients differ on a leading backslash in the target (the CREATE rule
  // forbids it; some send one anyway): the target is share-relative either
  // way.
  std::string_view rel = *name;
  while (!rel.empty() && rel.front() == '\\') rel.remove_prefix(1);
  SmbPath path;
  NtStatus st = ParseSmbPathUtf8(rel, &path);
  if (st != kStatusSuccess) return st;
  if (path.is_root() && path.stream.empty()) {
    return kStatusObjectNameInvalid;  // renaming onto the share root
  }
  out->replace_if_exists = replace;
  out->name = std::move(*name);
  out->path = std::move(path);
  return kStatusSuccess;
}

NtStatus DecodeLinkInformation(std::string_view in, RenameInfo* out) {
  NtStatus st = DecodeRenameInformation(in, out);
  if (st == kStatusSuccess && !out->path.stream.empty()) {
    return kStatusObjectNameInvalid;  // links name files, not streams
  }
  return st;
}

NtStatus DecodeDispositionInformation(std::string_view in, bool* delete_file) {
  LeReader r(in);
  uint8_t v = r.U8();
  if (!r.ok()) return kStatusInfoLengthMismatch;
  *delete_file = v != 0;
  return kStatusSuccess;
}

NtStatus DecodeDispositionInformationEx(std::string_view in,
                                        DispositionEx* out) {
  constexpr uint32_t kKnown =
      kFileDispositionDelete | kFileDispositionPosixSemantics |
      kFileDispositionForceImageSectionCheck | kFileDispositionOnClose |
      kFileDispositionIgnoreReadonlyAttribute;
  LeReader r(in);
  uint32_t flags = r.U32();
  if (!r.ok()) return kStatusInfoLengthMismatch;
  if (flags & ~kKnown) return kStatusInvalidParameter;
  out->flags = flags;
  return kStatusSuccess;
}

NtStatus DecodePositionInformation(std::string_view in, uint64_t* offset) {
  return DecodeU64NonNegative(in, offset);
}

NtStatus DecodeModeInformation(std::string_view in, uint32_t* mode) {
  constexpr uint32_t kSettable = kFileWriteThrough | kFileSequentialOnly |
                                 kFileSynchronousIoAlert |
                                 kFileSynchronousIoNonalert;
  LeReader r(in);
  uint32_t m = r.U32();
  if (!r.ok()) return kStatusInfoLengthMismatch;
  if (m & ~kSettable) return kStatusInvalidParameter;
  if ((m & kFileSynchronousIoAlert) && (m & kFileSynchronousIoNonalert)) {
    return kStatusInvalidParameter;
  }
  *mode = m;
  return kStatusSuccess;
}

NtStatus DecodeAllocationInformation(std::string_view in, uint64_t* size) {
  return DecodeU64NonNegative(in, size);
}

NtStatus DecodeEndOfFileInformation(std::string_view in, uint64_t* size) {
  return DecodeU64NonNegative(in, size);
}

NtStatus DecodeValidDataLengthInformation(std::string_view in,
                                          uint64_t* length) {
  return DecodeU64NonNegative(in, length);
}

}  // namespace concordfs::smb
