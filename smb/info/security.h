// Security descriptors for QUERY_INFO / SET_INFO (InfoType
// SMB2_0_INFO_SECURITY): self-relative SECURITY_DESCRIPTORs (MS-DTYP 2.4.6)
// synthesized from POSIX owner, group and mode bits, and decoded back into
// owner / group / mode changes.
//
// Identities map as Samba's unix mapping does: uid N is S-1-22-1-N, gid N is
// S-1-22-2-N; "other" is Everyone (S-1-1-0). The DACL holds one allow ACE
// per class that has any permission bit (the owner's ACE always, as the
// owner may change permissions); directories add inherit-only CREATOR
// OWNER / CREATOR GROUP / Everyone ACEs so that Windows shows what new
// children get. No SACL is kept.
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

namespace concordfs::smb {

// SECURITY_INFORMATION bits (the AdditionalInformation of QUERY/SET_INFO).
inline constexpr uint32_t kOwnerSecurityInformation = 0x00000001;
inline constexpr uint32_t kGroupSecurityInformation = 0x00000002;
inline constexpr uint32_t kDaclSecurityInformation = 0x00000004;
inline constexpr uint32_t kSaclSecurityInformation = 0x00000008;
inline constexpr uint32_t kLabelSecurityInformation = 0x00000010;
inline constexpr uint32_t kAttributeSecurityInformation = 0x00000020;
inline constexpr uint32_t kScopeSecurityInformation = 0x00000040;
inline constexpr uint32_t kBackupSecurityInformation = 0x00010000;

// SECURITY_DESCRIPTOR Control bits.
inline constexpr uint16_t kSeOwnerDefaulted = 0x0001;
inline constexpr uint16_t kSeGroupDefaulted = 0x0002;
inline constexpr uint16_t kSeDaclPresent = 0x0004;
inline constexpr uint16_t kSeDaclDefaulted = 0x0008;
inline constexpr uint16_t kSeSaclPresent = 0x0010;
inline constexpr uint16_t kSeDaclAutoInherited = 0x0400;
inline constexpr uint16_t kSeDaclProtected = 0x1000;
inline constexpr uint16_t kSeSelfRelative = 0x8000;

// ACE types and flags.
inline constexpr uint8_t kAccessAllowedAceType = 0;
inline constexpr uint8_t kAccessDeniedAceType = 1;
inline constexpr uint8_t kObjectInheritAce = 0x01;
inline constexpr uint8_t kContainerInheritAce = 0x02;
inline constexpr uint8_t kNoPropagateInheritAce = 0x04;
inline constexpr uint8_t kInheritOnlyAce = 0x08;
inline constexpr uint8_t kInheritedAce = 0x10;

struct Sid {
  uint8_t revision = 1;
  uint64_t authority = 0;                 // 48-bit IdentifierAuthority
  std::vector<uint32_t> sub_authorities;  // at most 15

  bool operator==(const Sid&) const = default;
};

Sid UnixUserSid(uint32_t uid);   // S-1-22-1-uid
Sid UnixGroupSid(uint32_t gid);  // S-1-22-2-gid
Sid EveryoneSid();               // S-1-1-0
Sid CreatorOwnerSid();           // S-1-3-0
Sid CreatorGroupSid();           // S-1-3-1
// uid / gid of a unix-mapped SID, or nullopt.
std::optional<uint32_t> UidOfSid(const Sid& sid);
std::optional<uint32_t> GidOfSid(const Sid& sid);
// "S-1-22-1-1000".
std::string SidToString(const Sid& sid);
// Appends the binary SID (MS-DTYP 2.4.2.2).
void EncodeSid(const Sid& sid, std::string* out);
// Parses a binary SID at the start of `in`; false if malformed.
bool DecodeSid(std::string_view in, Sid* out, size_t* consumed);

// Access mask bits an ACE carries for a class's rwx bits (0..7):
// r → FILE_GENERIC_READ, w → FILE_GENERIC_WRITE | FILE_DELETE_CHILD,
// x → FILE_GENERIC_EXECUTE; the owner's ACE adds DELETE, WRITE_DAC,
// WRITE_OWNER, READ_CONTROL, the attribute rights and SYNCHRONIZE (so rwx
// for the owner is FILE_ALL_ACCESS, "Full control").
uint32_t AceMaskForMode(uint32_t rwx, bool owner);
// The rwx bits an ACE mask grants (generic rights count).
uint32_t ModeBitsForAceMask(uint32_t mask);

// The self-relative descriptor of `inode` holding the parts selected by
// `additional_info` (OWNER, GROUP, DACL; SACL is never present).
std::string EncodeSecurityDescriptor(const Inode& inode,
                                     uint32_t additional_info);

struct SdChange {
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
  std::optional<uint32_t> mode;  // permission bits (07777)
};

// Decodes a client's self-relative descriptor for SET_INFO, applying only
// the parts `additional_info` selects:
//  - owner S-1-22-1-N → uid N, group S-1-22-2-N → gid N (other SIDs are
//    ignored);
//  - a DACL → mode: the allow/deny ACEs (in order, first match per bit
//    wins, inherit-only ACEs skipped) for the owner's SID (the new owner,
//    else current.uid), the group's SID (likewise) and Everyone give the
//    user, group and other bits; a class without ACE gets no bits; a DACL
//    that names none of them leaves the mode alone; an empty DACL means
//    mode 0; a NULL DACL (present flag, offset 0) means 0777. setuid,
//    setgid and sticky bits are kept from `current`.
// Returns kStatusSuccess or kStatusInvalidSecurityDescr for malformed
// input (bad revision, not self-relative, offsets or sizes out of range,
// malformed SIDs, ACLs or ACEs).
NtStatus DecodeSecurityDescriptor(std::string_view sd, uint32_t additional_info,
                                  const Inode& current, SdChange* out);
// The same with every part applied and no current inode: the DACL's owner
// and group are the descriptor's own; without them any S-1-22-1-* ACE
// counts as the owner's and any S-1-22-2-* ACE as the group's.
NtStatus DecodeSecurityDescriptor(std::string_view sd, SdChange* out);

// Access a QUERY_INFO (READ_CONTROL, plus ACCESS_SYSTEM_SECURITY for the
// SACL) or a SET_INFO (WRITE_OWNER for owner/group/label, WRITE_DAC for the
// DACL, ACCESS_SYSTEM_SECURITY for the SACL) of these parts needs.
uint32_t SecurityQueryAccess(uint32_t additional_info);
uint32_t SecuritySetAccess(uint32_t additional_info);

}  // namespace concordfs::smb
