#include "smb/crypto/algorithms.h"

namespace concordfs::smb {

std::optional<SigningAlg> SigningAlgFromId(uint16_t id) {
  switch (id) {
    case 0:
      return SigningAlg::kHmacSha256;
    case 1:
      return SigningAlg::kAesCmac;
    case 2:
      return SigningAlg::kAesGmac;
    default:
      return std::nullopt;
  }
}

uint16_t SigningAlgId(SigningAlg alg) {
  return alg == SigningAlg::kHmacSha256 ? 0 : static_cast<uint16_t>(alg);
}

SigningAlg DefaultSigningAlg(uint16_t dialect) {
  return dialect < 0x0300 ? SigningAlg::kHmacSha256 : SigningAlg::kAesCmac;
}

std::optional<Cipher> CipherFromId(uint16_t id) {
  if (id >= 1 && id <= 4) return static_cast<Cipher>(id);
  return std::nullopt;
}

size_t CipherKeySize(Cipher c) {
  switch (c) {
    case Cipher::kAes128Ccm:
    case Cipher::kAes128Gcm:
      return 16;
    case Cipher::kAes256Ccm:
    case Cipher::kAes256Gcm:
      return 32;
    case Cipher::kNone:
      break;
  }
  return 0;
}

size_t CipherNonceSize(Cipher c) {
  switch (c) {
    case Cipher::kAes128Ccm:
    case Cipher::kAes256Ccm:
      return 11;
    case Cipher::kAes128Gcm:
    case Cipher::kAes256Gcm:
      return 12;
    case Cipher::kNone:
      break;
  }
  return 0;
}

}  // namespace concordfs::smb
