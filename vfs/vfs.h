// Vfs: the protocol-neutral file operations every front end calls (FUSE, NFS,
// SMB), with POSIX semantics and exact errno values.
//
// Ownership: a Vfs borrows a MetadataStore and a ContentStore (which must
// outlive it) and owns the open-file table, the per-inode locks and the list
// of change listeners.
//
// Thread safety: every method is thread-safe. Operations on one inode (and
// the directories a namespace operation touches) are serialized by striped
// per-inode mutexes taken in a fixed order; data reads and writes to the
// content store happen outside any lock. Each metadata change is one atomic
// MetadataBatch. After it commits, listeners get a ChangeEvent on the calling
// thread, outside every vfs lock; listeners must not block (front ends post
// the event to their own executors).
//
// Permissions follow the Linux kernel's rules: owner/group/other classes with
// supplementary groups, root overrides (execute needs some x bit), sticky
// directories, setgid directories, setuid/setgid clearing on write and chown.
// Callers apply their umask before calling (the kernel does for FUSE).
#pragma once

#include <sys/stat.h>
#include <sys/uio.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "metadata/content_store.h"
#include "metadata/metadata_store.h"
#include "util/clock.h"
#include "util/status.h"
#include "vfs/credential.h"

namespace concordfs {

class OpenFileTable;
class InodeLocks;

// Attributes as front ends report them.
struct Attr {
  Inode inode;
  uint64_t used_bytes = 0;  // bytes allocated (st_blocks * 512)
};

enum class AtimePolicy { kRelatime, kStrict, kNoatime };
bool ParseAtimePolicy(std::string_view s, AtimePolicy* out);

struct VfsOptions {
  AtimePolicy atime = AtimePolicy::kRelatime;
  // Largest file size accepted (EFBIG beyond).
  uint64_t max_file_size = (1ULL << 63) - 1;
  // Reported by StatFs as the inode capacity.
  uint64_t max_inodes = 1ULL << 32;
  Clock* clock = nullptr;  // nullptr: Clock::Default()
  // How long a metadata sync waits for operations in their locked sections
  // to finish their writes, so one sync covers them too (GroupCommit).
  std::chrono::microseconds commit_wait{500};
};

// Access mask bits for Access() (same values as R_OK/W_OK/X_OK).
inline constexpr int kMayRead = 4;
inline constexpr int kMayWrite = 2;
inline constexpr int kMayExec = 1;

// SetAttr: only fields that are set are changed.
struct SetAttrRequest {
  std::optional<uint32_t> mode;  // permission bits (07777)
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
  std::optional<uint64_t> size;
  std::optional<NanoTime> atime;  // explicit time
  std::optional<NanoTime> mtime;
  bool atime_now = false;  // UTIME_NOW
  bool mtime_now = false;
  std::optional<NanoTime> btime;  // SMB may set the birth time
  std::optional<NanoTime> ctime;  // and the change time (ChangeTime)
  std::optional<uint32_t> dos_attrs;
  std::optional<uint64_t> alloc_size;  // SMB allocation size hint
  // Open file the change is made through (ftruncate); 0 = by path.
  uint64_t handle = 0;
};

// Rename flags (values of RENAME_NOREPLACE / RENAME_EXCHANGE).
inline constexpr unsigned kRenameNoReplace = 1;
inline constexpr unsigned kRenameExchange = 2;

// Xattr set flags (values of XATTR_CREATE / XATTR_REPLACE).
inline constexpr int kXattrCreate = 1;
inline constexpr int kXattrReplace = 2;
inline constexpr size_t kXattrNameMax = 255;
inline constexpr size_t kXattrValueMax = 65536;

struct FsStats {
  uint64_t block_size = 4096;
  uint64_t total_bytes = 0;
  uint64_t free_bytes = 0;
  uint64_t avail_bytes = 0;
  uint64_t total_inodes = 0;
  uint64_t free_inodes = 0;
  uint32_t name_max = kMaxNameLength;
};

struct ChangeEvent {
  enum class Kind {
    kAttr,          // attributes of `ino` changed
    kData,          // data (and attributes) of `ino` changed
    kEntryAdded,    // `name` appeared in directory `parent`
    kEntryRemoved,  // `name` disappeared from directory `parent`
  };
  Kind kind;
  InodeId ino = kInvalidInode;
  InodeId parent = kInvalidInode;
  std::string name;
  Origin origin = Origin::kInternal;
};
using ChangeListener = std::function<void(const ChangeEvent&)>;

// An opened file, as Open/Create return it.
struct OpenResult {
  uint64_t handle = 0;
  Attr attr;
};

// One entry of ReadDir. `cookie` positions the entry: pass it back to
// continue after it. "." has cookie 1 and ".." cookie 2.
struct ReadDirEntry {
  std::string name;
  InodeId ino = kInvalidInode;
  FileType type = FileType::kRegular;
  uint64_t cookie = 0;
  std::optional<Attr> attr;  // filled when ReadDir is asked for attributes
};

class GroupCommit;

class Vfs {
 public:
  Vfs(MetadataStore* md, ContentStore* content, VfsOptions opts = {});
  ~Vfs();
  Vfs(const Vfs&) = delete;
  Vfs& operator=(const Vfs&) = delete;

  // Reclaims files that were unlinked while open when the process stopped.
  // Call once at start, before serving. Returns how many were reclaimed.
  Result<uint64_t> Recover();

  // ---- change events ----
  uint64_t Subscribe(ChangeListener listener);
  void Unsubscribe(uint64_t token);

  // ---- attributes and names ----
  Result<Attr> GetAttr(InodeId ino);
  // Needs search (x) permission on `parent`. "." and ".." are resolved.
  Result<Attr> Lookup(const OpContext& ctx, InodeId parent,
                      std::string_view name);
  Result<Attr> SetAttr(const OpContext& ctx, InodeId ino,
                       const SetAttrRequest& req);
  Status Access(const OpContext& ctx, InodeId ino, int mask);
  Result<std::string> ReadLink(const OpContext& ctx, InodeId ino);

  // ---- namespace ----
  // `mode` includes the file type bits (S_IFREG, S_IFIFO, S_IFCHR, ...).
  Result<Attr> Mknod(const OpContext& ctx, InodeId parent,
                     std::string_view name, uint32_t mode, uint64_t rdev);
  Result<Attr> Mkdir(const OpContext& ctx, InodeId parent,
                     std::string_view name, uint32_t mode);
  Result<Attr> Symlink(const OpContext& ctx, InodeId parent,
                       std::string_view name, std::string_view target);
  Result<Attr> Link(const OpContext& ctx, InodeId ino, InodeId new_parent,
                    std::string_view new_name);
  Status Unlink(const OpContext& ctx, InodeId parent, std::string_view name);
  Status Rmdir(const OpContext& ctx, InodeId parent, std::string_view name);
  Status Rename(const OpContext& ctx, InodeId parent, std::string_view name,
                InodeId new_parent, std::string_view new_name,
                unsigned flags = 0);

  // ---- open files and data ----
  // `flags`: O_RDONLY/O_WRONLY/O_RDWR plus O_APPEND, O_TRUNC. Directories
  // open read-only (EISDIR otherwise).
  Result<OpenResult> Open(const OpContext& ctx, InodeId ino, int flags);
  // Creates a regular file and opens it. O_EXCL: EEXIST if the name exists;
  // without it an existing file is opened (with the usual checks).
  Result<OpenResult> Create(const OpContext& ctx, InodeId parent,
                            std::string_view name, uint32_t mode, int flags);
  // Closes a handle. The last close of an unlinked file reclaims it.
  Status Release(uint64_t handle);

  // Reads up to `len` bytes at `off`. With a handle, access was checked at
  // open; with handle 0 (stateless NFS) read permission is checked now.
  // Holes and the range between stored data and the size read as zeros.
  Result<std::string> Read(const OpContext& ctx, InodeId ino, uint64_t handle,
                           uint64_t off, size_t len);
  // The same into `buf` (at least `len` bytes); returns the bytes read (0 at
  // or past the end) and, in `size`, the file size seen.
  Result<size_t> ReadInto(const OpContext& ctx, InodeId ino, uint64_t handle,
                          uint64_t off, size_t len, char* buf,
                          uint64_t* size = nullptr);
  // The same checks without reading: returns how many bytes a read would
  // return and sets `ref` to the content store's descriptor of the file, so
  // the caller sends those bytes from offset `off` itself (sendfile); bytes
  // past the stored end are zeros. `ref->fd` is -1 when the store has no
  // descriptor to offer: then use ReadInto.
  Result<size_t> ReadRef(const OpContext& ctx, InodeId ino, uint64_t handle,
                         uint64_t off, size_t len, ContentStore::FileRef* ref,
                         uint64_t* size = nullptr);
  // Writes `iov` at `off` (or at the end for O_APPEND handles) and returns
  // the attributes after the write.
  Result<Attr> Write(const OpContext& ctx, InodeId ino, uint64_t handle,
                     uint64_t off, const struct iovec* iov, int iovcnt);
  Result<Attr> Write(const OpContext& ctx, InodeId ino, uint64_t handle,
                     uint64_t off, std::string_view data);
  // Makes data and attributes of `ino` durable (also under SyncPolicy kNone:
  // an explicit fsync is always honoured). `data_only` is fdatasync.
  Status Fsync(InodeId ino, bool data_only);

  // fallocate: mode 0 (allocate, extending the size), FALLOC_FL_KEEP_SIZE,
  // and FALLOC_FL_PUNCH_HOLE|FALLOC_FL_KEEP_SIZE; other modes EOPNOTSUPP.
  Result<Attr> Fallocate(const OpContext& ctx, InodeId ino, uint64_t handle,
                         int mode, uint64_t off, uint64_t len);
  // lseek SEEK_DATA / SEEK_HOLE (whence); ENXIO at or past the end.
  Result<uint64_t> SeekData(InodeId ino, uint64_t off, int whence);
  // Copies `len` bytes; returns how many were copied (short at EOF).
  Result<uint64_t> CopyFileRange(const OpContext& ctx, InodeId src,
                                 uint64_t src_handle, uint64_t src_off,
                                 InodeId dst, uint64_t dst_handle,
                                 uint64_t dst_off, uint64_t len);

  // Entries of directory `dir` after `cookie` (0 = from the start), until
  // `fn` returns false. Needs read permission unless `handle` is an open
  // directory handle. With `plus`, each entry carries its attributes.
  Status ReadDir(const OpContext& ctx, InodeId dir, uint64_t handle,
                 uint64_t cookie, bool plus,
                 const std::function<bool(const ReadDirEntry&)>& fn);

  // ---- direct I/O (FUSE passthrough) ----
  // A front end that lets the kernel read and write a regular file's content
  // file itself (FUSE passthrough) registers the file first: BeginDirect
  // makes the content file hold exactly the inode's size and returns a
  // descriptor of it. Until the matching EndDirect, every attribute the vfs
  // reports or works from takes the size and allocated bytes from the
  // content file, and, once the file was written there, its mtime (ctime
  // follows); such a write also clears setuid/setgid as any write does.
  // A SetAttr starts over from what it recorded (explicit times and modes
  // stick until the next direct write). Fsync and the last EndDirect record
  // the file's attributes in the metadata store. Calls nest per inode.
  Result<ContentStore::FileRef> BeginDirect(InodeId ino);
  void EndDirect(InodeId ino);

  // ---- extended attributes ----
  Status SetXattr(const OpContext& ctx, InodeId ino, std::string_view name,
                  std::string_view value, int flags);
  Result<std::string> GetXattr(const OpContext& ctx, InodeId ino,
                               std::string_view name);
  Result<std::vector<std::string>> ListXattr(const OpContext& ctx, InodeId ino);
  Status RemoveXattr(const OpContext& ctx, InodeId ino, std::string_view name);

  // ---- filesystem ----
  Result<FsStats> StatFs();
  // Number of open handles on `ino` (tests, admin).
  uint32_t OpenCount(InodeId ino) const;
  // Files whose last link went while nobody had them open are reclaimed
  // (content, inode record, orphan key) by a background thread after the
  // operation has replied; their orphan key, written with the unlink, makes
  // a crash before that only delay the reclaim to the next start. Until
  // then GetAttr reports them gone. Returns once everything queued so far
  // is reclaimed (tests; the destructor does the same).
  void FlushReclaims();

  MetadataStore* metadata() { return md_; }
  ContentStore* content() { return content_; }

 private:
  NanoTime Now() const { return clock_->Now(); }
  Result<Attr> MakeAttr(const Inode& inode);
  // Applies what direct I/O changed to `n` (see BeginDirect); sets *used to
  // the allocated bytes when given. False if `n` is not under direct I/O.
  bool OverlayDirect(Inode* n, uint64_t* used = nullptr);
  // Records the direct I/O overlay of `ino` in the store (caller holds the
  // inode's lock); *changed tells whether the record changed.
  Status FoldDirect(InodeId ino, bool* changed = nullptr);
  // The current content mtime becomes the overlay's base (after SetAttr).
  void RebaseDirect(InodeId ino);
  // fstat of the content file of `ino` if it is under direct I/O (and the
  // overlay's base mtime); false otherwise.
  bool StatDirect(InodeId ino, struct stat* st, NanoTime* base = nullptr);
  bool IsDirect(InodeId ino);
  // The inode record, or ENOENT for one that is unlinked and not open
  // (waiting for the background reclaimer: gone for every caller).
  Result<Inode> LiveRecord(InodeId ino);
  // LiveRecord with the direct I/O overlay applied (what callers work from).
  Result<Inode> LiveInode(InodeId ino);
  Result<Attr> CreateNode(const OpContext& ctx, InodeId parent,
                          std::string_view name, FileType type, uint32_t mode,
                          uint64_t rdev, std::string_view symlink_target,
                          uint64_t* open_handle, int open_flags);
  Status RemoveName(const OpContext& ctx, InodeId parent, std::string_view name,
                    bool dir);
  Status ReclaimIfUnused(InodeId ino);
  Status ReclaimNow(InodeId ino);
  // Hands `ino` (nlink 0, orphan key durable as far as the sync policy
  // goes) to the background reclaimer.
  void QueueReclaim(InodeId ino);
  void ReclaimLoop();
  void ReclaimBatch(const std::vector<InodeId>& ids);
  Status UpdateAtime(InodeId ino);
  // ReadInto's checks; the inode to read from.
  Result<Inode> ReadableInode(const OpContext& ctx, InodeId ino,
                              uint64_t handle);
  // Waits until the changes of `ctx`'s operation are durable when its front
  // end needs that before replying (vfs_internal::SyncedFor). Called after
  // the inode locks are released, so an fsync never holds them.
  Status CommitFor(const OpContext& ctx);
  Status CheckSetAttr(const OpContext& ctx, const Inode& inode,
                      const SetAttrRequest& req);
  void Emit(const ChangeEvent& ev);
  void Emit(ChangeEvent::Kind kind, InodeId ino, InodeId parent,
            std::string_view name, Origin origin);

  MetadataStore* md_;
  ContentStore* content_;
  VfsOptions opts_;
  Clock* clock_;
  std::unique_ptr<InodeLocks> locks_;
  std::unique_ptr<GroupCommit> commit_;  // syncs for CommitFor and Fsync
  struct Reclaimer;
  std::unique_ptr<Reclaimer> reclaimer_;
  std::unique_ptr<OpenFileTable> open_files_;
  std::mutex rename_mu_;  // serializes directory moves (ancestry checks)

  mutable std::mutex listeners_mu_;
  std::vector<std::pair<uint64_t, ChangeListener>> listeners_;
  uint64_t next_token_ = 1;  // GUARDED_BY(listeners_mu_)
  // Set while any listener exists, so the hot path skips the mutex.
  std::atomic<bool> has_listeners_{false};
  // Files under direct I/O (BeginDirect): the content file, its users and
  // the content mtime last recorded (base: a different one means written).
  struct DirectFile {
    ContentStore::FileRef ref;
    uint32_t users = 0;
    NanoTime base_mtime = 0;
  };
  std::mutex direct_mu_;
  std::unordered_map<InodeId, DirectFile> direct_;  // GUARDED_BY(direct_mu_)
  std::atomic<size_t> direct_count_{0};  // direct_.size(), read lock-free
  // Live inode records (counted by Recover, kept current after), for StatFs.
  std::atomic<int64_t> live_inodes_{0};
};

}  // namespace concordfs
