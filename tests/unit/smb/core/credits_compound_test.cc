// Credits and message ids (MS-SMB2 3.3.5.2.3, 3.3.5.2.5) and compound
// requests (3.3.5.2.7): what is granted, what closes the connection, and
// how related and unrelated chains are answered.
#include <gtest/gtest.h>

#include "tests/unit/smb/core/smb_test_util.h"

namespace concordfs::smb::testing {
namespace {

// ---- credits ----

TEST(CreditsTest, ReusedMessageIdCloses) {
  SmbTestClient c;
  ASSERT_TRUE(c.Setup());
  Request q = Req(kEcho, SmallBody(4));
  q.message_id = c.next_message_id();
  c.set_next_message_id(c.next_message_id() + 1);
  EXPECT_EQ(c.Call(q).status(), kStatusSuccess);
  EXPECT_FALSE(c.transport().closed());
  EXPECT_TRUE(c.SendRaw(c.Build(q)).empty());
  EXPECT_TRUE(c.transport().closed());
}

TEST(CreditsTest, OutOfOrderIdsInsideTheWindowAreFine) {
  SmbTestClient c;
  ASSERT_TRUE(c.Setup());
  uint64_t m = c.next_message_id();
  for (uint64_t id : {m + 3, m + 1, m, m + 2}) {
    Request q = Req(kEcho, SmallBody(4));
    q.message_id = id;
    EXPECT_EQ(c.Call(q).status(), kStatusSuccess) << id;
  }
  Request q = Req(kEcho, SmallBody(4));
  q.message_id = m + 1;  // used already, below the window now
  EXPECT_TRUE(c.SendRaw(c.Build(q)).empty());
  EXPECT_TRUE(c.transport().closed());
}

TEST(CreditsTest, IdOutsideTheWindowCloses) {
  SmbTestClient c;
  ASSERT_TRUE(c.Setup());
  Request q = Req(kEcho, SmallBody(4));
  q.message_id = c.next_message_id() + 100000;
  EXPECT_TRUE(c.SendRaw(c.Build(q)).empty());
  EXPECT_TRUE(c.transport().closed());
}

TEST(CreditsTest, FirstNegotiateMustUseIdZero) {
  SmbTestClient c;
  c.set_next_message_id(1);
  EXPECT_FALSE(c.Negotiate().present());
  EXPECT_TRUE(c.transport().closed());
}

TEST(CreditsTest, MultiCreditChargeSpansIds) {
  SmbTestClient c;
  ASSERT_TRUE(c.Setup());
  CreateResult f = c.Create("f", kDispOpenIf);
  ASSERT_EQ(f.status, kStatusSuccess);
  Request q = Req(kWrite, WriteBody(f.fid, 0, std::string(200000, 'x')));
  q.credit_charge = 4;
  uint64_t m = c.next_message_id();
  EXPECT_EQ(c.Call(q).status(), kStatusSuccess);
  // The write used ids m..m+3: each of them is gone.
  Request e = Req(kEcho, SmallBody(4));
  e.message_id = m + 2;
  EXPECT_TRUE(c.SendRaw(c.Build(e)).empty());
  EXPECT_TRUE(c.transport().closed());
}

TEST(CreditsTest, TooSmallChargeIsInvalidParameter) {
  SmbTestClient c;
  ASSERT_TRUE(c.Setup());
  CreateResult f = c.Create("f", kDispOpenIf);
  ASSERT_EQ(f.status, kStatusSuccess);
  Request q = Req(kWrite, WriteBody(f.fid, 0, std::string(100000, 'x')));
  q.credit_charge = 1;  // 100000 bytes need 2
  EXPECT_EQ(c.Call(q).status(), kStatusInvalidParameter);
  q.credit_charge = 2;
  EXPECT_EQ(c.Call(q).status(), kStatusSuccess);
  Request r = Req(kRead, ReadBody(f.fid, 0, 100000));
  r.credit_charge = 1;
  EXPECT_EQ(c.Call(r).status(), kStatusInvalidParameter);
  r.credit_charge = 2;
  EXPECT_EQ(c.Call(r).status(), kStatusSuccess);
  EXPECT_FALSE(c.transport().closed());
}

TEST(CreditsTest, ChargeIsIgnoredFor202) {
  SmbTestClient c;
  ASSERT_TRUE(c.Setup(kDialect202));
  CreateResult f = c.Create("f", kDispOpenIf);
  ASSERT_EQ(f.status, kStatusSuccess);
  Request q = Req(kWrite, WriteBody(f.fid, 0, std::string(60000, 'x')));
  q.credit_charge = 0;
  EXPECT_EQ(c.Call(q).status(), kStatusSuccess);
}

TEST(CreditsTest, GrantsNeverExceedTheMaximum) {
  SmbOptions o = DefaultSmbOptions();
  o.max_credits = 10;
  SmbTestClient c(o);
  NegotiateOptions no;
  ASSERT_EQ(c.Negotiate(no).status(), kStatusSuccess);
  ASSERT_EQ(c.Login(), kStatusSuccess);
  ASSERT_EQ(c.TreeConnect(), kStatusSuccess);
  for (int i = 0; i < 50; ++i) {
    Request q = Req(kEcho, SmallBody(4));
    q.credits = 1000;
    ASSERT_EQ(c.Call(q).status(), kStatusSuccess);
    EXPECT_LE(c.credits(), 10);
    EXPECT_GE(c.credits(), 1) << "never left without a credit";
  }
  EXPECT_LE(c.max_credits_seen(), 10);
  // A compound of several requests is granted within the limit too.
  std::vector<Request> reqs(5, Req(kEcho, SmallBody(4)));
  for (Request& q : reqs) q.credits = 1000;
  auto rs = c.Compound(reqs, false);
  ASSERT_EQ(rs.size(), 5u);
  EXPECT_LE(c.max_credits_seen(), 10);
}

TEST(CreditsTest, GrantsWhatIsAskedWithinTheMaximum) {
  SmbTestClient c;
  ASSERT_TRUE(c.Setup());
  Request q = Req(kEcho, SmallBody(4));
  q.credits = 100;
  Response r = c.Call(q);
  EXPECT_EQ(r.h.credits, 100);
  q.credits = 0;
  EXPECT_EQ(c.Call(q).h.credits, 1) << "at least one";
}

// ---- compound ----

TEST(CompoundTest, RelatedCreateWriteReadClose) {
  SmbTestClient c;
  ASSERT_TRUE(c.Setup());
  SmbFileId ph = PlaceholderFileId();
  std::vector<Request> reqs = {
      Req(kCreate, CreateBody("chain.txt", kDispCreate)),
      Req(kWrite, WriteBody(ph, 0, "compound data")),
      Req(kRead, ReadBody(ph, 0, 100)),
      Req(kClose, CloseBody(ph)),
  };
  for (size_t i = 1; i < reqs.size(); ++i) {
    reqs[i].session_id = ~0ULL;
    reqs[i].tree_id = ~0U;
  }
  auto rs = c.Compound(reqs, true);
  ASSERT_EQ(rs.size(), 4u);
  for (size_t i = 0; i < rs.size(); ++i) {
    EXPECT_EQ(rs[i].status(), kStatusSuccess) << i;
    EXPECT_EQ(rs[i].h.command, reqs[i].command);
    EXPECT_EQ(rs[i].h.session_id, c.session_id());
    EXPECT_EQ(rs[i].h.related(), i > 0);
    if (i + 1 < rs.size()) {
      EXPECT_EQ(rs[i].raw.size() % 8, 0u) << "elements 8-byte aligned";
      EXPECT_EQ(rs[i].h.next_command, rs[i].raw.size());
    } else {
      EXPECT_EQ(rs[i].h.next_command, 0u);
    }
  }
  EXPECT_EQ(rs[1].U32(4), 13u);
  EXPECT_EQ(rs[2].At(rs[2].raw[kSmb2HeaderSize + 2] & 0xFF, rs[2].U32(4)),
            "compound data");
  // Closed: the file is there with the data, and no open is left.
  auto a = c.vfs().Lookup(OpContext(), kRootInode, "chain.txt");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->inode.size, 13u);
  EXPECT_EQ(c.vfs().OpenCount(a->inode.id), 0u);
}

TEST(CompoundTest, FailedCreateFailsRelatedFollowers) {
  SmbTestClient c;
  ASSERT_TRUE(c.Setup());
  SmbFileId ph = PlaceholderFileId();
  auto rs =
      c.Compound({Req(kCreate, CreateBody("missing", kDispOpen)),
                  Req(kWrite, WriteBody(ph, 0, "x")),
                  Req(kRead, ReadBody(ph, 0, 1)), Req(kClose, CloseBody(ph))},
                 true);
  ASSERT_EQ(rs.size(), 4u);
  for (const Response& r : rs)
    EXPECT_EQ(r.status(), kStatusObjectNameNotFound) << r.h.command;
  EXPECT_FALSE(c.vfs().Lookup(OpContext(), kRootInode, "missing").ok());
}

TEST(CompoundTest, UnrelatedEchoes) {
  SmbTestClient c;
  ASSERT_TRUE(c.Setup());
  uint64_t m = c.next_message_id();
  auto rs =
      c.Compound({Req(kEcho, SmallBody(4)), Req(kEcho, SmallBody(4))}, false);
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_EQ(rs[0].status(), kStatusSuccess);
  EXPECT_EQ(rs[1].status(), kStatusSuccess);
  EXPECT_EQ(rs[0].h.message_id, m);
  EXPECT_EQ(rs[1].h.message_id, m + 1);
  EXPECT_FALSE(rs[1].h.related());
}

TEST(CompoundTest, UnrelatedPlaceholderFileIdIsClosed) {
  SmbTestClient c;
  ASSERT_TRUE(c.Setup());
  SmbFileId ph = PlaceholderFileId();
  auto rs = c.Compound(
      {Req(kCreate, CreateBody("f", kDispOpenIf)), Req(kClose, CloseBody(ph))},
      false);
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_EQ(rs[0].status(), kStatusSuccess);
  EXPECT_EQ(rs[1].status(), kStatusFileClosed);
}

TEST(CompoundTest, MisalignedNextCommandCloses) {
  SmbTestClient c;
  ASSERT_TRUE(c.Setup());
  std::string m = c.BuildCompound(
      {Req(kEcho, SmallBody(4)), Req(kEcho, SmallBody(4))}, false);
  // Move the second element 4 bytes earlier: NextCommand 68.
  std::string bad = m.substr(0, 68) + m.substr(72);
  LeWriter(&bad).PatchU32(20, 68);
  EXPECT_TRUE(c.SendRaw(bad).empty());
  EXPECT_TRUE(c.transport().closed());
}

TEST(CompoundTest, NextCommandPastTheEndCloses) {
  SmbTestClient c;
  ASSERT_TRUE(c.Setup());
  std::string m = c.Build(Req(kEcho, SmallBody(4)));
  while (m.size() % 8) m.push_back('\0');
  LeWriter(&m).PatchU32(20, static_cast<uint32_t>(m.size() + 8));
  EXPECT_TRUE(c.SendRaw(m).empty());
  EXPECT_TRUE(c.transport().closed());
}

TEST(CompoundTest, SignedCompoundAnswersVerify) {
  SmbOptions o = DefaultSmbOptions();
  o.signing_required = true;
  SmbTestClient c(o);
  ASSERT_EQ(c.Negotiate().status(), kStatusSuccess);
  ASSERT_EQ(c.Login(), kStatusSuccess);
  c.set_sign_requests(true);
  ASSERT_EQ(c.TreeConnect(), kStatusSuccess);
  SmbFileId ph = PlaceholderFileId();
  auto rs = c.Compound(
      {Req(kCreate, CreateBody("s", kDispOpenIf)),
       Req(kWrite, WriteBody(ph, 0, "abc")), Req(kClose, CloseBody(ph))},
      true);
  ASSERT_EQ(rs.size(), 3u);
  for (const Response& r : rs) {
    EXPECT_EQ(r.status(), kStatusSuccess) << r.h.command;
    EXPECT_TRUE(r.signature_ok) << r.h.command;
  }
}

TEST(CompoundTest, EncryptedCompound) {
  SmbOptions o = DefaultSmbOptions();
  o.encryption = SmbEncryption::kRequired;
  SmbTestClient c(o);
  ASSERT_TRUE(c.Setup());
  SmbFileId ph = PlaceholderFileId();
  auto rs = c.Compound(
      {Req(kCreate, CreateBody("e", kDispOpenIf)),
       Req(kWrite, WriteBody(ph, 0, "abc")), Req(kClose, CloseBody(ph))},
      true);
  ASSERT_EQ(rs.size(), 3u);
  for (const Response& r : rs) {
    EXPECT_EQ(r.status(), kStatusSuccess) << r.h.command;
    EXPECT_TRUE(r.encrypted);
  }
}

// MS-SMB2 3.3.5.15.12: a VALIDATE_NEGOTIATE that does not match what
// NEGOTIATE saw terminates the connection. The rest of a compound it starts
// must not be executed or answered.
TEST(CompoundTest, FailedValidateNegotiateStopsTheChain) {
  SmbTestClient c;
  ASSERT_TRUE(c.Setup(kDialect302));
  std::string in;
  LeWriter w(&in);
  w.U32(0);
  w.Bytes("not-the-client-g");
  w.U16(kSigningEnabled);
  w.U16(1);
  w.U16(kDialect302);
  auto rs =
      c.Compound({Req(kIoctl, IoctlBody(PlaceholderFileId(), 0x00140204, in)),
                  Req(kCreate, CreateBody("after-validate", kDispCreate))},
                 false);
  EXPECT_TRUE(c.transport().closed());
  EXPECT_TRUE(rs.empty());
  EXPECT_FALSE(c.vfs().Lookup(OpContext(), kRootInode, "after-validate").ok());
}

TEST(CompoundTest, ValidateNegotiate) {
  SmbTestClient c;
  ASSERT_TRUE(c.Setup(kDialect302));
  c.set_sign_requests(true);  // as clients send it
  std::string in;
  LeWriter w(&in);
  w.U32(kCapLargeMtu | kCapEncryption);
  w.Bytes("concordfs-client");
  w.U16(kSigningEnabled);
  w.U16(1);
  w.U16(kDialect302);
  Response r = c.Call(kIoctl, IoctlBody(PlaceholderFileId(), 0x00140204, in));
  ASSERT_EQ(r.status(), kStatusSuccess);
  EXPECT_TRUE(r.signature_ok);
  EXPECT_EQ(r.U32(36), 24u) << "output count";
  // A mismatch (another dialect list) drops the connection.
  in.replace(in.size() - 2, 2, std::string("\x00\x03", 2));
  EXPECT_TRUE(
      c.SendRaw(c.Seal(c.Build(Req(
                    kIoctl, IoctlBody(PlaceholderFileId(), 0x00140204, in)))))
          .empty());
  EXPECT_TRUE(c.transport().closed());
}

}  // namespace
}  // namespace concordfs::smb::testing
