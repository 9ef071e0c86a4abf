// Durable and resilient handles as a client sees them: a durable open with a
// batch oplock outlives its connection (and a logoff) with its byte-range
// lock, another connection reconnects it (DHnC/DH2C) with the same file id
// and oplock, lock sequence replay answers a resent LOCK without applying
// it, and an open nobody reconnects is closed after its timeout.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "tests/unit/smb/core/smb_test_util.h"

namespace concordfs::smb::testing {
namespace {

// A CREATE asking for a batch oplock with one create context.
std::string BatchCreate(std::string_view name, uint32_t disposition,
                        std::string_view ctx_name, std::string_view ctx_data) {
  std::string b = CreateBody(name, disposition, 0, kFileAllAccess, 0,
                             CreateContextBlob(ctx_name, ctx_data));
  b[3] = static_cast<char>(kOplockBatch);
  return b;
}

std::string FileIdBytes(SmbFileId f) {
  std::string d;
  LeWriter w(&d);
  PutFileId(&w, f);
  return d;
}

class DurableTest : public ::testing::Test {
 protected:
  DurableTest() {
    SmbServerState& st = a_.world().st;
    st.locks = &locks_;
    st.oplocks = std::make_unique<OplockTable>(std::chrono::milliseconds(2000));
    st.durable = std::make_unique<DurableTable>(
        [&st](std::unique_ptr<Open> o) { ReleaseOpen(&st, o.get()); });
  }
  ~DurableTest() override {
    // Kept opens are closed while the lock manager still exists.
    a_.world().st.durable.reset();
  }
  SmbServerState& st() { return a_.world().st; }
  size_t HeldLocks() {
    std::vector<locking::LockInfo> held;
    std::vector<locking::WaiterInfo> waiting;
    locks_.List(&held, &waiting);
    return held.size();
  }
  // Drops a's connection (as a lost TCP connection does).
  void DropA() {
    a_.conn().OnDisconnect();
    a_.transport().RunPosted();
  }

  locking::LockManager locks_;
  SmbTestClient a_;
};

TEST_F(DurableTest, KeptWithItsLockAndReconnectedElsewhere) {
  ASSERT_TRUE(a_.Setup());
  Response r = a_.Call(kCreate, BatchCreate("d.txt", kDispOpenIf, "DHnQ",
                                            std::string(16, '\0')));
  ASSERT_EQ(r.status(), kStatusSuccess);
  EXPECT_EQ(r.raw[kSmb2HeaderSize + 2] & 0xFF, kOplockBatch);
  EXPECT_NE(r.raw.find("DHnQ"), std::string::npos) << "durability granted";
  SmbFileId fid = SmbTestClient::ParseCreate(r).fid;
  ASSERT_EQ(a_.Write(fid, 0, "durable data"), kStatusSuccess);
  ASSERT_EQ(a_.Call(kLock,
                    LockBody(fid, 0, 10, kLockExclusive | kLockFailImmediately))
                .status(),
            kStatusSuccess);

  DropA();
  EXPECT_EQ(st().durable->size(), 1u);
  // The lock is still held against everybody else.
  EXPECT_EQ(HeldLocks(), 1u);

  SmbTestClient b(a_);
  ASSERT_TRUE(b.Setup());
  // Wrong file id: nothing to reconnect.
  SmbFileId wrong = fid;
  wrong.persistent += 1000;
  EXPECT_EQ(
      b.Call(kCreate, CreateBody("d.txt", kDispOpen, 0, 0, 0,
                                 CreateContextBlob("DHnC", FileIdBytes(wrong))))
          .status(),
      kStatusObjectNameNotFound);
  // The right one: same file id, the batch oplock, the data, the lock.
  Response rc =
      b.Call(kCreate, CreateBody("ignored-name", kDispOpen, 0, 0, 0,
                                 CreateContextBlob("DHnC", FileIdBytes(fid))));
  ASSERT_EQ(rc.status(), kStatusSuccess);
  EXPECT_EQ(rc.raw[kSmb2HeaderSize + 2] & 0xFF, kOplockBatch);
  CreateResult cr = SmbTestClient::ParseCreate(rc);
  EXPECT_EQ(cr.action, kActionOpened);
  EXPECT_EQ(cr.fid, fid);
  EXPECT_EQ(st().durable->size(), 0u);
  EXPECT_EQ(b.Read(fid, 0, 100).second, "durable data");
  EXPECT_EQ(b.Call(kLock, LockBody(fid, 0, 10, kLockUnlock)).status(),
            kStatusSuccess)
      << "the lock taken before the disconnect is still this open's";
  EXPECT_EQ(b.Call(kLock, LockBody(fid, 0, 10, kLockUnlock)).status(),
            kStatusRangeNotLocked);
  // Reconnected once: a second reconnect finds nothing kept.
  EXPECT_EQ(
      b.Call(kCreate, CreateBody("d.txt", kDispOpen, 0, 0, 0,
                                 CreateContextBlob("DHnC", FileIdBytes(fid))))
          .status(),
      kStatusObjectNameNotFound);
  EXPECT_EQ(b.Close(fid), kStatusSuccess);
}

TEST_F(DurableTest, NotDurableWithoutHandleCaching) {
  ASSERT_TRUE(a_.Setup());
  // No oplock asked for: the request for durability is declined.
  Response r = a_.Call(
      kCreate, CreateBody("plain.txt", kDispOpenIf, 0, kFileAllAccess, 0,
                          CreateContextBlob("DHnQ", std::string(16, '\0'))));
  ASSERT_EQ(r.status(), kStatusSuccess);
  EXPECT_EQ(r.raw.find("DHnQ"), std::string::npos);
  DropA();
  EXPECT_EQ(st().durable->size(), 0u) << "closed with its connection";
}

TEST_F(DurableTest, LockSequenceReplay) {
  ASSERT_TRUE(a_.Setup());
  Response r = a_.Call(kCreate, BatchCreate("seq.txt", kDispOpenIf, "DHnQ",
                                            std::string(16, '\0')));
  ASSERT_EQ(r.status(), kStatusSuccess);
  SmbFileId fid = SmbTestClient::ParseCreate(r).fid;
  uint32_t flags = kLockExclusive | kLockFailImmediately;
  // Bucket 1, number 5: applied.
  EXPECT_EQ(a_.Call(kLock, LockBody(fid, 0, 1, flags, (1 << 4) | 5)).status(),
            kStatusSuccess);
  // The same again is a replay: answered, not applied (an exclusive lock
  // on the same bytes would conflict).
  EXPECT_EQ(a_.Call(kLock, LockBody(fid, 0, 1, flags, (1 << 4) | 5)).status(),
            kStatusSuccess);
  // Another number in that bucket is a new request.
  EXPECT_EQ(a_.Call(kLock, LockBody(fid, 0, 1, flags, (1 << 4) | 6)).status(),
            kStatusLockNotGranted);
  // Bucket 0 is never checked.
  EXPECT_EQ(a_.Call(kLock, LockBody(fid, 0, 1, flags, 5)).status(),
            kStatusLockNotGranted);
  // Unlock once; its replay succeeds without unlocking anything else.
  EXPECT_EQ(
      a_.Call(kLock, LockBody(fid, 0, 1, kLockUnlock, (2 << 4) | 1)).status(),
      kStatusSuccess);
  EXPECT_EQ(
      a_.Call(kLock, LockBody(fid, 0, 1, kLockUnlock, (2 << 4) | 1)).status(),
      kStatusSuccess);
  EXPECT_EQ(
      a_.Call(kLock, LockBody(fid, 0, 1, kLockUnlock, (2 << 4) | 2)).status(),
      kStatusRangeNotLocked);
  EXPECT_EQ(
      a_.Call(kLock, LockBody(fid, 0, 1, kLockShared | kLockFailImmediately))
          .status(),
      kStatusSuccess);
}

TEST_F(DurableTest, ClosedWhenNobodyReconnects) {
  st().opts.durable_timeout_ms = 50;
  ASSERT_TRUE(a_.Setup());
  Response r = a_.Call(kCreate, BatchCreate("gone.txt", kDispOpenIf, "DHnQ",
                                            std::string(16, '\0')));
  ASSERT_EQ(r.status(), kStatusSuccess);
  ASSERT_EQ(a_.Call(kLock, LockBody(SmbTestClient::ParseCreate(r).fid, 0, 10,
                                    kLockExclusive | kLockFailImmediately))
                .status(),
            kStatusSuccess);
  DropA();
  EXPECT_EQ(st().durable->size(), 1u);
  auto start = std::chrono::steady_clock::now();
  while (st().durable->size() != 0 &&
         std::chrono::steady_clock::now() - start < std::chrono::seconds(5)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(st().durable->size(), 0u);
  EXPECT_EQ(HeldLocks(), 0u) << "its lock went with it";
}

TEST_F(DurableTest, ResiliencyRequest) {
  ASSERT_TRUE(a_.Setup(kDialect210));
  CreateResult f = a_.Create("res.txt", kDispOpenIf);
  ASSERT_EQ(f.status, kStatusSuccess);
  auto ioctl = [&](uint32_t timeout_ms) {
    std::string in;
    LeWriter iw(&in);
    iw.U32(timeout_ms);
    iw.U32(0);
    return a_.Call(kIoctl, IoctlBody(f.fid, 0x001401D4, in, 0)).status();
  };
  EXPECT_EQ(ioctl(st().opts.max_resilient_timeout_ms + 1),
            kStatusInvalidParameter);
  EXPECT_EQ(ioctl(1000), kStatusSuccess);
  DropA();
  EXPECT_EQ(st().durable->size(), 1u) << "a resilient open is kept";
}

}  // namespace
}  // namespace concordfs::smb::testing
