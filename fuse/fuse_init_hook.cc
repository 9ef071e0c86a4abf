// The FUSE device I/O of the session, through libfuse's custom I/O hooks,
// for one purpose: to accept FUSE_HANDLE_KILLPRIV_V2 in the INIT reply,
// which libfuse 3.14 (Debian 12) does not know.
//
// Why: without it the kernel asks every file's security.capability before
// every WRITE (to drop file capabilities on write), one more round trip per
// write. With it the kernel marks the mount SB_NOSEC and, once a file is
// found to hold neither setuid/setgid bits nor capabilities, skips that
// check until the file's mode or security xattrs change through the mount.
// The contract it asks for (the file system kills setuid/setgid on write,
// truncate and chown) is what the vfs does already (ModeAfterWrite,
// ModeAfterChown); the kernel still drops capabilities itself on the first
// write of a file that holds some.
//
// Thread-safe: the hooks run on the readers' threads; the INIT request is
// read, answered and recorded once, before any other request.
#include <linux/fuse.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <memory>

#include "fuse/fuse_internal.h"

namespace concordfs::fuse_internal {
namespace {

// The unique id of the INIT request while its reply is pending (0: none),
// and whether the kernel offered KILLPRIV_V2 in it. One mount per session,
// and the kernel sends INIT once, so process-wide state would do; it lives
// in the session's hook data all the same.
struct InitState {
  std::atomic<uint64_t> unique{0};
  std::atomic<bool> offered{false};
};

InitState* StateOf(void* userdata) {
  return static_cast<InitState*>(
      static_cast<FuseFrontend*>(userdata)->init_state());
}

ssize_t HookRead(int fd, void* buf, size_t len, void* userdata) {
  ssize_t n = ::read(fd, buf, len);
  if (n >= static_cast<ssize_t>(sizeof(fuse_in_header) + 16)) {
    fuse_in_header h;
    std::memcpy(&h, buf, sizeof(h));
    if (h.opcode == FUSE_INIT) {
      // fuse_init_in: major, minor, max_readahead, flags (all uint32).
      uint32_t flags;
      std::memcpy(&flags, static_cast<char*>(buf) + sizeof(h) + 12,
                  sizeof(flags));
      InitState* s = StateOf(userdata);
      s->offered = (flags & FUSE_HANDLE_KILLPRIV_V2) != 0;
      s->unique = h.unique;
    }
  }
  return n;
}

ssize_t HookWritev(int fd, struct iovec* iov, int count, void* userdata) {
  InitState* s = StateOf(userdata);
  uint64_t init = s->unique.load(std::memory_order_relaxed);
  if (init != 0 && count >= 2 && iov[0].iov_len >= sizeof(fuse_out_header) &&
      iov[1].iov_len >= 16) {
    fuse_out_header h;
    std::memcpy(&h, iov[0].iov_base, sizeof(h));
    if (h.unique == init) {
      s->unique = 0;
      if (h.error == 0 && s->offered) {
        // fuse_init_out: major, minor, max_readahead, flags (all uint32).
        char* flags_at = static_cast<char*>(iov[1].iov_base) + 12;
        uint32_t flags;
        std::memcpy(&flags, flags_at, sizeof(flags));
        flags |= FUSE_HANDLE_KILLPRIV_V2;
        std::memcpy(flags_at, &flags, sizeof(flags));
      }
    }
  }
  return ::writev(fd, iov, count);
}

}  // namespace

std::shared_ptr<void> NewInitState() { return std::make_shared<InitState>(); }

int InstallInitHook(fuse_session* se) {
  fuse_custom_io io;
  std::memset(&io, 0, sizeof(io));
  io.read = HookRead;
  io.writev = HookWritev;
  return fuse_session_custom_io(se, &io, fuse_session_fd(se));
}

}  // namespace concordfs::fuse_internal
