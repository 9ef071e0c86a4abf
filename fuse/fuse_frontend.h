// FuseFrontend: the local way in. Mounts the vfs with libfuse3's low-level
// API and routes fcntl/flock locks through the lock manager, so local
// processes, NFS clients and SMB clients see each other's locks.
//
// Ownership: borrows the Vfs, LockManager and ShareModeTable (they must
// outlive it); owns the FUSE session, its loop threads and one worker thread
// that sends kernel cache invalidations and lock cancellations (neither may
// run inside a request handler).
//
// FUSE inode numbers are vfs inode ids (the root is 1 in both), so no
// mapping table is kept and forget is free. Where the kernel offers FUSE
// passthrough (and FuseOptions::passthrough), regular files' reads and
// writes go from the kernel straight to their content files; the vfs is
// told (Vfs::BeginDirect), so NFS and SMB see those files as written. A
// blocking F_SETLKW or flock never holds a FUSE thread: the request is
// answered from the lock manager's grant callback; a FUSE interrupt cancels
// the wait (EINTR).
//
// Thread-safe: request handlers run concurrently on the loop's threads.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "locking/cache_breaks.h"
#include "locking/lock_manager.h"
#include "locking/share_modes.h"
#include "util/status.h"
#include "vfs/vfs.h"

struct fuse_session;

namespace concordfs {

class FuseLoop;
namespace fuse_internal {
class PassthroughTable;
}

struct FuseOptions {
  std::string mount_point;  // absolute
  bool allow_other = false;
  double entry_timeout = 1.0;  // seconds the kernel may cache names
  double attr_timeout = 1.0;   // seconds the kernel may cache attributes
  // Keep the kernel page cache across opens; remote changes invalidate it.
  bool kernel_cache = true;
  // Threads reading requests (a handler may block: fsync, lease breaks).
  unsigned max_threads = 16;
  // After a reply one reader watches for the next request this long before
  // sleeping (FuseLoop); 0 turns watching off.
  unsigned watch_us = 50;
  // A local open fails with EACCES when an SMB open denies its access.
  bool enforce_share_modes = false;
  // Let the kernel read and write regular files' content files itself
  // (FUSE passthrough: Linux 6.9 or later, and CAP_SYS_ADMIN for the
  // daemon); where it cannot, local I/O goes through FUSE requests.
  bool passthrough = true;
};

class FuseFrontend {
 public:
  FuseFrontend(Vfs* vfs, locking::LockManager* locks,
               locking::ShareModeTable* shares, FuseOptions opts);
  ~FuseFrontend();
  FuseFrontend(const FuseFrontend&) = delete;
  FuseFrontend& operator=(const FuseFrontend&) = delete;

  // Creates the mount point if missing, cleans up a stale mount left by a
  // crashed run, mounts, and starts serving. Returns once mounted.
  Status Mount();
  // Stops serving and unmounts. Idempotent.
  void Stop();

  const FuseOptions& options() const { return opts_; }

  // ---- used by the request handlers (fuse_ops.cc, fuse_locks.cc) ----
  Vfs* vfs() { return vfs_; }
  locking::LockManager* locks() { return locks_; }
  locking::ShareModeTable* shares() { return shares_; }
  // SMB oplocks/leases that conflict with a local access are broken (and
  // acknowledged or timed out) before the access is served.
  void set_cache_breaks(locking::CacheBreaks* b) { breaks_ = b; }
  locking::CacheBreaks* cache_breaks() { return breaks_; }
  // Runs `task` on the worker thread (never inside a request handler).
  void Post(std::function<void()> task);
  // State of the device I/O hooks (fuse_init_hook.cc).
  void* init_state() { return init_state_.get(); }
  // The FUSE device (for passthrough's backing-file ioctls).
  int device_fd() const;
  fuse_internal::PassthroughTable* passthrough() { return passthrough_.get(); }
  // Whether local opens may use passthrough (negotiated with the kernel).
  bool passthrough_active();

 private:
  void OnChange(const ChangeEvent& ev);
  void WorkerLoop();

  Vfs* vfs_;
  locking::LockManager* locks_;
  locking::ShareModeTable* shares_;
  locking::CacheBreaks* breaks_ = nullptr;
  FuseOptions opts_;
  fuse_session* session_ = nullptr;
  std::shared_ptr<void> init_state_;
  std::unique_ptr<fuse_internal::PassthroughTable> passthrough_;
  std::unique_ptr<FuseLoop> loop_;
  uint64_t subscription_ = 0;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;  // GUARDED_BY(mu_)
  bool stopping_ = false;                    // GUARDED_BY(mu_)
  std::thread worker_;
};

}  // namespace concordfs
