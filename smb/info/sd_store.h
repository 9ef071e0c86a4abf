// Security descriptors as clients set them: a self-relative descriptor is
// split into its parts (owner, group, DACL, SACL), merged with what a
// SET_INFO changes, stored whole (the SMB front end keeps it in the
// "security.NTACL" xattr next to the mode bits it was set with), and its
// DACL evaluated for access checks. A stored descriptor is valid only while
// the file's mode, uid and gid are those it was stored with; a chmod or
// chown from another protocol makes SMB fall back to the descriptor derived
// from the mode bits (security.h).
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "metadata/records.h"
#include "smb/info/nt_status.h"
#include "smb/info/security.h"

namespace concordfs::smb {

inline constexpr std::string_view kNtAclXattr = "security.NTACL";

struct SdParts {
  uint16_t control = kSeSelfRelative;
  std::optional<std::string> owner;  // raw SID
  std::optional<std::string> group;  // raw SID
  bool dacl_present = false;
  std::optional<std::string> dacl;  // raw ACL; nullopt + present = NULL DACL
  bool sacl_present = false;
  std::optional<std::string> sacl;
};

// Splits a self-relative descriptor (every offset and ACL size checked);
// STATUS_INVALID_SECURITY_DESCR if malformed.
NtStatus SplitSecurityDescriptor(std::string_view sd, SdParts* out);
// A self-relative descriptor with the parts `additional_info` selects.
std::string JoinSecurityDescriptor(const SdParts& p, uint32_t additional_info);
// `base` with the parts `additional_info` selects taken from `update`.
SdParts MergeSecurityDescriptor(const SdParts& base, const SdParts& update,
                                uint32_t additional_info);
// Access the DACL grants to a token holding `sids` (allow and deny ACEs in
// order, inherit-only ACEs skipped, generic rights mapped). A NULL DACL
// grants everything; an owner always has READ_CONTROL and WRITE_DAC.
uint32_t DaclGrantedAccess(const SdParts& sd, const std::vector<Sid>& sids,
                           bool is_owner);
// The stored form (binds the descriptor to the inode's mode/uid/gid), and
// back: nullopt if `stored` is malformed or no longer matches `inode`.
std::string EncodeStoredSd(const Inode& inode, std::string_view sd);
std::optional<std::string> DecodeStoredSd(const Inode& inode,
                                          std::string_view stored);

}  // namespace concordfs::smb
