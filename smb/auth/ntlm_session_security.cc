#include "smb/auth/ntlm_session_security.h"

#include <algorithm>

#include "smb/auth/ntlm_messages.h"
#include "smb/wire/le.h"

namespace concordfs::smb {
namespace {

// The magic constants of MS-NLMP 3.4.5.2/3.4.5.3; the terminating NUL is
// part of the hashed input.
constexpr char kClientSign[] =
    "session key to client-to-server signing key magic constant";
constexpr char kServerSign[] =
    "session key to server-to-client signing key magic constant";
constexpr char kClientSeal[] =
    "session key to client-to-server sealing key magic constant";
constexpr char kServerSeal[] =
    "session key to server-to-client sealing key magic constant";

std::string_view WithNul(const char* s, size_t size_with_nul) {
  return std::string_view(s, size_with_nul);
}

}  // namespace

std::string NtlmSignKey(std::string_view exported_session_key,
                        bool client_to_server) {
  std::string m(exported_session_key);
  m.append(client_to_server ? WithNul(kClientSign, sizeof(kClientSign))
                            : WithNul(kServerSign, sizeof(kServerSign)));
  return Md5(m);
}

std::string NtlmSealKey(std::string_view exported_session_key, uint32_t flags,
                        bool client_to_server) {
  std::string m(exported_session_key);
  if (flags & kNtlmNegotiate128) {
    m.resize(std::min<size_t>(m.size(), 16));
  } else if (flags & kNtlmNegotiate56) {
    m.resize(std::min<size_t>(m.size(), 7));
  } else {
    m.resize(std::min<size_t>(m.size(), 5));
  }
  m.append(client_to_server ? WithNul(kClientSeal, sizeof(kClientSeal))
                            : WithNul(kServerSeal, sizeof(kServerSeal)));
  return Md5(m);
}

NtlmSessionSecurity::NtlmSessionSecurity(std::string_view exported_session_key,
                                         uint32_t flags, Role role)
    : key_exch_((flags & kNtlmNegotiateKeyExch) != 0),
      out_seal_(
          NtlmSealKey(exported_session_key, flags, role == Role::kClient)),
      in_seal_(
          NtlmSealKey(exported_session_key, flags, role == Role::kServer)) {
  bool client = role == Role::kClient;
  out_sign_key_ = NtlmSignKey(exported_session_key, client);
  in_sign_key_ = NtlmSignKey(exported_session_key, !client);
  ok_ = (flags & kNtlmNegotiateExtendedSessionSecurity) != 0 &&
        exported_session_key.size() == 16 && out_sign_key_.size() == 16 &&
        in_sign_key_.size() == 16 && out_seal_.ok() && in_seal_.ok();
}

std::string NtlmSessionSecurity::Signature(std::string_view sign_key, Rc4* seal,
                                           uint32_t seq,
                                           std::string_view message) {
  std::string input;
  LeWriter w(&input);
  w.U32(seq);
  w.Bytes(message);
  std::string checksum = HmacMd5(sign_key, input).substr(0, 8);
  if (key_exch_) checksum = seal->Apply(checksum);
  std::string sig;
  LeWriter s(&sig);
  s.U32(1);  // NTLMSSP_MESSAGE_SIGNATURE version
  s.Bytes(checksum);
  s.U32(seq);
  return sig;
}

std::string NtlmSessionSecurity::Sign(std::string_view message) {
  if (!ok_) return {};
  return Signature(out_sign_key_, &out_seal_, out_seq_++, message);
}

bool NtlmSessionSecurity::Verify(std::string_view message,
                                 std::string_view signature) {
  if (!ok_ || signature.size() != 16) return false;
  std::string expect = Signature(in_sign_key_, &in_seal_, in_seq_, message);
  if (!ConstantTimeEquals(expect, signature)) return false;
  ++in_seq_;
  return true;
}

std::string NtlmSessionSecurity::Seal(std::string_view message,
                                      std::string* signature) {
  if (!ok_) return {};
  std::string sealed = out_seal_.Apply(message);
  *signature = Signature(out_sign_key_, &out_seal_, out_seq_++, message);
  return sealed;
}

}  // namespace concordfs::smb
