// Shared by the fuse/*.cc files: the libfuse version, the operation table
// and small conversions. Not part of the front end's interface.
#pragma once

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include <memory>

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

// The caller's identity, from the request context.
OpContext ContextOf(fuse_req_t req);

// Replies an errno for a failed status (EUCLEAN and other internal codes
// become EIO).
void ReplyError(fuse_req_t req, const Status& st);

}  // namespace concordfs::fuse_internal
