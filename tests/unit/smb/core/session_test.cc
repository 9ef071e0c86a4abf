// SESSION_SETUP (raw NTLMSSP and SPNEGO), LOGOFF, unknown sessions, and the
// session's signing and encryption as a client sees them: keys the client
// derives on its own (with its own pre-auth hash) must verify the server's
// signatures and decrypt its messages.
#include <gtest/gtest.h>

#include "tests/unit/smb/core/smb_test_util.h"

namespace concordfs::smb::testing {
namespace {

class SessionDialectTest : public ::testing::TestWithParam<uint16_t> {};

TEST_P(SessionDialectTest, SpnegoLogin) {
  SmbTestClient c;
  NegotiateOptions no;
  no.dialects = {GetParam()};
  ASSERT_EQ(c.Negotiate(no).status(), kStatusSuccess);
  ASSERT_EQ(c.Login(), kStatusSuccess);
  EXPECT_NE(c.session_id(), 0u);
  EXPECT_EQ(c.session_flags(), 0) << "neither guest, null nor encrypted";
  const Response& r = c.last_setup();
  EXPECT_EQ(r.h.session_id, c.session_id());
  EXPECT_EQ(r.U16(0), 9);
  // The final response carries the SPNEGO accept-completed token.
  auto t = ParseNegTokenResp(r.At(r.U16(4), r.U16(6)));
  ASSERT_TRUE(t);
  EXPECT_EQ(t->neg_state, NegState::kAcceptCompleted);
  // SMB 3.x signs the final SESSION_SETUP response; the client's keys
  // (from its own pre-auth hash on 3.1.1) verify it.
  if (GetParam() >= kDialect300) {
    EXPECT_TRUE(r.h.is_signed());
    EXPECT_TRUE(r.signature_ok);
  }
  EXPECT_EQ(c.TreeConnect(), kStatusSuccess);
  EXPECT_NE(c.tree_id(), 0u);
}

TEST_P(SessionDialectTest, RawNtlmsspLogin) {
  SmbTestClient c;
  NegotiateOptions no;
  no.dialects = {GetParam()};
  ASSERT_EQ(c.Negotiate(no).status(), kStatusSuccess);
  LoginOptions lo;
  lo.spnego = false;
  ASSERT_EQ(c.Login(lo), kStatusSuccess);
  EXPECT_NE(c.session_id(), 0u);
  const Response& r = c.last_setup();
  EXPECT_EQ(r.U16(6), 0) << "raw NTLMSSP: no token in the final answer";
  if (GetParam() >= kDialect300) {
    EXPECT_TRUE(r.signature_ok);
  }
  EXPECT_EQ(c.TreeConnect(), kStatusSuccess);
}

TEST_P(SessionDialectTest, SignedRequestsWhenSigningRequired) {
  SmbOptions o = DefaultSmbOptions();
  o.signing_required = true;
  SmbTestClient c(o);
  NegotiateOptions no;
  no.dialects = {GetParam()};
  ASSERT_EQ(c.Negotiate(no).status(), kStatusSuccess);
  ASSERT_EQ(c.Login(), kStatusSuccess);
  EXPECT_TRUE(c.last_setup().h.is_signed());
  EXPECT_TRUE(c.last_setup().signature_ok);
  // Unsigned: refused.
  EXPECT_EQ(c.TreeConnect(), kStatusAccessDenied);
  // Signed: served, and the answer is signed.
  c.set_sign_requests(true);
  Response r = c.Call(kTreeConnect, TreeConnectBody("\\\\server\\share"));
  ASSERT_EQ(r.status(), kStatusSuccess);
  EXPECT_TRUE(r.h.is_signed());
  EXPECT_TRUE(r.signature_ok);
}

INSTANTIATE_TEST_SUITE_P(Dialects, SessionDialectTest,
                         ::testing::Values(kDialect202, kDialect210,
                                           kDialect300, kDialect302,
                                           kDialect311),
                         [](const auto& info) {
                           char b[8];
                           std::snprintf(b, sizeof b, "d%03x", info.param);
                           return std::string(b);
                         });

TEST(SessionTest, WrongPasswordIsLogonFailure) {
  for (bool spnego : {true, false}) {
    SmbTestClient c;
    ASSERT_EQ(c.Negotiate().status(), kStatusSuccess);
    LoginOptions lo;
    lo.password = "Secret-2";
    lo.spnego = spnego;
    EXPECT_EQ(c.Login(lo), kStatusLogonFailure);
    EXPECT_EQ(c.session_id(), 0u);
    // The failed session is gone.
    uint64_t sid = c.last_setup().h.session_id;
    Request q = Req(kTreeConnect, TreeConnectBody("\\\\server\\share"));
    q.session_id = sid;
    EXPECT_EQ(c.Call(q).status(), kStatusUserSessionDeleted);
    // A correct login on the same connection still works.
    EXPECT_EQ(c.Login(), kStatusSuccess);
  }
}

TEST(SessionTest, UnknownUserIsLogonFailure) {
  SmbTestClient c;
  ASSERT_EQ(c.Negotiate().status(), kStatusSuccess);
  LoginOptions lo;
  lo.user = "mallory";
  EXPECT_EQ(c.Login(lo), kStatusLogonFailure);
}

TEST(SessionTest, SessionIdsAreDistinct) {
  SmbTestClient c;
  ASSERT_EQ(c.Negotiate().status(), kStatusSuccess);
  ASSERT_EQ(c.Login(), kStatusSuccess);
  uint64_t first = c.session_id();
  ASSERT_EQ(c.Login(), kStatusSuccess);
  EXPECT_NE(c.session_id(), first);
  EXPECT_NE(c.session_id(), 0u);
}

TEST(SessionTest, UnknownSessionIsUserSessionDeleted) {
  SmbTestClient c;
  ASSERT_TRUE(c.Setup());
  for (uint16_t cmd : {kTreeConnect, kLogoff, kCreate, kClose}) {
    Request q;
    q.command = cmd;
    q.body = cmd == kTreeConnect ? TreeConnectBody("\\\\server\\share")
             : cmd == kCreate    ? CreateBody("x", kDispOpenIf)
             : cmd == kClose     ? CloseBody(SmbFileId{1, 1})
                                 : SmallBody(4);
    q.session_id = c.session_id() + 1000;
    EXPECT_EQ(c.Call(q).status(), kStatusUserSessionDeleted) << cmd;
  }
  // ECHO needs no session.
  Request e = Req(kEcho, SmallBody(4));
  e.session_id = 0x777;
  EXPECT_EQ(c.Call(e).status(), kStatusSuccess);
}

TEST(SessionTest, LogoffEndsTheSession) {
  SmbTestClient c;
  ASSERT_TRUE(c.Setup());
  CreateResult f = c.Create("f", kDispOpenIf);
  ASSERT_EQ(f.status, kStatusSuccess);
  c.set_sign_requests(true);  // the answer is signed with the session's key
  Response r = c.Call(kLogoff, SmallBody(4));
  EXPECT_EQ(r.status(), kStatusSuccess);
  EXPECT_EQ(r.U16(0), 4);
  EXPECT_TRUE(r.signature_ok);
  EXPECT_EQ(c.TreeConnect(), kStatusUserSessionDeleted);
  EXPECT_EQ(c.Call(kClose, CloseBody(f.fid)).status(),
            kStatusUserSessionDeleted);
  EXPECT_EQ(c.Call(kLogoff, SmallBody(4)).status(), kStatusUserSessionDeleted);
  // The open was closed by the logoff.
  EXPECT_EQ(c.world().vfs->OpenCount(f.resp.U64(64)), 0u);
}

TEST(SessionTest, TreeConnectToUnknownShare) {
  SmbTestClient c;
  ASSERT_EQ(c.Negotiate().status(), kStatusSuccess);
  ASSERT_EQ(c.Login(), kStatusSuccess);
  EXPECT_EQ(c.TreeConnect("nosuch"), kStatusBadNetworkName);
  EXPECT_EQ(c.TreeConnect("IPC$"), kStatusSuccess);
  EXPECT_EQ(c.TreeConnect("SHARE"), kStatusSuccess) << "case-insensitive";
  // A command on a tree that is not connected.
  Request q = Req(kCreate, CreateBody("x", kDispOpenIf));
  q.tree_id = 999;
  EXPECT_EQ(c.Call(q).status(), kStatusNetworkNameDeleted);
}

TEST(SessionTest, ReloadedSharesAndUsers) {
  SmbTestClient c;
  ASSERT_TRUE(c.Setup());
  CreateResult f = c.Create("kept", kDispOpenIf);
  ASSERT_EQ(f.status, kStatusSuccess);
  // A reload: "share" is gone, "other" and user bob are new.
  ShareConfig next;
  next.users = c.world().st.Config()->users;
  SmbUser bob;
  bob.name = "bob";
  bob.nt_hash = NtHashOfPassword("Bob-pass-2");
  next.users.push_back(bob);
  SmbShare other;
  other.name = "other";
  other.path = "/";
  next.shares.push_back(other);
  c.world().st.SetConfig(std::make_shared<const ShareConfig>(next));
  // The connected tree and its open go on.
  EXPECT_EQ(c.Write(f.fid, 0, "still here"), kStatusSuccess);
  EXPECT_EQ(c.Read(f.fid, 0, 100).second, "still here");
  // New tree connects see the new list.
  EXPECT_EQ(c.TreeConnect("share"), kStatusBadNetworkName);
  EXPECT_EQ(c.TreeConnect("other"), kStatusSuccess);
  // So do new session setups: bob can log in (another session).
  LoginOptions lo;
  lo.user = "bob";
  lo.password = "Bob-pass-2";
  EXPECT_EQ(c.Login(lo), kStatusSuccess);
  EXPECT_EQ(c.TreeConnect("other"), kStatusSuccess);
}

// ---- signing ----

TEST(SigningTest, AlgorithmsOf311) {
  // Signing capabilities: GMAC, CMAC, HMAC-SHA256; none: CMAC.
  for (std::vector<uint16_t> offer : {std::vector<uint16_t>{2}, {1}, {0}, {}}) {
    SmbOptions o = DefaultSmbOptions();
    o.signing_required = true;
    SmbTestClient c(o);
    NegotiateOptions no;
    no.dialects = {kDialect311};
    no.signing = offer;
    ASSERT_EQ(c.Negotiate(no).status(), kStatusSuccess);
    EXPECT_EQ(c.signing_alg(), offer.empty() ? SigningAlg::kAesCmac
                                             : *SigningAlgFromId(offer[0]));
    ASSERT_EQ(c.Login(), kStatusSuccess);
    EXPECT_TRUE(c.last_setup().signature_ok);
    c.set_sign_requests(true);
    ASSERT_EQ(c.TreeConnect(), kStatusSuccess);
    CreateResult f = c.Create("f", kDispOpenIf);
    ASSERT_EQ(f.status, kStatusSuccess);
    EXPECT_TRUE(f.resp.signature_ok);
    EXPECT_EQ(c.Write(f.fid, 0, "signed data"), kStatusSuccess);
    EXPECT_EQ(c.Read(f.fid, 0, 100).second, "signed data");
  }
}

TEST(SigningTest, BadSignatureIsAccessDenied) {
  SmbOptions o = DefaultSmbOptions();
  o.signing_required = true;
  SmbTestClient c(o);
  ASSERT_EQ(c.Negotiate().status(), kStatusSuccess);
  ASSERT_EQ(c.Login(), kStatusSuccess);
  std::string m = c.Build(Req(kTreeConnect, TreeConnectBody("\\\\s\\share")));
  ASSERT_TRUE(c.Sign(&m));
  m[50] ^= 1;
  auto rs = c.SendRaw(m);
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].status(), kStatusAccessDenied);
  EXPECT_FALSE(rs[0].h.is_signed()) << "no signature over a forged request";
  // A signed request whose body was changed after signing.
  m = c.Build(Req(kTreeConnect, TreeConnectBody("\\\\s\\share")));
  ASSERT_TRUE(c.Sign(&m));
  m.back() ^= 1;
  rs = c.SendRaw(m);
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].status(), kStatusAccessDenied);
}

TEST(SigningTest, SignedRequestGetsSignedAnswerWithoutRequirement) {
  SmbTestClient c;
  ASSERT_TRUE(c.Setup(kDialect302));
  Response r = c.Call(kEcho, SmallBody(4));
  EXPECT_FALSE(r.h.is_signed());
  c.set_sign_requests(true);
  r = c.Call(kCreate, CreateBody("f", kDispOpenIf));
  ASSERT_EQ(r.status(), kStatusSuccess);
  EXPECT_TRUE(r.h.is_signed());
  EXPECT_TRUE(r.signature_ok);
}

TEST(SigningTest, ClientRequiringSigningGetsSignedAnswers) {
  SmbTestClient c;
  ASSERT_EQ(c.Negotiate().status(), kStatusSuccess);
  LoginOptions lo;
  lo.security_mode = kSigningEnabled | kSigningRequired;
  ASSERT_EQ(c.Login(lo), kStatusSuccess);
  c.set_sign_requests(true);
  Response r = c.Call(kTreeConnect, TreeConnectBody("\\\\s\\share"));
  ASSERT_EQ(r.status(), kStatusSuccess);
  EXPECT_TRUE(r.signature_ok);
  // The session now requires signing: unsigned requests are refused.
  c.set_sign_requests(false);
  EXPECT_EQ(c.Call(kCreate, CreateBody("f", kDispOpenIf)).status(),
            kStatusAccessDenied);
}

// ---- encryption ----

SmbOptions EncryptionRequired() {
  SmbOptions o = DefaultSmbOptions();
  o.encryption = SmbEncryption::kRequired;
  return o;
}

TEST(EncryptionTest, RequiredWithAes128Gcm) {
  SmbTestClient c(EncryptionRequired());
  NegotiateOptions no;
  no.dialects = {kDialect311};
  no.ciphers = {2};
  ASSERT_EQ(c.Negotiate(no).status(), kStatusSuccess);
  ASSERT_EQ(c.cipher(), Cipher::kAes128Gcm);
  ASSERT_EQ(c.Login(), kStatusSuccess);
  EXPECT_TRUE(c.session_flags() & kSessionEncrypt);
  ASSERT_TRUE(c.encrypt_requests());
  // Encrypted requests are served, and answered encrypted.
  Response t = c.Call(kTreeConnect, TreeConnectBody("\\\\s\\share"));
  ASSERT_EQ(t.status(), kStatusSuccess);
  EXPECT_TRUE(t.encrypted);
  Request q = Req(kCreate, CreateBody("secret", kDispOpenIf));
  q.tree_id = t.h.tree_id;
  CreateResult f = SmbTestClient::ParseCreate(c.Call(q));
  ASSERT_EQ(f.status, kStatusSuccess);
  EXPECT_TRUE(f.resp.encrypted);
  q = Req(kWrite, WriteBody(f.fid, 0, "sealed"));
  q.tree_id = t.h.tree_id;
  EXPECT_EQ(c.Call(q).status(), kStatusSuccess);
  // Plaintext requests are refused.
  c.set_encrypt_requests(false);
  q = Req(kRead, ReadBody(f.fid, 0, 6));
  q.tree_id = t.h.tree_id;
  Response r = c.Call(q);
  EXPECT_EQ(r.status(), kStatusAccessDenied);
  q.body = ReadBody(f.fid, 0, 6);
  c.set_encrypt_requests(true);
  r = c.Call(q);
  ASSERT_EQ(r.status(), kStatusSuccess);
  EXPECT_EQ(r.At(r.raw[kSmb2HeaderSize + 2] & 0xFF, r.U32(4)), "sealed");
}

TEST(EncryptionTest, Smb302UsesAes128Ccm) {
  SmbTestClient c(EncryptionRequired());
  ASSERT_TRUE(c.Setup(kDialect302));
  EXPECT_EQ(c.cipher(), Cipher::kAes128Ccm);
  CreateResult f = c.Create("f", kDispOpenIf);
  ASSERT_EQ(f.status, kStatusSuccess);
  EXPECT_TRUE(f.resp.encrypted);
}

TEST(EncryptionTest, RequiredRefusesClientsThatCannotEncrypt) {
  {
    SmbTestClient c(EncryptionRequired());
    NegotiateOptions no;
    no.dialects = {kDialect210};
    ASSERT_EQ(c.Negotiate(no).status(), kStatusSuccess);
    EXPECT_EQ(c.Login(), kStatusAccessDenied);
  }
  {
    SmbTestClient c(EncryptionRequired());
    NegotiateOptions no;
    no.dialects = {kDialect311};
    no.ciphers = {};
    ASSERT_EQ(c.Negotiate(no).status(), kStatusSuccess);
    EXPECT_EQ(c.Login(), kStatusAccessDenied);
  }
}

TEST(EncryptionTest, UndecryptableMessagesClose) {
  SmbTestClient c(EncryptionRequired());
  ASSERT_TRUE(c.Setup());
  std::string m = c.Encrypt(c.Build(Req(kEcho, SmallBody(4))));
  m[60] ^= 1;  // ciphertext
  EXPECT_TRUE(c.SendRaw(m).empty());
  EXPECT_TRUE(c.transport().closed());
}

TEST(EncryptionTest, TransformForUnknownSessionCloses) {
  SmbTestClient c(EncryptionRequired());
  ASSERT_TRUE(c.Setup());
  std::string m = c.Encrypt(c.Build(Req(kEcho, SmallBody(4))));
  m[44] ^= 0x40;  // SessionId
  EXPECT_TRUE(c.SendRaw(m).empty());
  EXPECT_TRUE(c.transport().closed());
}

// MS-SMB2 3.3.4.1.4: a SESSION_SETUP response is never encrypted (the
// client cannot have the keys before it has read it); the final one is
// signed instead.
TEST(EncryptionTest, FinalSessionSetupAnswerIsSignedNotEncrypted) {
  SmbTestClient c(EncryptionRequired());
  ASSERT_EQ(c.Negotiate().status(), kStatusSuccess);
  ASSERT_EQ(c.Login(), kStatusSuccess);
  EXPECT_FALSE(c.last_setup().encrypted);
  EXPECT_TRUE(c.last_setup().h.is_signed());
  EXPECT_TRUE(c.last_setup().signature_ok);
}

TEST(EncryptionTest, DesiredEncryptsCapableClients) {
  SmbOptions o = DefaultSmbOptions();
  o.encryption = SmbEncryption::kDesired;
  SmbTestClient c(o);
  ASSERT_TRUE(c.Setup());
  EXPECT_TRUE(c.session_flags() & kSessionEncrypt);
  SmbTestClient d(o);
  ASSERT_TRUE(d.Setup(kDialect210));
  EXPECT_FALSE(d.session_flags() & kSessionEncrypt);
  EXPECT_EQ(d.Create("f", kDispOpenIf).status, kStatusSuccess);
}

TEST(EncryptionTest, EncryptedShareNeedsEncryptedRequests) {
  SmbOptions o = DefaultSmbOptions();
  o.shares[0].encrypt = true;
  SmbTestClient c(o);
  ASSERT_EQ(c.Negotiate().status(), kStatusSuccess);
  ASSERT_EQ(c.Login(), kStatusSuccess);
  ASSERT_FALSE(c.encrypt_requests());
  Response t = c.Call(kTreeConnect, TreeConnectBody("\\\\s\\share"));
  ASSERT_EQ(t.status(), kStatusSuccess);
  EXPECT_EQ(t.U32(4) & kShareFlagEncrypt, kShareFlagEncrypt);
  Request q = Req(kCreate, CreateBody("f", kDispOpenIf));
  q.tree_id = t.h.tree_id;
  EXPECT_EQ(c.Call(q).status(), kStatusAccessDenied);
  c.set_encrypt_requests(true);
  Response r = c.Call(q);
  EXPECT_EQ(r.status(), kStatusSuccess);
  EXPECT_TRUE(r.encrypted);
  // 2.1 cannot encrypt: the share is refused.
  SmbTestClient d(o);
  NegotiateOptions no;
  no.dialects = {kDialect210};
  ASSERT_EQ(d.Negotiate(no).status(), kStatusSuccess);
  ASSERT_EQ(d.Login(), kStatusSuccess);
  EXPECT_EQ(d.TreeConnect(), kStatusAccessDenied);
}

}  // namespace
}  // namespace concordfs::smb::testing
