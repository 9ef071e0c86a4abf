// The FUSE device I/O of the session, through libfuse's custom I/O hooks,
// for what libfuse 3.14 (Debian 12) cannot negotiate or reply itself:
//
// FUSE_HANDLE_KILLPRIV_V2 in the INIT reply. Without it the kernel asks
// every file's security.capability before every WRITE (to drop file
// capabilities on write), one more round trip per write. With it the kernel
// marks the mount SB_NOSEC and, once a file is found to hold neither
// setuid/setgid bits nor capabilities, skips that check until the file's
// mode or security xattrs change through the mount. The contract it asks
// for (the file system kills setuid/setgid on write, truncate and chown) is
// what the vfs does already (ModeAfterWrite, ModeAfterChown); the kernel
// still drops capabilities itself on the first write of a file that holds
// some.
//
// FUSE_PASSTHROUGH (Linux 6.9 and later), when the front end wants it: the
// INIT reply accepts it with a stacking depth of one, and an OPEN or CREATE
// reply the handler marked (MarkPassthroughReply) gets FOPEN_PASSTHROUGH and
// its backing id, which libfuse's fuse_open_out has no field for.
//
// Thread-safe: the hooks run on the readers' threads; the INIT request is
// read, answered and recorded once, before any other request. A reader
// thread reads a request and runs its handler, so the request a reply
// belongs to is known per thread.
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
  std::atomic<bool> passthrough_offered{false};
  std::atomic<bool> passthrough{false};  // accepted in the INIT reply
};

// Not in Debian 12's <linux/fuse.h> (protocol 7.40).
constexpr uint32_t kInitExt = 1u << 30;          // FUSE_INIT_EXT
constexpr uint32_t kPassthroughFlag2 = 1u << 5;  // FUSE_PASSTHROUGH >> 32
constexpr uint32_t kOpenPassthrough = 1u << 7;   // FOPEN_PASSTHROUGH
constexpr uint32_t kOpenKeepCache = 1u << 1;     // FOPEN_KEEP_CACHE

// The request this reader thread read last, and the reply it marked.
thread_local uint64_t current_unique = 0;
struct MarkedReply {
  uint64_t unique = 0;
  int32_t backing_id = 0;
};
thread_local MarkedReply marked;

InitState* StateOf(void* userdata) {
  return static_cast<InitState*>(
      static_cast<FuseFrontend*>(userdata)->init_state());
}

ssize_t HookRead(int fd, void* buf, size_t len, void* userdata) {
  ssize_t n = ::read(fd, buf, len);
  if (n >= static_cast<ssize_t>(sizeof(fuse_in_header))) {
    fuse_in_header h;
    std::memcpy(&h, buf, sizeof(h));
    current_unique = h.unique;
    if (h.opcode == FUSE_INIT &&
        n >= static_cast<ssize_t>(sizeof(fuse_in_header) + 16)) {
      // fuse_init_in: major, minor, max_readahead, flags (all uint32).
      uint32_t flags;
      std::memcpy(&flags, static_cast<char*>(buf) + sizeof(h) + 12,
                  sizeof(flags));
      InitState* s = StateOf(userdata);
      s->offered = (flags & FUSE_HANDLE_KILLPRIV_V2) != 0;
      // fuse_init_in: flags2 follows flags when FUSE_INIT_EXT is set.
      uint32_t flags2 = 0;
      if ((flags & kInitExt) && n >= static_cast<ssize_t>(sizeof(h) + 20)) {
        std::memcpy(&flags2, static_cast<char*>(buf) + sizeof(h) + 16,
                    sizeof(flags2));
      }
      s->passthrough_offered = (flags2 & kPassthroughFlag2) != 0;
      s->unique = h.unique;
    }
  }
  return n;
}

ssize_t HookWritev(int fd, struct iovec* iov, int count, void* userdata) {
  if (marked.unique != 0 && count >= 2 &&
      iov[0].iov_len >= sizeof(fuse_out_header) && iov[1].iov_len >= 16) {
    fuse_out_header h;
    std::memcpy(&h, iov[0].iov_base, sizeof(h));
    if (h.unique == marked.unique) {
      marked.unique = 0;
      if (h.error == 0) {
        // fuse_open_out (last 16 bytes of an OPEN or CREATE reply): fh,
        // open_flags, backing_id.
        char* out = static_cast<char*>(iov[1].iov_base) + iov[1].iov_len - 16;
        uint32_t open_flags;
        std::memcpy(&open_flags, out + 8, sizeof(open_flags));
        open_flags = (open_flags & ~kOpenKeepCache) | kOpenPassthrough;
        std::memcpy(out + 8, &open_flags, sizeof(open_flags));
        std::memcpy(out + 12, &marked.backing_id, sizeof(marked.backing_id));
      }
    }
  }
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
      auto* fe = static_cast<FuseFrontend*>(userdata);
      if (h.error == 0 && s->passthrough_offered && fe->options().passthrough &&
          iov[1].iov_len >= 40) {
        // fuse_init_out: flags at 12, flags2 at 32, max_stack_depth at 36.
        // One level: the content files live on an ordinary file system.
        char* out = static_cast<char*>(iov[1].iov_base);
        uint32_t flags, flags2, depth = 1;
        std::memcpy(&flags, out + 12, sizeof(flags));
        std::memcpy(&flags2, out + 32, sizeof(flags2));
        flags |= kInitExt;
        flags2 |= kPassthroughFlag2;
        std::memcpy(out + 12, &flags, sizeof(flags));
        std::memcpy(out + 32, &flags2, sizeof(flags2));
        std::memcpy(out + 36, &depth, sizeof(depth));
        s->passthrough = true;
      }
    }
  }
  return ::writev(fd, iov, count);
}

}  // namespace

std::shared_ptr<void> NewInitState() { return std::make_shared<InitState>(); }

bool PassthroughNegotiated(FuseFrontend* fe) {
  void* s = fe->init_state();
  return s != nullptr && static_cast<InitState*>(s)->passthrough.load();
}

void MarkPassthroughReply(int32_t backing_id) {
  marked.unique = current_unique;
  marked.backing_id = backing_id;
}

int InstallInitHook(fuse_session* se) {
  fuse_custom_io io;
  std::memset(&io, 0, sizeof(io));
  io.read = HookRead;
  io.writev = HookWritev;
  return fuse_session_custom_io(se, &io, fuse_session_fd(se));
}

}  // namespace concordfs::fuse_internal
