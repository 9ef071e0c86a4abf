#include "smb/info/ea.h"

#include "smb/wire/le.h"
#include "smb/wire/unicode.h"

namespace concordfs::smb {
namespace {

constexpr NtStatus kStatusInvalidEaName = 0x80000013;

bool ValidEaNameChar(unsigned char c) {
  if (c < 0x20) return false;
  return std::string_view("\"*+,/:;<=>?[\\]|").find(static_cast<char>(c)) ==
         std::string_view::npos;
}

size_t EntrySize(const Ea& e) { return 8 + e.name.size() + 1 + e.value.size(); }

}  // namespace

NtStatus DecodeFullEaList(std::string_view in, std::vector<Ea>* out) {
  out->clear();
  size_t pos = 0;
  while (true) {
    if (pos > in.size() || in.size() - pos < 8) return kStatusInvalidParameter;
    LeReader r(in.substr(pos));
    uint32_t next = r.U32();
    uint8_t flags = r.U8();
    uint8_t name_len = r.U8();
    uint16_t value_len = r.U16();
    std::string_view name = r.Bytes(name_len);
    std::string_view nul = r.Bytes(1);
    std::string_view value = r.Bytes(value_len);
    if (!r.ok() || name_len == 0 || nul != std::string_view("\0", 1)) {
      return kStatusInvalidParameter;
    }
    for (unsigned char c : name) {
      if (!ValidEaNameChar(c)) return kStatusInvalidEaName;
    }
    out->push_back(Ea{std::string(name), std::string(value), flags});
    if (next == 0) break;
    if (next % 4 || next < r.pos()) return kStatusInvalidParameter;
    pos += next;
  }
  return kStatusSuccess;
}

std::string EncodeFullEaList(const std::vector<Ea>& eas, size_t max,
                             bool* all) {
  std::string out;
  LeWriter w(&out);
  size_t last = std::string::npos;
  *all = true;
  for (const Ea& e : eas) {
    size_t start = (out.size() + 3) & ~size_t{3};
    if (start + EntrySize(e) > max) {
      *all = false;
      break;
    }
    w.Align(4);
    if (last != std::string::npos)
      w.PatchU32(last, static_cast<uint32_t>(out.size() - last));
    last = out.size();
    w.U32(0);
    w.U8(e.flags);
    w.U8(static_cast<uint8_t>(e.name.size()));
    w.U16(static_cast<uint16_t>(e.value.size()));
    w.Bytes(e.name);
    w.U8(0);
    w.Bytes(e.value);
  }
  return out;
}

uint32_t EaListSize(const std::vector<Ea>& eas) {
  bool all;
  return static_cast<uint32_t>(EncodeFullEaList(eas, SIZE_MAX, &all).size());
}

std::string EaXattrName(std::string_view ea_name) {
  return std::string(kEaXattrPrefix) + Utf8ToUpper(ea_name);
}

std::string EaNameOfXattr(std::string_view xattr_name) {
  if (xattr_name.substr(0, kEaXattrPrefix.size()) != kEaXattrPrefix) return "";
  std::string_view n = xattr_name.substr(kEaXattrPrefix.size());
  if (n.empty() || n.size() > 255) return "";
  for (unsigned char c : n) {
    if (!ValidEaNameChar(c)) return "";
  }
  return Utf8ToUpper(n);
}

}  // namespace concordfs::smb
