// Shared by the fuse/*.cc files: the libfuse version, the operation table
// and small conversions. Not part of the front end's interface.
#pragma once

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "fuse/fuse_frontend.h"

namespace concordfs::fuse_internal {

// The operation table (fuse_ops.cc) including the lock handlers
// (fuse_locks.cc).
const fuse_lowlevel_ops* Operations();

void OpGetLk(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi,
             struct flock* lock);
void OpSetLk(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi,
             struct flock* lock, int sleep);
void OpFlock(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi, int op);
// Drops what a closing file leaves: POSIX locks of its owner (flush) or the
// open file's flock (release).
void DropPosixLocks(FuseFrontend* fe, fuse_ino_t ino, uint64_t lock_owner);
void DropFlock(FuseFrontend* fe, fuse_ino_t ino, uint64_t lock_owner);
// Breaks SMB caching that conflicts with a local access to `ino` and waits
// for it (this worker thread only; rare: only when a grant exists).
void BreakCaching(FuseFrontend* fe, fuse_ino_t ino, locking::CacheAccess a);

inline FuseFrontend* Frontend(fuse_req_t req) {
  return static_cast<FuseFrontend*>(fuse_req_userdata(req));
}

// Routes the session's device reads and writes through hooks that accept
// FUSE_HANDLE_KILLPRIV_V2 in the INIT reply (fuse_init_hook.cc); called
// after fuse_session_mount, before serving. NewInitState makes the hooks'
// state, which FuseFrontend::init_state() must return. 0 on success.
std::shared_ptr<void> NewInitState();
int InstallInitHook(fuse_session* se);
// Whether the INIT reply accepted FUSE_PASSTHROUGH.
bool PassthroughNegotiated(FuseFrontend* fe);
// Marks the reply this reader thread sends next for the request it is
// serving (an OPEN or CREATE) as a passthrough open of `backing_id`.
void MarkPassthroughReply(int32_t backing_id);

// How the opens of each inode do their I/O (fuse_passthrough.cc). The
// kernel needs every open of an inode to agree (all passthrough with one
// backing file, or none) while any is open, so the first open of an inode
// decides for the opens that follow it until the last one is released.
class PassthroughTable {
 public:
  // Counts an open of `inode` (just opened in the vfs) and
  // returns the backing id its reply must carry, 0 for ordinary FUSE I/O.
  int32_t Open(FuseFrontend* fe, const Inode& inode);
  // Counts the open's release (also for an open whose reply failed).
  void Release(FuseFrontend* fe, InodeId ino);
  // At unmount: the kernel sends no RELEASE for files still open, so their
  // direct I/O ends here (the vfs records their sizes).
  void EndAll(FuseFrontend* fe);

 private:
  struct Entry {
    uint32_t opens = 0;
    int32_t backing_id = 0;  // 0: ordinary FUSE I/O
    bool ready = false;      // decided (else the first open is deciding)
  };
  bool Eligible(FuseFrontend* fe, const Inode& inode);
  int32_t Attach(FuseFrontend* fe, InodeId ino);

  std::mutex mu_;
  std::condition_variable decided_;
  std::unordered_map<InodeId, Entry> entries_;  // GUARDED_BY(mu_)
  std::atomic<bool> disabled_{false};  // the kernel refused a backing file
};

// The caller's identity, from the request context.
OpContext ContextOf(fuse_req_t req);

// Replies an errno for a failed status (EUCLEAN and other internal codes
// become EIO).
void ReplyError(fuse_req_t req, const Status& st);

}  // namespace concordfs::fuse_internal
