#include "smb/auth/ntlm_crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/rand.h>

#include "smb/wire/unicode.h"

namespace concordfs::smb {
namespace {

constexpr const char* kModulesDir = "/usr/lib/x86_64-linux-gnu/ossl-modules";

// The private library context; created once and never freed (it lives as long
// as the process, like OpenSSL's own default context).
struct Libs {
  OSSL_LIB_CTX* ctx = nullptr;
  EVP_MD* md4 = nullptr;
  EVP_MD* md5 = nullptr;
  EVP_CIPHER* rc4 = nullptr;
  Status status;
};

Status LoadProviders(Libs* l) {
  l->ctx = OSSL_LIB_CTX_new();
  if (l->ctx == nullptr) return Status::Io("OSSL_LIB_CTX_new failed");
  OSSL_PROVIDER* legacy = OSSL_PROVIDER_load(l->ctx, "legacy");
  if (legacy == nullptr) {
    // The default search path may not be configured; try the Debian one.
    OSSL_PROVIDER_set_default_search_path(l->ctx, kModulesDir);
    legacy = OSSL_PROVIDER_load(l->ctx, "legacy");
  }
  if (legacy == nullptr) {
    return Status::NotSupported(
        "OpenSSL legacy provider (MD4, RC4) could not be loaded");
  }
  if (OSSL_PROVIDER_load(l->ctx, "default") == nullptr) {
    return Status::NotSupported("OpenSSL default provider could not be loaded");
  }
  l->md4 = EVP_MD_fetch(l->ctx, "MD4", nullptr);
  l->md5 = EVP_MD_fetch(l->ctx, "MD5", nullptr);
  l->rc4 = EVP_CIPHER_fetch(l->ctx, "RC4", nullptr);
  if (l->md4 == nullptr || l->md5 == nullptr || l->rc4 == nullptr) {
    return Status::NotSupported("OpenSSL MD4, MD5 or RC4 unavailable");
  }
  return Status::Ok();
}

const Libs& GetLibs() {
  static const Libs* libs = [] {
    auto* l = new Libs;
    l->status = LoadProviders(l);
    return l;
  }();
  return *libs;
}

std::string Digest(const EVP_MD* md, std::string_view data) {
  if (md == nullptr) return {};
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out, &len, md, nullptr) != 1) {
    return {};
  }
  return std::string(reinterpret_cast<char*>(out), len);
}

}  // namespace

Status NtlmCryptoStatus() { return GetLibs().status; }

std::string Md4(std::string_view data) { return Digest(GetLibs().md4, data); }
std::string Md5(std::string_view data) { return Digest(GetLibs().md5, data); }

std::string HmacMd5(std::string_view key, std::string_view data) {
  const Libs& l = GetLibs();
  if (!l.status.ok()) return {};
  unsigned char out[EVP_MAX_MD_SIZE];
  size_t len = 0;
  if (EVP_Q_mac(l.ctx, "HMAC", nullptr, "MD5", nullptr, key.data(), key.size(),
                reinterpret_cast<const unsigned char*>(data.data()),
                data.size(), out, sizeof(out), &len) == nullptr) {
    return {};
  }
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (n == 0) return out;
  const Libs& l = GetLibs();
  if (!l.status.ok() ||
      RAND_bytes_ex(l.ctx, reinterpret_cast<unsigned char*>(out.data()), n,
                    0) != 1) {
    return {};
  }
  return out;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

struct Rc4::Impl {
  EVP_CIPHER_CTX* ctx = nullptr;
  ~Impl() { EVP_CIPHER_CTX_free(ctx); }
};

Rc4::Rc4(std::string_view key) {
  const Libs& l = GetLibs();
  if (!l.status.ok() || key.empty()) return;
  auto impl = std::make_unique<Impl>();
  impl->ctx = EVP_CIPHER_CTX_new();
  if (impl->ctx == nullptr ||
      EVP_EncryptInit_ex2(impl->ctx, l.rc4, nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_set_key_length(impl->ctx, static_cast<int>(key.size())) !=
          1 ||
      EVP_EncryptInit_ex2(impl->ctx, nullptr,
                          reinterpret_cast<const unsigned char*>(key.data()),
                          nullptr, nullptr) != 1) {
    return;
  }
  impl_ = std::move(impl);
}

Rc4::~Rc4() = default;

std::string Rc4::Apply(std::string_view data) {
  if (!impl_) return {};
  std::string out(data.size(), '\0');
  if (data.empty()) return out;
  int len = 0;
  if (EVP_EncryptUpdate(impl_->ctx,
                        reinterpret_cast<unsigned char*>(out.data()), &len,
                        reinterpret_cast<const unsigned char*>(data.data()),
                        static_cast<int>(data.size())) != 1 ||
      static_cast<size_t>(len) != data.size()) {
    return {};
  }
  return out;
}

std::string Rc4Once(std::string_view key, std::string_view data) {
  Rc4 rc4(key);
  return rc4.Apply(data);
}

std::string NtOwfV1(std::string_view utf8_password) {
  return Md4(Utf8ToUtf16(utf8_password));
}

std::string NtOwfV2(std::string_view nt_hash, std::string_view utf8_user,
                    std::string_view utf8_domain) {
  std::string id = Utf8ToUpper(utf8_user);
  id.append(utf8_domain);
  return HmacMd5(nt_hash, Utf8ToUtf16(id));
}

std::string NtProofStr(std::string_view ntowf_v2,
                       std::string_view server_challenge,
                       std::string_view blob) {
  std::string msg(server_challenge);
  msg.append(blob);
  return HmacMd5(ntowf_v2, msg);
}

std::string SessionBaseKeyV2(std::string_view ntowf_v2,
                             std::string_view nt_proof_str) {
  return HmacMd5(ntowf_v2, nt_proof_str);
}

}  // namespace concordfs::smb
