// The algorithm identifiers SMB2/3 negotiates (signing algorithm, cipher)
// and the fixed offsets and sizes of the fields the crypto code touches.
// The enums carry the values of the SMB2_SIGNING_CAPABILITIES and
// SMB2_ENCRYPTION_CAPABILITIES negotiate contexts (MS-SMB2 2.2.3.1.2/7).
//
// Constants and pure functions only; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

namespace concordfs::smb {

// kHmacSha256 is what dialects 2.0.2 and 2.1 always use; on the wire (the
// signing capabilities context) its id is 0, see SigningAlgFromId().
enum class SigningAlg : uint16_t {
  kHmacSha256 = 0xFFFF,
  kAesCmac = 1,
  kAesGmac = 2,
};

enum class Cipher : uint16_t {
  kNone = 0,
  kAes128Ccm = 1,
  kAes128Gcm = 2,
  kAes256Ccm = 3,
  kAes256Gcm = 4,
};

// Signing algorithm id from SMB2_SIGNING_CAPABILITIES (0 HMAC-SHA256,
// 1 AES-CMAC, 2 AES-GMAC); nullopt for an unknown id.
std::optional<SigningAlg> SigningAlgFromId(uint16_t id);
// The id to put in SMB2_SIGNING_CAPABILITIES for `alg`.
uint16_t SigningAlgId(SigningAlg alg);
// The algorithm a dialect uses when no signing capability was negotiated:
// HMAC-SHA256 before 3.0, AES-CMAC from 3.0 on.
SigningAlg DefaultSigningAlg(uint16_t dialect);

// Cipher id from SMB2_ENCRYPTION_CAPABILITIES; nullopt for an unknown id
// (0 is not a cipher either).
std::optional<Cipher> CipherFromId(uint16_t id);
// Key size in bytes (16 or 32), 0 for kNone.
size_t CipherKeySize(Cipher c);
// Nonce size in bytes: 11 for CCM, 12 for GCM, 0 for kNone.
size_t CipherNonceSize(Cipher c);

namespace crypto {

// SMB2 header (MS-SMB2 2.2.1).
inline constexpr size_t kSmb2HeaderSize = 64;
inline constexpr size_t kSignatureOffset = 48;
inline constexpr size_t kSignatureSize = 16;
inline constexpr size_t kCommandOffset = 12;
inline constexpr size_t kFlagsOffset = 16;
inline constexpr size_t kMessageIdOffset = 24;
inline constexpr uint32_t kFlagServerToRedir = 0x00000001;
inline constexpr uint32_t kFlagSigned = 0x00000008;
inline constexpr uint16_t kCommandCancel = 0x000C;

// SMB2 TRANSFORM_HEADER (MS-SMB2 2.2.41).
inline constexpr size_t kTransformHeaderSize = 52;
inline constexpr size_t kTransformSignatureOffset = 4;
inline constexpr size_t kTransformNonceOffset = 20;
inline constexpr size_t kTransformNonceFieldSize = 16;
inline constexpr size_t kTransformSizeOffset = 36;
inline constexpr size_t kTransformFlagsOffset = 42;
inline constexpr size_t kTransformSessionIdOffset = 44;
// The authenticated data: Nonce through SessionId.
inline constexpr size_t kTransformAadOffset = 20;
inline constexpr size_t kTransformAadSize = 32;
// Flags (3.1.1) / EncryptionAlgorithm (3.0.x): both mean "encrypted".
inline constexpr uint16_t kTransformFlagEncrypted = 0x0001;
inline constexpr size_t kAeadTagSize = 16;

}  // namespace crypto
}  // namespace concordfs::smb
