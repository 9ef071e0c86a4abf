// The in-memory content store, for tests and throwaway servers.
//
// Content is kept as sparse 4 KiB pages so that a write at a huge offset
// (or a truncate that grows a file to terabytes) costs one page, not the
// whole range, matching what a sparse local file costs. Invariant: bytes of
// a page past the file size are zero and no page lies wholly past it, so
// growing a file never exposes old data.
#include <algorithm>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>
#include <vector>

#include "metadata/content_store.h"

namespace concordfs {
namespace {

constexpr uint64_t kMaxFileSize = std::numeric_limits<int64_t>::max();
constexpr uint64_t kPageSize = 4096;
constexpr uint64_t kTotalBytes = uint64_t{1} << 40;  // reported capacity

struct MemFile {
  uint64_t size = 0;
  std::map<uint64_t, std::string> pages;  // page index -> kPageSize bytes
};

Status Efbig(std::string_view what, InodeId id) {
  return Status::Error(EFBIG, std::string(what) + " beyond max file size, " +
                                  "memory inode " + std::to_string(id));
}

class MemoryContentStore final : public ContentStore {
 public:
  Result<size_t> Read(InodeId id, uint64_t off, size_t len, char* buf) override;
  Status Write(InodeId id, uint64_t off, const struct iovec* iov,
               int iovcnt) override;
  Status Truncate(InodeId id, uint64_t size) override;
  Status PunchHole(InodeId id, uint64_t off, uint64_t len) override;
  Status Allocate(InodeId id, uint64_t off, uint64_t len) override;
  Result<uint64_t> Seek(InodeId id, uint64_t off, bool data) override;
  Status Sync(InodeId) override { return Status::Ok(); }
  Status Remove(InodeId id) override;
  Result<uint64_t> AllocatedBytes(InodeId id) override;
  Status ForEachId(const std::function<void(InodeId)>& fn) override;
  Result<ContentSpace> Space() override;
  std::string Describe() const override { return "memory"; }

 private:
  // Zeroes [off, end) of `f`, releasing pages that become entirely zero.
  void ZeroRange(MemFile& f, uint64_t off, uint64_t end);

  std::mutex mu_;
  std::map<InodeId, MemFile> files_;
  uint64_t used_pages_ = 0;
};

Result<size_t> MemoryContentStore::Read(InodeId id, uint64_t off, size_t len,
                                        char* buf) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = files_.find(id);
  if (it == files_.end() || off >= it->second.size || len == 0) {
    return size_t{0};
  }
  const MemFile& f = it->second;
  size_t n = static_cast<size_t>(std::min<uint64_t>(len, f.size - off));
  uint64_t end = off + n;
  std::memset(buf, 0, n);
  for (auto p = f.pages.lower_bound(off / kPageSize);
       p != f.pages.end() && p->first * kPageSize < end; ++p) {
    uint64_t start = p->first * kPageSize;
    uint64_t lo = std::max(off, start);
    uint64_t hi = std::min(end, start + kPageSize);
    std::memcpy(buf + (lo - off), p->second.data() + (lo - start), hi - lo);
  }
  return n;
}

Status MemoryContentStore::Write(InodeId id, uint64_t off,
                                 const struct iovec* iov, int iovcnt) {
  if (iovcnt < 0 || (iovcnt > 0 && iov == nullptr)) {
    return Status::Invalid("bad iovec");
  }
  uint64_t total = 0;
  for (int i = 0; i < iovcnt; ++i) {
    if (iov[i].iov_len > kMaxFileSize - total) return Efbig("write", id);
    total += iov[i].iov_len;
  }
  if (off > kMaxFileSize || total > kMaxFileSize - off) {
    return Efbig("write", id);
  }
  if (total == 0) return Status::Ok();  // like pwrite(2): no create, no grow
  std::lock_guard<std::mutex> lock(mu_);
  MemFile& f = files_[id];
  uint64_t pos = off;
  for (int i = 0; i < iovcnt; ++i) {
    const char* src = static_cast<const char*>(iov[i].iov_base);
    uint64_t left = iov[i].iov_len;
    while (left > 0) {
      uint64_t index = pos / kPageSize;
      uint64_t in_page = pos % kPageSize;
      uint64_t chunk = std::min(left, kPageSize - in_page);
      auto [p, added] = f.pages.try_emplace(index);
      if (added) {
        p->second.assign(kPageSize, '\0');
        ++used_pages_;
      }
      std::memcpy(p->second.data() + in_page, src, chunk);
      src += chunk;
      pos += chunk;
      left -= chunk;
    }
  }
  f.size = std::max(f.size, pos);
  return Status::Ok();
}

void MemoryContentStore::ZeroRange(MemFile& f, uint64_t off, uint64_t end) {
  auto p = f.pages.lower_bound(off / kPageSize);
  while (p != f.pages.end() && p->first * kPageSize < end) {
    uint64_t start = p->first * kPageSize;
    uint64_t lo = std::max(off, start) - start;
    uint64_t hi = std::min(end, start + kPageSize) - start;
    if (lo == 0 && hi == kPageSize) {
      p = f.pages.erase(p);
      --used_pages_;
    } else {
      std::memset(p->second.data() + lo, 0, hi - lo);
      ++p;
    }
  }
}

Status MemoryContentStore::Truncate(InodeId id, uint64_t size) {
  if (size > kMaxFileSize) return Efbig("truncate", id);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = files_.find(id);
  if (it == files_.end()) {
    if (size > 0) files_[id].size = size;
    return Status::Ok();
  }
  MemFile& f = it->second;
  if (size < f.size) ZeroRange(f, size, f.size);
  f.size = size;
  return Status::Ok();
}

Status MemoryContentStore::PunchHole(InodeId id, uint64_t off, uint64_t len) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = files_.find(id);
  if (it == files_.end() || off >= it->second.size || len == 0) {
    return Status::Ok();
  }
  MemFile& f = it->second;
  ZeroRange(f, off, off + std::min(len, f.size - off));
  return Status::Ok();
}

Status MemoryContentStore::Allocate(InodeId id, uint64_t off, uint64_t len) {
  if (off > kMaxFileSize || len > kMaxFileSize - off) {
    return Efbig("allocate", id);
  }
  if (len == 0) return Status::Ok();
  std::lock_guard<std::mutex> lock(mu_);
  // Nothing is reserved for real, but refuse what could never fit, as a
  // disk would.
  if (len > kTotalBytes - std::min(kTotalBytes, used_pages_ * kPageSize)) {
    return Status::Error(ENOSPC,
                         "allocate in memory inode " + std::to_string(id));
  }
  MemFile& f = files_[id];
  f.size = std::max(f.size, off + len);  // mode 0 extends, as fallocate(2)
  return Status::Ok();
}

Result<uint64_t> MemoryContentStore::Seek(InodeId id, uint64_t off, bool data) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = files_.find(id);
  if (it == files_.end() || off >= it->second.size) {
    return Status::Error(ENXIO,
                         "seek past end of memory inode " + std::to_string(id));
  }
  // Like the kernel's generic fallback: everything stored is data and the
  // only hole is the implicit one at the end.
  return data ? off : it->second.size;
}

Status MemoryContentStore::Remove(InodeId id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = files_.find(id);
  if (it == files_.end()) return Status::Ok();
  used_pages_ -= it->second.pages.size();
  files_.erase(it);
  return Status::Ok();
}

Result<uint64_t> MemoryContentStore::AllocatedBytes(InodeId id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = files_.find(id);
  if (it == files_.end()) return uint64_t{0};
  return static_cast<uint64_t>(it->second.pages.size()) * kPageSize;
}

Status MemoryContentStore::ForEachId(const std::function<void(InodeId)>& fn) {
  std::vector<InodeId> ids;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ids.reserve(files_.size());
    for (const auto& [id, f] : files_) ids.push_back(id);
  }
  // Called without the mutex so `fn` may use the store.
  for (InodeId id : ids) fn(id);
  return Status::Ok();
}

Result<ContentSpace> MemoryContentStore::Space() {
  std::lock_guard<std::mutex> lock(mu_);
  ContentSpace s;
  s.total_bytes = kTotalBytes;
  s.free_bytes = kTotalBytes - std::min(kTotalBytes, used_pages_ * kPageSize);
  s.avail_bytes = s.free_bytes;
  s.block_size = kPageSize;
  return s;
}

}  // namespace

std::unique_ptr<ContentStore> NewMemoryContentStore() {
  return std::make_unique<MemoryContentStore>();
}

}  // namespace concordfs
