// NameCache: case-insensitive name lookup for SMB clients (Windows names
// are case-insensitive, case-preserving) over the case-sensitive backend.
//
// An exact lookup is tried first. Only when it misses is the directory's
// upper-cased name index consulted; the index is built once per directory
// and kept current from the vfs change events of every front end, so
// creating many files does not rescan the directory each time.
//
// Thread safety: all methods are thread-safe (one mutex; no vfs call is
// made while it is held except building an index).
#pragma once

#include <cstdint>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "vfs/vfs.h"

namespace concordfs::smb {

class NameCache {
 public:
  explicit NameCache(Vfs* vfs, size_t max_dirs = 256);
  ~NameCache();
  NameCache(const NameCache&) = delete;
  NameCache& operator=(const NameCache&) = delete;

  // Looks `name` up in `dir`: exactly, then ignoring case. ENOENT if
  // neither finds it. `stored` (optional) gets the name as stored.
  Result<Attr> Lookup(const OpContext& ctx, InodeId dir, std::string_view name,
                      std::string* stored = nullptr);

 private:
  struct Index {
    std::unordered_map<std::string, std::string> by_upper;  // UPPER -> name
    std::list<InodeId>::iterator lru;
  };
  void OnChange(const ChangeEvent& ev);
  // The stored name matching `upper` in `dir`, building the index if needed.
  bool Find(const OpContext& ctx, InodeId dir, const std::string& upper,
            std::string* actual);

  Vfs* vfs_;
  size_t max_dirs_;
  uint64_t token_ = 0;
  std::mutex mu_;
  std::unordered_map<InodeId, Index> dirs_;  // GUARDED_BY(mu_)
  std::list<InodeId> lru_;                   // GUARDED_BY(mu_), front = newest
};

}  // namespace concordfs::smb
