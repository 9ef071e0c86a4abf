#include "smb/crypto/transform.h"

#include <atomic>
#include <chrono>
#include <climits>
#include <cstring>

#include "smb/crypto/primitives.h"
#include "smb/wire/le.h"

namespace concordfs::smb {
namespace {

using crypto::kTransformHeaderSize;

constexpr std::string_view kTransformProtocolId("\xFDSMB", 4);

// Process-wide nonce source. The counter alone makes every nonce of this
// process distinct (2^64 values); the random start and salt keep nonces of
// different processes (a restart) apart as well.
class NonceSource {
 public:
  NonceSource() {
    uint64_t start = 0;
    if (!crypto::RandomBytes(&start, sizeof(start)) ||
        !crypto::RandomBytes(salt_, sizeof(salt_))) {
      start = static_cast<uint64_t>(
          std::chrono::steady_clock::now().time_since_epoch().count());
    }
    next_.store(start, std::memory_order_relaxed);
  }

  // The 16-byte Nonce field: counter (8 bytes LE), salt up to the cipher's
  // nonce size, zeros after it.
  std::string NextField(size_t nonce_size) {
    const uint64_t n = next_.fetch_add(1, std::memory_order_relaxed);
    std::string field;
    LeWriter w(&field);
    w.U64(n);
    w.Bytes(std::string_view(salt_, nonce_size - 8));
    w.Zeros(crypto::kTransformNonceFieldSize - nonce_size);
    return field;
  }

 private:
  char salt_[4] = {};
  std::atomic<uint64_t> next_{0};
};

NonceSource& Nonces() {
  static NonceSource* const source = new NonceSource();  // never destroyed
  return *source;
}

crypto::AeadMode ModeOf(Cipher c) {
  return (c == Cipher::kAes128Gcm || c == Cipher::kAes256Gcm)
             ? crypto::AeadMode::kGcm
             : crypto::AeadMode::kCcm;
}

Status CheckCipherAndKey(Cipher c, std::string_view key) {
  if (CipherKeySize(c) == 0) return Status::Invalid("transform: no cipher");
  if (key.size() != CipherKeySize(c)) {
    return Status::Invalid("transform: key size does not fit the cipher");
  }
  return Status::Ok();
}

}  // namespace

bool IsTransformMessage(std::string_view msg) {
  return msg.substr(0, kTransformProtocolId.size()) == kTransformProtocolId;
}

Result<std::string> EncryptMessageWithNonce(Cipher c, std::string_view key,
                                            uint64_t session_id,
                                            std::string_view nonce_field,
                                            std::string_view plaintext) {
  CFS_RETURN_IF_ERROR(CheckCipherAndKey(c, key));
  if (nonce_field.size() != crypto::kTransformNonceFieldSize) {
    return Status::Invalid("transform: nonce field is not 16 bytes");
  }
  if (plaintext.empty() || plaintext.size() > INT_MAX) {
    return Status::Invalid("transform: message size out of range");
  }
  std::string out;
  out.reserve(kTransformHeaderSize + plaintext.size());
  LeWriter w(&out);
  w.Bytes(kTransformProtocolId);
  w.Zeros(crypto::kAeadTagSize);
  w.Bytes(nonce_field);
  w.U32(static_cast<uint32_t>(plaintext.size()));
  w.U16(0);
  w.U16(crypto::kTransformFlagEncrypted);
  w.U64(session_id);
  out.resize(kTransformHeaderSize + plaintext.size());
  const std::string_view aad = std::string_view(out).substr(
      crypto::kTransformAadOffset, crypto::kTransformAadSize);
  if (!crypto::AeadSeal(ModeOf(c), key,
                        nonce_field.substr(0, CipherNonceSize(c)), aad,
                        plaintext, out.data() + kTransformHeaderSize,
                        out.data() + crypto::kTransformSignatureOffset)) {
    return Status::Io("transform: encryption failed");
  }
  return out;
}

Result<std::string> EncryptMessage(Cipher c, std::string_view key,
                                   uint64_t session_id,
                                   std::string_view plaintext) {
  CFS_RETURN_IF_ERROR(CheckCipherAndKey(c, key));
  return EncryptMessageWithNonce(
      c, key, session_id, Nonces().NextField(CipherNonceSize(c)), plaintext);
}

Result<Decrypted> DecryptMessage(Cipher c, std::string_view key,
                                 std::string_view transform_message) {
  CFS_RETURN_IF_ERROR(CheckCipherAndKey(c, key));
  if (transform_message.size() < kTransformHeaderSize ||
      !IsTransformMessage(transform_message)) {
    return Status::Invalid("transform: truncated or not a transform header");
  }
  LeReader r(transform_message);
  r.Seek(crypto::kTransformSizeOffset);
  const uint32_t original_size = r.U32();
  r.Seek(crypto::kTransformFlagsOffset);
  const uint16_t flags = r.U16();
  const uint64_t session_id = r.U64();
  const std::string_view ciphertext =
      transform_message.substr(kTransformHeaderSize);
  if (!r.ok() || flags != crypto::kTransformFlagEncrypted) {
    return Status::Invalid("transform: bad flags");
  }
  if (original_size == 0 || original_size != ciphertext.size()) {
    return Status::Invalid("transform: OriginalMessageSize mismatch");
  }
  Decrypted result{session_id, std::string(ciphertext.size(), '\0')};
  const std::string_view nonce = transform_message.substr(
      crypto::kTransformNonceOffset, CipherNonceSize(c));
  const std::string_view aad = transform_message.substr(
      crypto::kTransformAadOffset, crypto::kTransformAadSize);
  const std::string_view tag = transform_message.substr(
      crypto::kTransformSignatureOffset, crypto::kAeadTagSize);
  if (!crypto::AeadOpen(ModeOf(c), key, nonce, aad, ciphertext, tag,
                        result.plaintext.data())) {
    return Status::Error(EBADMSG, "transform: authentication failed");
  }
  return result;
}

uint64_t TransformSessionId(std::string_view transform_message) {
  if (transform_message.size() < kTransformHeaderSize) return 0;
  LeReader r(transform_message);
  r.Seek(crypto::kTransformSessionIdOffset);
  return r.U64();
}

}  // namespace concordfs::smb
