// fcntl and flock locks through the FUSE mount, between local processes and
// against a remote (NLM/SMB) owner that takes locks straight from the lock
// manager. Every lock is taken by a forked LockChild: POSIX locks belong to
// processes, so the test process itself never locks.
#include <algorithm>
#include <climits>
#include <thread>
#include <vector>

#include "locking/lock_manager.h"
#include "locking/lock_types.h"
#include "tests/integration/fuse/fuse_fixture.h"

namespace concordfs::fusetest {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr milliseconds kStillBlocked{300};  // "has not been answered yet"
constexpr milliseconds kWake{1000};         // a woken waiter answers within

double MsSince(steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(steady_clock::now() - t0)
      .count();
}

class FuseLockTest : public FuseFixture {
 protected:
  void SetUp() override {
    FuseFixture::SetUp();
    if (HasFatalFailure()) return;
    file_ = Path("lockfile");
    ASSERT_ERRNO(WriteFile(file_, std::string(1000, 'x'), 0666), 0);
  }

  // Opens the lock file in `c`; records a failure if it cannot.
  int OpenIn(LockChild& c, int flags = O_RDWR) {
    int fd = c.Open(file_, flags);
    EXPECT_GE(fd, 0) << "open in child: " << ErrName(-fd);
    return fd;
  }

  // A lock request of the stand-in remote client (NLM host 7).
  locking::LockRequest Remote(locking::LockMode mode, uint64_t first,
                              uint64_t last) {
    locking::LockRequest r;
    r.file = Stat(file_).st_ino;
    r.owner = locking::Owner{locking::Protocol::kNlm, 7, "remote", 0};
    r.flavor = locking::Flavor::kPosix;
    r.mode = mode;
    r.range = locking::Range{first, last, false};
    r.pid = 4242;
    return r;
  }

  // Expects `c`'s started command to still be waiting.
  void ExpectBlocked(LockChild& c, const char* what) {
    std::optional<LockReply> r = c.Wait(kStillBlocked);
    EXPECT_FALSE(r.has_value())
        << what << " returned early: ret " << r->ret << " " << ErrName(r->err);
  }

  // Waits for `c`'s started command; expects it granted within kWake.
  // Returns the milliseconds it took.
  double ExpectGrantedSoon(LockChild& c, const char* what) {
    auto t0 = steady_clock::now();
    std::optional<LockReply> r = c.Wait(kWake);
    double ms = MsSince(t0);
    EXPECT_TRUE(r.has_value()) << what << ": not woken within 1 s";
    if (r) {
      EXPECT_EQ(r->ret, 0) << what << ": " << ErrName(r->err);
    } else {
      // Collect the late answer so the child stays usable.
      r = c.Wait(std::chrono::seconds(10));
      EXPECT_TRUE(r.has_value()) << what << ": never woken";
    }
    return ms;
  }

  // A flock taken through a FUSE mount is dropped when the kernel sends
  // RELEASE for its open file, which it does asynchronously just after the
  // last close() (or the process's exit) has returned. Retries the
  // non-blocking `op` for up to 1 s until it answers 0; returns the last
  // errno (0 on success).
  int FlockOnceReleased(LockChild& c, int fd, int op) {
    auto t0 = steady_clock::now();
    int err = c.Flock(fd, op | LOCK_NB);
    while (err != 0 && MsSince(t0) < 1000) {
      std::this_thread::sleep_for(milliseconds(2));
      err = c.Flock(fd, op | LOCK_NB);
    }
    return err;
  }

  std::string file_;
};

// ------------------------------------------------------ fcntl, two owners --

TEST_F(FuseLockTest, ConflictingFcntlLocksGetEagain) {
  LockChild a, b;
  int fa = OpenIn(a), fb = OpenIn(b);
  ASSERT_ERRNO(a.SetLk(fa, F_WRLCK, 0, 100), 0);
  EXPECT_ERRNO(b.SetLk(fb, F_WRLCK, 50, 10), EAGAIN);
  EXPECT_ERRNO(b.SetLk(fb, F_RDLCK, 99, 1), EAGAIN);
  EXPECT_ERRNO(b.SetLk(fb, F_WRLCK, 100, 10), 0) << "adjacent, no overlap";
  // A process never conflicts with itself: relock and convert freely.
  EXPECT_ERRNO(a.SetLk(fa, F_RDLCK, 0, 100), 0);
  EXPECT_ERRNO(b.SetLk(fb, F_RDLCK, 0, 50), 0) << "read/read is shared";
  EXPECT_ERRNO(b.SetLk(fb, F_WRLCK, 0, 1), EAGAIN);
  EXPECT_ERRNO(a.SetLk(fa, F_WRLCK, 0, 1), EAGAIN) << "B now shares it";
  EXPECT_ERRNO(a.SetLk(fa, F_WRLCK, 60, 10), 0);
}

TEST_F(FuseLockTest, GetlkReportsHolderPidTypeAndRange) {
  LockChild a, b;
  int fa = OpenIn(a), fb = OpenIn(b);
  ASSERT_ERRNO(a.SetLk(fa, F_WRLCK, 100, 50), 0);
  std::optional<struct flock> fl = b.GetLk(fb, F_RDLCK, 0, 0);
  ASSERT_TRUE(fl.has_value());
  EXPECT_EQ(fl->l_type, F_WRLCK);
  EXPECT_EQ(fl->l_whence, SEEK_SET);
  EXPECT_EQ(fl->l_start, 100);
  EXPECT_EQ(fl->l_len, 50);
  EXPECT_EQ(fl->l_pid, a.pid());
  // No conflict: F_UNLCK, the rest unchanged.
  fl = b.GetLk(fb, F_WRLCK, 150, 10);
  ASSERT_TRUE(fl.has_value());
  EXPECT_EQ(fl->l_type, F_UNLCK);
  // The holder's own locks never conflict with it.
  fl = a.GetLk(fa, F_WRLCK, 0, 0);
  ASSERT_TRUE(fl.has_value());
  EXPECT_EQ(fl->l_type, F_UNLCK);
  // A read lock to EOF is reported with l_len 0.
  ASSERT_ERRNO(a.SetLk(fa, F_RDLCK, 200, 0), 0);
  fl = b.GetLk(fb, F_WRLCK, 1000000, 1);
  ASSERT_TRUE(fl.has_value());
  EXPECT_EQ(fl->l_type, F_RDLCK);
  EXPECT_EQ(fl->l_start, 200);
  EXPECT_EQ(fl->l_len, 0);
  fl = b.GetLk(fb, F_RDLCK, 1000000, 1);
  ASSERT_TRUE(fl.has_value());
  EXPECT_EQ(fl->l_type, F_UNLCK);
}

TEST_F(FuseLockTest, NegativeLengthAndHugeOffsets) {
  LockChild a, b;
  int fa = OpenIn(a), fb = OpenIn(b);
  // l_len < 0 locks the bytes before l_start: [50, 100).
  ASSERT_ERRNO(a.SetLk(fa, F_WRLCK, 100, -50), 0);
  std::optional<struct flock> fl = b.GetLk(fb, F_WRLCK, 0, 150);
  ASSERT_TRUE(fl.has_value());
  EXPECT_EQ(fl->l_start, 50);
  EXPECT_EQ(fl->l_len, 50);
  EXPECT_ERRNO(b.SetLk(fb, F_WRLCK, 49, 1), 0);
  EXPECT_ERRNO(b.SetLk(fb, F_WRLCK, 100, 1), 0);
  // Near the largest offset, to EOF.
  const off_t big = LLONG_MAX - 10;
  ASSERT_ERRNO(a.SetLk(fa, F_WRLCK, big, 0), 0);
  EXPECT_ERRNO(b.SetLk(fb, F_RDLCK, LLONG_MAX - 1, 1), EAGAIN);
  fl = b.GetLk(fb, F_WRLCK, big - 5, 0);
  ASSERT_TRUE(fl.has_value());
  EXPECT_EQ(fl->l_type, F_WRLCK);
  EXPECT_EQ(fl->l_start, big);
  EXPECT_EQ(fl->l_len, 0);
  EXPECT_ERRNO(b.SetLk(fb, F_WRLCK, -1, 1), EINVAL);
}

TEST_F(FuseLockTest, PartialUnlockSplitsTheLock) {
  LockChild a, b, c;
  int fa = OpenIn(a), fb = OpenIn(b), fc = OpenIn(c);
  ASSERT_ERRNO(a.SetLk(fa, F_WRLCK, 0, 300), 0);
  ASSERT_ERRNO(a.SetLk(fa, F_UNLCK, 100, 100), 0);
  EXPECT_ERRNO(c.SetLk(fc, F_WRLCK, 100, 100), 0) << "the freed middle";
  EXPECT_ERRNO(b.SetLk(fb, F_WRLCK, 99, 1), EAGAIN);
  EXPECT_ERRNO(b.SetLk(fb, F_WRLCK, 200, 1), EAGAIN);
  std::optional<struct flock> fl = b.GetLk(fb, F_WRLCK, 250, 10);
  ASSERT_TRUE(fl.has_value());
  EXPECT_EQ(fl->l_start, 200);
  EXPECT_EQ(fl->l_len, 100);
  EXPECT_EQ(fl->l_pid, a.pid());
  fl = b.GetLk(fb, F_WRLCK, 150, 1);
  ASSERT_TRUE(fl.has_value());
  EXPECT_EQ(fl->l_pid, c.pid());
  EXPECT_EQ(fl->l_start, 100);
  EXPECT_EQ(fl->l_len, 100);
}

TEST_F(FuseLockTest, TypeConversionSplitsAndAdjacentLocksMerge) {
  LockChild a, b;
  int fa = OpenIn(a), fb = OpenIn(b);
  ASSERT_ERRNO(a.SetLk(fa, F_WRLCK, 0, 100), 0);
  ASSERT_ERRNO(a.SetLk(fa, F_RDLCK, 40, 20), 0);  // W[0,40) R[40,60) W[60,100)
  EXPECT_ERRNO(b.SetLk(fb, F_RDLCK, 40, 20), 0);
  EXPECT_ERRNO(b.SetLk(fb, F_RDLCK, 39, 1), EAGAIN);
  EXPECT_ERRNO(b.SetLk(fb, F_RDLCK, 60, 1), EAGAIN);
  ASSERT_ERRNO(a.SetLk(fa, F_WRLCK, 100, 100), 0);  // merges into W[60,200)
  std::optional<struct flock> fl = b.GetLk(fb, F_WRLCK, 150, 1);
  ASSERT_TRUE(fl.has_value());
  EXPECT_EQ(fl->l_type, F_WRLCK);
  EXPECT_EQ(fl->l_start, 60);
  EXPECT_EQ(fl->l_len, 140);
}

// ---------------------------------------------------------------- waiting --

TEST_F(FuseLockTest, SetlkwWakesPromptlyWhenTheHolderUnlocks) {
  LockChild a, b;
  int fa = OpenIn(a), fb = OpenIn(b);
  std::vector<double> ms;
  for (int round = 0; round < 5; ++round) {
    ASSERT_ERRNO(a.SetLk(fa, F_WRLCK, 0, 10), 0);
    b.StartSetLkW(fb, F_WRLCK, 5, 10);
    ExpectBlocked(b, "F_SETLKW");
    ASSERT_ERRNO(a.SetLk(fa, F_UNLCK, 0, 10), 0);
    ms.push_back(ExpectGrantedSoon(b, "F_SETLKW"));
    EXPECT_ERRNO(a.SetLk(fa, F_WRLCK, 14, 1), EAGAIN) << "B holds [5,15)";
    ASSERT_ERRNO(b.SetLk(fb, F_UNLCK, 0, 0), 0);
  }
  std::sort(ms.begin(), ms.end());
  // Woken by an event: a poll every few hundred ms would show here.
  EXPECT_LT(ms[ms.size() / 2], 200.0) << "median wake-up latency (ms)";
}

TEST_F(FuseLockTest, SetlkwWakesWhenTheHolderDies) {
  auto a = std::make_unique<LockChild>();
  LockChild b;
  int fa = OpenIn(*a), fb = OpenIn(b);
  ASSERT_ERRNO(a->SetLk(fa, F_WRLCK, 0, 0), 0);
  b.StartSetLkW(fb, F_WRLCK, 0, 0);
  ExpectBlocked(b, "F_SETLKW");
  a->Kill();
  ExpectGrantedSoon(b, "F_SETLKW after the holder was killed");
}

TEST_F(FuseLockTest, SetlkwInterruptedBySignalIsEintrAndTakesNothing) {
  LockChild a, b, c;
  int fa = OpenIn(a), fb = OpenIn(b), fc = OpenIn(c);
  ASSERT_ERRNO(a.SetLk(fa, F_WRLCK, 0, 10), 0);
  b.StartSetLkW(fb, F_WRLCK, 0, 10, /*alarm_secs=*/1);
  std::optional<LockReply> r = b.Wait(std::chrono::seconds(5));
  ASSERT_TRUE(r.has_value()) << "F_SETLKW not interrupted by SIGALRM";
  EXPECT_EQ(r->ret, -1);
  EXPECT_ERRNO(r->err, EINTR);
  EXPECT_GE(r->elapsed_ns, 900'000'000) << "returned before the alarm";
  // The cancelled wait must not turn into a lock once A lets go.
  ASSERT_ERRNO(a.SetLk(fa, F_UNLCK, 0, 10), 0);
  EXPECT_ERRNO(c.SetLk(fc, F_WRLCK, 0, 10), 0);
  EXPECT_ERRNO(b.SetLk(fb, F_WRLCK, 0, 1), EAGAIN);
}

TEST_F(FuseLockTest, TwoProcessCycleIsEdeadlk) {
  LockChild a, b;
  int fa = OpenIn(a), fb = OpenIn(b);
  ASSERT_ERRNO(a.SetLk(fa, F_WRLCK, 0, 1), 0);
  ASSERT_ERRNO(b.SetLk(fb, F_WRLCK, 1, 1), 0);
  a.StartSetLkW(fa, F_WRLCK, 1, 1);  // A waits for B
  ExpectBlocked(a, "A's F_SETLKW");
  b.StartSetLkW(fb, F_WRLCK, 0, 1);  // B would wait for A: a cycle
  std::optional<LockReply> r = b.Wait(std::chrono::seconds(5));
  ASSERT_TRUE(r.has_value()) << "B hangs instead of EDEADLK";
  EXPECT_EQ(r->ret, -1);
  EXPECT_ERRNO(r->err, EDEADLK);
  ASSERT_ERRNO(b.SetLk(fb, F_UNLCK, 1, 1), 0);
  ExpectGrantedSoon(a, "A's F_SETLKW after B unlocked");
}

// ------------------------------------------------------------------ flock --

TEST_F(FuseLockTest, FlockSharedAndExclusive) {
  LockChild a, b, c;
  int fa = OpenIn(a), fb = OpenIn(b), fc = OpenIn(c);
  EXPECT_ERRNO(a.Flock(fa, LOCK_SH | LOCK_NB), 0);
  EXPECT_ERRNO(b.Flock(fb, LOCK_SH | LOCK_NB), 0);
  EXPECT_ERRNO(c.Flock(fc, LOCK_EX | LOCK_NB), EWOULDBLOCK);
  EXPECT_ERRNO(a.Flock(fa, LOCK_UN), 0);
  EXPECT_ERRNO(c.Flock(fc, LOCK_EX | LOCK_NB), EWOULDBLOCK) << "B still shares";
  EXPECT_ERRNO(b.Flock(fb, LOCK_UN), 0);
  EXPECT_ERRNO(c.Flock(fc, LOCK_EX | LOCK_NB), 0);
  EXPECT_ERRNO(a.Flock(fa, LOCK_SH | LOCK_NB), EWOULDBLOCK);
  // A blocking flock waits for the holder and is woken by its unlock.
  a.StartFlock(fa, LOCK_SH);
  ExpectBlocked(a, "blocking flock");
  EXPECT_ERRNO(c.Flock(fc, LOCK_UN), 0);
  ExpectGrantedSoon(a, "blocking flock");
  EXPECT_ERRNO(c.Flock(fc, LOCK_SH | LOCK_NB), 0);
}

TEST_F(FuseLockTest, FlockBelongsToTheOpenFileNotTheProcess) {
  LockChild a;
  int f1 = OpenIn(a), f2 = OpenIn(a);
  ASSERT_ERRNO(a.Flock(f1, LOCK_EX | LOCK_NB), 0);
  EXPECT_ERRNO(a.Flock(f2, LOCK_EX | LOCK_NB), EWOULDBLOCK);
  // Closing another descriptor keeps the flock; closing its own drops it.
  EXPECT_ERRNO(a.Close(f2), 0);
  LockChild b;
  int fb = OpenIn(b);
  EXPECT_ERRNO(b.Flock(fb, LOCK_EX | LOCK_NB), EWOULDBLOCK);
  EXPECT_ERRNO(a.Close(f1), 0);
  EXPECT_ERRNO(FlockOnceReleased(b, fb, LOCK_EX), 0);
}

TEST_F(FuseLockTest, LocalFlockAndFcntlDoNotConflict) {
  LockChild a, b, c;
  int fa = OpenIn(a), fb = OpenIn(b), fc = OpenIn(c);
  ASSERT_ERRNO(a.Flock(fa, LOCK_EX | LOCK_NB), 0);
  EXPECT_ERRNO(b.SetLk(fb, F_WRLCK, 0, 0), 0) << "fcntl ignores flock";
  EXPECT_ERRNO(c.Flock(fc, LOCK_EX | LOCK_NB), EWOULDBLOCK) << "flock vs flock";
  EXPECT_ERRNO(c.SetLk(fc, F_RDLCK, 0, 1), EAGAIN) << "fcntl vs fcntl";
  EXPECT_ERRNO(a.Flock(fa, LOCK_UN), 0);
  EXPECT_ERRNO(c.Flock(fc, LOCK_EX | LOCK_NB), 0) << "flock ignores fcntl";
}

// ------------------------------------------------------------- lifetimes --

TEST_F(FuseLockTest, ClosingAnyDescriptorDropsTheProcessFcntlLocks) {
  LockChild a, b;
  int f1 = OpenIn(a), f2 = OpenIn(a, O_RDONLY), fb = OpenIn(b);
  ASSERT_ERRNO(a.SetLk(f1, F_WRLCK, 0, 100), 0);
  ASSERT_ERRNO(b.SetLk(fb, F_WRLCK, 0, 1), EAGAIN);
  ASSERT_ERRNO(a.Close(f2), 0);  // not the one the lock was taken through
  EXPECT_ERRNO(b.SetLk(fb, F_WRLCK, 0, 100), 0);
}

TEST_F(FuseLockTest, LocksDieWithTheProcess) {
  auto a = std::make_unique<LockChild>();
  LockChild b;
  int f1 = OpenIn(*a), f2 = OpenIn(*a), fb = OpenIn(b), fb2 = OpenIn(b);
  ASSERT_ERRNO(a->SetLk(f1, F_WRLCK, 0, 0), 0);
  ASSERT_ERRNO(a->Flock(f2, LOCK_EX | LOCK_NB), 0);
  ASSERT_ERRNO(b.SetLk(fb, F_RDLCK, 0, 0), EAGAIN);
  a->Kill();
  EXPECT_ERRNO(b.SetLk(fb, F_WRLCK, 0, 0), 0);
  EXPECT_ERRNO(FlockOnceReleased(b, fb2, LOCK_EX), 0);
}

// ------------------------------------------------ a remote (NLM) lock owner --

TEST_F(FuseLockTest, RemoteExclusiveLockBlocksLocalFcntlAndFlock) {
  locking::LockRequest rl = Remote(locking::LockMode::kExclusive, 0, 99);
  ASSERT_EQ(locks()->Lock(rl).status, locking::LockStatus::kGranted);
  LockChild a;
  int fa = OpenIn(a);
  EXPECT_ERRNO(a.SetLk(fa, F_WRLCK, 50, 10), EAGAIN);
  EXPECT_ERRNO(a.SetLk(fa, F_RDLCK, 0, 1), EAGAIN);
  EXPECT_ERRNO(a.SetLk(fa, F_WRLCK, 100, 10), 0) << "outside the remote range";
  EXPECT_ERRNO(a.SetLk(fa, F_UNLCK, 100, 10), 0);
  EXPECT_ERRNO(a.Flock(fa, LOCK_EX | LOCK_NB), EWOULDBLOCK);
  EXPECT_ERRNO(a.Flock(fa, LOCK_SH | LOCK_NB), EWOULDBLOCK);
  std::optional<struct flock> fl = a.GetLk(fa, F_RDLCK, 0, 0);
  ASSERT_TRUE(fl.has_value());
  EXPECT_EQ(fl->l_type, F_WRLCK);
  EXPECT_EQ(fl->l_start, 0);
  EXPECT_EQ(fl->l_len, 100);
  EXPECT_NE(fl->l_pid, a.pid());
  ASSERT_EQ(locks()->Unlock(rl), locking::LockStatus::kGranted);
  EXPECT_ERRNO(a.SetLk(fa, F_WRLCK, 0, 0), 0);
  EXPECT_ERRNO(a.Flock(fa, LOCK_EX | LOCK_NB), 0);
}

TEST_F(FuseLockTest, RemoteSharedLockAllowsOnlyLocalReaders) {
  locking::LockRequest rl =
      Remote(locking::LockMode::kShared, 0, locking::kToEof);
  ASSERT_EQ(locks()->Lock(rl).status, locking::LockStatus::kGranted);
  LockChild a;
  int fa = OpenIn(a), fa2 = OpenIn(a);
  EXPECT_ERRNO(a.SetLk(fa, F_RDLCK, 0, 0), 0);
  EXPECT_ERRNO(a.SetLk(fa, F_WRLCK, 5000, 1), EAGAIN);
  EXPECT_ERRNO(a.Flock(fa2, LOCK_SH | LOCK_NB), 0);
  EXPECT_ERRNO(a.Flock(fa2, LOCK_EX | LOCK_NB), EWOULDBLOCK);
  // A remote lock to EOF is reported with l_len 0 (not an error).
  LockChild b;
  int fb = OpenIn(b);
  EXPECT_ERRNO(a.SetLk(fa, F_UNLCK, 0, 0), 0);
  int err = 0;
  std::optional<struct flock> fl = b.GetLk(fb, F_WRLCK, 123456, 1, &err);
  ASSERT_TRUE(fl.has_value()) << ErrName(err);
  EXPECT_EQ(fl->l_type, F_RDLCK);
  EXPECT_EQ(fl->l_start, 0);
  EXPECT_EQ(fl->l_len, 0);
  ASSERT_EQ(locks()->Unlock(rl), locking::LockStatus::kGranted);
}

TEST_F(FuseLockTest, RemoteUnlockWakesLocalFcntlAndFlockWaiters) {
  locking::LockRequest rl = Remote(locking::LockMode::kExclusive, 0, 99);
  ASSERT_EQ(locks()->Lock(rl).status, locking::LockStatus::kGranted);
  LockChild b, c;
  int fb = OpenIn(b), fc = OpenIn(c);
  b.StartSetLkW(fb, F_WRLCK, 0, 10);
  c.StartFlock(fc, LOCK_EX);
  ExpectBlocked(b, "F_SETLKW behind a remote lock");
  ExpectBlocked(c, "flock behind a remote lock");
  ASSERT_EQ(locks()->Unlock(rl), locking::LockStatus::kGranted);
  // Local fcntl and flock do not conflict with each other: both are granted.
  ExpectGrantedSoon(b, "F_SETLKW after the remote unlock");
  ExpectGrantedSoon(c, "flock after the remote unlock");
}

TEST_F(FuseLockTest, LocalLocksAreVisibleToRemoteOwners) {
  LockChild a;
  int fa = OpenIn(a);
  ASSERT_ERRNO(a.SetLk(fa, F_WRLCK, 10, 10), 0);
  locking::LockResult t =
      locks()->Test(Remote(locking::LockMode::kShared, 0, 14));
  ASSERT_EQ(t.status, locking::LockStatus::kConflict);
  ASSERT_TRUE(t.holder.has_value());
  EXPECT_EQ(t.holder->owner.protocol, locking::Protocol::kLocal);
  EXPECT_EQ(t.holder->pid, static_cast<uint32_t>(a.pid()));
  EXPECT_EQ(t.holder->range.first, 10u);
  EXPECT_EQ(t.holder->range.last, 19u);
  EXPECT_EQ(locks()->Lock(Remote(locking::LockMode::kShared, 0, 9)).status,
            locking::LockStatus::kGranted);
  // flock is a whole-file lock to a remote owner.
  LockChild b;
  int fb = OpenIn(b);
  ASSERT_ERRNO(a.SetLk(fa, F_UNLCK, 0, 0), 0);
  ASSERT_ERRNO(b.Flock(fb, LOCK_EX | LOCK_NB), EWOULDBLOCK)
      << "the remote read lock on [0,9] blocks an exclusive flock";
  ASSERT_EQ(locks()->Unlock(Remote(locking::LockMode::kShared, 0, 9)),
            locking::LockStatus::kGranted);
  ASSERT_ERRNO(b.Flock(fb, LOCK_SH | LOCK_NB), 0);
  t = locks()->Test(Remote(locking::LockMode::kExclusive, 500, 500));
  EXPECT_EQ(t.status, locking::LockStatus::kConflict);
  EXPECT_EQ(locks()->Test(Remote(locking::LockMode::kShared, 500, 500)).status,
            locking::LockStatus::kGranted);
}

}  // namespace
}  // namespace concordfs::fusetest
