// The local-directory content store: one sparse backing file per inode.
//
// Layout: <dir>/<low byte of id, 2 hex>/<id, 16 hex>. The fan-out keeps
// directories small enough for fast lookups even with millions of files.
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <list>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "metadata/content_store.h"

namespace concordfs {
namespace {

// off_t is signed, so this is the largest offset the kernel accepts at all.
constexpr uint64_t kMaxFileSize = std::numeric_limits<int64_t>::max();
// Linux never transfers more than ~2 GiB per call; asking for less keeps
// every request well inside ssize_t.
constexpr size_t kMaxIoChunk = size_t{1} << 30;

Status ErrnoStatus(int err, std::string_view what, std::string_view path) {
  std::string msg(what);
  msg += ' ';
  msg += path;
  return Status::Error(err, msg);
}

// Owns one descriptor. Shared so that evicting it from the cache never closes
// it under a thread that is still doing I/O on it.
class OpenFile {
 public:
  OpenFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~OpenFile() { ::close(fd_); }
  OpenFile(const OpenFile&) = delete;
  OpenFile& operator=(const OpenFile&) = delete;

  int fd() const { return fd_; }
  const std::string& path() const { return path_; }

 private:
  int fd_;
  std::string path_;
};
using FilePtr = std::shared_ptr<OpenFile>;

// Parses exactly `len` lowercase hex digits (the only form we write).
bool ParseHex(std::string_view s, size_t len, uint64_t* out) {
  if (s.size() != len) return false;
  uint64_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else {
      return false;
    }
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  *out = v;
  return true;
}

bool IsRegularFile(int dirfd, const struct dirent* e) {
  if (e->d_type == DT_REG) return true;
  if (e->d_type != DT_UNKNOWN) return false;
  struct stat st;
  return ::fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
         S_ISREG(st.st_mode);
}

class LocalContentStore final : public ContentStore {
 public:
  LocalContentStore(std::string dir, bool sync_writes, size_t max_open_fds)
      : dir_(std::move(dir)),
        sync_writes_(sync_writes),
        max_open_fds_(max_open_fds) {}

  Result<size_t> Read(InodeId id, uint64_t off, size_t len, char* buf) override;
  Status Write(InodeId id, uint64_t off, const struct iovec* iov,
               int iovcnt) override;
  Result<FileRef> Ref(InodeId id) override;
  Result<FileRef> PrepareDirect(InodeId id, uint64_t size) override;
  void Forget(InodeId id) override { Changed(id); }
  Status Truncate(InodeId id, uint64_t size) override;
  Status PunchHole(InodeId id, uint64_t off, uint64_t len) override;
  Status Allocate(InodeId id, uint64_t off, uint64_t len) override;
  Result<uint64_t> Seek(InodeId id, uint64_t off, bool data) override;
  Status Sync(InodeId id) override;
  Status Remove(InodeId id) override;
  Result<uint64_t> AllocatedBytes(InodeId id) override;
  Status ForEachId(const std::function<void(InodeId)>& fn) override;
  Result<ContentSpace> Space() override;
  std::string Describe() const override {
    return "local:" + dir_ + (sync_writes_ ? " (sync writes)" : "");
  }

 private:
  using LruList = std::list<std::pair<InodeId, FilePtr>>;

  std::string FanoutDir(InodeId id) const;
  std::string PathFor(InodeId id) const;
  // The descriptor for `id`. Without `create`, a missing file yields nullptr
  // (callers treat it as empty content).
  Result<FilePtr> Get(InodeId id, bool create);
  int OpenOnce(const std::string& path, InodeId id, bool create);
  // Closes every cached descriptor not in use (after EMFILE/ENFILE).
  void DropCache();
  Status WriteAll(const OpenFile& f, uint64_t off, std::vector<iovec> iov);
  // ftruncate(2), retried on EINTR.
  static Status SetLength(const OpenFile& f, uint64_t size);

  const std::string dir_;
  const bool sync_writes_;
  const size_t max_open_fds_;

  std::mutex mu_;
  LruList lru_;  // most recently used first
  std::unordered_map<InodeId, LruList::iterator> index_;
  // Bumped by every Remove() after its unlink: a descriptor opened before
  // the bump may name an unlinked file and must not enter the cache.
  uint64_t remove_epoch_ = 0;
  // Ids known to have no file (an open without create found none), so
  // attribute reads of never-written files (st_blocks) skip the failing
  // open(2). A create erases its id and bumps create_epoch_ after its open
  // succeeded; a lookup that saw ENOENT records its id only if no create
  // finished since it started, so a file that exists is never listed.
  std::unordered_set<InodeId> absent_;
  uint64_t create_epoch_ = 0;
  static constexpr size_t kMaxAbsent = 1 << 16;  // then forgotten at once
  // AllocatedBytes answers remembered until the file next changes, so
  // listing a directory with attributes (READDIRPLUS through FUSE and NFS)
  // stats each content file once, not at every listing. Every change erases
  // its id after its system call and bumps alloc_epoch_; a stat that
  // started before a change anywhere is not remembered.
  std::unordered_map<InodeId, uint64_t> allocated_;
  uint64_t alloc_epoch_ = 0;
  static constexpr size_t kMaxAllocated = 1 << 18;  // then forgotten at once

  // Forgets what AllocatedBytes knew of `id`; called once a change is made.
  void Changed(InodeId id) {
    std::lock_guard<std::mutex> lock(mu_);
    ChangedLocked(id);
  }
  void ChangedLocked(InodeId id) {  // with mu_ held
    ++alloc_epoch_;
    allocated_.erase(id);
  }
  struct ChangeScope {  // calls Changed(id) when the mutating call returns
    LocalContentStore* store;
    InodeId id;
    ~ChangeScope() { store->Changed(id); }
  };
};

std::string LocalContentStore::FanoutDir(InodeId id) const {
  char name[4];
  std::snprintf(name, sizeof(name), "%02x", static_cast<unsigned>(id & 0xff));
  return dir_ + "/" + name;
}

std::string LocalContentStore::PathFor(InodeId id) const {
  char name[24];
  std::snprintf(name, sizeof(name), "/%016" PRIx64, id);
  return FanoutDir(id) + name;
}

int LocalContentStore::OpenOnce(const std::string& path, InodeId id,
                                bool create) {
  int flags = O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0);
  int fd = ::open(path.c_str(), flags, 0600);
  if (fd >= 0 || errno != ENOENT || !create) return fd;
  // The fan-out directory is made on first use; EEXIST means another thread
  // won the race, which is just as good.
  if (::mkdir(FanoutDir(id).c_str(), 0700) != 0 && errno != EEXIST) return -1;
  return ::open(path.c_str(), flags, 0600);
}

void LocalContentStore::DropCache() {
  LruList victims;
  {
    std::lock_guard<std::mutex> lock(mu_);
    victims.swap(lru_);
    index_.clear();
  }
  // `victims` closes its descriptors here, outside the mutex.
}

Result<FilePtr> LocalContentStore::Get(InodeId id, bool create) {
  uint64_t epoch, create_epoch;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = index_.find(id);
    if (it != index_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second);
      return it->second->second;
    }
    if (!create && absent_.count(id) > 0) return FilePtr();
    epoch = remove_epoch_;
    create_epoch = create_epoch_;
  }
  std::string path = PathFor(id);
  int fd = OpenOnce(path, id, create);
  if (fd < 0 && (errno == EMFILE || errno == ENFILE)) {
    DropCache();
    fd = OpenOnce(path, id, create);
  }
  if (fd < 0) {
    if (errno == ENOENT && !create) {
      std::lock_guard<std::mutex> lock(mu_);
      if (create_epoch == create_epoch_) {
        if (absent_.size() >= kMaxAbsent) absent_.clear();
        absent_.insert(id);
      }
      return FilePtr();
    }
    return ErrnoStatus(errno, "open", path);
  }
  auto file = std::make_shared<OpenFile>(fd, std::move(path));

  LruList evicted;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (create) {
      absent_.erase(id);
      ++create_epoch_;
    }
    auto it = index_.find(id);
    if (it != index_.end()) {
      // Another thread opened it meanwhile; share its descriptor and let
      // ours close.
      lru_.splice(lru_.begin(), lru_, it->second);
      return it->second->second;
    }
    if (epoch != remove_epoch_ || max_open_fds_ == 0) return file;
    lru_.emplace_front(id, file);
    index_[id] = lru_.begin();
    while (lru_.size() > max_open_fds_) {
      index_.erase(lru_.back().first);
      evicted.splice(evicted.begin(), lru_, std::prev(lru_.end()));
    }
  }
  return file;
}

Result<size_t> LocalContentStore::Read(InodeId id, uint64_t off, size_t len,
                                       char* buf) {
  if (off >= kMaxFileSize || len == 0) return size_t{0};
  len = static_cast<size_t>(std::min<uint64_t>(len, kMaxFileSize - off));
  CFS_ASSIGN_OR_RETURN(FilePtr f, Get(id, false));
  if (!f) return size_t{0};
  size_t done = 0;
  while (done < len) {
    size_t want = std::min(len - done, kMaxIoChunk);
    ssize_t n =
        ::pread(f->fd(), buf + done, want, static_cast<off_t>(off + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "pread", f->path());
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

Result<ContentStore::FileRef> LocalContentStore::Ref(InodeId id) {
  CFS_ASSIGN_OR_RETURN(FilePtr f, Get(id, false));
  if (!f) return FileRef{};
  FileRef r;
  r.fd = f->fd();
  r.keep = std::move(f);
  return r;
}

Result<ContentStore::FileRef> LocalContentStore::PrepareDirect(InodeId id,
                                                               uint64_t size) {
  if (size > kMaxFileSize) {
    return ErrnoStatus(EFBIG, "size beyond max file size", PathFor(id));
  }
  ChangeScope changed{this, id};
  CFS_ASSIGN_OR_RETURN(FilePtr f, Get(id, true));
  struct stat st;
  if (::fstat(f->fd(), &st) != 0) return ErrnoStatus(errno, "fstat", f->path());
  if (static_cast<uint64_t>(st.st_size) != size) {
    CFS_RETURN_IF_ERROR(SetLength(*f, size));
  }
  FileRef r;
  r.fd = f->fd();
  r.keep = std::move(f);
  return r;
}

Status LocalContentStore::WriteAll(const OpenFile& f, uint64_t off,
                                   std::vector<iovec> iov) {
  size_t i = 0;
  while (true) {
    while (i < iov.size() && iov[i].iov_len == 0) ++i;
    if (i == iov.size()) return Status::Ok();
    int cnt = static_cast<int>(std::min<size_t>(iov.size() - i, IOV_MAX));
    ssize_t n = ::pwritev(f.fd(), &iov[i], cnt, static_cast<off_t>(off));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "pwritev", f.path());
    }
    if (n == 0) return ErrnoStatus(EIO, "pwritev wrote nothing to", f.path());
    off += static_cast<uint64_t>(n);
    // Skip what the short write consumed, possibly ending mid-iovec.
    size_t left = static_cast<size_t>(n);
    while (left > 0) {
      size_t step = std::min(left, iov[i].iov_len);
      iov[i].iov_base = static_cast<char*>(iov[i].iov_base) + step;
      iov[i].iov_len -= step;
      left -= step;
      if (iov[i].iov_len == 0) ++i;
    }
  }
}

Status LocalContentStore::Write(InodeId id, uint64_t off,
                                const struct iovec* iov, int iovcnt) {
  if (iovcnt < 0 || (iovcnt > 0 && iov == nullptr)) {
    return Status::Invalid("bad iovec for " + PathFor(id));
  }
  uint64_t total = 0;
  for (int i = 0; i < iovcnt; ++i) {
    if (iov[i].iov_len > kMaxFileSize - total) {
      return ErrnoStatus(EFBIG, "write too large for", PathFor(id));
    }
    total += iov[i].iov_len;
  }
  if (off > kMaxFileSize || total > kMaxFileSize - off) {
    return ErrnoStatus(EFBIG, "write beyond max file size to", PathFor(id));
  }
  // Like pwrite(2), an empty write neither extends nor creates the file.
  if (total == 0) return Status::Ok();
  ChangeScope changed{this, id};
  CFS_ASSIGN_OR_RETURN(FilePtr f, Get(id, true));
  CFS_RETURN_IF_ERROR(WriteAll(*f, off, std::vector<iovec>(iov, iov + iovcnt)));
  if (sync_writes_ && ::fdatasync(f->fd()) != 0) {
    return ErrnoStatus(errno, "fdatasync", f->path());
  }
  return Status::Ok();
}

Status LocalContentStore::Truncate(InodeId id, uint64_t size) {
  if (size > kMaxFileSize) {
    return ErrnoStatus(EFBIG, "truncate beyond max file size", PathFor(id));
  }
  // Shrinking a missing file to nothing is already done; don't create it.
  ChangeScope changed{this, id};
  CFS_ASSIGN_OR_RETURN(FilePtr f, Get(id, size > 0));
  if (!f) return Status::Ok();
  return SetLength(*f, size);
}

Status LocalContentStore::SetLength(const OpenFile& f, uint64_t size) {
  while (::ftruncate(f.fd(), static_cast<off_t>(size)) != 0) {
    if (errno != EINTR) return ErrnoStatus(errno, "ftruncate", f.path());
  }
  return Status::Ok();
}

Status LocalContentStore::PunchHole(InodeId id, uint64_t off, uint64_t len) {
  if (len == 0) return Status::Ok();
  ChangeScope changed{this, id};
  CFS_ASSIGN_OR_RETURN(FilePtr f, Get(id, false));
  if (!f) return Status::Ok();
  // Past EOF there is nothing to free, and the kernel rejects ranges beyond
  // the filesystem's own size limit with EFBIG, so stop at EOF.
  struct stat st;
  if (::fstat(f->fd(), &st) != 0) {
    return ErrnoStatus(errno, "fstat", f->path());
  }
  uint64_t size = static_cast<uint64_t>(st.st_size);
  if (off >= size) return Status::Ok();
  len = std::min(len, size - off);
  while (::fallocate(f->fd(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                     static_cast<off_t>(off), static_cast<off_t>(len)) != 0) {
    if (errno != EINTR) return ErrnoStatus(errno, "punch hole in", f->path());
  }
  return Status::Ok();
}

Status LocalContentStore::Allocate(InodeId id, uint64_t off, uint64_t len) {
  if (off > kMaxFileSize || len > kMaxFileSize - off) {
    return ErrnoStatus(EFBIG, "allocate beyond max file size", PathFor(id));
  }
  if (len == 0) return Status::Ok();
  ChangeScope changed{this, id};
  CFS_ASSIGN_OR_RETURN(FilePtr f, Get(id, true));
  while (::fallocate(f->fd(), 0, static_cast<off_t>(off),
                     static_cast<off_t>(len)) != 0) {
    if (errno != EINTR) return ErrnoStatus(errno, "fallocate", f->path());
  }
  return Status::Ok();
}

Result<uint64_t> LocalContentStore::Seek(InodeId id, uint64_t off, bool data) {
  if (off >= kMaxFileSize) {
    return ErrnoStatus(ENXIO, "seek past max file size", PathFor(id));
  }
  CFS_ASSIGN_OR_RETURN(FilePtr f, Get(id, false));
  if (!f) return ErrnoStatus(ENXIO, "seek in empty", PathFor(id));
  // lseek on a shared descriptor moves the shared file position, which is
  // harmless: every other call uses positional I/O.
  off_t r =
      ::lseek(f->fd(), static_cast<off_t>(off), data ? SEEK_DATA : SEEK_HOLE);
  if (r < 0)
    return ErrnoStatus(errno, data ? "seek data" : "seek hole", f->path());
  return static_cast<uint64_t>(r);
}

Status LocalContentStore::Sync(InodeId id) {
  CFS_ASSIGN_OR_RETURN(FilePtr f, Get(id, false));
  if (!f) return Status::Ok();
  if (::fdatasync(f->fd()) != 0)
    return ErrnoStatus(errno, "fdatasync", f->path());
  return Status::Ok();
}

Status LocalContentStore::Remove(InodeId id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (absent_.erase(id) > 0) return Status::Ok();  // never had a file
  }
  std::string path = PathFor(id);
  Status st;
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    st = ErrnoStatus(errno, "unlink", path);
  }
  FilePtr dropped;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++remove_epoch_;
    ChangedLocked(id);
    auto it = index_.find(id);
    if (it != index_.end()) {
      dropped = std::move(it->second->second);
      lru_.erase(it->second);
      index_.erase(it);
    }
  }
  return st;
}

Result<uint64_t> LocalContentStore::AllocatedBytes(InodeId id) {
  // A cached descriptor answers by fstat; otherwise one stat(2) of the path:
  // listing a large directory with attributes neither opens every file nor
  // churns the descriptor cache.
  FilePtr f;
  uint64_t create_epoch, alloc_epoch;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto a = allocated_.find(id); a != allocated_.end()) return a->second;
    alloc_epoch = alloc_epoch_;
    auto it = index_.find(id);
    if (it != index_.end()) {
      f = it->second->second;
    } else if (absent_.count(id) > 0) {
      return uint64_t{0};
    }
    create_epoch = create_epoch_;
  }
  struct stat st;
  if (f) {
    if (::fstat(f->fd(), &st) != 0) {
      return ErrnoStatus(errno, "fstat", f->path());
    }
  } else {
    std::string path = PathFor(id);
    if (::stat(path.c_str(), &st) != 0) {
      if (errno != ENOENT) return ErrnoStatus(errno, "stat", path);
      std::lock_guard<std::mutex> lock(mu_);
      if (create_epoch == create_epoch_) {  // see absent_
        if (absent_.size() >= kMaxAbsent) absent_.clear();
        absent_.insert(id);
      }
      return uint64_t{0};
    }
  }
  uint64_t bytes = static_cast<uint64_t>(st.st_blocks) * 512;
  std::lock_guard<std::mutex> lock(mu_);
  if (alloc_epoch == alloc_epoch_) {
    if (allocated_.size() >= kMaxAllocated) allocated_.clear();
    allocated_[id] = bytes;
  }
  return bytes;
}

Status LocalContentStore::ForEachId(const std::function<void(InodeId)>& fn) {
  DIR* top = ::opendir(dir_.c_str());
  if (top == nullptr) return ErrnoStatus(errno, "opendir", dir_);
  std::vector<std::string> fanouts;
  errno = 0;
  while (struct dirent* e = ::readdir(top)) {
    uint64_t low;
    if (ParseHex(e->d_name, 2, &low)) fanouts.emplace_back(e->d_name);
    errno = 0;
  }
  int err = errno;
  ::closedir(top);
  if (err != 0) return ErrnoStatus(err, "readdir", dir_);

  std::vector<InodeId> ids;
  for (const std::string& name : fanouts) {
    std::string sub = dir_ + "/" + name;
    DIR* d = ::opendir(sub.c_str());
    if (d == nullptr) {
      if (errno == ENOENT || errno == ENOTDIR) continue;
      return ErrnoStatus(errno, "opendir", sub);
    }
    errno = 0;
    while (struct dirent* e = ::readdir(d)) {
      uint64_t id;
      if (ParseHex(e->d_name, 16, &id) && IsRegularFile(::dirfd(d), e)) {
        ids.push_back(id);
      }
      errno = 0;
    }
    err = errno;
    ::closedir(d);
    if (err != 0) return ErrnoStatus(err, "readdir", sub);
    // Call back with no directory open so `fn` may use the store freely.
    for (InodeId id : ids) fn(id);
    ids.clear();
  }
  return Status::Ok();
}

Result<ContentSpace> LocalContentStore::Space() {
  struct statvfs sv;
  if (::statvfs(dir_.c_str(), &sv) != 0) {
    return ErrnoStatus(errno, "statvfs", dir_);
  }
  uint64_t unit = sv.f_frsize != 0 ? sv.f_frsize : sv.f_bsize;
  ContentSpace s;
  s.total_bytes = static_cast<uint64_t>(sv.f_blocks) * unit;
  s.free_bytes = static_cast<uint64_t>(sv.f_bfree) * unit;
  s.avail_bytes = static_cast<uint64_t>(sv.f_bavail) * unit;
  s.block_size = unit != 0 ? unit : 4096;
  return s;
}

}  // namespace

Result<std::unique_ptr<ContentStore>> OpenLocalContentStore(
    const std::string& dir, bool sync_writes, size_t max_open_fds) {
  if (dir.empty()) return Status::Invalid("empty content store directory");
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return ErrnoStatus(ec.value(), "create directory", dir);
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) return ErrnoStatus(errno, "stat", dir);
  if (!S_ISDIR(st.st_mode))
    return ErrnoStatus(ENOTDIR, "not a directory:", dir);
  // Probe access now so a bad directory fails at startup, not on first write.
  if (::access(dir.c_str(), R_OK | W_OK | X_OK) != 0) {
    return ErrnoStatus(errno, "access", dir);
  }
  std::string clean = dir;
  while (clean.size() > 1 && clean.back() == '/') clean.pop_back();
  return std::unique_ptr<ContentStore>(
      new LocalContentStore(std::move(clean), sync_writes, max_open_fds));
}

}  // namespace concordfs
