// PassthroughTable: which opens let the kernel do their reads and writes on
// the content file itself (FUSE passthrough), and the backing ids for them.
//
// A regular file qualifies when the mount negotiated passthrough and the
// file carries neither setuid/setgid bits nor file capabilities (the kernel
// clears those on a write it sees, and a passthrough write only the content
// file sees). The vfs is told (BeginDirect/EndDirect), so every protocol
// reports the size and times the direct writes give the file.
#include <fcntl.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>

#include "fuse/fuse_internal.h"
#include "util/log.h"
#include "vfs/permissions.h"

namespace concordfs::fuse_internal {
namespace {

// Not in Debian 12's <linux/fuse.h> (protocol 7.40).
struct BackingMap {
  int32_t fd;
  uint32_t flags;
  uint64_t padding;
};
constexpr unsigned long kBackingOpen = _IOW(229, 1, BackingMap);
constexpr unsigned long kBackingClose = _IOW(229, 2, uint32_t);

}  // namespace

bool PassthroughTable::Eligible(FuseFrontend* fe, const Inode& inode) {
  if (!inode.is_reg() || disabled_.load(std::memory_order_relaxed) ||
      !PassthroughNegotiated(fe)) {
    return false;
  }
  if (ModeWithoutSetId(inode.mode) != inode.mode) return false;
  OpContext root;
  root.origin = Origin::kFuse;
  Result<std::string> caps =
      fe->vfs()->GetXattr(root, inode.id, "security.capability");
  return caps.code() == ENODATA;
}

int32_t PassthroughTable::Attach(FuseFrontend* fe, InodeId ino) {
  Result<ContentStore::FileRef> ref = fe->vfs()->BeginDirect(ino);
  if (!ref.ok()) {
    if (ref.code() != ENOTSUP && ref.code() != ENOENT) {
      CFS_LOG_WARN("passthrough for inode {}: {}", ino,
                   ref.status().ToString());
    }
    if (ref.code() == ENOTSUP) disabled_ = true;
    return 0;
  }
  BackingMap map{ref->fd, 0, 0};
  int id = ::ioctl(fe->device_fd(), kBackingOpen, &map);
  if (id <= 0) {
    int err = errno;
    fe->vfs()->EndDirect(ino);
    if (err == EPERM || err == ENOTTY || err == EINVAL) {
      // Not allowed here (it needs CAP_SYS_ADMIN) or not supported: every
      // open goes through FUSE requests from now on.
      if (!disabled_.exchange(true)) {
        CFS_LOG_WARN(
            "passthrough disabled: the kernel refused a backing file "
            "({}); local I/O goes through FUSE requests",
            std::strerror(err));
      }
    } else {
      CFS_LOG_WARN("passthrough for inode {}: {}", ino, std::strerror(err));
    }
    return 0;
  }
  return id;
}

int32_t PassthroughTable::Open(FuseFrontend* fe, const Inode& inode) {
  {
    std::unique_lock<std::mutex> l(mu_);
    for (;;) {
      auto it = entries_.find(inode.id);
      if (it == entries_.end()) break;
      if (it->second.ready) {
        ++it->second.opens;
        return it->second.backing_id;
      }
      decided_.wait(l);
    }
    entries_[inode.id] = Entry{1, 0, false};
  }
  // Deciding does I/O (the content file, an ioctl): outside the mutex;
  // other opens of this inode wait for it, other inodes do not.
  int32_t id = Eligible(fe, inode) ? Attach(fe, inode.id) : 0;
  {
    std::lock_guard<std::mutex> l(mu_);
    Entry& e = entries_[inode.id];
    e.backing_id = id;
    e.ready = true;
  }
  decided_.notify_all();
  return id;
}

void PassthroughTable::Release(FuseFrontend* fe, InodeId ino) {
  int32_t id = 0;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = entries_.find(ino);
    if (it == entries_.end() || !it->second.ready) return;
    if (--it->second.opens > 0) return;
    id = it->second.backing_id;
    entries_.erase(it);
  }
  if (id > 0) {
    uint32_t arg = static_cast<uint32_t>(id);
    if (::ioctl(fe->device_fd(), kBackingClose, &arg) != 0) {
      CFS_LOG_WARN("closing backing file {}: {}", id, std::strerror(errno));
    }
    fe->vfs()->EndDirect(ino);
  }
}

void PassthroughTable::EndAll(FuseFrontend* fe) {
  std::unordered_map<InodeId, Entry> left;
  {
    std::lock_guard<std::mutex> l(mu_);
    left.swap(entries_);
  }
  for (const auto& [ino, e] : left) {
    if (e.backing_id > 0) fe->vfs()->EndDirect(ino);
  }
}

}  // namespace concordfs::fuse_internal
