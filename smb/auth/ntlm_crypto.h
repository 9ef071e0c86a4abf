// The cryptographic primitives NTLMSSP needs (MD4, MD5, HMAC-MD5, RC4,
// random bytes) and the NTLMv2 key functions of MS-NLMP 3.3.2 built on them.
//
// Everything comes from OpenSSL 3. MD4 and RC4 exist only in its "legacy"
// provider, so a private library context with the "legacy" and "default"
// providers is created once, on first use, and kept for the life of the
// process; the process-wide OpenSSL configuration is never touched. If that
// fails, NtlmCryptoStatus() says why and the functions below return empty
// strings (callers check the status once before an exchange).
//
// Byte strings are std::string holding raw bytes. The free functions are
// thread-safe; an Rc4 object is thread-compatible (one stream, one owner).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "util/status.h"

namespace concordfs::smb {

// OK when all primitives are usable; otherwise what failed (e.g. the legacy
// provider could not be loaded).
Status NtlmCryptoStatus();

std::string Md4(std::string_view data);                            // 16 bytes
std::string Md5(std::string_view data);                            // 16 bytes
std::string HmacMd5(std::string_view key, std::string_view data);  // 16 bytes
// `n` bytes from the OpenSSL DRBG.
std::string RandomBytes(size_t n);
// Equal length and contents, in time independent of the contents.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// RC4 keystream: successive Apply() calls continue one stream, as NTLMSSP's
// sealing "handle" does.
class Rc4 {
 public:
  explicit Rc4(std::string_view key);
  ~Rc4();
  Rc4(const Rc4&) = delete;
  Rc4& operator=(const Rc4&) = delete;

  bool ok() const { return impl_ != nullptr; }
  // Encrypts or decrypts (the same operation); empty if !ok().
  std::string Apply(std::string_view data);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One-shot RC4 with a fresh key schedule.
std::string Rc4Once(std::string_view key, std::string_view data);

// --- NTLMv2 (MS-NLMP 3.3.2) ----------------------------------------------

// NTOWFv1: MD4 of the UTF-16LE password (the "NT hash").
std::string NtOwfV1(std::string_view utf8_password);
// NTOWFv2 = HMAC_MD5(nt_hash, UTF16LE(UPPER(user) + domain)).
std::string NtOwfV2(std::string_view nt_hash, std::string_view utf8_user,
                    std::string_view utf8_domain);
// NTProofStr = HMAC_MD5(NTOWFv2, server_challenge || blob), where `blob` is
// the NTLMv2_CLIENT_CHALLENGE ("temp") that follows the proof in the
// NtChallengeResponse.
std::string NtProofStr(std::string_view ntowf_v2,
                       std::string_view server_challenge,
                       std::string_view blob);
// SessionBaseKey = HMAC_MD5(NTOWFv2, NTProofStr); for NTLMv2 it is also the
// KeyExchangeKey.
std::string SessionBaseKeyV2(std::string_view ntowf_v2,
                             std::string_view nt_proof_str);

}  // namespace concordfs::smb
