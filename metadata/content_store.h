// ContentStore: the bytes of regular files, addressed by inode id.
//
// The metadata store owns a file's size; the content store only holds data.
// A file that was never written has no content at all (created lazily), a
// read past the stored bytes returns fewer bytes than asked (the caller fills
// zeros up to the inode size), and holes read as zeros. Remove() is called
// when the last link and the last open are gone.
//
// Implementations are thread-safe and never hold a lock across I/O: the
// local-directory store keeps a bounded cache of open descriptors and does
// pread/pwrite outside its mutex.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "metadata/records.h"
#include "util/status.h"

namespace concordfs {

struct ContentSpace {
  uint64_t total_bytes = 0;
  uint64_t free_bytes = 0;   // free blocks (f_bfree)
  uint64_t avail_bytes = 0;  // free for unprivileged users (f_bavail)
  uint64_t block_size = 4096;
};

class ContentStore {
 public:
  virtual ~ContentStore() = default;

  // Reads up to `len` bytes at `off` into `buf`; returns how many bytes the
  // store holds there (0 at or past the stored end). Holes inside the stored
  // range read as zeros.
  virtual Result<size_t> Read(InodeId id, uint64_t off, size_t len,
                              char* buf) = 0;
  // An open descriptor of the stored bytes of `id` (offsets as for Read),
  // for sending them without a copy (sendfile); `keep` holds it open while
  // it lives. fd -1 when the store has no such descriptor (no content yet,
  // or a store that does not keep files): then use Read.
  struct FileRef {
    std::shared_ptr<const void> keep;
    int fd = -1;
  };
  virtual Result<FileRef> Ref(InodeId) { return FileRef{}; }
  // Makes the stored bytes of `id` one file of exactly `size` bytes (created
  // if missing; cut, or extended by a hole) and returns a descriptor of it,
  // for a front end that lets the kernel do the file's I/O itself (FUSE
  // passthrough). NotSupported from a store that does not keep files.
  virtual Result<FileRef> PrepareDirect(InodeId, uint64_t) {
    return Status::NotSupported("content store keeps no files");
  }
  // Forgets what the store remembers of `id` (its allocated size) after its
  // bytes were changed without it (direct I/O).
  virtual void Forget(InodeId) {}
  // Writes all of `iov` at `off` (scatter/gather). ENOSPC when full, with
  // no partial effect visible beyond what the OS already wrote.
  virtual Status Write(InodeId id, uint64_t off, const struct iovec* iov,
                       int iovcnt) = 0;
  Status Write(InodeId id, uint64_t off, std::string_view data) {
    struct iovec v = {const_cast<char*>(data.data()), data.size()};
    return Write(id, off, &v, 1);
  }
  // Sets the stored length (shrinking discards, growing makes a hole).
  virtual Status Truncate(InodeId id, uint64_t size) = 0;
  // Deallocates [off, off+len) so it reads as zeros; the length is unchanged.
  virtual Status PunchHole(InodeId id, uint64_t off, uint64_t len) = 0;
  // Reserves space for [off, off+len) (fallocate mode 0); ENOSPC when full.
  virtual Status Allocate(InodeId id, uint64_t off, uint64_t len) = 0;
  // SEEK_DATA / SEEK_HOLE within the stored bytes; ENXIO past the end.
  virtual Result<uint64_t> Seek(InodeId id, uint64_t off, bool data) = 0;
  // Durably stores the content of `id` (fdatasync).
  virtual Status Sync(InodeId id) = 0;
  // Drops the content; OK if there is none.
  virtual Status Remove(InodeId id) = 0;
  // Bytes actually allocated (for st_blocks).
  virtual Result<uint64_t> AllocatedBytes(InodeId id) = 0;
  // Every id that has content (fsck).
  virtual Status ForEachId(const std::function<void(InodeId)>& fn) = 0;
  virtual Result<ContentSpace> Space() = 0;
  virtual std::string Describe() const = 0;
};

// One sparse backing file per inode under `dir` (created if missing).
// `sync_writes`: fdatasync after every write (SyncPolicy::kAlways).
// `max_open_fds`: size of the descriptor cache.
Result<std::unique_ptr<ContentStore>> OpenLocalContentStore(
    const std::string& dir, bool sync_writes, size_t max_open_fds = 1024);
// Content held in memory.
std::unique_ptr<ContentStore> NewMemoryContentStore();

}  // namespace concordfs
