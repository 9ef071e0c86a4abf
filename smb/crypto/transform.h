// SMB 3.x encryption (MS-SMB2 3.1.4.3, 3.3.5.2.1.1): a whole SMB2 message,
// single or compound, wrapped in an SMB2 TRANSFORM_HEADER (0xFD 'S' 'M' 'B',
// 52 bytes, MS-SMB2 2.2.41) and sealed with AES-CCM or AES-GCM.
//
//   0 ProtocolId  4 Signature (AEAD tag)  20 Nonce (16; CCM uses 11 bytes,
//   GCM 12)  36 OriginalMessageSize  40 Reserved  42 Flags = 1
//   44 SessionId; the authenticated data is bytes 20..52.
//
// Pure functions; thread-safe. EncryptMessage draws its nonces from one
// process-wide source (a random start value and random bytes fixed per
// process, plus an atomic 64-bit counter), so no two calls in a process
// ever use the same nonce, whatever the key.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "smb/crypto/algorithms.h"
#include "util/status.h"

namespace concordfs::smb {

// True when `msg` starts with the transform ProtocolId 0xFD 'S' 'M' 'B'.
bool IsTransformMessage(std::string_view msg);

// TRANSFORM_HEADER + ciphertext of `plaintext` under `key` (the session's
// server->client key, SessionKeys::encrypt) with a fresh nonce.
// EINVAL for kNone, a key of the wrong size for the cipher, or an empty or
// >= 2 GiB plaintext; EIO if OpenSSL fails.
Result<std::string> EncryptMessage(Cipher c, std::string_view key,
                                   uint64_t session_id,
                                   std::string_view plaintext);

// As EncryptMessage with the caller's 16-byte Nonce field: the cipher uses
// its first 11 (CCM) or 12 (GCM) bytes and all 16 go into the header and
// the authenticated data unchanged. For reproducible output in tests;
// reusing a nonce with the same key breaks the encryption, so production
// code calls EncryptMessage.
Result<std::string> EncryptMessageWithNonce(Cipher c, std::string_view key,
                                            uint64_t session_id,
                                            std::string_view nonce_field,
                                            std::string_view plaintext);

struct Decrypted {
  uint64_t session_id;
  std::string plaintext;
};

// Verifies and decrypts a transform message under `key` (the session's
// client->server key, SessionKeys::decrypt). EINVAL for a truncated or
// malformed header (ProtocolId, Flags != 1, OriginalMessageSize not equal to
// the bytes that follow the header, or 0), kNone or a wrong-sized key;
// EBADMSG when the tag does not verify. Never reads past the input.
Result<Decrypted> DecryptMessage(Cipher c, std::string_view key,
                                 std::string_view transform_message);

// The header's SessionId, to find the session (and its key) before
// decrypting; 0 when the message is shorter than a transform header.
uint64_t TransformSessionId(std::string_view transform_message);

}  // namespace concordfs::smb
