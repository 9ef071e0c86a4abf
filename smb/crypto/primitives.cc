#include "smb/crypto/primitives.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <climits>
#include <memory>

namespace concordfs::smb::crypto {
namespace {

constexpr size_t kTagSize = 16;
constexpr size_t kCcmNonceSize = 11;
constexpr size_t kGcmNonceSize = 12;

struct MacCtxFree {
  void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }
};
struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using MacCtx = std::unique_ptr<EVP_MAC_CTX, MacCtxFree>;
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

const unsigned char* Bytes(std::string_view s) {
  // OpenSSL treats a null key as "keep the previous key"; an empty view may
  // carry a null data pointer, so give it a real (empty) buffer instead.
  static const unsigned char kEmpty[1] = {0};
  return s.data() ? reinterpret_cast<const unsigned char*>(s.data()) : kEmpty;
}

// Algorithm objects are fetched once and deliberately never freed: they are
// immutable, shared by all threads, and must outlive every caller.
EVP_MAC* HmacAlg() {
  static EVP_MAC* const alg = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  return alg;
}
EVP_MAC* CmacAlg() {
  static EVP_MAC* const alg = EVP_MAC_fetch(nullptr, "CMAC", nullptr);
  return alg;
}
const EVP_MD* Sha512Alg() {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA512", nullptr);
  return md;
}
const EVP_CIPHER* AeadCipher(AeadMode mode, size_t key_size) {
  static EVP_CIPHER* const ciphers[4] = {
      EVP_CIPHER_fetch(nullptr, "AES-128-CCM", nullptr),
      EVP_CIPHER_fetch(nullptr, "AES-256-CCM", nullptr),
      EVP_CIPHER_fetch(nullptr, "AES-128-GCM", nullptr),
      EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr),
  };
  if (key_size != 16 && key_size != 32) return nullptr;
  int index = (mode == AeadMode::kGcm ? 2 : 0) + (key_size == 32 ? 1 : 0);
  return ciphers[index];
}

std::string Mac(EVP_MAC* alg, std::string_view key, const OSSL_PARAM* params,
                Parts data) {
  if (alg == nullptr) return {};
  MacCtx ctx(EVP_MAC_CTX_new(alg));
  if (!ctx || EVP_MAC_init(ctx.get(), Bytes(key), key.size(), params) != 1) {
    return {};
  }
  for (std::string_view part : data) {
    if (!part.empty() &&
        EVP_MAC_update(ctx.get(), Bytes(part), part.size()) != 1) {
      return {};
    }
  }
  unsigned char out[EVP_MAX_MD_SIZE];
  size_t len = 0;
  if (EVP_MAC_final(ctx.get(), out, &len, sizeof(out)) != 1) return {};
  return std::string(reinterpret_cast<const char*>(out), len);
}

bool NonceFits(AeadMode mode, std::string_view nonce) {
  return nonce.size() ==
         (mode == AeadMode::kCcm ? kCcmNonceSize : kGcmNonceSize);
}

// Creates a context for `mode` with the key and nonce set; for CCM also the
// tag length (and, when decrypting, the expected tag) and the message
// length, which CCM needs before any data.
CipherCtx StartAead(AeadMode mode, bool encrypt, std::string_view key,
                    std::string_view nonce, size_t length,
                    std::string_view expected_tag) {
  const EVP_CIPHER* cipher = AeadCipher(mode, key.size());
  if (cipher == nullptr || !NonceFits(mode, nonce) || length > INT_MAX) {
    return nullptr;
  }
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx ||
      EVP_CipherInit_ex2(ctx.get(), cipher, nullptr, nullptr, encrypt,
                         nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_IVLEN,
                          static_cast<int>(nonce.size()), nullptr) != 1) {
    return nullptr;
  }
  if (mode == AeadMode::kCcm) {
    void* tag =
        encrypt ? nullptr : const_cast<char*>(expected_tag.data());  // copied
    if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG, kTagSize, tag) !=
        1) {
      return nullptr;
    }
  }
  if (EVP_CipherInit_ex2(ctx.get(), nullptr, Bytes(key), Bytes(nonce), encrypt,
                         nullptr) != 1) {
    return nullptr;
  }
  int len = 0;
  if (mode == AeadMode::kCcm &&
      EVP_CipherUpdate(ctx.get(), nullptr, &len, nullptr,
                       static_cast<int>(length)) != 1) {
    return nullptr;
  }
  return ctx;
}

bool AddAad(EVP_CIPHER_CTX* ctx, Parts aad) {
  for (std::string_view part : aad) {
    int len = 0;
    if (part.empty()) continue;
    if (part.size() > INT_MAX ||
        EVP_CipherUpdate(ctx, nullptr, &len, Bytes(part),
                         static_cast<int>(part.size())) != 1) {
      return false;
    }
  }
  return true;
}

bool Seal(AeadMode mode, std::string_view key, std::string_view nonce,
          Parts aad, std::string_view plaintext, char* out, char* tag) {
  // OpenSSL's CCM takes the AAD in a single call and needs some data.
  if (mode == AeadMode::kCcm && (aad.size() > 1 || plaintext.empty())) {
    return false;
  }
  CipherCtx ctx = StartAead(mode, true, key, nonce, plaintext.size(), {});
  if (!ctx || !AddAad(ctx.get(), aad)) return false;
  int len = 0;
  if (!plaintext.empty() &&
      (EVP_EncryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out), &len,
                         Bytes(plaintext),
                         static_cast<int>(plaintext.size())) != 1 ||
       static_cast<size_t>(len) != plaintext.size())) {
    return false;
  }
  unsigned char rest[16];  // AEAD modes emit nothing at the end.
  int rest_len = 0;
  return EVP_EncryptFinal_ex(ctx.get(), rest, &rest_len) == 1 &&
         rest_len == 0 &&
         EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG, kTagSize, tag) ==
             1;
}

}  // namespace

std::string HmacSha256(std::string_view key, Parts data) {
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                       const_cast<char*>("SHA256"), 0),
      OSSL_PARAM_construct_end(),
  };
  return Mac(HmacAlg(), key, params, data);
}

std::string AesCmac(std::string_view key, Parts data) {
  if (key.size() != 16 && key.size() != 32) return {};
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(
          OSSL_MAC_PARAM_CIPHER,
          const_cast<char*>(key.size() == 16 ? "AES-128-CBC" : "AES-256-CBC"),
          0),
      OSSL_PARAM_construct_end(),
  };
  return Mac(CmacAlg(), key, params, data);
}

std::string AesGmac(std::string_view key, std::string_view nonce, Parts aad) {
  std::string tag(kTagSize, '\0');
  if (!Seal(AeadMode::kGcm, key, nonce, aad, {}, nullptr, tag.data())) {
    return {};
  }
  return tag;
}

bool AeadSeal(AeadMode mode, std::string_view key, std::string_view nonce,
              std::string_view aad, std::string_view plaintext, char* out,
              char* tag) {
  return Seal(mode, key, nonce, {aad}, plaintext, out, tag);
}

bool AeadOpen(AeadMode mode, std::string_view key, std::string_view nonce,
              std::string_view aad, std::string_view ciphertext,
              std::string_view tag, char* out) {
  if (tag.size() != kTagSize ||
      (mode == AeadMode::kCcm && ciphertext.empty())) {
    return false;
  }
  CipherCtx ctx = StartAead(mode, false, key, nonce, ciphertext.size(), tag);
  if (!ctx || !AddAad(ctx.get(), {aad})) return false;
  int len = 0;
  // CCM checks the tag inside this update; GCM in the final call below.
  if (!ciphertext.empty() &&
      EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out), &len,
                        Bytes(ciphertext),
                        static_cast<int>(ciphertext.size())) != 1) {
    return false;
  }
  if (mode == AeadMode::kCcm) return true;
  unsigned char rest[16];
  int rest_len = 0;
  return EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG, kTagSize,
                             const_cast<char*>(tag.data())) == 1 &&
         EVP_DecryptFinal_ex(ctx.get(), rest, &rest_len) == 1 && rest_len == 0;
}

std::string Sha512(Parts data) {
  const EVP_MD* md = Sha512Alg();
  if (md == nullptr) return {};
  MdCtx ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex2(ctx.get(), md, nullptr) != 1) return {};
  for (std::string_view part : data) {
    if (!part.empty() &&
        EVP_DigestUpdate(ctx.get(), part.data(), part.size()) != 1) {
      return {};
    }
  }
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx.get(), out, &len) != 1) return {};
  return std::string(reinterpret_cast<const char*>(out), len);
}

bool RandomBytes(void* out, size_t n) {
  auto* p = static_cast<unsigned char*>(out);
  while (n > 0) {
    int chunk = n > INT_MAX ? INT_MAX : static_cast<int>(n);
    if (RAND_bytes(p, chunk) != 1) return false;
    p += chunk;
    n -= static_cast<size_t>(chunk);
  }
  return true;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace concordfs::smb::crypto
