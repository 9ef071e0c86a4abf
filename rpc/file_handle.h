// NFS file handles: (export id, inode id, generation), sealed with a keyed
// MAC so a client cannot forge a handle to a file it was never given.
//
// Layout (28 bytes): "CF" | version 1 | 0 | export id (4) | inode id (8) |
// generation (4) | MAC (8) — big-endian. The MAC is the first 8 bytes of
// HMAC-SHA256(key, first 20 bytes). The key is kept in the data directory,
// so handles survive restarts. A handle of the wrong size, layout or MAC is
// "bad" (NFS3ERR_BADHANDLE); a well-formed handle to an inode that no longer
// exists is "stale" (decided by the caller, which looks the inode up).
// The HMAC's inner and outer key blocks are hashed once at construction
// (every call then hashes two short blocks), since handles are sealed and
// checked on every NFS/NLM call.
// Immutable after construction: thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "metadata/records.h"
#include "util/status.h"

namespace concordfs::rpc {

struct FileHandle {
  uint32_t export_id = 0;
  InodeId ino = kInvalidInode;
  uint32_t generation = 0;
};

class HandleCodec {
 public:
  static constexpr size_t kSize = 28;
  static constexpr size_t kKeySize = 32;
  explicit HandleCodec(std::string key);
  ~HandleCodec();
  HandleCodec(const HandleCodec&) = delete;
  HandleCodec& operator=(const HandleCodec&) = delete;
  std::string Encode(const FileHandle& h) const;
  std::optional<FileHandle> Decode(std::string_view bytes) const;

 private:
  struct Keyed;  // SHA-256 states after the inner and outer key blocks
  void Mac(std::string_view data, char out[8]) const;
  std::unique_ptr<Keyed> keyed_;
};

// Reads the handle key from `path`, creating it (random, mode 0600) when
// missing. EUCLEAN if the file exists with the wrong size.
Result<std::string> LoadOrCreateHandleKey(const std::string& path);

}  // namespace concordfs::rpc
