#include "smb/info/security.h"

#include <gtest/gtest.h>

#include <random>

#include "smb/info/access.h"
#include "smb/wire/le.h"
#include "test_util.h"

namespace concordfs::smb {
namespace {

using testing::U16At;
using testing::U32At;
using testing::U8At;

constexpr uint32_t kAll = kOwnerSecurityInformation |
                          kGroupSecurityInformation | kDaclSecurityInformation;

Inode Node(FileType type, uint32_t mode, uint32_t uid = 1000,
           uint32_t gid = 100) {
  Inode n;
  n.id = 5;
  n.type = type;
  n.mode = mode;
  n.uid = uid;
  n.gid = gid;
  return n;
}

Sid MakeSid(uint64_t auth, std::vector<uint32_t> subs) {
  Sid s;
  s.authority = auth;
  s.sub_authorities = std::move(subs);
  return s;
}

// Builds a self-relative descriptor the way a Windows client sends one.
struct AceSpec {
  uint8_t type;
  uint8_t flags;
  uint32_t mask;
  Sid sid;
};
std::string BuildSd(const Sid* owner, const Sid* group,
                    const std::vector<AceSpec>* dacl, uint16_t extra = 0) {
  std::string out;
  LeWriter w(&out);
  uint16_t control = kSeSelfRelative | extra | (dacl ? kSeDaclPresent : 0);
  w.U8(1);
  w.U8(0);
  w.U16(control);
  w.Zeros(16);
  // Windows puts the DACL first, then owner and group.
  if (dacl) {
    w.PatchU32(16, static_cast<uint32_t>(out.size()));
    size_t start = out.size();
    w.U8(2);
    w.U8(0);
    w.U16(0);
    w.U16(static_cast<uint16_t>(dacl->size()));
    w.U16(0);
    for (const AceSpec& a : *dacl) {
      size_t s = out.size();
      w.U8(a.type);
      w.U8(a.flags);
      w.U16(0);
      w.U32(a.mask);
      EncodeSid(a.sid, &out);
      w.PatchU16(s + 2, static_cast<uint16_t>(out.size() - s));
    }
    w.PatchU16(start + 2, static_cast<uint16_t>(out.size() - start));
  }
  if (owner) {
    w.PatchU32(4, static_cast<uint32_t>(out.size()));
    EncodeSid(*owner, &out);
  }
  if (group) {
    w.PatchU32(8, static_cast<uint32_t>(out.size()));
    EncodeSid(*group, &out);
  }
  return out;
}

TEST(Sid, WellKnown) {
  EXPECT_EQ(SidToString(UnixUserSid(1000)), "S-1-22-1-1000");
  EXPECT_EQ(SidToString(UnixGroupSid(100)), "S-1-22-2-100");
  EXPECT_EQ(SidToString(EveryoneSid()), "S-1-1-0");
  EXPECT_EQ(SidToString(CreatorOwnerSid()), "S-1-3-0");
  EXPECT_EQ(SidToString(CreatorGroupSid()), "S-1-3-1");
  EXPECT_EQ(UidOfSid(UnixUserSid(7)), 7u);
  EXPECT_EQ(UidOfSid(UnixGroupSid(7)), std::nullopt);
  EXPECT_EQ(GidOfSid(UnixGroupSid(7)), 7u);
  EXPECT_EQ(GidOfSid(EveryoneSid()), std::nullopt);
}

TEST(Sid, BinaryRoundTrip) {
  Sid s = MakeSid(5, {21, 1, 2, 3, 500});
  std::string b;
  EncodeSid(s, &b);
  ASSERT_EQ(b.size(), 8u + 4 * 5);
  EXPECT_EQ(U8At(b, 0), 1);
  EXPECT_EQ(U8At(b, 1), 5);
  EXPECT_EQ(b.substr(2, 6), std::string("\0\0\0\0\0\x05", 6));  // big-endian
  EXPECT_EQ(U32At(b, 8), 21u);
  Sid back;
  size_t used = 0;
  ASSERT_TRUE(DecodeSid(b, &back, &used));
  EXPECT_EQ(back, s);
  EXPECT_EQ(used, b.size());
  for (size_t n = 0; n < b.size(); ++n) {
    EXPECT_FALSE(DecodeSid(b.substr(0, n), &back, &used)) << n;
  }
  b[1] = 16;  // too many sub-authorities
  EXPECT_FALSE(DecodeSid(b, &back, &used));
}

TEST(SecurityDescriptor, LayoutOfAFile) {
  Inode n = Node(FileType::kRegular, 0640);
  std::string sd = EncodeSecurityDescriptor(n, kAll);
  ASSERT_EQ(sd.size(), 108u);
  EXPECT_EQ(U8At(sd, 0), 1);  // Revision
  EXPECT_EQ(U16At(sd, 2), kSeSelfRelative | kSeDaclPresent | kSeDaclProtected);
  EXPECT_EQ(U32At(sd, 4), 20u);   // owner
  EXPECT_EQ(U32At(sd, 8), 36u);   // group
  EXPECT_EQ(U32At(sd, 12), 0u);   // no SACL
  EXPECT_EQ(U32At(sd, 16), 52u);  // DACL
  Sid sid;
  size_t used;
  ASSERT_TRUE(DecodeSid(std::string_view(sd).substr(20), &sid, &used));
  EXPECT_EQ(sid, UnixUserSid(1000));
  ASSERT_TRUE(DecodeSid(std::string_view(sd).substr(36), &sid, &used));
  EXPECT_EQ(sid, UnixGroupSid(100));
  // ACL header.
  EXPECT_EQ(U8At(sd, 52), 2);
  EXPECT_EQ(U16At(sd, 54), 56);
  EXPECT_EQ(U16At(sd, 56), 2);  // owner and group; other has no bits
  // Owner ACE: rw- plus owner rights.
  EXPECT_EQ(U8At(sd, 60), kAccessAllowedAceType);
  EXPECT_EQ(U8At(sd, 61), 0);
  EXPECT_EQ(U16At(sd, 62), 24);
  EXPECT_EQ(U32At(sd, 64), AceMaskForMode(6, true));
  // Group ACE: r--.
  EXPECT_EQ(U32At(sd, 88), kFileGenericRead);
}

TEST(SecurityDescriptor, OwnerFullControlAndDirectoryInheritance) {
  EXPECT_EQ(AceMaskForMode(7, true), kFileAllAccess);
  Inode d = Node(FileType::kDirectory, 0755);
  std::string sd = EncodeSecurityDescriptor(d, kDaclSecurityInformation);
  EXPECT_EQ(U32At(sd, 4), 0u);
  EXPECT_EQ(U32At(sd, 8), 0u);
  size_t acl = U32At(sd, 16);
  EXPECT_EQ(U16At(sd, acl + 4), 6);  // 3 explicit + 3 inherit-only
  // Walk the ACEs: the last three are inherit-only for CREATOR OWNER,
  // CREATOR GROUP, Everyone.
  size_t pos = acl + 8;
  std::vector<Sid> sids;
  std::vector<uint8_t> flags;
  for (int i = 0; i < 6; ++i) {
    flags.push_back(U8At(sd, pos + 1));
    Sid s;
    size_t used;
    ASSERT_TRUE(DecodeSid(std::string_view(sd).substr(pos + 8), &s, &used));
    sids.push_back(s);
    pos += U16At(sd, pos + 2);
  }
  EXPECT_EQ(pos, sd.size());
  EXPECT_EQ(sids[0], UnixUserSid(1000));
  EXPECT_EQ(sids[1], UnixGroupSid(100));
  EXPECT_EQ(sids[2], EveryoneSid());
  EXPECT_EQ(sids[3], CreatorOwnerSid());
  EXPECT_EQ(sids[4], CreatorGroupSid());
  EXPECT_EQ(sids[5], EveryoneSid());
  EXPECT_EQ(flags[0], 0);
  EXPECT_EQ(flags[3],
            kObjectInheritAce | kContainerInheritAce | kInheritOnlyAce);
}

TEST(SecurityDescriptor, OnlyTheRequestedParts) {
  Inode n = Node(FileType::kRegular, 0644);
  std::string sd = EncodeSecurityDescriptor(n, kGroupSecurityInformation);
  EXPECT_EQ(sd.size(), 20u + 16);
  EXPECT_EQ(U32At(sd, 4), 0u);
  EXPECT_EQ(U32At(sd, 8), 20u);
  EXPECT_EQ(U16At(sd, 2), kSeSelfRelative);
  sd = EncodeSecurityDescriptor(n, kSaclSecurityInformation);
  EXPECT_EQ(sd.size(), 20u);
  EXPECT_EQ(U32At(sd, 12), 0u);
  SdChange c;
  EXPECT_EQ(DecodeSecurityDescriptor(sd, &c), kStatusSuccess);
  EXPECT_FALSE(c.uid || c.gid || c.mode);
}

TEST(SecurityDescriptor, RoundTripEveryMode) {
  for (FileType t : {FileType::kRegular, FileType::kDirectory}) {
    for (uint32_t mode = 0; mode <= 07777; ++mode) {
      Inode n = Node(t, mode, 1000 + mode, 100 + mode);
      std::string sd = EncodeSecurityDescriptor(n, kAll);
      SdChange c;
      ASSERT_EQ(DecodeSecurityDescriptor(sd, kAll, n, &c), kStatusSuccess);
      EXPECT_EQ(c.uid, n.uid);
      EXPECT_EQ(c.gid, n.gid);
      EXPECT_EQ(c.mode, mode) << std::oct << mode;
      // Without the current inode: the descriptor's own owner and group.
      SdChange d;
      ASSERT_EQ(DecodeSecurityDescriptor(sd, &d), kStatusSuccess);
      EXPECT_EQ(d.mode, mode & 0777) << std::oct << mode;
    }
  }
}

TEST(SecurityDescriptor, WindowsStyleSet) {
  // What Explorer sends after "Everyone: Read", "group: Read & execute",
  // with SYSTEM and Administrators entries we cannot map.
  Sid owner = UnixUserSid(1000);
  Sid group = UnixGroupSid(100);
  constexpr uint8_t kOiCi = kObjectInheritAce | kContainerInheritAce;
  std::vector<AceSpec> dacl = {
      {kAccessAllowedAceType, kOiCi, kFileAllAccess, MakeSid(5, {18})},
      {kAccessAllowedAceType, kOiCi, kFileAllAccess, MakeSid(5, {32, 544})},
      {kAccessAllowedAceType, kOiCi, kFileAllAccess, owner},
      {kAccessAllowedAceType, kOiCi, 0x001200A9, group},
      {kAccessAllowedAceType, kOiCi, kFileGenericRead, EveryoneSid()},
      // Inherit-only entries do not describe this file.
      {kAccessAllowedAceType, kOiCi | kInheritOnlyAce, kFileAllAccess,
       EveryoneSid()},
  };
  std::string sd = BuildSd(&owner, &group, &dacl);
  Inode cur = Node(FileType::kRegular, 04600, 1000, 100);
  SdChange c;
  ASSERT_EQ(DecodeSecurityDescriptor(sd, kAll, cur, &c), kStatusSuccess);
  EXPECT_EQ(c.uid, 1000u);
  EXPECT_EQ(c.gid, 100u);
  EXPECT_EQ(c.mode, 04754u);
  // Only the DACL part asked for.
  SdChange d;
  ASSERT_EQ(DecodeSecurityDescriptor(sd, kDaclSecurityInformation, cur, &d),
            kStatusSuccess);
  EXPECT_FALSE(d.uid);
  EXPECT_FALSE(d.gid);
  EXPECT_EQ(d.mode, 04754u);
}

TEST(SecurityDescriptor, GenericRightsDenyOrderAndOwnership) {
  Sid owner = UnixUserSid(2000);
  std::vector<AceSpec> dacl = {
      // Deny write to everyone first: it wins over the allow below.
      {kAccessDeniedAceType, 0, kFileWriteData, EveryoneSid()},
      {kAccessAllowedAceType, 0, kGenericAll, EveryoneSid()},
      {kAccessAllowedAceType, 0, kGenericRead | kGenericWrite, owner},
      // Another user's ACE is ignored.
      {kAccessAllowedAceType, 0, kGenericAll, UnixUserSid(1000)},
  };
  std::string sd = BuildSd(&owner, nullptr, &dacl);
  Inode cur = Node(FileType::kRegular, 0777, 1000, 100);
  SdChange c;
  ASSERT_EQ(DecodeSecurityDescriptor(sd, kAll, cur, &c), kStatusSuccess);
  EXPECT_EQ(c.uid, 2000u);  // chown, and the DACL is read for the new owner
  EXPECT_FALSE(c.gid);
  EXPECT_EQ(c.mode, 0605u);
}

TEST(SecurityDescriptor, SpecialDacls) {
  Inode cur = Node(FileType::kRegular, 02750);
  SdChange c;
  // NULL DACL: everyone, everything.
  std::string sd = BuildSd(nullptr, nullptr, nullptr, kSeDaclPresent);
  ASSERT_EQ(DecodeSecurityDescriptor(sd, kAll, cur, &c), kStatusSuccess);
  EXPECT_EQ(c.mode, 02777u);
  // Empty DACL: nobody.
  std::vector<AceSpec> empty;
  sd = BuildSd(nullptr, nullptr, &empty);
  ASSERT_EQ(DecodeSecurityDescriptor(sd, kAll, cur, &c), kStatusSuccess);
  EXPECT_EQ(c.mode, 02000u);
  // Only SIDs we cannot map: the mode stays.
  std::vector<AceSpec> foreign = {
      {kAccessAllowedAceType, 0, kFileAllAccess, MakeSid(5, {21, 1, 2, 3})}};
  sd = BuildSd(nullptr, nullptr, &foreign);
  ASSERT_EQ(DecodeSecurityDescriptor(sd, kAll, cur, &c), kStatusSuccess);
  EXPECT_FALSE(c.mode);
  // A foreign owner SID is ignored, not an error.
  Sid domain_user = MakeSid(5, {21, 1, 2, 3, 1104});
  sd = BuildSd(&domain_user, nullptr, nullptr);
  ASSERT_EQ(DecodeSecurityDescriptor(sd, kAll, cur, &c), kStatusSuccess);
  EXPECT_FALSE(c.uid);
}

TEST(SecurityDescriptor, Malformed) {
  Inode n = Node(FileType::kDirectory, 0755);
  std::string good = EncodeSecurityDescriptor(n, kAll);
  SdChange c;
  auto bad = [&](std::string sd) {
    return DecodeSecurityDescriptor(sd, &c) == kStatusInvalidSecurityDescr;
  };
  EXPECT_TRUE(bad(""));
  std::string s = good;
  s[0] = 2;  // revision
  EXPECT_TRUE(bad(s));
  s = good;
  s[3] = 0;  // not self-relative
  EXPECT_TRUE(bad(s));
  s = good;
  s[4] = static_cast<char>(0xF0);  // owner offset past the end
  EXPECT_TRUE(bad(s));
  s = good;
  s[4] = 4;  // owner inside the header
  EXPECT_TRUE(bad(s));
  s = good;
  size_t acl = U32At(good, 16);
  s[acl + 2] = static_cast<char>(0xFF);  // AclSize past the end
  s[acl + 3] = static_cast<char>(0xFF);
  EXPECT_TRUE(bad(s));
  s = good;
  s[acl + 4] = 50;  // more ACEs than the ACL holds
  EXPECT_TRUE(bad(s));
  s = good;
  s[acl + 8 + 2] = 2;  // AceSize below its header
  s[acl + 8 + 3] = 0;
  EXPECT_TRUE(bad(s));
  s = good;
  s[acl] = 3;  // ACL revision
  EXPECT_TRUE(bad(s));
  // Every truncation is rejected or decodes (never reads past the end).
  for (size_t len = 0; len < good.size(); ++len) {
    EXPECT_TRUE(bad(good.substr(0, len))) << len;
  }
}

TEST(SecurityDescriptor, RandomCorruptionNeverCrashes) {
  std::mt19937 rng(1234);
  Inode n = Node(FileType::kDirectory, 0751);
  std::string good = EncodeSecurityDescriptor(n, kAll);
  for (int i = 0; i < 20000; ++i) {
    std::string s = good;
    int flips = 1 + rng() % 4;
    for (int k = 0; k < flips; ++k) {
      s[rng() % s.size()] = static_cast<char>(rng());
    }
    if (rng() % 4 == 0) s.resize(rng() % (s.size() + 1));
    SdChange c;
    NtStatus st = DecodeSecurityDescriptor(s, kAll, n, &c);
    EXPECT_TRUE(st == kStatusSuccess || st == kStatusInvalidSecurityDescr);
  }
}

TEST(SecurityDescriptor, RequiredAccess) {
  EXPECT_EQ(SecurityQueryAccess(kAll), kReadControl);
  EXPECT_EQ(SecurityQueryAccess(kSaclSecurityInformation),
            kReadControl | kAccessSystemSecurity);
  EXPECT_EQ(SecuritySetAccess(kOwnerSecurityInformation), kWriteOwner);
  EXPECT_EQ(SecuritySetAccess(kGroupSecurityInformation), kWriteOwner);
  EXPECT_EQ(SecuritySetAccess(kDaclSecurityInformation), kWriteDac);
  EXPECT_EQ(SecuritySetAccess(kAll), kWriteOwner | kWriteDac);
  EXPECT_EQ(SecuritySetAccess(kSaclSecurityInformation), kAccessSystemSecurity);
}

}  // namespace
}  // namespace concordfs::smb
