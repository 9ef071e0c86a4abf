// OpenFileTable: the handles front ends hold on open files and directories,
// and the per-inode open counts that keep unlinked files alive.
//
// A handle is a process-unique 64-bit number (never 0, never reused while the
// process runs). The table records the inode, the access mode granted at open
// and whether writes append. Thread-safe: one mutex, never held across I/O,
// taken after any inode stripe lock (see inode_locks.h).
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "metadata/records.h"

namespace concordfs {

struct OpenFile {
  InodeId ino = kInvalidInode;
  bool readable = false;
  bool writable = false;
  bool append = false;
  bool regular = false;  // a regular file (writes need no type check)
};

class OpenFileTable {
 public:
  uint64_t Add(const OpenFile& f) {
    std::lock_guard<std::mutex> l(mu_);
    uint64_t h = next_handle_++;
    files_.emplace(h, f);
    ++counts_[f.ino];
    return h;
  }
  // Removes `handle`; returns its file and the inode's remaining open count.
  std::optional<std::pair<OpenFile, uint32_t>> Remove(uint64_t handle) {
    std::lock_guard<std::mutex> l(mu_);
    auto it = files_.find(handle);
    if (it == files_.end()) return std::nullopt;
    OpenFile f = it->second;
    files_.erase(it);
    auto c = counts_.find(f.ino);
    uint32_t left = --c->second;
    if (left == 0) counts_.erase(c);
    return std::make_pair(f, left);
  }
  std::optional<OpenFile> Get(uint64_t handle) const {
    std::lock_guard<std::mutex> l(mu_);
    auto it = files_.find(handle);
    if (it == files_.end()) return std::nullopt;
    return it->second;
  }
  uint32_t Count(InodeId ino) const {
    std::lock_guard<std::mutex> l(mu_);
    auto it = counts_.find(ino);
    return it == counts_.end() ? 0 : it->second;
  }

 private:
  mutable std::mutex mu_;
  uint64_t next_handle_ = 1;                      // GUARDED_BY(mu_)
  std::unordered_map<uint64_t, OpenFile> files_;  // GUARDED_BY(mu_)
  std::unordered_map<InodeId, uint32_t> counts_;  // GUARDED_BY(mu_)
};

}  // namespace concordfs
