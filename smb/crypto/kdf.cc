#include "smb/crypto/kdf.h"

#include "smb/crypto/primitives.h"

namespace concordfs::smb {
namespace {

using namespace std::string_view_literals;

void PutBe32(uint32_t v, char* out) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>(v >> (24 - 8 * i));
}

// Session.SessionKey: the first 16 bytes, zero-padded if shorter.
std::string SessionKey16(std::string_view session_key) {
  std::string k(session_key.substr(0, 16));
  k.resize(16, '\0');
  return k;
}

}  // namespace

std::string SmbKdf(std::string_view key, std::string_view label,
                   std::string_view context, int out_bits) {
  if (out_bits <= 0 || out_bits % 8 != 0) return {};
  const size_t want = static_cast<size_t>(out_bits) / 8;
  char length[4];
  PutBe32(static_cast<uint32_t>(out_bits), length);
  const char kSeparator = '\0';
  std::string out;
  for (uint32_t i = 1; out.size() < want; ++i) {
    char counter[4];
    PutBe32(i, counter);
    std::string block =
        crypto::HmacSha256(key, {std::string_view(counter, 4), label,
                                 std::string_view(&kSeparator, 1), context,
                                 std::string_view(length, 4)});
    if (block.empty()) return {};
    out += block;
  }
  out.resize(want);
  return out;
}

SessionKeys DeriveSessionKeys(uint16_t dialect, std::string_view session_key,
                              Cipher cipher, std::string_view preauth_hash) {
  SessionKeys keys;
  const std::string key16 = SessionKey16(session_key);
  if (dialect < 0x0300) {
    keys.signing = key16;
    keys.application = key16;
    return keys;
  }
  if (dialect < 0x0311) {
    keys.signing = SmbKdf(key16, "SMB2AESCMAC\0"sv, "SmbSign\0"sv, 128);
    keys.encrypt = SmbKdf(key16, "SMB2AESCCM\0"sv, "ServerOut\0"sv, 128);
    keys.decrypt = SmbKdf(key16, "SMB2AESCCM\0"sv, "ServerIn \0"sv, 128);
    keys.application = SmbKdf(key16, "SMB2APP\0"sv, "SmbRpc\0"sv, 128);
    return keys;
  }
  keys.signing = SmbKdf(key16, "SMBSigningKey\0"sv, preauth_hash, 128);
  keys.application = SmbKdf(key16, "SMBAppKey\0"sv, preauth_hash, 128);
  if (cipher == Cipher::kNone) return keys;
  const bool aes256 = CipherKeySize(cipher) == 32;
  // MS-SMB2 derives the 256-bit cipher keys from Session.FullSessionKey.
  const std::string_view cipher_input =
      aes256 ? session_key : std::string_view(key16);
  const int bits = aes256 ? 256 : 128;
  keys.encrypt =
      SmbKdf(cipher_input, "SMBS2CCipherKey\0"sv, preauth_hash, bits);
  keys.decrypt =
      SmbKdf(cipher_input, "SMBC2SCipherKey\0"sv, preauth_hash, bits);
  return keys;
}

}  // namespace concordfs::smb
