// Multichannel as a client sees it: a second connection of the same client
// binds to a session (SESSION_SETUP with the binding flag, signed with the
// session's key), signs with its own channel key, reaches the opens made
// on the first connection (and the other way round), and keeps the session,
// its opens and locks when the first connection drops. Lock sequence
// numbers are checked for every open once multichannel is offered, so a
// LOCK resent on another channel is not applied twice.
#include <gtest/gtest.h>

#include "tests/unit/smb/core/smb_test_util.h"

namespace concordfs::smb::testing {
namespace {

class MultichannelTest : public ::testing::TestWithParam<uint16_t> {
 protected:
  MultichannelTest() {
    a_.world().st.locks = &locks_;
    a_.transport().group = &group_;
    b_.transport().group = &group_;
  }
  // a: NEGOTIATE, SESSION_SETUP, TREE_CONNECT; b: NEGOTIATE only.
  void SetUpBoth() {
    ASSERT_TRUE(a_.Setup(GetParam()));
    a_.set_sign_requests(true);
    NegotiateOptions no;
    no.dialects = {GetParam()};
    Response r = b_.Negotiate(no);
    ASSERT_EQ(r.status(), kStatusSuccess);
    EXPECT_TRUE(r.U32(24) & kCapMultiChannel);
  }
  void DropA() {
    a_.conn().OnDisconnect();
    a_.transport().RunPosted();
  }

  int group_ = 0;
  locking::LockManager locks_;
  SmbTestClient a_;
  SmbTestClient b_{a_};
};

TEST_P(MultichannelTest, SecondChannelSharesTheSessionAndSurvivesTheFirst) {
  SetUpBoth();
  ASSERT_EQ(b_.Bind(a_), kStatusSuccess);
  // The final answer is signed with the new channel's key, which the
  // client derived on its own.
  EXPECT_TRUE(b_.last_setup().h.is_signed());
  EXPECT_TRUE(b_.last_setup().signature_ok);
  EXPECT_EQ(b_.session_id(), a_.session_id());
  b_.set_sign_requests(true);

  // An open made on one channel is used through the other.
  CreateResult f = a_.Create("mc.txt", kDispCreate);
  ASSERT_EQ(f.status, kStatusSuccess);
  ASSERT_EQ(a_.Write(f.fid, 0, "over channel one"), kStatusSuccess);
  auto [st, data] = b_.Read(f.fid, 0, 64);
  ASSERT_EQ(st, kStatusSuccess);
  EXPECT_EQ(data, "over channel one");
  CreateResult g = b_.Create("mc2.txt", kDispCreate);
  ASSERT_EQ(g.status, kStatusSuccess);
  ASSERT_EQ(b_.Write(g.fid, 0, "two"), kStatusSuccess);
  EXPECT_EQ(a_.Read(g.fid, 0, 8).second, "two");

  // A lock taken on channel two, resent on channel one with the same
  // sequence number (the answer was lost): not applied twice.
  uint32_t seq = (1 << 4) | 1;
  EXPECT_EQ(b_.Call(kLock, LockBody(f.fid, 0, 10,
                                    kLockExclusive | kLockFailImmediately, seq))
                .status(),
            kStatusSuccess);
  EXPECT_EQ(a_.Call(kLock, LockBody(f.fid, 0, 10,
                                    kLockExclusive | kLockFailImmediately, seq))
                .status(),
            kStatusSuccess);
  // One lock is held: a different sequence number is a new request.
  EXPECT_EQ(a_.Call(kLock, LockBody(f.fid, 0, 10,
                                    kLockExclusive | kLockFailImmediately,
                                    (1 << 4) | 2))
                .status(),
            kStatusLockNotGranted);

  // Channel one drops: the session, both opens and the lock live on.
  DropA();
  EXPECT_EQ(b_.Read(f.fid, 0, 64).second, "over channel one");
  EXPECT_EQ(b_.Read(g.fid, 0, 8).second, "two");
  std::vector<locking::LockInfo> held;
  std::vector<locking::WaiterInfo> waiting;
  locks_.List(&held, &waiting);
  EXPECT_EQ(held.size(), 1u);
  EXPECT_EQ(b_.Call(kLock, LockBody(f.fid, 0, 10, kLockUnlock, (2 << 4) | 1))
                .status(),
            kStatusSuccess);
  EXPECT_EQ(b_.Close(f.fid), kStatusSuccess);
  EXPECT_EQ(b_.Close(g.fid), kStatusSuccess);
}

TEST_P(MultichannelTest, LogoffOnOneChannelEndsTheSessionOnAll) {
  SetUpBoth();
  ASSERT_EQ(b_.Bind(a_), kStatusSuccess);
  b_.set_sign_requests(true);
  CreateResult f = a_.Create("lo.txt", kDispCreate);
  ASSERT_EQ(f.status, kStatusSuccess);
  ASSERT_EQ(a_.Call(kLock, LockBody(f.fid, 0, 1,
                                    kLockExclusive | kLockFailImmediately))
                .status(),
            kStatusSuccess);
  Response r = b_.Call(kLogoff, SmallBody(4));
  ASSERT_EQ(r.status(), kStatusSuccess);
  // The open made on channel one is closed, its lock gone, and the
  // session unknown on both channels.
  std::vector<locking::LockInfo> held;
  std::vector<locking::WaiterInfo> waiting;
  locks_.List(&held, &waiting);
  EXPECT_TRUE(held.empty());
  EXPECT_EQ(a_.Read(f.fid, 0, 1).first, kStatusUserSessionDeleted);
  EXPECT_EQ(b_.Read(f.fid, 0, 1).first, kStatusUserSessionDeleted);
}

TEST_P(MultichannelTest, RefusedBindings) {
  SetUpBoth();
  // Another user's credentials cannot bind to alice's session.
  SmbServerState& st = a_.world().st;
  SmbUser bob;
  bob.name = "bob";
  bob.nt_hash = NtHashOfPassword("Bob-Secret-1");
  st.SetConfig(std::make_shared<const ShareConfig>(
      ShareConfig{{st.Config()->users[0], bob}, st.Config()->shares}));
  LoginOptions lo;
  lo.user = "bob";
  lo.password = "Bob-Secret-1";
  EXPECT_EQ(b_.Bind(a_, lo), kStatusAccessDenied);
  // An unknown session.
  SmbTestClient ghost(a_);
  ghost.transport().group = &group_;
  NegotiateOptions no;
  no.dialects = {GetParam()};
  ASSERT_EQ(ghost.Negotiate(no).status(), kStatusSuccess);
  ASSERT_EQ(a_.Call(kLogoff, SmallBody(4)).status(), kStatusSuccess);
  EXPECT_EQ(ghost.Bind(a_), kStatusUserSessionDeleted);
}

TEST(MultichannelRefusalTest, NotOfferedOrRefusedOutsideOneClient) {
  // A connection of another client (not on the session's queue) cannot
  // bind, and 2.1 knows no binding.
  locking::LockManager locks;
  SmbTestClient a;
  int g1 = 0, g2 = 0;
  a.transport().group = &g1;
  ASSERT_TRUE(a.Setup(kDialect311));
  SmbTestClient other(a);
  other.transport().group = &g2;
  NegotiateOptions no;
  no.dialects = {kDialect311};
  ASSERT_EQ(other.Negotiate(no).status(), kStatusSuccess);
  EXPECT_EQ(other.Bind(a), kStatusUserSessionDeleted);

  SmbTestClient old(a);
  old.transport().group = &g1;
  no.dialects = {kDialect210};
  Response r = old.Negotiate(no);
  ASSERT_EQ(r.status(), kStatusSuccess);
  EXPECT_FALSE(r.U32(24) & kCapMultiChannel);
  EXPECT_EQ(old.Bind(a), kStatusRequestNotAccepted);

  // Without a shared queue (multichannel off for this connection) it is
  // not offered at all.
  SmbTestClient lone(a);
  no.dialects = {kDialect311};
  r = lone.Negotiate(no);
  ASSERT_EQ(r.status(), kStatusSuccess);
  EXPECT_FALSE(r.U32(24) & kCapMultiChannel);
  EXPECT_EQ(lone.Bind(a), kStatusRequestNotAccepted);
}

INSTANTIATE_TEST_SUITE_P(Dialects, MultichannelTest,
                         ::testing::Values(kDialect300, kDialect302,
                                           kDialect311));

}  // namespace
}  // namespace concordfs::smb::testing
