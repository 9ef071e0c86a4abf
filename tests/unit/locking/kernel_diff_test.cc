// Differential test of POSIX record locks against the Linux kernel: random
// fcntl operations are applied both to a real file (fs/locks.c) and to a
// LockManager, and their answers and complete lock states must agree
// (DESIGN.md: POSIX locks merge, split and convert type exactly like Linux).
//
// POSIX locks belong to processes, so each simulated owner is a child process
// that opens the file and runs fcntl() for the parent over a pair of pipes; a
// fourth child only probes (F_GETLK). The kernel's complete state comes from
// /proc/locks (pid, type and exact range of every lock on the inode), which
// is compared with LockManager::List() after every operation; regular F_GETLK
// sweeps over single bytes from the probe child cross-check Test(). Without a
// usable /proc/locks the test still compares every answer and sweeps more.
//
// Offsets: the kernel's largest offset is OFFSET_MAX (INT64_MAX) and a lock
// ending there is "to EOF"; the test maps such requests to kToEof as the
// FUSE edge must (FUSE passes end = OFFSET_MAX). Requests that overflow are
// EOVERFLOW in the kernel and rejected at the edge, so they only check the
// kernel.
//
// Environment: CFS_DIFF_OPS (operations, default 10000), CFS_DIFF_SEED
// (default random). Failures print the seed and the last operations.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "locking/lock_manager.h"
#include "locking/lock_types.h"
#include "util/status.h"

namespace concordfs::locking {
namespace {

constexpr int kOwners = 3;       // children that take locks
constexpr int kProbe = kOwners;  // the child that only runs F_GETLK
constexpr int kChildren = kOwners + 1;
constexpr FileId kFile = 42;
constexpr uint64_t kMaxOff = INT64_MAX;  // the kernel's OFFSET_MAX
constexpr int64_t kSmallSpace = 81;      // bytes 0..80 are swept one by one
constexpr int64_t kHugeSpan = 40;        // huge starts: kMaxOff - [0, 40]
constexpr size_t kHistory = 25;          // operations shown on failure

// One lock as the kernel shows it: inclusive [first, last], last == kMaxOff
// for "to EOF". Manager locks are converted to this form to compare.
struct KLock {
  uint64_t pid = 0;
  bool exclusive = false;
  uint64_t first = 0;
  uint64_t last = 0;
  auto operator<=>(const KLock&) const = default;
};

std::string Describe(const KLock& k) {
  std::ostringstream os;
  os << "pid " << k.pid << (k.exclusive ? " W [" : " R [") << k.first << ", "
     << (k.last == kMaxOff ? std::string("EOF") : std::to_string(k.last))
     << "]";
  return os.str();
}

std::string Describe(const std::vector<KLock>& ks) {
  std::string s;
  for (const KLock& k : ks) s += "\n    " + Describe(k);
  return s.empty() ? " (none)" : s;
}

// Merges overlapping or adjacent same-type ranges of one pid: the canonical
// form fs/locks.c keeps. Used only to explain a state mismatch.
std::vector<KLock> Canonical(std::vector<KLock> ks) {
  std::sort(ks.begin(), ks.end());
  std::vector<KLock> out;
  for (const KLock& k : ks) {
    if (!out.empty() && out.back().pid == k.pid &&
        out.back().exclusive == k.exclusive &&
        (out.back().last == kMaxOff || out.back().last + 1 >= k.first)) {
      out.back().last = std::max(out.back().last, k.last);
    } else {
      out.push_back(k);
    }
  }
  return out;
}

// For readable gtest messages (LockStatus has no printer).
std::string Name(LockStatus s) { return LockStatusName(s); }

bool Overlap(const KLock& a, const KLock& b) {
  return a.first <= b.last && b.first <= a.last;
}

// ---- the child processes ----

constexpr int32_t kQuit = -1;
struct Command {
  int32_t cmd = kQuit;  // F_SETLK / F_GETLK
  int16_t type = F_UNLCK;
  int64_t start = 0;
  int64_t len = 0;
};
struct Reply {
  int32_t rc = -1;
  int32_t err = 0;
  struct flock fl = {};
};

bool ReadFull(int fd, void* buf, size_t n) {
  char* p = static_cast<char*>(buf);
  while (n > 0) {
    ssize_t r = read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

bool WriteFull(int fd, const void* buf, size_t n) {
  const char* p = static_cast<const char*>(buf);
  while (n > 0) {
    ssize_t r = write(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

// The child: opens the file, reports readiness, then runs fcntl() commands
// until told to quit. Only async-signal-safe calls after fork().
[[noreturn]] void Serve(const char* path, int in, int out) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  int fd = open(path, O_RDWR);
  Reply ready;
  ready.rc = fd < 0 ? -1 : 0;
  ready.err = fd < 0 ? errno : 0;
  bool ok = WriteFull(out, &ready, sizeof ready) && fd >= 0;
  Command c;
  while (ok && ReadFull(in, &c, sizeof c) && c.cmd != kQuit) {
    Reply r;
    r.fl.l_type = c.type;
    r.fl.l_whence = SEEK_SET;
    r.fl.l_start = c.start;
    r.fl.l_len = c.len;
    r.rc = fcntl(fd, c.cmd, &r.fl);
    r.err = r.rc < 0 ? errno : 0;
    ok = WriteFull(out, &r, sizeof r);
  }
  _exit(0);
}

class Child {
 public:
  // Forks the child; false (with the reason in *error) on failure.
  bool Start(const char* path, std::string* error) {
    int to_child[2], from_child[2];
    if (pipe(to_child) != 0) return Fail("pipe", error);
    if (pipe(from_child) != 0) return Fail("pipe", error);
    pid_ = fork();
    if (pid_ < 0) return Fail("fork", error);
    if (pid_ == 0) {
      close(to_child[1]);
      close(from_child[0]);
      Serve(path, to_child[0], from_child[1]);
    }
    close(to_child[0]);
    close(from_child[1]);
    cmd_fd_ = to_child[1];
    reply_fd_ = from_child[0];
    Reply ready;
    if (!ReadFull(reply_fd_, &ready, sizeof ready)) return Fail("read", error);
    if (ready.rc != 0) {
      *error = "child open: " + ErrnoName(ready.err);
      return false;
    }
    return true;
  }

  // Runs one fcntl() in the child; false if the child is gone.
  bool Call(const Command& c, Reply* r) {
    return WriteFull(cmd_fd_, &c, sizeof c) &&
           ReadFull(reply_fd_, r, sizeof *r);
  }

  // Runs several, pipelined (one wake-up instead of one per command); the
  // caller keeps the batch well under the pipe capacity.
  bool CallMany(const std::vector<Command>& cs, std::vector<Reply>* rs) {
    rs->resize(cs.size());
    return WriteFull(cmd_fd_, cs.data(), cs.size() * sizeof(Command)) &&
           ReadFull(reply_fd_, rs->data(), rs->size() * sizeof(Reply));
  }

  // Kills and reaps the child (idempotent).
  void Stop() {
    if (cmd_fd_ >= 0) close(cmd_fd_);
    if (reply_fd_ >= 0) close(reply_fd_);
    cmd_fd_ = reply_fd_ = -1;
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
      }
    }
    pid_ = -1;
  }

  pid_t pid() const { return pid_; }

 private:
  static bool Fail(const char* what, std::string* error) {
    *error = std::string(what) + ": " + ErrnoName(errno);
    return false;
  }
  pid_t pid_ = -1;
  int cmd_fd_ = -1;
  int reply_fd_ = -1;
};

// ---- operations ----

struct Op {
  int child = 0;
  int cmd = F_SETLK;
  int16_t type = F_WRLCK;
  int64_t start = 0;
  int64_t len = 0;
};

const char* TypeName(int type) {
  return type == F_RDLCK ? "F_RDLCK" : type == F_WRLCK ? "F_WRLCK" : "F_UNLCK";
}

std::string Describe(const Op& op) {
  std::ostringstream os;
  os << "child " << op.child << (op.cmd == F_GETLK ? " F_GETLK " : " F_SETLK ")
     << TypeName(op.type) << " start " << op.start << " len " << op.len;
  return os.str();
}

std::string Describe(const Reply& r, int cmd) {
  if (r.rc != 0) return "error " + ErrnoName(r.err);
  if (cmd != F_GETLK) return "ok";
  if (r.fl.l_type == F_UNLCK) return "F_UNLCK";
  std::ostringstream os;
  os << TypeName(r.fl.l_type) << " pid " << r.fl.l_pid << " start "
     << r.fl.l_start << " len " << r.fl.l_len;
  return os.str();
}

uint64_t EnvOr(const char* name, uint64_t def) {
  const char* v = getenv(name);
  return v && *v ? strtoull(v, nullptr, 0) : def;
}

class KernelDiffTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* dir = access("/var/tmp", W_OK) == 0 ? "/var/tmp" : "/tmp";
    path_ = std::string(dir) + "/cfs-kernel-diff-XXXXXX";
    int fd = mkstemp(path_.data());
    ASSERT_GE(fd, 0) << ErrnoName(errno);
    struct stat st;
    ASSERT_EQ(fstat(fd, &st), 0);
    ino_ = st.st_ino;
    close(fd);  // the parent never holds a lock or a descriptor
    for (Child& c : children_) {
      std::string error;
      ASSERT_TRUE(c.Start(path_.c_str(), &error)) << error;
    }
  }

  void TearDown() override {
    for (Child& c : children_) c.Stop();
    unlink(path_.c_str());
  }

  Reply Call(int child, int cmd, int16_t type, int64_t start, int64_t len) {
    Command c;
    c.cmd = cmd;
    c.type = type;
    c.start = start;
    c.len = len;
    Reply r;
    if (!children_[child].Call(c, &r)) {
      ADD_FAILURE() << "child " << child << " is gone";
      r.rc = -1;
      r.err = EPIPE;
    }
    return r;
  }

  uint64_t Pid(int child) const {
    return static_cast<uint64_t>(children_[child].pid());
  }

  // The manager range of a kernel (start, len), or nullopt if the kernel
  // answers EOVERFLOW.
  static std::optional<Range> ToRange(int64_t start, int64_t len) {
    uint64_t s = static_cast<uint64_t>(start);
    uint64_t l = static_cast<uint64_t>(len);
    if (l > 0 && l - 1 > kMaxOff - s) return std::nullopt;
    std::optional<Range> r = Range::FromPosix(s, l);
    EXPECT_TRUE(r.has_value()) << "FromPosix(" << s << ", " << l << ")";
    if (!r) return std::nullopt;
    EXPECT_EQ(r->first, s);
    EXPECT_EQ(r->last, l == 0 ? kToEof : s + l - 1);
    EXPECT_FALSE(r->zero_length);
    if (r->last == kMaxOff) r->last = kToEof;  // fs/locks.c: this is EOF
    return r;
  }

  LockRequest Request(int child, int16_t type, const Range& range) const {
    LockRequest req;
    req.file = kFile;
    req.owner = Owner{Protocol::kLocal, 0, std::string(1, char(child)), 0};
    req.flavor = Flavor::kPosix;
    req.mode = type == F_WRLCK ? LockMode::kExclusive : LockMode::kShared;
    req.range = range;
    req.pid = static_cast<uint32_t>(Pid(child));
    return req;
  }

  static KLock ToKLock(const LockRequest& req) {
    return KLock{req.pid, req.mode == LockMode::kExclusive, req.range.first,
                 req.range.last == kToEof ? kMaxOff : req.range.last};
  }

  // Every manager lock in kernel form; checks each one's identity fields.
  std::vector<KLock> ManagerLocks() {
    std::vector<LockInfo> locks;
    std::vector<WaiterInfo> waiters;
    mgr_.List(&locks, &waiters);
    EXPECT_TRUE(waiters.empty()) << waiters.size() << " waiters";
    std::vector<KLock> out;
    for (const LockInfo& li : locks) {
      const Lock& l = li.lock;
      const Owner& o = l.owner;
      EXPECT_EQ(li.file, kFile);
      EXPECT_EQ(l.flavor, Flavor::kPosix);
      EXPECT_TRUE(o.protocol == Protocol::kLocal && o.client == 0 &&
                  o.open == 0 && o.owner.size() == 1 && o.owner[0] >= 0 &&
                  o.owner[0] < kOwners)
          << "unexpected owner " << o.ToString();
      if (o.owner.size() == 1 && o.owner[0] >= 0 && o.owner[0] < kOwners) {
        EXPECT_EQ(l.pid, Pid(o.owner[0])) << o.ToString();
      }
      EXPECT_FALSE(l.range.zero_length);
      out.push_back(KLock{l.pid, l.mode == LockMode::kExclusive, l.range.first,
                          l.range.last == kToEof ? kMaxOff : l.range.last});
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  // Every POSIX lock of our children on the file, from /proc/locks, e.g.
  // "1: POSIX  ADVISORY  WRITE 4711 fe:00:1234 5 EOF"; "->" lines are
  // blocked requests (none here).
  // /proc/locks is a seq_file: a read that needs several chunks while other
  // processes take or drop locks can skip or repeat lines, so a result that
  // disagrees is read again until two reads agree.
  std::vector<KLock> StableKernelLocks() {
    std::vector<KLock> prev = KernelLocks();
    for (int i = 0; i < 50; ++i) {
      std::vector<KLock> now = KernelLocks();
      if (now == prev) return now;
      prev = std::move(now);
    }
    ADD_FAILURE() << "/proc/locks does not settle";
    return prev;
  }

  std::vector<KLock> KernelLocks() {
    std::ifstream in("/proc/locks");
    std::vector<KLock> out;
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream ss(line);
      std::string id, cls, adv, type, dev, start, end;
      uint64_t pid = 0;
      ss >> id >> cls;
      if (cls != "POSIX") continue;
      ss >> adv >> type >> pid >> dev >> start >> end;
      size_t colon = dev.rfind(':');
      if (!ss || colon == std::string::npos) continue;
      if (strtoull(dev.c_str() + colon + 1, nullptr, 10) != ino_) continue;
      bool ours = false;
      for (int i = 0; i < kChildren; ++i) ours |= pid == Pid(i);
      if (!ours) continue;  // the same inode number on another filesystem
      out.push_back(
          KLock{pid, type == "WRITE", strtoull(start.c_str(), 0, 10),
                end == "EOF" ? kMaxOff : strtoull(end.c_str(), 0, 10)});
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  // Does /proc/locks show our locks? (It may be missing or filtered in some
  // sandboxes.) Runs before the manager sees any operation.
  bool ProcLocksUsable() {
    Reply r = Call(0, F_SETLK, F_WRLCK, 3, 2);
    if (r.rc != 0) return false;
    std::vector<KLock> seen = StableKernelLocks();
    Call(0, F_SETLK, F_UNLCK, 0, 0);
    return seen == std::vector<KLock>{KLock{Pid(0), true, 3, 4}};
  }

  bool Conflicts(const KLock& held, const LockRequest& req) {
    KLock r = ToKLock(req);
    return held.pid != r.pid && (held.exclusive || r.exclusive) &&
           Overlap(held, r);
  }

  bool Contains(const std::vector<KLock>& ks, const KLock& k) {
    return std::find(ks.begin(), ks.end(), k) != ks.end();
  }

  // The lock F_GETLK reported must be a lock the manager holds for that pid,
  // with that mode and exactly that range, and must conflict.
  void CheckKernelHolder(const LockRequest& req, const Reply& r) {
    uint64_t start = static_cast<uint64_t>(r.fl.l_start);
    uint64_t len = static_cast<uint64_t>(r.fl.l_len);
    KLock k{static_cast<uint64_t>(r.fl.l_pid), r.fl.l_type == F_WRLCK, start,
            len == 0 ? kMaxOff : start + len - 1};
    EXPECT_TRUE(Conflicts(k, req)) << "kernel holder " << Describe(k);
    EXPECT_TRUE(Contains(ManagerLocks(), k))
        << "kernel reports " << Describe(k) << ", manager holds"
        << Describe(ManagerLocks());
  }

  // The manager's holder must be a lock it holds, that conflicts, that the
  // kernel holds too (/proc/locks), and F_GETLK from the requester over the
  // holder's exact range must see a conflict as well.
  void CheckManagerHolder(int child, const LockRequest& req,
                          const std::optional<Lock>& holder) {
    ASSERT_TRUE(holder.has_value()) << "conflict without a holder";
    const Lock& h = *holder;
    KLock k{h.pid, h.mode == LockMode::kExclusive, h.range.first,
            h.range.last == kToEof ? kMaxOff : h.range.last};
    EXPECT_EQ(h.flavor, Flavor::kPosix);
    EXPECT_NE(h.owner, req.owner) << "holder is the requester";
    EXPECT_TRUE(Conflicts(k, req)) << "manager holder " << Describe(k);
    EXPECT_TRUE(Contains(ManagerLocks(), k))
        << "manager reports " << Describe(k) << " but holds"
        << Describe(ManagerLocks());
    std::vector<KLock> kernel;
    if (proc_locks_) {
      kernel = KernelLocks();
      if (!Contains(kernel, k)) kernel = StableKernelLocks();
      EXPECT_TRUE(Contains(kernel, k)) << "manager reports " << Describe(k)
                                       << ", kernel holds" << Describe(kernel);
    }
    if (k.last > kMaxOff) return;  // already reported as a mismatch
    // F_GETLK over exactly the holder's range must see a conflict. It
    // reports the first conflicting lock in the kernel's list, so the pid
    // must match only when the holder is the one kernel lock in the way.
    LockRequest over = req;
    over.range = Range{k.first, k.last == kMaxOff ? kToEof : k.last};
    int64_t len = k.last == kMaxOff ? 0 : int64_t(k.last - k.first + 1);
    int16_t type = req.mode == LockMode::kExclusive ? F_WRLCK : F_RDLCK;
    Reply r = Call(child, F_GETLK, type, int64_t(k.first), len);
    ASSERT_TRUE(r.rc == 0 && r.fl.l_type != F_UNLCK)
        << "kernel sees no conflict over the manager's holder " << Describe(k)
        << ": " << Describe(r, F_GETLK);
    CheckKernelHolder(over, r);
    size_t in_the_way = 0;
    for (const KLock& o : kernel) in_the_way += Conflicts(o, over);
    if (in_the_way == 1) {
      EXPECT_EQ(uint64_t(r.fl.l_pid), k.pid) << Describe(r, F_GETLK);
    }
  }

  // Compares one F_GETLK answer with Test().
  void CheckTest(int child, const LockRequest& req, const Reply& r,
                 std::string* mgr_answer) {
    LockResult res = mgr_.Test(req);
    *mgr_answer = LockStatusName(res.status);
    ASSERT_EQ(r.rc, 0) << "F_GETLK: " << ErrnoName(r.err);
    bool conflict = r.fl.l_type != F_UNLCK;
    EXPECT_EQ(Name(res.status),
              Name(conflict ? LockStatus::kConflict : LockStatus::kGranted))
        << "kernel: " << Describe(r, F_GETLK);
    if (conflict) CheckKernelHolder(req, r);
    if (res.status == LockStatus::kConflict) {
      CheckManagerHolder(child, req, res.holder);
    }
  }

  // Applies `op` to both sides and compares the answers.
  void Apply(const Op& op, std::string* kernel_answer,
             std::string* mgr_answer) {
    Reply r = Call(op.child, op.cmd, op.type, op.start, op.len);
    *kernel_answer = Describe(r, op.cmd);
    std::optional<Range> range = ToRange(op.start, op.len);
    if (!range) {
      *mgr_answer = "(rejected at the edge)";
      EXPECT_TRUE(r.rc == -1 && r.err == EOVERFLOW) << *kernel_answer;
      return;
    }
    LockRequest req = Request(op.child, op.type, *range);
    if (op.cmd == F_GETLK) return CheckTest(op.child, req, r, mgr_answer);
    if (op.type == F_UNLCK) {
      LockStatus st = mgr_.Unlock(req);
      *mgr_answer = LockStatusName(st);
      EXPECT_EQ(r.rc, 0) << *kernel_answer;
      EXPECT_EQ(Name(st), Name(LockStatus::kGranted));
      return;
    }
    LockResult res = mgr_.Lock(req);
    *mgr_answer = LockStatusName(res.status);
    if (r.rc == 0) {
      ++granted_;
      EXPECT_EQ(Name(res.status), Name(LockStatus::kGranted));
      return;
    }
    ++refused_;
    EXPECT_TRUE(r.err == EAGAIN || r.err == EACCES) << *kernel_answer;
    EXPECT_EQ(Name(res.status), Name(LockStatus::kConflict));
    if (res.status == LockStatus::kConflict && res.holder) {
      CheckManagerHolder(op.child, req, res.holder);
    }
  }

  void CompareStates() {
    std::vector<KLock> m = ManagerLocks();
    if (KernelLocks() == m) return;
    std::vector<KLock> k = StableKernelLocks();
    if (k == m) return;
    bool same_bytes = Canonical(m) == Canonical(k);
    ADD_FAILURE() << "lock state differs"
                  << (same_bytes ? " (same bytes and modes: the manager does "
                                   "not merge adjacent locks like fs/locks.c)"
                                 : "")
                  << "\n  kernel:" << Describe(k)
                  << "\n  manager:" << Describe(m);
  }

  // F_GETLK of single bytes from the probe child, both types, over the
  // small space and the top of the offset space, compared with Test().
  void Sweep() {
    std::vector<Command> probes;
    auto add = [&probes](int64_t start, int64_t len) {
      for (int16_t type : {F_RDLCK, F_WRLCK}) {
        probes.push_back(Command{F_GETLK, type, start, len});
      }
    };
    for (int64_t b = 0; b < kSmallSpace; ++b) add(b, 1);
    add(kSmallSpace, 0);
    for (int64_t d = kHugeSpan; d >= 0; --d) add(int64_t(kMaxOff) - d, 1);
    static_assert((2 * kSmallSpace + 2 * kHugeSpan + 4) * sizeof(Reply) <
                  16384);  // far below the 64 KiB pipe buffer
    std::vector<Reply> replies;
    ASSERT_TRUE(children_[kProbe].CallMany(probes, &replies)) << "probe gone";
    for (size_t i = 0; i < probes.size(); ++i) {
      const Command& c = probes[i];
      std::optional<Range> range = ToRange(c.start, c.len);
      ASSERT_TRUE(range.has_value());
      std::string answer;
      CheckTest(kProbe, Request(kProbe, c.type, *range), replies[i], &answer);
      if (HasFailure()) {
        ADD_FAILURE() << "in a probe sweep: " << TypeName(c.type) << " start "
                      << c.start << " len " << c.len;
        return;
      }
    }
  }

  static Op RandomOp(std::mt19937_64& rng) {
    auto uniform = [&rng](int64_t lo, int64_t hi) {
      return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
    };
    Op op;
    op.child = int(uniform(0, kOwners - 1));
    int64_t kind = uniform(0, 99);
    op.cmd = kind < 70 ? F_SETLK : F_GETLK;
    op.type = uniform(0, 1) ? F_WRLCK : F_RDLCK;
    if (kind >= 40 && kind < 70) op.type = F_UNLCK;
    if (kind >= 68 && kind < 70) return op;  // unlock everything
    if (uniform(0, 99) < 5) {
      op.start = int64_t(kMaxOff) - uniform(0, kHugeSpan);
      op.len = uniform(0, 16);
    } else {
      op.start = uniform(0, 63);
      op.len = uniform(0, 99) < 8 ? 0 : uniform(1, 16);
    }
    return op;
  }

  std::string path_;
  ino_t ino_ = 0;
  Child children_[kChildren];
  LockManager mgr_;
  bool proc_locks_ = false;
  int granted_ = 0, refused_ = 0;
};

TEST_F(KernelDiffTest, RandomOperationsMatchFsLocks) {
  const uint64_t seed = EnvOr("CFS_DIFF_SEED", std::random_device{}());
  const uint64_t ops = EnvOr("CFS_DIFF_OPS", 10000);
  std::printf("kernel_diff: seed %llu, %llu operations\n",
              static_cast<unsigned long long>(seed),
              static_cast<unsigned long long>(ops));
  SCOPED_TRACE(::testing::Message() << "CFS_DIFF_SEED=" << seed);
  proc_locks_ = ProcLocksUsable();
  ASSERT_FALSE(HasFailure());
  if (!proc_locks_) {
    std::printf(
        "kernel_diff: /proc/locks unusable; comparing answers and "
        "probe sweeps only\n");
  }
  const uint64_t sweep_every = proc_locks_ ? 64 : 8;
  std::mt19937_64 rng(seed);
  std::deque<std::string> history;
  for (uint64_t i = 0; i < ops; ++i) {
    Op op = RandomOp(rng);
    std::string kernel_answer, mgr_answer;
    Apply(op, &kernel_answer, &mgr_answer);
    history.push_back("#" + std::to_string(i) + " " + Describe(op) +
                      " -> kernel " + kernel_answer + ", manager " +
                      mgr_answer);
    if (history.size() > kHistory) history.pop_front();
    if (proc_locks_ && !HasFailure()) CompareStates();
    if (!HasFailure() && (i % sweep_every == sweep_every - 1 || i + 1 == ops)) {
      Sweep();
    }
    if (HasFailure()) {
      std::string h;
      for (const std::string& s : history) h += "\n  " + s;
      ADD_FAILURE() << "at operation #" << i
                    << "; reproduce with CFS_DIFF_SEED=" << seed
                    << " CFS_DIFF_OPS=" << i + 1 << "\nlast operations:" << h
                    << "\nkernel now:"
                    << (proc_locks_ ? Describe(StableKernelLocks())
                                    : " (unknown)")
                    << "\nmanager now:" << Describe(ManagerLocks());
      return;
    }
  }
  std::printf("kernel_diff: %d locks granted, %d refused\n", granted_,
              refused_);
}

}  // namespace
}  // namespace concordfs::locking
