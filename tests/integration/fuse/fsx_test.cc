// Data integrity through the mount, two ways.
//
// FsxTest: an fsx-style exerciser. Several forked processes each run random
// writes, reads, truncates, fallocates and hole punches on their own file
// (and on their own region of one shared file) through the in-process FUSE
// mount, checking every read against an in-memory model. Afterwards the
// mount is recreated (no kernel cache left) and every file must match the
// checksum its process reported. CFS_FSX_OPS sets the total operation count
// (default 120000), CFS_FSX_SEED the seed (printed on every run).
//
// DaemonPersistenceTest: the real `concordfs` binary (env CFS_DAEMON_BIN, or
// the first non-flag argument) mounts a temporary store; data written and
// fsynced through the mount must survive `kill -9` (with the stale mount
// cleaned by the restarted daemon itself, and by `umount -l`), and a clean
// SIGTERM stop must keep everything.
#include <linux/falloc.h>
#include <spawn.h>
#include <sys/statfs.h>
#include <sys/xattr.h>

#include <cinttypes>
#include <iostream>
#include <map>
#include <random>

#include "tests/integration/fuse/fuse_fixture.h"

extern char** environ;

namespace concordfs::fusetest {
namespace {

// ------------------------------------------------------------------- fsx --

constexpr uint64_t kMaxFile = 512 * 1024;  // own file size limit
constexpr uint64_t kMaxOp = 64 * 1024;     // largest single read/write
constexpr uint64_t kRegion = 128 * 1024;   // each process's shared region
constexpr int kProcs = 3;
constexpr int kLogSize = 48;

// Async-signal-safe text building for the children (no malloc, no stdio).
class Msg {
 public:
  Msg& operator<<(const char* s) {
    while (*s != '\0' && len_ + 1 < sizeof buf_) buf_[len_++] = *s++;
    buf_[len_] = '\0';
    return *this;
  }
  Msg& operator<<(uint64_t v) {
    char tmp[24];
    int n = 0;
    do {
      tmp[n++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    while (n > 0 && len_ + 1 < sizeof buf_) buf_[len_++] = tmp[--n];
    buf_[len_] = '\0';
    return *this;
  }
  const char* c_str() const { return buf_; }
  size_t size() const { return len_; }
  void Clear() {
    len_ = 0;
    buf_[0] = '\0';
  }

 private:
  char buf_[512] = {};
  size_t len_ = 0;
};

struct ChildReport {
  int failed = 0;
  uint64_t ops = 0;
  uint64_t own_size = 0;
  uint64_t own_sum = 0;
  uint64_t region_sum = 0;
  char msg[512] = {};
};

enum OpKind : uint8_t {
  kWrite,
  kRead,
  kTruncate,
  kPunch,
  kAlloc,
  kAllocKeep,
  kStatCheck,
  kReopen,
  kReopenTrunc,
  kVerifyAll,
  kSharedWrite,
  kSharedRead,
  kSharedPunch,
};
const char* const kOpNames[] = {"write",       "read",         "truncate",
                                "punch",       "fallocate",    "fallocate-keep",
                                "fstat",       "reopen",       "reopen-trunc",
                                "verify-all",  "shared-write", "shared-read",
                                "shared-punch"};

struct OpRecord {
  uint64_t n = 0;
  OpKind kind = kWrite;
  uint64_t off = 0, len = 0, size_after = 0;
};

// One exerciser process. Everything it touches is allocated by the parent
// before fork; the child only makes system calls and memory comparisons.
class FsxProcess {
 public:
  FsxProcess(int index, uint64_t seed, std::string own, std::string shared)
      : index_(index),
        rng_(seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(index) + 1),
        own_path_(std::move(own)),
        shared_path_(std::move(shared)),
        model_(kMaxFile, 0),
        region_(kRegion, 0),
        buf_(kMaxFile + kMaxOp, 0),
        wbuf_(kMaxOp, 0),
        region_base_(static_cast<uint64_t>(index) * kRegion) {}

  // Runs in the child.
  ChildReport Run(uint64_t ops) {
    ChildReport rep;
    fd_ = open(own_path_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    sfd_ = open(shared_path_.c_str(), O_RDWR | O_CLOEXEC);
    if (fd_ < 0 || sfd_ < 0) {
      Fail("open", errno);
    }
    for (uint64_t i = 0; i < ops && !failed_; ++i) Step(i);
    if (!failed_) VerifyAll(ops);
    if (!failed_) StatCheck(ops);
    if (!failed_) VerifyRegion(0, kRegion, ops);
    rep.failed = failed_ ? 1 : 0;
    rep.ops = done_;
    rep.own_size = size_;
    rep.own_sum = Fnv1a(model_.data(), size_);
    rep.region_sum = Fnv1a(region_.data(), kRegion);
    memcpy(rep.msg, msg_.c_str(), msg_.size() + 1);
    return rep;
  }

 private:
  uint64_t Next() {  // xorshift64*
    rng_ ^= rng_ >> 12;
    rng_ ^= rng_ << 25;
    rng_ ^= rng_ >> 27;
    return rng_ * 2685821657736338717ULL;
  }
  uint64_t Below(uint64_t n) { return n == 0 ? 0 : Next() % n; }

  void Fill(uint64_t len) {
    for (uint64_t i = 0; i < len; i += 8) {
      uint64_t v = Next();
      memcpy(wbuf_.data() + i, &v, std::min<uint64_t>(8, len - i));
    }
  }

  void Record(uint64_t n, OpKind k, uint64_t off, uint64_t len) {
    OpRecord& r = log_[n % kLogSize];
    r = OpRecord{n, k, off, len, size_};
  }

  void Fail(const char* what, int err, uint64_t off = 0, uint64_t detail = 0) {
    if (failed_) return;
    failed_ = true;
    msg_ << "process " << static_cast<uint64_t>(index_) << " op " << done_
         << ": " << what << " errno " << static_cast<uint64_t>(err) << " off "
         << off << " detail " << detail << " model size " << size_;
    Msg line;
    line << "fsx[" << static_cast<uint64_t>(index_)
         << "] FAILED: " << msg_.c_str() << "\n";
    internal::WriteFull(2, line.c_str(), line.size());
    uint64_t first = done_ >= kLogSize ? done_ - kLogSize + 1 : 0;
    for (uint64_t n = first; n <= done_; ++n) {
      const OpRecord& r = log_[n % kLogSize];
      if (r.n != n) continue;
      line.Clear();
      line << "  #" << r.n << " " << kOpNames[r.kind] << " off " << r.off
           << " len " << r.len << " size-after " << r.size_after << "\n";
      internal::WriteFull(2, line.c_str(), line.size());
    }
  }

  void Step(uint64_t n) {
    done_ = n;
    uint64_t dice = Below(100);
    if (dice < 25) {
      SharedStep(n);
    } else if (dice < 47) {
      Write(n);
    } else if (dice < 70) {
      Read(n);
    } else if (dice < 76) {
      Truncate(n);
    } else if (dice < 82) {
      Punch(n);
    } else if (dice < 86) {
      Alloc(n, false);
    } else if (dice < 89) {
      Alloc(n, true);
    } else if (dice < 94) {
      Record(n, kStatCheck, 0, 0);
      StatCheck(n);
    } else if (dice < 97) {
      Reopen(n, false);
    } else if (dice < 98) {
      Reopen(n, true);
    } else {
      Record(n, kVerifyAll, 0, size_);
      VerifyAll(n);
    }
    done_ = n + 1;
  }

  // Offsets: mostly anywhere, sometimes right at or near the end.
  uint64_t PickOffset(uint64_t limit) {
    if (Below(8) == 0 && size_ < limit) return size_;
    return Below(limit);
  }

  void Write(uint64_t n) {
    uint64_t len = 1 + Below(kMaxOp);
    uint64_t off = PickOffset(kMaxFile - len);
    Record(n, kWrite, off, len);
    Fill(len);
    if (!PwriteAll(fd_, off, len)) return;
    memcpy(model_.data() + off, wbuf_.data(), len);
    size_ = std::max(size_, off + len);
    log_[n % kLogSize].size_after = size_;
  }

  bool PwriteAll(int fd, uint64_t off, uint64_t len) {
    uint64_t done = 0;
    while (done < len) {
      ssize_t w = pwrite(fd, wbuf_.data() + done, len - done,
                         static_cast<off_t>(off + done));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        Fail("pwrite", w < 0 ? errno : 0, off, done);
        return false;
      }
      done += static_cast<uint64_t>(w);
    }
    return true;
  }

  // Reads [off, off+len) of `fd`; returns the byte count or -1.
  int64_t PreadFull(int fd, uint64_t off, uint64_t len) {
    uint64_t done = 0;
    while (done < len) {
      ssize_t r = pread(fd, buf_.data() + done, len - done,
                        static_cast<off_t>(off + done));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) {
        Fail("pread", errno, off, done);
        return -1;
      }
      if (r == 0) break;
      done += static_cast<uint64_t>(r);
    }
    return static_cast<int64_t>(done);
  }

  void Compare(const uint8_t* want, uint64_t off, uint64_t n,
               const char* what) {
    if (memcmp(buf_.data(), want, n) == 0) return;
    uint64_t i = 0;
    while (i < n && buf_[i] == want[i]) ++i;
    Msg m;
    m << what << " mismatch at file offset " << off + i << " got "
      << static_cast<uint64_t>(buf_[i]) << " want "
      << static_cast<uint64_t>(want[i]);
    Fail(m.c_str(), 0, off, n);
  }

  void CheckRead(uint64_t off, uint64_t len, const char* what) {
    int64_t got = PreadFull(fd_, off, len);
    if (got < 0) return;
    uint64_t want = off >= size_ ? 0 : std::min(len, size_ - off);
    if (static_cast<uint64_t>(got) != want) {
      Fail("short/long read", 0, off, static_cast<uint64_t>(got));
      return;
    }
    Compare(model_.data() + off, off, want, what);
  }

  void Read(uint64_t n) {
    uint64_t len = 1 + Below(kMaxOp);
    uint64_t off = size_ == 0 ? 0 : Below(size_ + 1024);
    if (off > kMaxFile) off = kMaxFile;
    Record(n, kRead, off, len);
    CheckRead(off, len, "read");
  }

  void VerifyAll(uint64_t n) {
    (void)n;
    CheckRead(0, kMaxFile + 1, "full read");
  }

  void Truncate(uint64_t n) {
    uint64_t to = Below(8) == 0 ? 0 : Below(kMaxFile + 1);
    Record(n, kTruncate, to, 0);
    if (ftruncate(fd_, static_cast<off_t>(to)) != 0) {
      Fail("ftruncate", errno, to);
      return;
    }
    if (to < size_) memset(model_.data() + to, 0, size_ - to);
    size_ = to;
    log_[n % kLogSize].size_after = size_;
  }

  void Punch(uint64_t n) {
    uint64_t off = size_ == 0 ? 0 : Below(size_);
    uint64_t len = 1 + Below(kMaxOp);
    Record(n, kPunch, off, len);
    if (fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                  static_cast<off_t>(off), static_cast<off_t>(len)) != 0) {
      Fail("punch hole", errno, off, len);
      return;
    }
    if (off < size_) {
      memset(model_.data() + off, 0, std::min(len, size_ - off));
    }
  }

  void Alloc(uint64_t n, bool keep_size) {
    uint64_t len = 1 + Below(kMaxOp);
    uint64_t off = Below(kMaxFile - len);
    Record(n, keep_size ? kAllocKeep : kAlloc, off, len);
    if (fallocate(fd_, keep_size ? FALLOC_FL_KEEP_SIZE : 0,
                  static_cast<off_t>(off), static_cast<off_t>(len)) != 0) {
      Fail("fallocate", errno, off, len);
      return;
    }
    if (!keep_size) size_ = std::max(size_, off + len);
    log_[n % kLogSize].size_after = size_;
  }

  void StatCheck(uint64_t n) {
    (void)n;
    struct stat st;
    if (fstat(fd_, &st) != 0) {
      Fail("fstat", errno);
      return;
    }
    if (static_cast<uint64_t>(st.st_size) != size_) {
      Fail("fstat size differs from the model", 0, 0,
           static_cast<uint64_t>(st.st_size));
    }
  }

  void Reopen(uint64_t n, bool trunc) {
    Record(n, trunc ? kReopenTrunc : kReopen, 0, 0);
    if (close(fd_) != 0) {
      Fail("close", errno);
      return;
    }
    fd_ = open(own_path_.c_str(), O_RDWR | O_CLOEXEC | (trunc ? O_TRUNC : 0));
    if (fd_ < 0) {
      Fail("reopen", errno);
      return;
    }
    if (trunc) {
      memset(model_.data(), 0, size_);
      size_ = 0;
    }
    log_[n % kLogSize].size_after = size_;
  }

  void SharedStep(uint64_t n) {
    uint64_t dice = Below(10);
    uint64_t len = 1 + Below(std::min(kMaxOp, kRegion));
    uint64_t rel = Below(kRegion - len + 1);
    uint64_t off = region_base_ + rel;
    if (dice < 4) {
      Record(n, kSharedWrite, off, len);
      Fill(len);
      if (!PwriteAll(sfd_, off, len)) return;
      memcpy(region_.data() + rel, wbuf_.data(), len);
    } else if (dice < 9) {
      Record(n, kSharedRead, off, len);
      VerifyRegion(rel, len, n);
    } else {
      Record(n, kSharedPunch, off, len);
      if (fallocate(sfd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                    static_cast<off_t>(off), static_cast<off_t>(len)) != 0) {
        Fail("shared punch hole", errno, off, len);
        return;
      }
      memset(region_.data() + rel, 0, len);
    }
  }

  void VerifyRegion(uint64_t rel, uint64_t len, uint64_t n) {
    (void)n;
    int64_t got = PreadFull(sfd_, region_base_ + rel, len);
    if (got < 0) return;
    if (static_cast<uint64_t>(got) != len) {
      Fail("short read in the shared file", 0, region_base_ + rel,
           static_cast<uint64_t>(got));
      return;
    }
    Compare(region_.data() + rel, region_base_ + rel, len, "shared read");
  }

  int index_;
  uint64_t rng_;
  std::string own_path_, shared_path_;
  std::vector<uint8_t> model_, region_, buf_, wbuf_;
  uint64_t region_base_;
  uint64_t size_ = 0;
  int fd_ = -1, sfd_ = -1;
  bool failed_ = false;
  uint64_t done_ = 0;
  OpRecord log_[kLogSize];
  Msg msg_;
};

uint64_t EnvU64(const char* name, uint64_t dflt) {
  const char* v = getenv(name);
  if (v == nullptr || *v == '\0') return dflt;
  return strtoull(v, nullptr, 0);
}

class FsxTest : public FuseFixture {};

// Forks one child per FsxProcess (all run at once) and collects their
// reports through pipes.
::testing::AssertionResult RunFsxProcesses(
    std::vector<std::unique_ptr<FsxProcess>>& procs, uint64_t ops,
    std::vector<ChildReport>* reports) {
  std::vector<pid_t> pids;
  std::vector<int> readers;
  for (size_t i = 0; i < procs.size(); ++i) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) break;
    pid_t pid = fork();
    if (pid == 0) {
      internal::ChildInit(&p[1], 1);
      ChildReport rep = procs[i]->Run(ops);
      internal::WriteFull(p[1], &rep, sizeof rep);
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
  ::testing::AssertionResult result = ::testing::AssertionSuccess();
  if (pids.size() != procs.size()) {
    result = ::testing::AssertionFailure() << "fork failed";
  }
  for (size_t i = 0; i < readers.size(); ++i) {
    ChildReport& rep = (*reports)[i];
    if (!internal::WaitReadable(readers[i], std::chrono::minutes(10)) ||
        internal::ReadFull(readers[i], &rep, sizeof rep) !=
            static_cast<ssize_t>(sizeof rep)) {
      result = ::testing::AssertionFailure()
               << "fsx process " << i << " died or hung without a report";
    }
    close(readers[i]);
  }
  for (pid_t pid : pids) internal::WaitChild(pid, std::chrono::seconds(10));
  return result;
}

TEST_F(FsxTest, RandomOperationsMatchTheModel) {
  const uint64_t total = EnvU64("CFS_FSX_OPS", 120000);
  const uint64_t seed = EnvU64("CFS_FSX_SEED", std::random_device{}());
  const uint64_t per_proc = (total + kProcs - 1) / kProcs;
  std::cerr << "fsx: " << kProcs << " processes x " << per_proc
            << " ops, CFS_FSX_SEED=" << seed << "\n";
  RecordProperty("fsx_seed", std::to_string(seed));

  std::string shared = Path("shared");
  {
    UniqueFd fd(open(shared.c_str(), O_RDWR | O_CREAT, 0644));
    ASSERT_TRUE(fd.ok());
    ASSERT_SYS_OK(ftruncate(fd.get(), kProcs * kRegion));
  }
  std::vector<std::unique_ptr<FsxProcess>> procs;
  for (int i = 0; i < kProcs; ++i) {
    procs.push_back(std::make_unique<FsxProcess>(
        i, seed, Path("own" + std::to_string(i)), shared));
  }
  auto t0 = std::chrono::steady_clock::now();
  std::vector<ChildReport> reports(kProcs);
  ASSERT_TRUE(RunFsxProcesses(procs, per_proc, &reports));
  double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
          .count();
  uint64_t ops = 0;
  for (int i = 0; i < kProcs; ++i) {
    EXPECT_EQ(reports[i].failed, 0) << reports[i].msg;
    ops += reports[i].ops;
  }
  std::cerr << "fsx: " << ops << " ops in " << secs << " s ("
            << static_cast<uint64_t>(ops / std::max(secs, 1e-9)) << "/s)\n";
  EXPECT_GE(ops, total);
  if (HasFailure()) return;

  // Nothing cached in the kernel any more: the store itself must match.
  Remount();
  for (int i = 0; i < kProcs; ++i) {
    auto data = ReadFile(Path("own" + std::to_string(i)));
    ASSERT_TRUE(data.has_value());
    EXPECT_EQ(data->size(), reports[i].own_size) << "own" << i;
    EXPECT_EQ(Fnv1a(data->data(), data->size()), reports[i].own_sum)
        << "own" << i << " content after remount";
  }
  auto sh = ReadFile(shared);
  ASSERT_TRUE(sh.has_value());
  ASSERT_EQ(sh->size(), kProcs * kRegion);
  for (int i = 0; i < kProcs; ++i) {
    EXPECT_EQ(Fnv1a(sh->data() + i * kRegion, kRegion), reports[i].region_sum)
        << "shared region " << i << " after remount";
  }
}

// ----------------------------------------------------- the real daemon --

constexpr uint32_t kFuseSuperMagic = 0x65735546;

std::string DaemonBinary() {
  const char* env = getenv("CFS_DAEMON_BIN");
  if (env != nullptr && *env != '\0') return env;
  std::vector<std::string> argv = ::testing::internal::GetArgvs();
  for (size_t i = 1; i < argv.size(); ++i) {
    if (!argv[i].empty() && argv[i][0] != '-') return argv[i];
  }
  return "";
}

std::string Slurp(const std::string& path) {
  return ReadFile(path).value_or("");
}

// One run of the daemon: started with posix_spawn, output to its own log.
class Daemon {
 public:
  Daemon(std::string bin, std::string config, std::string log)
      : bin_(std::move(bin)),
        config_(std::move(config)),
        log_(std::move(log)) {}
  ~Daemon() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  bool Start() {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log_.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    const char* argv[] = {bin_.c_str(), "--config", config_.c_str(), nullptr};
    int rc = posix_spawn(&pid_, bin_.c_str(), &fa, nullptr,
                         const_cast<char* const*>(argv), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) pid_ = -1;
    return rc == 0;
  }

  // Waits until the daemon says it is serving and the mount answers.
  ::testing::AssertionResult WaitServing(const std::string& mnt,
                                         std::chrono::seconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string cmd = "mountpoint -q '" + mnt + "'";
    while (std::chrono::steady_clock::now() < deadline) {
      int status;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return ::testing::AssertionFailure()
               << "daemon exited (status " << status << ") before serving:\n"
               << Slurp(log_);
      }
      struct statfs sf;
      if (Slurp(log_).find("mounted at") != std::string::npos &&
          std::system(cmd.c_str()) == 0 && statfs(mnt.c_str(), &sf) == 0 &&
          static_cast<uint32_t>(sf.f_type) == kFuseSuperMagic) {
        return ::testing::AssertionSuccess();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return ::testing::AssertionFailure() << "not serving " << mnt << " after "
                                         << timeout.count() << " s; log:\n"
                                         << Slurp(log_);
  }

  void Signal(int sig) {
    if (pid_ > 0) kill(pid_, sig);
  }

  // The wait status, or nullopt if it is still running after `timeout`.
  std::optional<int> WaitExit(std::chrono::seconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (pid_ > 0) {
      int status;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return status;
      }
      if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return std::nullopt;
  }

  const std::string& log() const { return log_; }

 private:
  std::string bin_, config_, log_;
  pid_t pid_ = -1;
};

struct Expected {
  uint64_t size = 0;
  uint64_t sum = 0;
};

class DaemonPersistenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    signal(SIGPIPE, SIG_IGN);
    umask(022);
    bin_ = DaemonBinary();
    ASSERT_FALSE(bin_.empty())
        << "set CFS_DAEMON_BIN to the concordfs binary (or pass it as argv[1])";
    ASSERT_SYS_OK(access(bin_.c_str(), X_OK)) << bin_;
    dir_ = MakeTempDir("cfs-daemon");
    ASSERT_FALSE(dir_.empty());
    mnt_ = dir_ + "/mnt";  // the daemon creates it
    config_ = dir_ + "/concordfs.yaml";
    std::string yaml = "data_dir: " + dir_ + "/data\n" +
                       "store: leveldb\n"
                       "sync: batch\n"
                       "log_level: info\n"
                       "mount:\n"
                       "  enabled: true\n"
                       "  path: " +
                       mnt_ +
                       "\n"
                       "  allow_other: true\n"
                       "nfs:\n"
                       "  enabled: false\n"
                       "smb:\n"
                       "  enabled: false\n";
    ASSERT_ERRNO(WriteFile(config_, yaml), 0);
  }

  void TearDown() override {
    daemon_.reset();  // kills it if still running
    if (!dir_.empty()) {
      DetachMounts(mnt_);
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }

  void StartDaemon() {
    ++runs_;
    daemon_ = std::make_unique<Daemon>(
        bin_, config_, dir_ + "/daemon." + std::to_string(runs_) + ".log");
    ASSERT_TRUE(daemon_->Start()) << "cannot spawn " << bin_;
    ASSERT_TRUE(daemon_->WaitServing(mnt_, std::chrono::seconds(60)));
  }

  void KillNine() {
    daemon_->Signal(SIGKILL);
    std::optional<int> st = daemon_->WaitExit(std::chrono::seconds(10));
    ASSERT_TRUE(st.has_value()) << "daemon survived SIGKILL";
    EXPECT_TRUE(WIFSIGNALED(*st) && WTERMSIG(*st) == SIGKILL);
  }

  void StopCleanly() {
    daemon_->Signal(SIGTERM);
    std::optional<int> st = daemon_->WaitExit(std::chrono::seconds(60));
    ASSERT_TRUE(st.has_value()) << "daemon ignored SIGTERM for 60 s";
    EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0)
        << "wait status " << *st << "; log:\n"
        << Slurp(daemon_->log());
    EXPECT_EQ(MountCount(mnt_), 0) << "a clean stop leaves no mount behind";
  }

  std::string P(const std::string& rel) const { return mnt_ + "/" + rel; }

  // Writes `n` random bytes to `rel` (optionally fsyncing it) and records
  // what must be read back.
  void Put(const std::string& rel, size_t n, bool sync, uint32_t seed) {
    std::mt19937_64 rng(seed);
    std::string data(n, '\0');
    for (char& c : data) c = static_cast<char>(rng());
    UniqueFd fd(open(P(rel).c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644));
    ASSERT_TRUE(fd.ok()) << rel << ": " << strerror(errno);
    size_t done = 0;
    while (done < n) {
      ssize_t w = write(fd.get(), data.data() + done, n - done);
      ASSERT_GT(w, 0) << rel << ": " << strerror(errno);
      done += static_cast<size_t>(w);
    }
    if (sync) {
      ASSERT_SYS_OK(fsync(fd.get())) << rel;
    }
    ASSERT_SYS_OK(close(fd.Release())) << rel;
    expected_[rel] = Expected{n, Fnv1a(data.data(), n)};
  }

  void SyncDir(const std::string& rel) {
    UniqueFd fd(open(rel.empty() ? mnt_.c_str() : P(rel).c_str(),
                     O_RDONLY | O_DIRECTORY));
    ASSERT_TRUE(fd.ok()) << rel;
    ASSERT_SYS_OK(fsync(fd.get())) << "fsync of directory '" << rel << "'";
  }

  void VerifyAll(const char* when) {
    for (const auto& [rel, want] : expected_) {
      auto data = ReadFile(P(rel));
      ASSERT_TRUE(data.has_value())
          << when << ": " << rel << " is gone (" << strerror(errno) << ")";
      EXPECT_EQ(data->size(), want.size) << when << ": " << rel;
      EXPECT_EQ(Fnv1a(data->data(), data->size()), want.sum)
          << when << ": content of " << rel;
    }
  }

  // A tree with names, links and attributes, everything fsynced.
  void WriteSyncedSet(const std::string& d, uint32_t seed) {
    ASSERT_SYS_OK(mkdir(P(d).c_str(), 0755));
    const size_t sizes[] = {0, 1, 4095, 4096, 65537, 300000, 1 << 20, 2500000};
    for (size_t i = 0; i < std::size(sizes); ++i) {
      ASSERT_NO_FATAL_FAILURE(Put(d + "/f" + std::to_string(i), sizes[i], true,
                                  seed + static_cast<uint32_t>(i)));
    }
    ASSERT_SYS_OK(rename(P(d + "/f2").c_str(), P(d + "/renamed").c_str()));
    expected_[d + "/renamed"] = expected_[d + "/f2"];
    expected_.erase(d + "/f2");
    ASSERT_SYS_OK(link(P(d + "/f3").c_str(), P(d + "/hard").c_str()));
    expected_[d + "/hard"] = expected_[d + "/f3"];
    ASSERT_SYS_OK(symlink("f4", P(d + "/link").c_str()));
    expected_[d + "/link"] = expected_[d + "/f4"];
    ASSERT_SYS_OK(chmod(P(d + "/f5").c_str(), 0600));
    ASSERT_SYS_OK(setxattr(P(d + "/f5").c_str(), "user.k", "v", 1, 0));
    UniqueFd fd(open(P(d + "/f5").c_str(), O_RDONLY));
    ASSERT_SYS_OK(fsync(fd.get()));
    SyncDir(d);
    SyncDir("");
  }

  void VerifySyncedSetMetadata(const std::string& d) {
    struct stat st;
    ASSERT_SYS_OK(stat(P(d + "/f5").c_str(), &st));
    EXPECT_EQ(st.st_mode & 07777, 0600u);
    char v[8];
    EXPECT_EQ(getxattr(P(d + "/f5").c_str(), "user.k", v, sizeof v), 1);
    ASSERT_SYS_OK(stat(P(d + "/f3").c_str(), &st));
    EXPECT_EQ(st.st_nlink, 2u);
    char target[16] = {};
    EXPECT_EQ(readlink(P(d + "/link").c_str(), target, sizeof target), 2);
    EXPECT_STREQ(target, "f4");
    EXPECT_SYS_ERR(access(P(d + "/f2").c_str(), F_OK), ENOENT);
  }

  std::string bin_, dir_, mnt_, config_;
  std::unique_ptr<Daemon> daemon_;
  int runs_ = 0;
  std::map<std::string, Expected> expected_;
};

TEST_F(DaemonPersistenceTest, KillNineKeepsFsyncedDataAndStaleMountIsCleaned) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  ASSERT_NO_FATAL_FAILURE(WriteSyncedSet("a", 100));
  // Written but never synced: may be lost, must not break anything.
  ASSERT_NO_FATAL_FAILURE(Put("loose", 100000, false, 7));
  expected_.erase("loose");
  ASSERT_NO_FATAL_FAILURE(KillNine());

  // The kernel keeps a dead mount: ENOTCONN until someone cleans it up.
  struct stat st;
  EXPECT_SYS_ERR(stat(mnt_.c_str(), &st), ENOTCONN);
  EXPECT_EQ(MountCount(mnt_), 1);

  // Restart over the stale mount: the daemon must clean it up itself.
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  EXPECT_EQ(MountCount(mnt_), 1) << "stale mount not replaced";
  VerifyAll("after kill -9 and restart over the stale mount");
  VerifySyncedSetMetadata("a");
  if (auto loose = ReadFile(P("loose"))) {
    EXPECT_LE(loose->size(), 100000u);
  }

  ASSERT_NO_FATAL_FAILURE(WriteSyncedSet("b", 200));
  ASSERT_NO_FATAL_FAILURE(KillNine());
  // This time clean up by hand, as an admin would.
  std::string cmd = "umount -l '" + mnt_ + "'";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  EXPECT_EQ(MountCount(mnt_), 0);
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  VerifyAll("after kill -9, umount -l and restart");
  VerifySyncedSetMetadata("a");
  VerifySyncedSetMetadata("b");
  ASSERT_NO_FATAL_FAILURE(StopCleanly());
}

TEST_F(DaemonPersistenceTest, CleanStopAndRestartKeepsEverything) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  ASSERT_SYS_OK(mkdir(P("d").c_str(), 0755));
  for (int i = 0; i < 20; ++i) {
    // Never fsynced: a clean stop must still keep all of it.
    ASSERT_NO_FATAL_FAILURE(Put("d/file" + std::to_string(i),
                                static_cast<size_t>(i) * 37001, false,
                                1000 + static_cast<uint32_t>(i)));
  }
  ASSERT_SYS_OK(rename(P("d/file0").c_str(), P("d/moved").c_str()));
  expected_["d/moved"] = expected_["d/file0"];
  expected_.erase("d/file0");
  ASSERT_SYS_OK(unlink(P("d/file1").c_str()));
  expected_.erase("d/file1");
  ASSERT_SYS_OK(truncate(P("d/file2").c_str(), 10));
  expected_.erase("d/file2");
  ASSERT_NO_FATAL_FAILURE(StopCleanly());

  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  VerifyAll("after a clean restart");
  struct stat st;
  EXPECT_SYS_ERR(stat(P("d/file1").c_str(), &st), ENOENT);
  EXPECT_SYS_ERR(stat(P("d/file0").c_str(), &st), ENOENT);
  ASSERT_SYS_OK(stat(P("d/file2").c_str(), &st));
  EXPECT_EQ(st.st_size, 10);
  ASSERT_NO_FATAL_FAILURE(StopCleanly());

  // The store is consistent after all this.
  std::string fsck = "'" + bin_ + "' fsck --config '" + config_ + "' > '" +
                     dir_ + "/fsck.log' 2>&1";
  int rc = std::system(fsck.c_str());
  EXPECT_TRUE(WIFEXITED(rc) && WEXITSTATUS(rc) == 0)
      << "fsck: " << Slurp(dir_ + "/fsck.log");
}

}  // namespace
}  // namespace concordfs::fusetest
