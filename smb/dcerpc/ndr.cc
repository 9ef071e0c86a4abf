#include "smb/dcerpc/ndr.h"

#include <optional>

#include "smb/wire/unicode.h"

namespace concordfs::smb::dcerpc {

void NdrWriter::Pointer(bool present) {
  if (!present) {
    U32(0);
    return;
  }
  U32(next_referent_);
  next_referent_ += 4;
}

void NdrWriter::String(std::string_view utf8) {
  std::string units = Utf8ToUtf16(utf8);
  units.append(2, '\0');
  uint32_t count = static_cast<uint32_t>(units.size() / 2);
  U32(count);  // max count
  U32(0);      // offset
  U32(count);  // actual count
  w_.Bytes(units);
}

std::string NdrReader::String() {
  uint32_t max_count = U32();
  uint32_t offset = U32();
  uint32_t actual = U32();
  if (!ok()) return {};
  if (offset != 0 || actual > max_count || actual > kMaxStringUnits ||
      size_t{actual} * 2 > r_.remaining()) {
    r_.Fail();
    return {};
  }
  std::string_view units = r_.Bytes(size_t{actual} * 2);
  if (units.size() >= 2 && units[units.size() - 2] == '\0' &&
      units.back() == '\0') {
    units.remove_suffix(2);
  }
  std::optional<std::string> utf8 = Utf16ToUtf8(units);
  if (!utf8) {
    r_.Fail();
    return {};
  }
  return std::move(*utf8);
}

}  // namespace concordfs::smb::dcerpc
