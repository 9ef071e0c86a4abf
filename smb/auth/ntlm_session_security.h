// NTLMSSP session security with extended session security (MS-NLMP 3.4.4 and
// 3.4.5): the directional signing and sealing keys derived from the
// ExportedSessionKey, message signatures (GSS_GetMIC / VerifyMIC) and sealing
// (GSS_WrapEx). SMB uses it for one thing: the SPNEGO mechListMIC.
//
// An NtlmSessionSecurity owns its keys, sequence numbers and RC4 streams; it
// is a value for one side of one context and is thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "smb/auth/ntlm_crypto.h"

namespace concordfs::smb {

// SIGNKEY: MD5(ExportedSessionKey || direction magic constant).
std::string NtlmSignKey(std::string_view exported_session_key,
                        bool client_to_server);
// SEALKEY with extended session security: the ExportedSessionKey cut to 16,
// 7 or 5 bytes by NEGOTIATE_128 / NEGOTIATE_56, then MD5 with the direction
// magic constant.
std::string NtlmSealKey(std::string_view exported_session_key, uint32_t flags,
                        bool client_to_server);

class NtlmSessionSecurity {
 public:
  enum class Role { kClient, kServer };
  // `flags` are the negotiated NTLMSSP flags (KEY_EXCH decides whether the
  // checksum is sealed; 128/56 the seal key strength).
  NtlmSessionSecurity(std::string_view exported_session_key, uint32_t flags,
                      Role role);

  // False without EXTENDED_SESSIONSECURITY (the legacy CRC32 signatures are
  // not implemented) or when the crypto is unavailable.
  bool ok() const { return ok_; }

  // A 16-byte NTLMSSP_MESSAGE_SIGNATURE over `message` for our outgoing
  // direction; advances the outgoing sequence number.
  std::string Sign(std::string_view message);
  // Checks a signature from the peer (incoming keys and sequence number;
  // advances it on success). Constant-time comparison. A failed check still
  // consumes incoming RC4 keystream, so the context is then unusable (NTLMSSP
  // has no recovery from a bad signature either).
  bool Verify(std::string_view message, std::string_view signature);
  // GSS_WrapEx: encrypts `message` and returns it; `*signature` receives the
  // signature computed over the plaintext.
  std::string Seal(std::string_view message, std::string* signature);

 private:
  std::string Signature(std::string_view sign_key, Rc4* seal, uint32_t seq,
                        std::string_view message);

  bool ok_ = false;
  bool key_exch_ = false;
  std::string out_sign_key_, in_sign_key_;
  Rc4 out_seal_, in_seal_;
  uint32_t out_seq_ = 0, in_seq_ = 0;
};

}  // namespace concordfs::smb
