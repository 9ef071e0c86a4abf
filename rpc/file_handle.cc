#include "rpc/file_handle.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "util/coding.h"
#include "util/file_util.h"

namespace concordfs::rpc {

// HMAC-SHA256(key, m) = H((K ^ opad) || H((K ^ ipad) || m)), K the key
// padded to one block: the two key blocks are hashed here once, and each
// MAC continues from copies of those states.
struct HandleCodec::Keyed {
  EVP_MD_CTX* inner = nullptr;
  EVP_MD_CTX* outer = nullptr;
  ~Keyed() {
    EVP_MD_CTX_free(inner);
    EVP_MD_CTX_free(outer);
  }
};

HandleCodec::HandleCodec(std::string key) : keyed_(std::make_unique<Keyed>()) {
  constexpr size_t kBlock = 64;  // SHA-256
  unsigned char k0[kBlock] = {};
  if (key.size() > kBlock) {
    unsigned int n = 0;
    EVP_Digest(key.data(), key.size(), k0, &n, EVP_sha256(), nullptr);
  } else {
    std::memcpy(k0, key.data(), key.size());
  }
  unsigned char ipad[kBlock], opad[kBlock];
  for (size_t i = 0; i < kBlock; ++i) {
    ipad[i] = k0[i] ^ 0x36;
    opad[i] = k0[i] ^ 0x5c;
  }
  keyed_->inner = EVP_MD_CTX_new();
  keyed_->outer = EVP_MD_CTX_new();
  bool ok = keyed_->inner && keyed_->outer &&
            EVP_DigestInit_ex(keyed_->inner, EVP_sha256(), nullptr) == 1 &&
            EVP_DigestUpdate(keyed_->inner, ipad, kBlock) == 1 &&
            EVP_DigestInit_ex(keyed_->outer, EVP_sha256(), nullptr) == 1 &&
            EVP_DigestUpdate(keyed_->outer, opad, kBlock) == 1;
  OPENSSL_cleanse(k0, sizeof(k0));
  OPENSSL_cleanse(ipad, sizeof(ipad));
  OPENSSL_cleanse(opad, sizeof(opad));
  if (!ok) std::abort();  // no SHA-256: nothing can be served safely
}

HandleCodec::~HandleCodec() = default;

void HandleCodec::Mac(std::string_view data, char out[8]) const {
  // One scratch context per thread, reused: no allocation per MAC beyond
  // what copying a digest state needs.
  struct Scratch {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ~Scratch() { EVP_MD_CTX_free(ctx); }
  };
  thread_local Scratch s;
  unsigned char inner[EVP_MAX_MD_SIZE], md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  bool ok = s.ctx && EVP_MD_CTX_copy_ex(s.ctx, keyed_->inner) == 1 &&
            EVP_DigestUpdate(s.ctx, data.data(), data.size()) == 1 &&
            EVP_DigestFinal_ex(s.ctx, inner, &n) == 1 &&
            EVP_MD_CTX_copy_ex(s.ctx, keyed_->outer) == 1 &&
            EVP_DigestUpdate(s.ctx, inner, n) == 1 &&
            EVP_DigestFinal_ex(s.ctx, md, &n) == 1;
  if (!ok) {
    // Never a valid MAC: the handle is refused (Decode) or unusable.
    std::memset(out, 0, 8);
    RAND_bytes(reinterpret_cast<unsigned char*>(out), 8);
    return;
  }
  std::memcpy(out, md, 8);
}

std::string HandleCodec::Encode(const FileHandle& h) const {
  std::string s;
  s.reserve(kSize);
  s.append("CF\x01\x00", 4);
  PutU32(&s, h.export_id);
  PutU64(&s, h.ino);
  PutU32(&s, h.generation);
  char mac[8];
  Mac(s, mac);
  s.append(mac, 8);
  return s;
}

std::optional<FileHandle> HandleCodec::Decode(std::string_view b) const {
  if (b.size() != kSize ||
      b.substr(0, 4) != std::string_view("CF\x01\x00", 4)) {
    return std::nullopt;
  }
  char mac[8];
  Mac(b.substr(0, 20), mac);
  if (CRYPTO_memcmp(mac, b.data() + 20, 8) != 0) return std::nullopt;
  Decoder d(b.substr(4));
  FileHandle h;
  h.export_id = d.U32();
  h.ino = d.U64();
  h.generation = d.U32();
  return h;
}

Result<std::string> LoadOrCreateHandleKey(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    std::string key(HandleCodec::kKeySize + 1, '\0');
    ssize_t n = ::read(fd, key.data(), key.size());
    ::close(fd);
    if (n != static_cast<ssize_t>(HandleCodec::kKeySize)) {
      return Status::Corruption("NFS handle key " + path + " has " +
                                std::to_string(n) + " bytes, expected 32");
    }
    key.resize(HandleCodec::kKeySize);
    return key;
  }
  if (errno != ENOENT) return Status::Error(errno, "open " + path);
  std::string key(HandleCodec::kKeySize, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()),
                 static_cast<int>(key.size())) != 1) {
    return Status::Io("no random bytes for the NFS handle key");
  }
  CFS_RETURN_IF_ERROR(WriteFileAtomically(path, key));
  return key;
}

}  // namespace concordfs::rpc
