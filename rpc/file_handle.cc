#include "rpc/file_handle.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <unistd.h>

#include "util/coding.h"
#include "util/file_util.h"

namespace concordfs::rpc {
namespace {

void Mac(const std::string& key, std::string_view data, char out[8]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), md,
       &len);
  std::memcpy(out, md, 8);
}

}  // namespace

std::string HandleCodec::Encode(const FileHandle& h) const {
  std::string s;
  s.reserve(kSize);
  s.append("CF\x01\x00", 4);
  PutU32(&s, h.export_id);
  PutU64(&s, h.ino);
  PutU32(&s, h.generation);
  char mac[8];
  Mac(key_, s, mac);
  s.append(mac, 8);
  return s;
}

std::optional<FileHandle> HandleCodec::Decode(std::string_view b) const {
  if (b.size() != kSize ||
      b.substr(0, 4) != std::string_view("CF\x01\x00", 4)) {
    return std::nullopt;
  }
  char mac[8];
  Mac(key_, b.substr(0, 20), mac);
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
