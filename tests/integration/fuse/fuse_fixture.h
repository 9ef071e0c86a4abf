// Shared fixture of the FUSE integration tests.
//
// FuseFixture serves a fresh LevelDB backend through the real FuseFrontend,
// in this process, mounted (allow_other) at an absolute path under a new
// temporary directory; TearDown stops the frontend, detaches the mount if it
// is still there and removes the directory. Tests drive the mount with plain
// system calls, so what they assert is what any local program would see.
//
// Forked children: this process runs FUSE loop threads, so a forked child
// may only use async-signal-safe functions (no malloc, no iostreams, no
// std::string construction) before _exit. RunAs/RunConcurrently children run
// a lambda that must respect this: build paths in the parent, capture them by
// reference and call c_str() in the child. Each child closes every inherited
// descriptor it does not need (including /dev/fuse) and dies with its parent.
//
// Locks: POSIX record locks belong to processes, so lock tests never lock
// from the test process itself; LockChild is a forked process that opens
// files and takes fcntl/flock locks on command, answering over a pipe.
//
// Helpers return errno values (0 = success) rather than asserting, so tests
// state the exact errno they expect with EXPECT_ERRNO.
#pragma once

#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "daemon/backend.h"
#include "daemon/config.h"
#include "fuse/fuse_frontend.h"
#include "util/status.h"

namespace concordfs::fusetest {

// ---------------------------------------------------------------- errnos --

// Results a forked child reports instead of an errno when something outside
// the test's lambda went wrong.
inline constexpr int kChildSetupFailed = -1000;  // setgroups/setres*id failed
inline constexpr int kChildCrashed = -2000;      // died without reporting
inline constexpr int kChildTimedOut = -3000;     // killed after the timeout

inline std::string ErrName(int code) {
  switch (code) {
    case 0:
      return "OK";
    case kChildSetupFailed:
      return "<child could not switch ids>";
    case kChildCrashed:
      return "<child died without reporting>";
    case kChildTimedOut:
      return "<child timed out>";
    default:
      return ErrnoName(code);
  }
}

// errno of a system call's result: 0 when it succeeded (r >= 0). Call it
// directly on the call (`ErrnoOf(unlink(p))`) so nothing clobbers errno.
inline int ErrnoOf(long r) { return r < 0 ? errno : 0; }

}  // namespace concordfs::fusetest

// `EXPECT_ERRNO(errno_value, EACCES)`: compares errno names, so a failure
// reads "EPERM vs EACCES". Use with ErrnoOf(call) or a helper's result.
#define EXPECT_ERRNO(actual, expected)                \
  EXPECT_EQ(::concordfs::fusetest::ErrName(actual),   \
            ::concordfs::fusetest::ErrName(expected)) \
      << #actual
#define ASSERT_ERRNO(actual, expected)                \
  ASSERT_EQ(::concordfs::fusetest::ErrName(actual),   \
            ::concordfs::fusetest::ErrName(expected)) \
      << #actual
// A system call that must succeed (result >= 0).
#define EXPECT_SYS_OK(call) \
  EXPECT_ERRNO(::concordfs::fusetest::ErrnoOf(call), 0)
#define ASSERT_SYS_OK(call) \
  ASSERT_ERRNO(::concordfs::fusetest::ErrnoOf(call), 0)
// A system call that must fail with `err`.
#define EXPECT_SYS_ERR(call, err) \
  EXPECT_ERRNO(::concordfs::fusetest::ErrnoOf(call), err)
#define ASSERT_SYS_ERR(call, err) \
  ASSERT_ERRNO(::concordfs::fusetest::ErrnoOf(call), err)

namespace concordfs::fusetest {

// ------------------------------------------------------- small utilities --

// Closes the descriptor on scope exit.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { Reset(); }
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.Release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) {
      Reset();
      fd_ = o.Release();
    }
    return *this;
  }
  int get() const { return fd_; }
  bool ok() const { return fd_ >= 0; }
  int Release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void Reset() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

// Reads everything from `fd` at `off` with pread until EOF.
inline std::string PreadAll(int fd, off_t off = 0) {
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = pread(fd, buf, sizeof buf, off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    off += n;
  }
  return out;
}

// Whole-file helpers for the test process (not for forked children).
// WriteFile creates/truncates with `mode`; both return errno (0 = ok).
inline int WriteFile(const std::string& path, std::string_view data,
                     mode_t mode = 0644) {
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, mode));
  if (!fd.ok()) return errno;
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd.get(), data.data() + done, data.size() - done);
    if (n < 0) return errno;
    done += static_cast<size_t>(n);
  }
  if (close(fd.Release()) != 0) return errno;
  return 0;
}
inline std::optional<std::string> ReadFile(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY));
  if (!fd.ok()) return std::nullopt;
  return PreadAll(fd.get());
}

// FNV-1a, 64 bit: content fingerprints for large files.
inline uint64_t Fnv1a(const void* data, size_t n,
                      uint64_t h = 1469598103934665603ULL) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 1099511628211ULL;
  }
  return h;
}

// True if `path` is a mount point in /proc/self/mountinfo (also a dead FUSE
// mount, where stat fails with ENOTCONN). Counts stacked mounts.
inline int MountCount(const std::string& path) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  int count = 0;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, devno, root, target;
    fields >> id >> parent >> devno >> root >> target;
    // mountinfo escapes space, tab, newline and backslash as \ooo.
    std::string unescaped;
    for (size_t i = 0; i < target.size(); ++i) {
      if (target[i] == '\\' && i + 3 < target.size()) {
        unescaped +=
            static_cast<char>(std::stoi(target.substr(i + 1, 3), nullptr, 8));
        i += 3;
      } else {
        unescaped += target[i];
      }
    }
    if (unescaped == path) ++count;
  }
  return count;
}
inline bool IsMounted(const std::string& path) { return MountCount(path) > 0; }

// Detaches every mount stacked at `path` (ignores errors).
inline void DetachMounts(const std::string& path) {
  for (int i = 0; i < 8 && IsMounted(path); ++i) {
    umount2(path.c_str(), MNT_DETACH);
  }
}

// A new directory under /tmp that other users can traverse (0755), so
// unprivileged children can reach a mount point inside it.
inline std::string MakeTempDir(const char* prefix) {
  std::string tmpl = std::string("/tmp/") + prefix + "-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) return "";
  chmod(tmpl.c_str(), 0755);
  return tmpl;
}

// --------------------------------------------------------- forked children --

// Credentials for RunAs: setgroups(groups), setresgid(gid), setresuid(uid).
struct Ids {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
};
inline Ids RootIds() { return Ids{0, 0, {}}; }

namespace internal {

inline ssize_t WriteFull(int fd, const void* buf, size_t n) {
  const char* p = static_cast<const char*>(buf);
  size_t done = 0;
  while (done < n) {
    ssize_t w = write(fd, p + done, n - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    done += static_cast<size_t>(w);
  }
  return static_cast<ssize_t>(done);
}

inline ssize_t ReadFull(int fd, void* buf, size_t n) {
  char* p = static_cast<char*>(buf);
  size_t done = 0;
  while (done < n) {
    ssize_t r = read(fd, p + done, n - done);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return done == 0 ? r : static_cast<ssize_t>(done);
    done += static_cast<size_t>(r);
  }
  return static_cast<ssize_t>(done);
}

// Waits until `fd` is readable; false on timeout.
inline bool WaitReadable(int fd, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() < 0) left = std::chrono::milliseconds(0);
    pollfd p{fd, POLLIN, 0};
    int r = poll(&p, 1, static_cast<int>(left.count()));
    if (r > 0) return true;
    if (r == 0) return false;
    if (errno != EINTR) return false;
  }
}

// In a freshly forked child: die with the parent, and close every inherited
// descriptor except 0-2 and `keep` (sorted ascending, all > 2).
inline void ChildInit(const int* keep, int nkeep) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  unsigned lo = 3;
  for (int i = 0; i < nkeep; ++i) {
    unsigned k = static_cast<unsigned>(keep[i]);
    if (k > lo) syscall(SYS_close_range, lo, k - 1, 0);
    lo = k + 1;
  }
  syscall(SYS_close_range, lo, ~0U, 0);
}

// Drops to `ids`; returns 0 or errno. Async-signal-safe.
inline int ChildSetIds(const Ids& ids) {
  if (setgroups(ids.groups.size(), ids.groups.data()) != 0) return errno;
  if (setresgid(ids.gid, ids.gid, ids.gid) != 0) return errno;
  if (setresuid(ids.uid, ids.uid, ids.uid) != 0) return errno;
  return 0;
}

inline int WaitChild(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  for (;;) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0 && errno != EINTR) return -1;
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

}  // namespace internal

// Runs `fn` in a forked child under `ids` and returns what it returned (by
// convention an errno, 0 = success), or kChildSetupFailed / kChildCrashed /
// kChildTimedOut. `fn` runs in the child: async-signal-safe calls only.
inline int RunAs(const Ids& ids, const std::function<int()>& fn,
                 std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return kChildSetupFailed;
  pid_t pid = fork();
  if (pid < 0) {
    close(p[0]);
    close(p[1]);
    return kChildSetupFailed;
  }
  if (pid == 0) {
    int keep[1] = {p[1]};
    internal::ChildInit(keep, 1);
    int result = internal::ChildSetIds(ids) == 0 ? fn() : kChildSetupFailed;
    internal::WriteFull(p[1], &result, sizeof result);
    _exit(0);
  }
  close(p[1]);
  int result = kChildCrashed;
  if (!internal::WaitReadable(p[0], timeout)) {
    result = kChildTimedOut;
  } else if (internal::ReadFull(p[0], &result, sizeof result) !=
             static_cast<ssize_t>(sizeof result)) {
    result = kChildCrashed;
  }
  close(p[0]);
  internal::WaitChild(pid, std::chrono::seconds(5));
  return result;
}

// Forks `n` children under `ids` that start `fn(i)` at the same moment
// (they wait on a shared pipe) and returns their results in order.
inline std::vector<int> RunConcurrently(
    int n, const Ids& ids, const std::function<int(int)>& fn,
    std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  int go[2];
  std::vector<int> results(static_cast<size_t>(n), kChildCrashed);
  if (pipe2(go, O_CLOEXEC) != 0) return results;
  std::vector<pid_t> pids;
  std::vector<int> readers;
  for (int i = 0; i < n; ++i) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) break;
    pid_t pid = fork();
    if (pid == 0) {
      int keep[2] = {std::min(go[0], p[1]), std::max(go[0], p[1])};
      internal::ChildInit(keep, 2);
      int result = kChildSetupFailed;
      char c;
      if (internal::ChildSetIds(ids) == 0) {
        // Blocks until the parent closes the write end: everyone goes.
        while (read(go[0], &c, 1) < 0 && errno == EINTR) {
        }
        result = fn(i);
      }
      internal::WriteFull(p[1], &result, sizeof result);
      _exit(0);
    }
    close(p[1]);
    if (pid < 0) {
      close(p[0]);
      break;
    }
    pids.push_back(pid);
    readers.push_back(p[0]);
  }
  close(go[0]);
  close(go[1]);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (size_t i = 0; i < readers.size(); ++i) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    int r = kChildTimedOut;
    if (internal::WaitReadable(readers[i],
                               std::max(left, std::chrono::milliseconds(0)))) {
      if (internal::ReadFull(readers[i], &r, sizeof r) !=
          static_cast<ssize_t>(sizeof r)) {
        r = kChildCrashed;
      }
    }
    results[i] = r;
    close(readers[i]);
  }
  for (pid_t pid : pids) internal::WaitChild(pid, std::chrono::seconds(5));
  return results;
}

// ------------------------------------------------------------- LockChild --

// What a LockChild reports for one command.
struct LockReply {
  int64_t ret = 0;         // the call's return value (fd for Open)
  int err = 0;             // errno when ret < 0, else 0
  struct flock fl {};      // F_GETLK result
  int64_t elapsed_ns = 0;  // time spent inside the call
};

// A forked process that opens files on the mount and locks them on command.
// Commands are answered in order. Blocking commands (F_SETLKW, blocking
// flock) are started with Start*() and collected with Wait(); the others
// wait for their answer (up to 10 s) and return an errno (0 = success).
// The destructor ends the process (its locks die with it).
class LockChild {
 public:
  LockChild() {
    int cmd[2], rep[2];
    if (pipe2(cmd, O_CLOEXEC) != 0 || pipe2(rep, O_CLOEXEC) != 0) {
      ADD_FAILURE() << "pipe: " << strerror(errno);
      return;
    }
    pid_ = fork();
    if (pid_ == 0) {
      int keep[2] = {std::min(cmd[0], rep[1]), std::max(cmd[0], rep[1])};
      internal::ChildInit(keep, 2);
      Serve(cmd[0], rep[1]);  // never returns
    }
    close(cmd[0]);
    close(rep[1]);
    if (pid_ < 0) {
      ADD_FAILURE() << "fork: " << strerror(errno);
      close(cmd[1]);
      close(rep[0]);
      return;
    }
    cmd_ = cmd[1];
    rep_ = rep[0];
  }

  ~LockChild() { Exit(); }
  LockChild(const LockChild&) = delete;
  LockChild& operator=(const LockChild&) = delete;

  pid_t pid() const { return pid_; }

  // Opens `path` in the child: its fd, or -errno.
  int Open(const std::string& path, int flags = O_RDWR) {
    Command c;
    c.op = kOpen;
    c.arg = flags;
    if (path.size() >= sizeof c.path) return -ENAMETOOLONG;
    memcpy(c.path, path.c_str(), path.size() + 1);
    LockReply r = Call(c);
    return r.ret < 0 ? -r.err : static_cast<int>(r.ret);
  }
  int Close(int fd) { return Simple(kClose, fd, 0, 0, 0, 0); }
  // fcntl(F_SETLK) with l_whence SEEK_SET; type F_RDLCK/F_WRLCK/F_UNLCK.
  int SetLk(int fd, short type, off_t start, off_t len) {
    return Simple(kSetLk, fd, type, start, len, 0);
  }
  // fcntl(F_GETLK): the reported struct flock, or nullopt on error.
  std::optional<struct flock> GetLk(int fd, short type, off_t start, off_t len,
                                    int* err = nullptr) {
    Command c = LockCommand(kGetLk, fd, type, start, len, 0);
    LockReply r = Call(c);
    if (err != nullptr) *err = r.err;
    if (r.ret < 0) return std::nullopt;
    return r.fl;
  }
  // flock(fd, op).
  int Flock(int fd, int op) { return Simple(kFlock, fd, op, 0, 0, 0); }

  // fcntl(F_SETLKW) without waiting for the answer. With `alarm_secs` the
  // child first installs a SIGALRM handler without SA_RESTART and calls
  // alarm(alarm_secs), so the wait is interrupted by a signal.
  void StartSetLkW(int fd, short type, off_t start, off_t len,
                   unsigned alarm_secs = 0) {
    Send(LockCommand(kSetLkW, fd, type, start, len, alarm_secs));
  }
  // flock(fd, op) without waiting (op without LOCK_NB blocks).
  void StartFlock(int fd, int op) {
    Send(LockCommand(kFlock, fd, op, 0, 0, 0));
  }
  // The answer to the oldest started command, or nullopt after `timeout`.
  std::optional<LockReply> Wait(std::chrono::milliseconds timeout) {
    if (pending_ == 0) {
      ADD_FAILURE() << "LockChild::Wait without a started command";
      return std::nullopt;
    }
    if (!internal::WaitReadable(rep_, timeout)) return std::nullopt;
    LockReply r;
    if (internal::ReadFull(rep_, &r, sizeof r) !=
        static_cast<ssize_t>(sizeof r)) {
      ADD_FAILURE() << "lock child " << pid_ << " died";
      pending_ = 0;
      return std::nullopt;
    }
    --pending_;
    return r;
  }

  // Ends the process: closes its command pipe (it exits, closing its files)
  // or, if it is busy or after 5 s, kills it.
  void Exit() {
    if (pid_ <= 0) return;
    // A command still running (a wait the test gave up on) would keep the
    // process alive; the test has already reported why.
    if (pending_ > 0) kill(pid_, SIGKILL);
    pending_ = 0;
    if (cmd_ >= 0) close(cmd_);
    cmd_ = -1;
    if (internal::WaitChild(pid_, std::chrono::seconds(5)) < 0) {
      ADD_FAILURE() << "lock child " << pid_ << " did not exit; killed";
    }
    pid_ = -1;
    if (rep_ >= 0) close(rep_);
    rep_ = -1;
  }
  // SIGKILL: the process dies with its descriptors open.
  void Kill() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    Exit();
  }

 private:
  enum Op : int { kOpen = 1, kClose, kSetLk, kSetLkW, kGetLk, kFlock };
  struct Command {
    int op = 0;
    int fd = -1;
    int arg = 0;  // open flags, lock type, flock op
    unsigned alarm_secs = 0;
    int64_t start = 0;
    int64_t len = 0;
    char path[1024] = {};
  };
  static_assert(sizeof(Command) < PIPE_BUF, "commands must be atomic writes");

  static Command LockCommand(int op, int fd, int arg, off_t start, off_t len,
                             unsigned alarm_secs) {
    Command c;
    c.op = op;
    c.fd = fd;
    c.arg = arg;
    c.start = start;
    c.len = len;
    c.alarm_secs = alarm_secs;
    return c;
  }

  int Simple(int op, int fd, int arg, off_t start, off_t len,
             unsigned alarm_secs) {
    LockReply r = Call(LockCommand(op, fd, arg, start, len, alarm_secs));
    return r.ret < 0 ? r.err : 0;
  }

  void Send(const Command& c) {
    if (cmd_ < 0 || internal::WriteFull(cmd_, &c, sizeof c) !=
                        static_cast<ssize_t>(sizeof c)) {
      ADD_FAILURE() << "lock child " << pid_ << " is gone";
      return;
    }
    ++pending_;
  }

  LockReply Call(const Command& c) {
    LockReply fail;
    fail.ret = -1;
    fail.err = ETIMEDOUT;
    if (pending_ != 0) {
      ADD_FAILURE() << "LockChild: a started command is still unanswered";
      return fail;
    }
    Send(c);
    if (pending_ == 0) return fail;
    std::optional<LockReply> r = Wait(std::chrono::seconds(10));
    if (!r) {
      ADD_FAILURE() << "lock child " << pid_ << ": no answer to command "
                    << c.op << " within 10 s";
      return fail;
    }
    return *r;
  }

  static void OnAlarm(int) {}

  static int64_t NowNs() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
  }

  // The child's loop: async-signal-safe calls only.
  [[noreturn]] static void Serve(int in, int out) {
    Command c;
    for (;;) {
      if (internal::ReadFull(in, &c, sizeof c) !=
          static_cast<ssize_t>(sizeof c)) {
        _exit(0);
      }
      LockReply r;
      struct flock fl;
      memset(&fl, 0, sizeof fl);
      fl.l_type = static_cast<short>(c.arg);
      fl.l_whence = SEEK_SET;
      fl.l_start = c.start;
      fl.l_len = c.len;
      int64_t t0 = NowNs();
      switch (c.op) {
        case kOpen:
          r.ret = open(c.path, c.arg | O_CLOEXEC);
          break;
        case kClose:
          r.ret = close(c.fd);
          break;
        case kSetLk:
          r.ret = fcntl(c.fd, F_SETLK, &fl);
          break;
        case kSetLkW:
          if (c.alarm_secs != 0) {
            struct sigaction sa;
            memset(&sa, 0, sizeof sa);
            sa.sa_handler = OnAlarm;
            sigemptyset(&sa.sa_mask);
            sa.sa_flags = 0;  // no SA_RESTART: the wait returns EINTR
            sigaction(SIGALRM, &sa, nullptr);
            t0 = NowNs();
            alarm(c.alarm_secs);
          }
          r.ret = fcntl(c.fd, F_SETLKW, &fl);
          if (c.alarm_secs != 0) alarm(0);
          break;
        case kGetLk:
          r.ret = fcntl(c.fd, F_GETLK, &fl);
          r.fl = fl;
          break;
        case kFlock:
          r.ret = flock(c.fd, c.arg);
          break;
        default:
          r.ret = -1;
          errno = EINVAL;
      }
      r.err = r.ret < 0 ? errno : 0;
      r.elapsed_ns = NowNs() - t0;
      if (internal::WriteFull(out, &r, sizeof r) !=
          static_cast<ssize_t>(sizeof r)) {
        _exit(0);
      }
    }
  }

  pid_t pid_ = -1;
  int cmd_ = -1;
  int rep_ = -1;
  int pending_ = 0;
};

// ------------------------------------------------------------ the fixture --

class FuseFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    // A write to a dead child's pipe must fail, not kill the test.
    signal(SIGPIPE, SIG_IGN);
    umask(022);
    dir_ = MakeTempDir("cfs-fuse");
    ASSERT_FALSE(dir_.empty()) << "mkdtemp: " << strerror(errno);
    mnt_ = dir_ + "/mnt";
    config_.data_dir = dir_ + "/data";
    config_.store = "leveldb";
    config_.sync = SyncPolicy::kBatch;
    Customize(&config_, &opts_);
    opts_.mount_point = mnt_;
    auto b = Backend::Open(config_);
    ASSERT_TRUE(b.ok()) << "Backend::Open: " << b.status().ToString();
    backend_ = std::move(b).value();
    Status st = backend_->Start();
    ASSERT_TRUE(st.ok()) << "Backend::Start: " << st.ToString();
    ASSERT_NO_FATAL_FAILURE(MountFrontend());
  }

  void TearDown() override {
    UnmountFrontend();
    backend_.reset();
    if (!dir_.empty()) {
      DetachMounts(mnt_);
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }

  // Subclasses may change the configuration before the backend opens.
  virtual void Customize(Config* config, FuseOptions* opts) {
    (void)config;
    opts->allow_other = true;
    opts->entry_timeout = 1.0;
    opts->attr_timeout = 1.0;
  }

  // Unmounts and mounts again on the same backend: the kernel forgets every
  // cached page, attribute and name.
  void Remount() {
    UnmountFrontend();
    ASSERT_NO_FATAL_FAILURE(MountFrontend());
  }

  // Absolute path of `rel` inside the mount ("" is the mount point).
  std::string Path(const std::string& rel = "") const {
    return rel.empty() ? mnt_ : mnt_ + "/" + rel;
  }
  const std::string& mount_point() const { return mnt_; }
  const std::string& temp_dir() const { return dir_; }
  Backend* backend() { return backend_.get(); }
  locking::LockManager* locks() { return backend_->locks(); }
  Vfs* vfs() { return backend_->vfs(); }
  FuseFrontend* frontend() { return frontend_.get(); }

  // stat() that records a failure and returns zeros on error.
  struct stat Stat(const std::string& path) {
    struct stat st;
    memset(&st, 0, sizeof st);
    EXPECT_SYS_OK(stat(path.c_str(), &st)) << path;
    return st;
  }
  struct stat Lstat(const std::string& path) {
    struct stat st;
    memset(&st, 0, sizeof st);
    EXPECT_SYS_OK(lstat(path.c_str(), &st)) << path;
    return st;
  }

  Config config_;
  FuseOptions opts_;

 private:
  void MountFrontend() {
    frontend_ = std::make_unique<FuseFrontend>(
        backend_->vfs(), backend_->locks(), backend_->share_modes(), opts_);
    Status st = frontend_->Mount();
    ASSERT_TRUE(st.ok()) << "Mount(" << mnt_ << "): " << st.ToString();
    ASSERT_TRUE(IsMounted(mnt_)) << mnt_ << " not in /proc/self/mountinfo";
  }

  void UnmountFrontend() {
    if (frontend_) frontend_->Stop();
    frontend_.reset();
    if (!mnt_.empty() && IsMounted(mnt_)) {
      ADD_FAILURE() << "FuseFrontend::Stop left " << mnt_ << " mounted";
      DetachMounts(mnt_);
    }
  }

  std::string dir_;
  std::string mnt_;
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<FuseFrontend> frontend_;
};

}  // namespace concordfs::fusetest
