#include "smb/info/sd_store.h"

#include "smb/info/access.h"
#include "smb/wire/le.h"

namespace concordfs::smb {
namespace {

constexpr char kStoredMagic[4] = {'C', 'S', 'D', '1'};

bool SidAt(std::string_view sd, uint32_t off, std::optional<std::string>* out) {
  if (off == 0) return true;
  if (off >= sd.size()) return false;
  Sid sid;
  size_t used = 0;
  if (!DecodeSid(sd.substr(off), &sid, &used)) return false;
  *out = std::string(sd.substr(off, used));
  return true;
}

bool AclAt(std::string_view sd, uint32_t off, std::optional<std::string>* out) {
  if (off == 0) return true;  // present flag without an ACL: NULL ACL
  if (off > sd.size() || sd.size() - off < 8) return false;
  LeReader r(sd.substr(off));
  r.Skip(2);
  uint16_t size = r.U16();
  if (size < 8 || size > sd.size() - off) return false;
  *out = std::string(sd.substr(off, size));
  return true;
}

}  // namespace

NtStatus SplitSecurityDescriptor(std::string_view sd, SdParts* out) {
  *out = SdParts{};
  LeReader r(sd);
  uint8_t revision = r.U8();
  r.Skip(1);
  uint16_t control = r.U16();
  uint32_t owner = r.U32(), group = r.U32(), sacl = r.U32(), dacl = r.U32();
  if (!r.ok() || revision != 1 || !(control & kSeSelfRelative)) {
    return kStatusInvalidSecurityDescr;
  }
  out->control = control;
  out->dacl_present = control & kSeDaclPresent;
  out->sacl_present = control & kSeSaclPresent;
  if (!SidAt(sd, owner, &out->owner) || !SidAt(sd, group, &out->group) ||
      (out->dacl_present && !AclAt(sd, dacl, &out->dacl)) ||
      (out->sacl_present && !AclAt(sd, sacl, &out->sacl))) {
    *out = SdParts{};
    return kStatusInvalidSecurityDescr;
  }
  return kStatusSuccess;
}

std::string JoinSecurityDescriptor(const SdParts& p, uint32_t info) {
  std::string out;
  LeWriter w(&out);
  bool want_owner = (info & kOwnerSecurityInformation) && p.owner;
  bool want_group = (info & kGroupSecurityInformation) && p.group;
  bool want_dacl = (info & kDaclSecurityInformation) && p.dacl_present;
  bool want_sacl = (info & kSaclSecurityInformation) && p.sacl_present;
  uint16_t control = p.control | kSeSelfRelative;
  control &= ~(kSeDaclPresent | kSeSaclPresent);
  if (want_dacl) control |= kSeDaclPresent;
  if (want_sacl) control |= kSeSaclPresent;
  w.U8(1);
  w.U8(0);
  w.U16(control);
  w.Zeros(16);
  auto put = [&](bool want, const std::optional<std::string>& part,
                 size_t field) {
    if (!want || !part) return;
    w.PatchU32(field, static_cast<uint32_t>(out.size()));
    w.Bytes(*part);
  };
  put(want_owner, p.owner, 4);
  put(want_group, p.group, 8);
  put(want_sacl, p.sacl, 12);
  put(want_dacl, p.dacl, 16);
  return out;
}

SdParts MergeSecurityDescriptor(const SdParts& base, const SdParts& update,
                                uint32_t info) {
  SdParts m = base;
  if ((info & kOwnerSecurityInformation) && update.owner)
    m.owner = update.owner;
  if ((info & kGroupSecurityInformation) && update.group)
    m.group = update.group;
  if (info & kDaclSecurityInformation) {
    m.dacl_present = update.dacl_present;
    m.dacl = update.dacl;
    constexpr uint16_t kDaclBits = 0x0008 | 0x0100 | 0x0400 | 0x1000;
    m.control = (m.control & ~kDaclBits) | (update.control & kDaclBits);
  }
  if (info & kSaclSecurityInformation) {
    m.sacl_present = update.sacl_present;
    m.sacl = update.sacl;
  }
  return m;
}

uint32_t DaclGrantedAccess(const SdParts& sd, const std::vector<Sid>& sids,
                           bool is_owner) {
  uint32_t owner_rights = is_owner ? (kReadControl | kWriteDac) : 0;
  if (!sd.dacl_present || !sd.dacl) return kFileAllAccess;  // NULL DACL
  LeReader r(*sd.dacl);
  r.Skip(4);
  uint16_t count = r.U16();
  r.Skip(2);
  uint32_t granted = 0, denied = 0;
  for (uint16_t i = 0; i < count && r.ok(); ++i) {
    size_t start = r.pos();
    uint8_t type = r.U8();
    uint8_t flags = r.U8();
    uint16_t size = r.U16();
    uint32_t mask = MapGenericAccess(r.U32());
    Sid sid;
    size_t used = 0;
    bool have_sid = r.ok() && DecodeSid(r.data().substr(r.pos()), &sid, &used);
    if (!r.ok() || size < 8) break;
    r.Seek(start + size);
    if (!have_sid || (flags & kInheritOnlyAce)) continue;
    bool match = false;
    for (const Sid& s : sids) match = match || s == sid;
    if (!match) continue;
    if (type == kAccessAllowedAceType) {
      granted |= mask & ~denied;
    } else if (type == kAccessDeniedAceType) {
      denied |= mask & ~granted;
    }
  }
  return granted | owner_rights;
}

std::string EncodeStoredSd(const Inode& inode, std::string_view sd) {
  std::string out(kStoredMagic, 4);
  LeWriter w(&out);
  w.U32(inode.mode & 07777);
  w.U32(inode.uid);
  w.U32(inode.gid);
  w.Bytes(sd);
  return out;
}

std::optional<std::string> DecodeStoredSd(const Inode& inode,
                                          std::string_view stored) {
  if (stored.size() < 16 ||
      stored.substr(0, 4) != std::string_view(kStoredMagic, 4))
    return std::nullopt;
  LeReader r(stored.substr(4));
  uint32_t mode = r.U32(), uid = r.U32(), gid = r.U32();
  if (mode != (inode.mode & 07777) || uid != inode.uid || gid != inode.gid)
    return std::nullopt;
  return std::string(stored.substr(16));
}

}  // namespace concordfs::smb
