// A tiny NTLMv2 client for the tests: builds NEGOTIATE and AUTHENTICATE
// messages (KEY_EXCH, MIC, MsvAvFlags) and computes the SPNEGO mechListMIC on
// its own, from the primitives, so that the server's session-security code is
// checked against a second implementation rather than against itself.
//
// Not production code; one object per exchange; thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "smb/auth/ntlm_crypto.h"
#include "smb/auth/ntlm_messages.h"
#include "smb/wire/le.h"
#include "smb/wire/unicode.h"

namespace concordfs::smb::testing {

inline std::string Hex(std::string_view hex) {
  std::string out;
  auto nib = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    if (hex[i] == ' ') {
      --i;
      continue;
    }
    out.push_back(static_cast<char>(nib(hex[i]) * 16 + nib(hex[i + 1])));
  }
  return out;
}

inline std::string ToHex(std::string_view bytes) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (char c : bytes) {
    out.push_back(d[static_cast<uint8_t>(c) >> 4]);
    out.push_back(d[static_cast<uint8_t>(c) & 15]);
  }
  return out;
}

struct TestClientOptions {
  std::string user = "alice";
  std::string domain = "WORKGROUP";
  std::string password = "s3cret pw";
  std::string workstation = "CLIENT";
  bool key_exch = true;
  bool mic = true;         // MsvAvFlags MIC bit + MIC field
  bool ntlmv1 = false;     // send a 24-byte NtChallengeResponse
  bool lm_only = false;    // send only an LM response
  bool anonymous = false;  // empty user and responses
  bool extended_security = true;
  std::optional<uint64_t> timestamp;  // else the CHALLENGE's MsvAvTimestamp
  // The domain NTOWFv2 is computed with, when it differs from the one sent.
  std::optional<std::string> ntowf_domain;
};

class TestNtlmClient {
 public:
  explicit TestNtlmClient(TestClientOptions o = {}) : o_(std::move(o)) {}

  std::string Negotiate() {
    uint32_t flags = kNtlmNegotiateUnicode | kNtlmRequestTarget |
                     kNtlmNegotiateSign | kNtlmNegotiateSeal |
                     kNtlmNegotiateNtlm | kNtlmNegotiateAlwaysSign |
                     kNtlmNegotiateTargetInfo | kNtlmNegotiateVersion |
                     kNtlmNegotiate128 | kNtlmNegotiate56;
    if (o_.extended_security) flags |= kNtlmNegotiateExtendedSessionSecurity;
    if (o_.key_exch) flags |= kNtlmNegotiateKeyExch;
    negotiate_.clear();
    LeWriter w(&negotiate_);
    w.Bytes(kNtlmSignature);
    w.U32(kNtlmNegotiateType);
    w.U32(flags);
    w.U16(0), w.U16(0), w.U32(40);  // domain
    w.U16(0), w.U16(0), w.U32(40);  // workstation
    w.U8(10), w.U8(0), w.U16(19041), w.Zeros(3), w.U8(15);
    return negotiate_;
  }

  // Parses the CHALLENGE; false if it is malformed.
  bool ReadChallenge(std::string_view challenge) {
    LeReader r(challenge);
    std::string_view sig = r.Bytes(8);
    uint32_t type = r.U32();
    r.Skip(8);  // target name fields
    flags_ = r.U32();
    server_challenge_ = std::string(r.Bytes(8));
    r.Skip(8);
    uint16_t info_len = r.U16();
    r.U16();
    uint32_t info_off = r.U32();
    target_info_ = std::string(r.At(info_off, info_len));
    challenge_ = std::string(challenge);
    return r.ok() && sig == kNtlmSignature && type == kNtlmChallengeType;
  }

  std::string Authenticate(std::string_view challenge) {
    if (!ReadChallenge(challenge)) return {};
    if (!o_.key_exch) flags_ &= ~kNtlmNegotiateKeyExch;
    std::string lm, nt, enc_key;
    if (o_.anonymous) {
      lm = std::string(1, '\0');
      flags_ |= kNtlmNegotiateAnonymous;
    } else if (o_.ntlmv1) {
      lm = std::string(24, '\x11');
      nt = std::string(24, '\x22');
    } else if (o_.lm_only) {
      lm = std::string(24, '\x33');
    } else {
      NtlmV2(&lm, &nt, &enc_key);
    }
    return Assemble(lm, nt, enc_key);
  }

  // The mechListMIC the client sends (client-to-server keys, sequence 0).
  std::string MechListMic(std::string_view mech_types_der) const {
    return Mic(mech_types_der, true);
  }
  bool VerifyServerMic(std::string_view mech_types_der,
                       std::string_view mic) const {
    return Mic(mech_types_der, false) == mic;
  }

  const std::string& exported_session_key() const { return esk_; }
  uint32_t flags() const { return flags_; }
  // Offset of the MIC in the last AUTHENTICATE (for corruption tests).
  static constexpr size_t kMicOffset = 72;

 private:
  std::string Mic(std::string_view msg, bool client_to_server) const {
    std::string dir =
        client_to_server ? "client-to-server" : "server-to-client";
    std::string sign_magic =
        "session key to " + dir + " signing key magic constant";
    std::string seal_magic =
        "session key to " + dir + " sealing key magic constant";
    sign_magic.push_back('\0');
    seal_magic.push_back('\0');
    std::string sign_key = Md5(esk_ + sign_magic);
    std::string seal_key = Md5(esk_ + seal_magic);
    std::string input(4, '\0');  // sequence number 0
    input.append(msg);
    std::string checksum = HmacMd5(sign_key, input).substr(0, 8);
    if (flags_ & kNtlmNegotiateKeyExch) checksum = Rc4Once(seal_key, checksum);
    return std::string("\x01\0\0\0", 4) + checksum + std::string(4, '\0');
  }

  void NtlmV2(std::string* lm, std::string* nt, std::string* enc_key) {
    uint64_t ts = 0;
    std::string pairs;
    LeReader r(target_info_);
    while (r.remaining() >= 4) {
      uint16_t id = r.U16();
      uint16_t len = r.U16();
      std::string_view v = r.Bytes(len);
      if (!r.ok() || id == kAvEol) break;
      if (id == kAvTimestamp && len == 8) ts = LeReader(v).U64();
      AppendNtlmAvPair(&pairs, id, v);
    }
    if (o_.timestamp) ts = *o_.timestamp;
    if (o_.mic) {
      std::string f;
      LeWriter(&f).U32(kAvFlagMicPresent);
      AppendNtlmAvPair(&pairs, kAvFlags, f);
    }
    AppendNtlmAvPair(&pairs, kAvEol, {});
    std::string client_challenge = RandomBytes(8);
    std::string blob;
    LeWriter b(&blob);
    b.U8(1), b.U8(1), b.Zeros(6);
    b.U64(ts);
    b.Bytes(client_challenge);
    b.Zeros(4);
    b.Bytes(pairs);
    b.Zeros(4);
    std::string nt_hash = Md4(Utf8ToUtf16(o_.password));
    std::string ntowf =
        HmacMd5(nt_hash, Utf8ToUtf16(Utf8ToUpper(o_.user) +
                                     o_.ntowf_domain.value_or(o_.domain)));
    std::string proof = HmacMd5(ntowf, server_challenge_ + blob);
    *nt = proof + blob;
    *lm = std::string(24, '\0');
    std::string kxkey = HmacMd5(ntowf, proof);
    if (flags_ & kNtlmNegotiateKeyExch) {
      esk_ = RandomBytes(16);
      *enc_key = Rc4Once(kxkey, esk_);
    } else {
      esk_ = kxkey;
    }
  }

  std::string Assemble(const std::string& lm, const std::string& nt,
                       const std::string& enc_key) {
    const std::string domain = Utf8ToUtf16(o_.anonymous ? "" : o_.domain);
    const std::string user = Utf8ToUtf16(o_.anonymous ? "" : o_.user);
    const std::string ws = Utf8ToUtf16(o_.workstation);
    std::string out;
    LeWriter w(&out);
    w.Bytes(kNtlmSignature);
    w.U32(kNtlmAuthenticateType);
    uint32_t off = 88;
    for (const std::string* f : {&lm, &nt, &domain, &user, &ws, &enc_key}) {
      w.U16(static_cast<uint16_t>(f->size()));
      w.U16(static_cast<uint16_t>(f->size()));
      w.U32(off);
      off += static_cast<uint32_t>(f->size());
    }
    w.U32(flags_);
    w.U8(10), w.U8(0), w.U16(19041), w.Zeros(3), w.U8(15);
    w.Zeros(16);  // MIC
    for (const std::string* f : {&lm, &nt, &domain, &user, &ws, &enc_key}) {
      w.Bytes(*f);
    }
    if (o_.mic && !o_.anonymous && !o_.ntlmv1 && !o_.lm_only) {
      std::string mic = HmacMd5(esk_, negotiate_ + challenge_ + out);
      out.replace(kMicOffset, 16, mic);
    }
    return out;
  }

  TestClientOptions o_;
  std::string negotiate_, challenge_, server_challenge_, target_info_, esk_;
  uint32_t flags_ = 0;
};

}  // namespace concordfs::smb::testing
