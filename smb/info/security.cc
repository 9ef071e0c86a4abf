#include "smb/info/security.h"

#include <sys/stat.h>

#include <cstdio>
#include <utility>

#include "smb/info/access.h"
#include "smb/wire/le.h"

namespace concordfs::smb {
namespace {

constexpr uint64_t kWorldAuthority = 1;
constexpr uint64_t kCreatorAuthority = 3;
constexpr uint64_t kUnixAuthority = 22;  // Samba's "Unix User/Group" domain
constexpr size_t kSdHeaderSize = 20;
constexpr size_t kAclHeaderSize = 8;
constexpr uint8_t kAclRevision = 2;
constexpr uint8_t kAclRevisionDs = 4;
constexpr uint8_t kSdRevision = 1;
constexpr size_t kMaxSubAuthorities = 15;

Sid MakeSid(uint64_t authority, std::vector<uint32_t> subs) {
  Sid s;
  s.authority = authority;
  s.sub_authorities = std::move(subs);
  return s;
}

struct Ace {
  uint8_t type;
  uint8_t flags;
  uint32_t mask;
  Sid sid;
};

void EncodeAcl(const std::vector<Ace>& aces, std::string* out) {
  LeWriter w(out);
  size_t start = w.size();
  w.U8(kAclRevision);
  w.U8(0);
  w.U16(0);  // AclSize, patched below
  w.U16(static_cast<uint16_t>(aces.size()));
  w.U16(0);
  for (const Ace& a : aces) {
    size_t ace_start = w.size();
    w.U8(a.type);
    w.U8(a.flags);
    w.U16(0);  // AceSize
    w.U32(a.mask);
    EncodeSid(a.sid, out);
    w.PatchU16(ace_start + 2, static_cast<uint16_t>(w.size() - ace_start));
  }
  w.PatchU16(start + 2, static_cast<uint16_t>(w.size() - start));
}

std::vector<Ace> DaclOf(const Inode& n) {
  uint32_t u = (n.mode >> 6) & 7, g = (n.mode >> 3) & 7, o = n.mode & 7;
  std::vector<Ace> aces;
  auto add = [&](uint8_t flags, uint32_t mask, Sid sid) {
    aces.push_back(Ace{kAccessAllowedAceType, flags, mask, std::move(sid)});
  };
  add(0, AceMaskForMode(u, true), UnixUserSid(n.uid));
  if (g) add(0, AceMaskForMode(g, false), UnixGroupSid(n.gid));
  if (o) add(0, AceMaskForMode(o, false), EveryoneSid());
  if (n.is_dir()) {
    constexpr uint8_t kInherit =
        kObjectInheritAce | kContainerInheritAce | kInheritOnlyAce;
    add(kInherit, AceMaskForMode(u, true), CreatorOwnerSid());
    if (g) add(kInherit, AceMaskForMode(g, false), CreatorGroupSid());
    if (o) add(kInherit, AceMaskForMode(o, false), EveryoneSid());
  }
  return aces;
}

// A view of a self-relative descriptor, validated.
struct ParsedSd {
  uint16_t control = 0;
  std::optional<Sid> owner;
  std::optional<Sid> group;
  bool dacl_present = false;
  bool dacl_null = false;
  std::vector<Ace> dacl;
};

bool ParseSidAt(std::string_view sd, uint32_t offset, std::optional<Sid>* out) {
  if (offset == 0) return true;
  if (offset < kSdHeaderSize || offset > sd.size()) return false;
  Sid sid;
  size_t used = 0;
  if (!DecodeSid(sd.substr(offset), &sid, &used)) return false;
  *out = std::move(sid);
  return true;
}

bool ParseAcl(std::string_view sd, uint32_t offset, std::vector<Ace>* out) {
  LeReader r(sd);
  if (offset < kSdHeaderSize || offset > sd.size()) return false;
  r.Seek(offset);
  uint8_t rev = r.U8();
  r.U8();
  uint16_t acl_size = r.U16();
  uint16_t count = r.U16();
  r.U16();
  if (!r.ok() || (rev != kAclRevision && rev != kAclRevisionDs) ||
      acl_size < kAclHeaderSize || acl_size > sd.size() - offset) {
    return false;
  }
  std::string_view acl = sd.substr(offset, acl_size);
  size_t pos = kAclHeaderSize;
  for (uint16_t i = 0; i < count; ++i) {
    LeReader a(acl);
    a.Seek(pos);
    uint8_t type = a.U8();
    uint8_t flags = a.U8();
    uint16_t size = a.U16();
    if (!a.ok() || size < 4 || size > acl.size() - pos) return false;
    if (type == kAccessAllowedAceType || type == kAccessDeniedAceType) {
      std::string_view body = acl.substr(pos + 4, size - 4);
      LeReader b(body);
      uint32_t mask = b.U32();
      Sid sid;
      size_t used = 0;
      if (!b.ok() || !DecodeSid(body.substr(4), &sid, &used)) return false;
      out->push_back(Ace{type, flags, mask, std::move(sid)});
    }
    // Other ACE types (object, audit, callback) carry nothing we map.
    pos += size;
  }
  return true;
}

bool ParseSd(std::string_view sd, ParsedSd* p) {
  LeReader r(sd);
  uint8_t rev = r.U8();
  r.U8();  // Sbz1 (resource manager control)
  p->control = r.U16();
  uint32_t owner_off = r.U32();
  uint32_t group_off = r.U32();
  uint32_t sacl_off = r.U32();
  uint32_t dacl_off = r.U32();
  if (!r.ok() || rev != kSdRevision || !(p->control & kSeSelfRelative)) {
    return false;
  }
  if (!ParseSidAt(sd, owner_off, &p->owner)) return false;
  if (!ParseSidAt(sd, group_off, &p->group)) return false;
  if ((p->control & kSeSaclPresent) && sacl_off != 0) {
    std::vector<Ace> ignored;
    if (!ParseAcl(sd, sacl_off, &ignored)) return false;
  }
  if (p->control & kSeDaclPresent) {
    p->dacl_present = true;
    if (dacl_off == 0) {
      p->dacl_null = true;
    } else if (!ParseAcl(sd, dacl_off, &p->dacl)) {
      return false;
    }
  }
  return true;
}

// Which class (0 user, 1 group, 2 other) an ACE's SID stands for, or -1.
int ClassOf(const Sid& sid, std::optional<uint32_t> uid,
            std::optional<uint32_t> gid) {
  if (sid == EveryoneSid()) return 2;
  std::optional<uint32_t> u = UidOfSid(sid);
  if (u && (!uid || *u == *uid)) return 0;
  std::optional<uint32_t> g = GidOfSid(sid);
  if (g && (!gid || *g == *gid)) return 1;
  return -1;
}

std::optional<uint32_t> ModeFromDacl(const ParsedSd& p,
                                     std::optional<uint32_t> uid,
                                     std::optional<uint32_t> gid) {
  if (p.dacl_null) return 0777;
  if (p.dacl.empty()) return 0;
  uint32_t allowed[3] = {0, 0, 0};
  uint32_t decided[3] = {0, 0, 0};
  bool known = false;
  for (const Ace& a : p.dacl) {
    if (a.flags & kInheritOnlyAce) continue;
    int cls = ClassOf(a.sid, uid, gid);
    if (cls < 0) continue;
    known = true;
    uint32_t bits = ModeBitsForAceMask(a.mask) & ~decided[cls];
    if (a.type == kAccessAllowedAceType) allowed[cls] |= bits;
    decided[cls] |= bits;
  }
  if (!known) return std::nullopt;
  return (allowed[0] << 6) | (allowed[1] << 3) | allowed[2];
}

NtStatus Decode(std::string_view sd, uint32_t info, const Inode* current,
                SdChange* out) {
  *out = SdChange{};
  ParsedSd p;
  if (!ParseSd(sd, &p)) return kStatusInvalidSecurityDescr;
  std::optional<uint32_t> uid =
      current ? std::optional(current->uid) : std::nullopt;
  std::optional<uint32_t> gid =
      current ? std::optional(current->gid) : std::nullopt;
  if ((info & kOwnerSecurityInformation) && p.owner) {
    if (auto u = UidOfSid(*p.owner)) out->uid = uid = *u;
  }
  if ((info & kGroupSecurityInformation) && p.group) {
    if (auto g = GidOfSid(*p.group)) out->gid = gid = *g;
  }
  if ((info & kDaclSecurityInformation) && p.dacl_present) {
    std::optional<uint32_t> perms = ModeFromDacl(p, uid, gid);
    if (perms) out->mode = *perms | (current ? (current->mode & 07000) : 0);
  }
  return kStatusSuccess;
}

}  // namespace

Sid UnixUserSid(uint32_t uid) { return MakeSid(kUnixAuthority, {1, uid}); }
Sid UnixGroupSid(uint32_t gid) { return MakeSid(kUnixAuthority, {2, gid}); }
Sid EveryoneSid() { return MakeSid(kWorldAuthority, {0}); }
Sid CreatorOwnerSid() { return MakeSid(kCreatorAuthority, {0}); }
Sid CreatorGroupSid() { return MakeSid(kCreatorAuthority, {1}); }

std::optional<uint32_t> UidOfSid(const Sid& sid) {
  if (sid.revision == 1 && sid.authority == kUnixAuthority &&
      sid.sub_authorities.size() == 2 && sid.sub_authorities[0] == 1) {
    return sid.sub_authorities[1];
  }
  return std::nullopt;
}

std::optional<uint32_t> GidOfSid(const Sid& sid) {
  if (sid.revision == 1 && sid.authority == kUnixAuthority &&
      sid.sub_authorities.size() == 2 && sid.sub_authorities[0] == 2) {
    return sid.sub_authorities[1];
  }
  return std::nullopt;
}

std::string SidToString(const Sid& sid) {
  std::string s = "S-" + std::to_string(sid.revision) + "-";
  if (sid.authority >> 32) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "0x%012llX",
                  static_cast<unsigned long long>(sid.authority));
    s += buf;
  } else {
    s += std::to_string(sid.authority);
  }
  for (uint32_t sub : sid.sub_authorities) s += "-" + std::to_string(sub);
  return s;
}

void EncodeSid(const Sid& sid, std::string* out) {
  LeWriter w(out);
  size_t n = sid.sub_authorities.size();
  if (n > kMaxSubAuthorities) n = kMaxSubAuthorities;
  w.U8(sid.revision);
  w.U8(static_cast<uint8_t>(n));
  for (int i = 5; i >= 0; --i)
    w.U8(static_cast<uint8_t>(sid.authority >> (8 * i)));
  for (size_t i = 0; i < n; ++i) w.U32(sid.sub_authorities[i]);
}

bool DecodeSid(std::string_view in, Sid* out, size_t* consumed) {
  LeReader r(in);
  Sid sid;
  sid.revision = r.U8();
  uint8_t n = r.U8();
  std::string_view auth = r.Bytes(6);
  if (!r.ok() || sid.revision != 1 || n > kMaxSubAuthorities) return false;
  sid.authority = 0;
  for (char c : auth)
    sid.authority = (sid.authority << 8) | static_cast<uint8_t>(c);
  for (uint8_t i = 0; i < n; ++i) sid.sub_authorities.push_back(r.U32());
  if (!r.ok()) return false;
  *consumed = r.pos();
  *out = std::move(sid);
  return true;
}

uint32_t AceMaskForMode(uint32_t rwx, bool owner) {
  uint32_t m = 0;
  if (rwx & 4) m |= kFileGenericRead;
  if (rwx & 2) m |= kFileGenericWrite | kFileDeleteChild;
  if (rwx & 1) m |= kFileGenericExecute;
  if (owner) {
    m |= kDelete | kReadControl | kWriteDac | kWriteOwner | kSynchronize |
         kFileReadAttributes | kFileWriteAttributes;
  }
  return m;
}

uint32_t ModeBitsForAceMask(uint32_t mask) {
  uint32_t bits = 0;
  if (mask & (kFileReadData | kGenericRead | kGenericAll)) bits |= 4;
  if (mask & (kFileWriteData | kFileAppendData | kGenericWrite | kGenericAll)) {
    bits |= 2;
  }
  if (mask & (kFileExecute | kGenericExecute | kGenericAll)) bits |= 1;
  return bits;
}

std::string EncodeSecurityDescriptor(const Inode& inode,
                                     uint32_t additional_info) {
  std::string out;
  LeWriter w(&out);
  uint16_t control = kSeSelfRelative;
  if (additional_info & kDaclSecurityInformation) {
    control |= kSeDaclPresent | kSeDaclProtected;
  }
  w.U8(kSdRevision);
  w.U8(0);
  w.U16(control);
  w.Zeros(16);  // owner, group, sacl, dacl offsets
  if (additional_info & kOwnerSecurityInformation) {
    w.PatchU32(4, static_cast<uint32_t>(w.size()));
    EncodeSid(UnixUserSid(inode.uid), &out);
  }
  if (additional_info & kGroupSecurityInformation) {
    w.PatchU32(8, static_cast<uint32_t>(w.size()));
    EncodeSid(UnixGroupSid(inode.gid), &out);
  }
  if (additional_info & kDaclSecurityInformation) {
    w.PatchU32(16, static_cast<uint32_t>(w.size()));
    EncodeAcl(DaclOf(inode), &out);
  }
  return out;
}

NtStatus DecodeSecurityDescriptor(std::string_view sd, uint32_t additional_info,
                                  const Inode& current, SdChange* out) {
  return Decode(sd, additional_info, &current, out);
}

NtStatus DecodeSecurityDescriptor(std::string_view sd, SdChange* out) {
  return Decode(sd,
                kOwnerSecurityInformation | kGroupSecurityInformation |
                    kDaclSecurityInformation,
                nullptr, out);
}

uint32_t SecurityQueryAccess(uint32_t info) {
  uint32_t m = kReadControl;
  if (info & kSaclSecurityInformation) m |= kAccessSystemSecurity;
  return m;
}

uint32_t SecuritySetAccess(uint32_t info) {
  uint32_t m = 0;
  if (info & (kOwnerSecurityInformation | kGroupSecurityInformation |
              kLabelSecurityInformation)) {
    m |= kWriteOwner;
  }
  if (info & kDaclSecurityInformation) m |= kWriteDac;
  if (info & kSaclSecurityInformation) m |= kAccessSystemSecurity;
  return m;
}

}  // namespace concordfs::smb
