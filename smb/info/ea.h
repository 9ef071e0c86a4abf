// Extended attributes (EAs) as SMB carries them: FILE_FULL_EA_INFORMATION
// lists (MS-FSCC 2.4.15), in CREATE contexts (ExtA), SET_INFO and
// QUERY_INFO. The SMB front end stores an EA "NAME" as the xattr
// "user.NAME" (upper-cased: EA names are case-insensitive), so local tools
// see the same values.
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "smb/info/nt_status.h"

namespace concordfs::smb {

struct Ea {
  std::string name;  // as sent; stored upper-cased
  std::string value;
  uint8_t flags = 0;
  bool operator==(const Ea&) const = default;
};

inline constexpr std::string_view kEaXattrPrefix = "user.";

// Parses a FILE_FULL_EA_INFORMATION chain. Malformed (bad offsets, names
// without their NUL, empty names, lengths past the end) is
// STATUS_INVALID_PARAMETER; an invalid name character is
// STATUS_INVALID_EA_NAME.
NtStatus DecodeFullEaList(std::string_view in, std::vector<Ea>* out);
// Encodes a chain (4-byte aligned entries). Entries that do not fit in
// `max` bytes are left out; `*all` says whether every entry fit.
std::string EncodeFullEaList(const std::vector<Ea>& eas, size_t max, bool* all);
// The size FileEaInformation reports: the encoded list's size (0 if none).
uint32_t EaListSize(const std::vector<Ea>& eas);
// xattr name for an EA name, and back ("" if the xattr is not an EA).
std::string EaXattrName(std::string_view ea_name);
std::string EaNameOfXattr(std::string_view xattr_name);

}  // namespace concordfs::smb
