// SMB 3.x key derivation (MS-SMB2 3.1.4.2): the SP800-108 counter-mode KDF
// with HMAC-SHA256, and the per-session keys each dialect derives from the
// authentication's session key (MS-SMB2 3.3.5.5.3, server side).
//
// Pure functions returning values; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "smb/crypto/algorithms.h"

namespace concordfs::smb {

// KDF in counter mode, r = 32, PRF HMAC-SHA256:
//   K(i) = HMAC(key, [i]_32be || label || 0x00 || context || [L]_32be)
// with L = out_bits. Label and context are used exactly as given: callers
// include the terminating NUL where MS-SMB2 does ("SMB2AESCMAC\0").
// Returns out_bits / 8 bytes; empty when out_bits is not a positive
// multiple of 8.
std::string SmbKdf(std::string_view key, std::string_view label,
                   std::string_view context, int out_bits);

// The keys of one session, named from the server's point of view.
// Empty strings for keys the dialect does not have.
struct SessionKeys {
  std::string signing;      // Session.SigningKey (16 bytes)
  std::string encrypt;      // server -> client (Session.EncryptionKey)
  std::string decrypt;      // client -> server (Session.DecryptionKey)
  std::string application;  // Session.ApplicationKey (16 bytes)
};

// `session_key` is the full key from the authentication (GSS/NTLMSSP);
// Session.SessionKey is its first 16 bytes, right-padded with zeros.
//  - dialect < 0x0300: signing = application = Session.SessionKey; no
//    encryption keys.
//  - 0x0300 / 0x0302: labels "SMB2AESCMAC"/"SmbSign", "SMB2AESCCM" with
//    "ServerOut" (encrypt) and "ServerIn " (decrypt), "SMB2APP"/"SmbRpc";
//    128-bit keys; `cipher` and `preauth_hash` are ignored (3.0.x always
//    encrypts with AES-128-CCM).
//  - >= 0x0311: labels "SMBSigningKey", "SMBS2CCipherKey" (encrypt),
//    "SMBC2SCipherKey" (decrypt), "SMBAppKey", context `preauth_hash` (the
//    session's final pre-auth integrity hash, 64 bytes). The cipher keys
//    are 256-bit and derived from the full `session_key` for the AES-256
//    ciphers, 128-bit from Session.SessionKey otherwise; none for kNone.
SessionKeys DeriveSessionKeys(uint16_t dialect, std::string_view session_key,
                              Cipher cipher, std::string_view preauth_hash);

}  // namespace concordfs::smb
