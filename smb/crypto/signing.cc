#include "smb/crypto/signing.h"

#include "smb/crypto/primitives.h"
#include "smb/wire/le.h"

namespace concordfs::smb {
namespace {

using crypto::kSignatureOffset;
using crypto::kSignatureSize;

constexpr char kZeroSignature[kSignatureSize] = {};

// MS-SMB2 3.1.4.1: MessageId, then role (bit 0) and CANCEL (bit 1).
std::string GmacNonce(std::string_view header) {
  LeReader r(header);
  r.Seek(crypto::kCommandOffset);
  const uint16_t command = r.U16();
  r.Seek(crypto::kFlagsOffset);
  const uint32_t flags = r.U32();
  r.Seek(crypto::kMessageIdOffset);
  const uint64_t message_id = r.U64();
  const bool response = (flags & crypto::kFlagServerToRedir) != 0;
  uint32_t word = response ? 1u : 0u;
  if (!response && command == crypto::kCommandCancel) word |= 2u;
  std::string nonce;
  LeWriter w(&nonce);
  w.U64(message_id);
  w.U32(word);
  return nonce;
}

}  // namespace

std::string ComputeSignature(SigningAlg alg, std::string_view key,
                             std::string_view message) {
  if (message.size() < crypto::kSmb2HeaderSize) return {};
  const std::string_view before = message.substr(0, kSignatureOffset);
  const std::string_view zeros(kZeroSignature, kSignatureSize);
  const std::string_view after =
      message.substr(kSignatureOffset + kSignatureSize);
  switch (alg) {
    case SigningAlg::kHmacSha256: {
      std::string mac = crypto::HmacSha256(key, {before, zeros, after});
      if (mac.size() < kSignatureSize) return {};
      mac.resize(kSignatureSize);
      return mac;
    }
    case SigningAlg::kAesCmac:
      return crypto::AesCmac(key, {before, zeros, after});
    case SigningAlg::kAesGmac:
      return crypto::AesGmac(key, GmacNonce(message), {before, zeros, after});
  }
  return {};
}

bool SignMessage(SigningAlg alg, std::string_view key, std::string* message) {
  const std::string signature = ComputeSignature(alg, key, *message);
  if (signature.size() != kSignatureSize) return false;
  message->replace(kSignatureOffset, kSignatureSize, signature);
  return true;
}

bool VerifySignature(SigningAlg alg, std::string_view key,
                     std::string_view message) {
  const std::string expected = ComputeSignature(alg, key, message);
  if (expected.size() != kSignatureSize) return false;
  return crypto::ConstantTimeEquals(
      expected, message.substr(kSignatureOffset, kSignatureSize));
}

}  // namespace concordfs::smb
