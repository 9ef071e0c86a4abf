// NEGOTIATE (and the SMB1 upgrade), SESSION_SETUP, LOGOFF, TREE_CONNECT,
// TREE_DISCONNECT.
#include <openssl/rand.h>

#include <algorithm>
#include <cstring>
#include <future>

#include "smb/core/connection.h"
#include "smb/info/nt_status.h"
#include "smb/wire/le.h"
#include "smb/wire/unicode.h"
#include "util/clock.h"
#include "util/log.h"

namespace concordfs::smb {
namespace {

constexpr uint16_t kCtxPreauth = 1;
constexpr uint16_t kCtxEncryption = 2;
constexpr uint16_t kCtxSigning = 8;
constexpr size_t kMaxChannels = 32;  // per session

uint64_t NowFiletime() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (static_cast<uint64_t>(ts.tv_sec) + 11644473600ULL) * 10000000ULL +
         ts.tv_nsec / 100;
}

bool Supported(uint16_t d) {
  return d == kDialect202 || d == kDialect210 || d == kDialect300 ||
         d == kDialect302 || d == kDialect311;
}

std::unique_ptr<Authenticator> NewAuthenticator(const SmbServerState* st) {
  AuthOptions ao;
  ao.netbios_name = st->opts.server_name;
  ao.netbios_domain = st->opts.domain;
  ao.allow_anonymous = st->opts.guest;
  return std::make_unique<Authenticator>(
      ao,
      [st](std::string_view user, std::string_view) -> std::optional<SmbUser> {
        // The users in force now (a reload may have changed them).
        for (const SmbUser& u : st->Config()->users)
          if (Utf8EqualsIgnoreCase(u.name, user)) return u;
        return std::nullopt;
      });
}

// A SESSION_SETUP response body: session flags and the security token.
void SetupBody(std::string* body, uint16_t session_flags,
               const std::string& token) {
  LeWriter w(body);
  w.U16(9);
  w.U16(session_flags);
  w.U16(kSmb2HeaderSize + 8);
  w.U16(static_cast<uint16_t>(token.size()));
  w.Bytes(token);
}

// The SESSION_SETUP response to `c` as it will be sent (header with the
// credits it will grant; signed with `key` if given), for the 3.1.1
// pre-authentication hash.
std::string SetupAsSent(const Call& c, uint64_t session_id, uint16_t credits,
                        const std::string* key, SigningAlg alg) {
  std::string resp;
  Smb2Header h;
  h.credit_charge = c.req.credit_charge;
  h.status = c.status;
  h.command = kSessionSetup;
  h.flags = kFlagServerToRedir | (key ? kFlagSigned : 0);
  h.message_id = c.req.message_id;
  h.process_id = c.req.process_id;
  h.session_id = session_id;
  h.credits = credits;
  AppendHeader(h, &resp);
  resp += c.body;
  if (key) SignMessage(alg, *key, &resp);
  return resp;
}

void AppendContext(LeWriter* w, uint16_t type, const std::string& data) {
  w->Align(8);
  w->U16(type);
  w->U16(static_cast<uint16_t>(data.size()));
  w->U32(0);
  w->Bytes(data);
}

}  // namespace

void SmbConnection::HandleSmb1(std::string_view msg) {
  // An SMB1 NEGOTIATE listing SMB2 dialects is answered with an SMB2
  // NEGOTIATE response (MS-SMB2 3.3.5.3); anything else closes.
  if (negotiated_ || msg.size() < 35 || static_cast<uint8_t>(msg[4]) != 0x72) {
    closing_ = true;
    transport_->Close();
    return;
  }
  LeReader r(msg);
  r.Seek(32);
  uint8_t wct = r.U8();
  r.Skip(wct * 2);
  uint16_t bcc = r.U16();
  std::string_view dialects = r.Bytes(std::min<size_t>(bcc, r.remaining()));
  bool wildcard = dialects.find("SMB 2.???") != std::string_view::npos;
  bool d202 = dialects.find("SMB 2.002") != std::string_view::npos;
  if (!wildcard && !d202) {
    closing_ = true;
    transport_->Close();
    return;
  }
  Call c;
  c.req.command = kNegotiate;
  uint16_t dialect = wildcard ? kDialectWildcard : kDialect202;
  LeWriter w(&c.body);
  w.U16(65);
  w.U16(kSigningEnabled | (st_->opts.signing_required ? kSigningRequired : 0));
  w.U16(dialect);
  w.U16(0);
  w.Bytes(std::string_view(st_->server_guid, 16));
  w.U32(0);
  w.U32(st_->opts.max_transact);
  w.U32(std::min<uint32_t>(st_->opts.max_io, 65536));
  w.U32(std::min<uint32_t>(st_->opts.max_io, 65536));
  w.U64(NowFiletime());
  w.U64(0);
  std::string blob = SpnegoNegotiateToken();
  w.U16(128);
  w.U16(static_cast<uint16_t>(blob.size()));
  w.U32(0);
  w.Bytes(blob);
  std::string out;
  Smb2Header h;
  h.command = kNegotiate;
  h.flags = kFlagServerToRedir;
  h.credits = 1;
  AppendHeader(h, &out);
  out += c.body;
  if (dialect == kDialect202) {
    dialect_ = kDialect202;
    negotiated_ = true;
  }
  seq_low_ = 1;
  seq_high_ = 2;
  transport_->Send(std::move(out));
}

void SmbConnection::Negotiate(Call* c) {
  if (negotiated_) {
    // A second NEGOTIATE on a connection is a protocol violation.
    closing_ = true;
    transport_->Close();
    c->no_response = true;
    return;
  }
  LeReader r(c->msg);
  if (!StructureSizeIs(c, &r, 36)) return;
  uint16_t count = r.U16();
  client_security_mode_ = r.U16();
  r.Skip(2);
  client_caps_ = r.U32();
  std::string_view guid = r.Bytes(16);
  uint32_t ctx_offset = r.U32();
  uint16_t ctx_count = r.U16();
  r.Skip(2);
  if (!r.ok() || count == 0) {
    c->status = kStatusInvalidParameter;
    return;
  }
  std::memcpy(client_guid_, guid.data(), 16);
  std::string_view dialects = r.Bytes(count * 2u);
  if (!r.ok()) {
    c->status = kStatusInvalidParameter;
    return;
  }
  client_dialects_ = std::string(dialects);
  uint16_t best = 0;
  for (uint16_t i = 0; i < count; ++i) {
    uint16_t d =
        static_cast<uint16_t>(static_cast<uint8_t>(dialects[2 * i]) |
                              static_cast<uint8_t>(dialects[2 * i + 1]) << 8);
    if (Supported(d)) best = std::max(best, d);
  }
  if (best == 0) {
    c->status = kStatusNotSupported;
    return;
  }
  dialect_ = best;
  if (dialect_ < kDialect210) client_caps_ &= ~kCapLargeMtu;

  std::string salt(32, '\0');
  std::string contexts_out;
  uint16_t contexts_out_count = 0;
  if (dialect_ == kDialect311) {
    bool have_preauth = false;
    LeReader cr(c->msg);
    cr.Seek(ctx_offset);
    std::vector<uint16_t> ciphers, signers;
    for (uint16_t i = 0; i < ctx_count && cr.ok(); ++i) {
      cr.Align(8);
      uint16_t type = cr.U16();
      uint16_t len = cr.U16();
      cr.Skip(4);
      std::string_view data = cr.Bytes(len);
      if (!cr.ok()) break;
      LeReader d(data);
      if (type == kCtxPreauth) {
        uint16_t n = d.U16();
        uint16_t salt_len = d.U16();
        for (uint16_t k = 0; k < n; ++k)
          if (d.U16() == 1) have_preauth = true;
        d.Skip(salt_len);
        if (!d.ok()) have_preauth = false;
      } else if (type == kCtxEncryption) {
        uint16_t n = d.U16();
        for (uint16_t k = 0; k < n && d.ok(); ++k) ciphers.push_back(d.U16());
      } else if (type == kCtxSigning) {
        uint16_t n = d.U16();
        for (uint16_t k = 0; k < n && d.ok(); ++k) signers.push_back(d.U16());
      }
    }
    if (!cr.ok() || !have_preauth) {
      c->status = kStatusInvalidParameter;
      return;
    }
    RAND_bytes(reinterpret_cast<unsigned char*>(salt.data()), 32);
    LeWriter w(&contexts_out);
    {
      std::string d;
      LeWriter dw(&d);
      dw.U16(1);
      dw.U16(32);
      dw.U16(1);  // SHA-512
      dw.Bytes(salt);
      AppendContext(&w, kCtxPreauth, d);
      ++contexts_out_count;
    }
    if (!ciphers.empty()) {
      // Server preference: AES-128-GCM, AES-128-CCM, AES-256-GCM, AES-256-CCM.
      uint16_t chosen = 0;
      for (uint16_t pref : {2, 1, 4, 3}) {
        if (std::find(ciphers.begin(), ciphers.end(), pref) != ciphers.end()) {
          chosen = pref;
          break;
        }
      }
      cipher_ = static_cast<Cipher>(chosen);
      std::string d;
      LeWriter dw(&d);
      dw.U16(1);
      dw.U16(chosen);
      AppendContext(&w, kCtxEncryption, d);
      ++contexts_out_count;
    }
    if (!signers.empty()) {
      uint16_t chosen = 0xFFFF;
      for (uint16_t pref : {2, 1, 0}) {
        if (std::find(signers.begin(), signers.end(), pref) != signers.end()) {
          chosen = pref;
          break;
        }
      }
      if (chosen != 0xFFFF) {
        signing_alg_negotiated_ = true;
        signing_alg_ = chosen == 0 ? SigningAlg::kHmacSha256
                                   : static_cast<SigningAlg>(chosen);
        std::string d;
        LeWriter dw(&d);
        dw.U16(1);
        dw.U16(chosen);
        AppendContext(&w, kCtxSigning, d);
        ++contexts_out_count;
      }
    }
  } else if (dialect_ >= kDialect300 && (client_caps_ & kCapEncryption)) {
    cipher_ = Cipher::kAes128Ccm;
  }

  uint32_t caps = ServerCapabilities();
  server_caps_ = caps;
  bool large = dialect_ >= kDialect210;
  std::string blob = SpnegoNegotiateToken();
  LeWriter w(&c->body);
  w.U16(65);
  w.U16(kSigningEnabled | (st_->opts.signing_required ? kSigningRequired : 0));
  w.U16(dialect_);
  w.U16(contexts_out_count);
  w.Bytes(std::string_view(st_->server_guid, 16));
  w.U32(caps);
  uint32_t max_io = large ? st_->opts.max_io : 65536;
  w.U32(large ? st_->opts.max_transact : 65536);
  w.U32(max_io);
  w.U32(max_io);
  w.U64(NowFiletime());
  w.U64(0);
  w.U16(kSmb2HeaderSize + 64);
  w.U16(static_cast<uint16_t>(blob.size()));
  size_t ctx_off_at = w.size();
  w.U32(0);
  w.Bytes(blob);
  if (contexts_out_count) {
    w.Align(8);
    w.PatchU32(ctx_off_at, static_cast<uint32_t>(kSmb2HeaderSize + w.size()));
    w.Bytes(contexts_out);
  }
  negotiated_ = true;
  if (dialect_ >= kDialect210 && !in_client_directory_) {
    serial_ = st_->next_conn_serial.fetch_add(1);
    auto post = transport_->Poster();
    st_->clients.Add(
        std::string(client_guid_, 16), serial_,
        [post, self = this](std::function<void(SmbConnection*)> fn) {
          post([self, fn = std::move(fn)] { fn(self); });
        });
    in_client_directory_ = true;
  }
  if (dialect_ == kDialect311) {
    conn_preauth_.Update(c->msg);
    // The response is hashed once it is built: the header is needed too.
    std::string resp;
    Smb2Header h;
    h.credit_charge = c->req.credit_charge;
    h.command = kNegotiate;
    h.flags = kFlagServerToRedir;
    h.message_id = c->req.message_id;
    h.process_id = c->req.process_id;
    // Credits granted must match what FinishElement will write.
    h.credits = PeekGrant(c->req);
    AppendHeader(h, &resp);
    resp += c->body;
    conn_preauth_.Update(resp);
  }
}

uint32_t SmbConnection::ServerCapabilities() const {
  uint32_t caps = 0;
  if (dialect_ >= kDialect210) caps |= kCapLargeMtu;
  if (dialect_ >= kDialect210 && st_->oplocks) caps |= kCapLeasing;
  if (dialect_ >= kDialect300 && st_->opts.multichannel && transport_->Group())
    caps |= kCapMultiChannel;
  if (dialect_ >= kDialect300 && dialect_ < kDialect311 &&
      (client_caps_ & kCapEncryption)) {
    caps |= kCapEncryption;
  }
  return caps;
}

void SmbConnection::SessionSetup(Call* c) {
  LeReader r(c->msg);
  if (!StructureSizeIs(c, &r, 25)) return;
  uint8_t flags = r.U8();
  uint8_t security_mode = r.U8();
  r.Skip(4 + 4);  // capabilities, channel
  uint16_t blob_off = r.U16();
  uint16_t blob_len = r.U16();
  uint64_t previous = r.U64();
  std::string_view blob = r.At(blob_off, blob_len);
  if (!r.ok()) {
    c->status = kStatusInvalidParameter;
    return;
  }
  if (flags & 0x1) {  // binding: this connection joins a session
    Bind(c, blob);
    return;
  }
  Session* s = nullptr;
  if (c->req.session_id == 0) {
    auto ns = std::make_shared<Session>();
    ns->channels.push_back(this);
    ns->id = st_->next_session_id.fetch_add(1);
    ns->auth = NewAuthenticator(st_);
    if (dialect_ == kDialect311) ns->preauth = conn_preauth_;
    s = ns.get();
    c->req.session_id = ns->id;
    sessions_[ns->id] = std::move(ns);
  } else {
    s = FindSession(c->req.session_id);
    if (!s) {
      c->status = kStatusUserSessionDeleted;
      return;
    }

    if (!s->auth) {
      // Re-authentication of a valid session: a fresh exchange, continued
      // by the legs that follow.
      s->auth = NewAuthenticator(st_);
    }
  }
  if (dialect_ == kDialect311 && s->state == Session::State::kInProgress) {
    s->preauth.Update(c->msg);
  }
  Authenticator::Step step = s->auth->Process(blob);
  uint16_t session_flags = 0;
  if (step.status == kStatusSuccess && channel_keys_.count(s->id)) {
    // A session bound here as a further channel is re-authenticated on
    // the connection that set it up, not here: the credentials were
    // right, the place is not (as Windows answers).
    s->auth.reset();
    c->status = kStatusAccessDenied;
    return;
  }
  if (step.status == kStatusSuccess) {
    s->auth.reset();
    s->user = step.user;
    s->anonymous = step.anonymous;
    s->guest = false;
    if (step.user) {
      s->ctx.cred.uid = step.user->uid;
      s->ctx.cred.gid = step.user->gid;
      s->ctx.cred.groups = step.user->groups;
    } else {
      s->ctx.cred.uid = st_->opts.guest_uid;
      s->ctx.cred.gid = st_->opts.guest_gid;
      s->ctx.cred.groups.clear();
      session_flags |= kSessionNull;
    }
    // A re-authentication keeps the session's keys (MS-SMB2 3.3.5.5.3).
    bool reauth = s->state == Session::State::kValid;
    if (!reauth) s->session_key = step.session_key;
    if (!reauth && !s->anonymous && !s->session_key.empty()) {
      Cipher cipher = cipher_;
      s->keys = DeriveSessionKeys(dialect_, s->session_key, cipher,
                                  s->preauth.value());
      s->alg = signing_alg();
      s->signing_required =
          st_->opts.signing_required || (security_mode & kSigningRequired);
      bool can_encrypt = dialect_ >= kDialect300 && cipher_ != Cipher::kNone;
      if (st_->opts.encryption != SmbEncryption::kOff && can_encrypt) {
        s->encrypt = true;
        session_flags |= kSessionEncrypt;
      } else if (st_->opts.encryption == SmbEncryption::kRequired) {
        CFS_LOG_INFO("{}: refusing a session without encryption", peer_);
        sessions_.erase(s->id);
        c->status = kStatusAccessDenied;
        return;
      }
    }
    if (reauth && s->encrypt) session_flags |= kSessionEncrypt;
    bool first = !reauth;
    s->state = Session::State::kValid;
    if (!s->established) s->established = Clock::Default()->Now();
    std::string who = s->user ? s->user->name : "";
    if (first && !s->anonymous) {
      Register(s);
      if (previous && previous != s->id) ExpirePrevious(previous, who);
    }
    CFS_LOG_DEBUG("{}: session {:#x} for {}", peer_, s->id,
                  s->user ? s->user->name : std::string("anonymous"));
  } else if (step.status != kStatusMoreProcessingRequired) {
    uint64_t id = s->id;
    bool was_valid = s->state == Session::State::kValid;
    if (!was_valid) {
      sessions_.erase(id);
    } else {
      // A failed re-authentication (on any channel) ends the session (its
      // watches end with NOTIFY_CLEANUP, its opens close, on every
      // channel), once this answer is built.
      s->auth.reset();
      transport_->Post([this, id] { ExpireSession(id); });
    }
    c->status = step.status;
    if (step.out_token.empty()) return;
    // A SPNEGO reject token goes back with the failure.
    SetupBody(&c->body, 0, step.out_token);
    return;
  }
  c->status = step.status;
  SetupBody(&c->body, session_flags, step.out_token);
  if (dialect_ == kDialect311 && step.status == kStatusMoreProcessingRequired) {
    // Hash the response as it will be sent (header with credits).
    s->preauth.Update(
        SetupAsSent(*c, s->id, PeekGrant(c->req), nullptr, signing_alg()));
  }
}

void SmbConnection::Bind(Call* c, std::string_view blob) {
  // MS-SMB2 3.3.5.5.2: only SMB 3.x, only for a session of the same
  // client (whose connections share this connection's queue). The session
  // is looked up server-wide first, so that a refusal is answered as the
  // client can check it: signed with the session's key, its way.
  const uint64_t id = c->req.session_id;
  if (id == 0) {
    c->status = kStatusInvalidParameter;
    return;
  }
  if (transport_->Group() != registered_group_) {
    // This connection moved to another client's queue for this binding:
    // its own sessions are found there now.
    registered_group_ = transport_->Group();
    for (auto& [sid, sess] : sessions_) {
      if (sess->state == Session::State::kValid && !sess->anonymous &&
          !sess->channels.empty() && sess->channels.front() == this) {
        Register(sess.get());
      }
    }
  }
  if (sessions_.count(id)) {  // already a channel here
    c->status = kStatusAccessDenied;
    return;
  }
  const bool offered = st_->opts.multichannel && dialect_ >= kDialect300;
  auto bit = binding_.find(id);
  if (bit == binding_.end()) {
    std::optional<SessionDirectory::BindInfo> info = st_->sessions.Lookup(id);
    if (!info || info->signing_key.empty()) {
      c->status = kStatusUserSessionDeleted;
      return;
    }
    // The request proves the client holds the session: signed with the
    // session's key, the session's way (3.3.5.2.4). Once it does, refusals
    // are signed the same way.
    const bool verified = c->req.is_signed() &&
                          VerifySignature(info->alg, info->signing_key, c->msg);
    if (verified) {
      auto signer = std::make_shared<Session>();
      signer->id = id;
      signer->keys.signing = info->signing_key;
      bind_reply_session_ = signer;
      signer->alg = info->alg;
    } else {
      bind_flag_only_ = c->req.is_signed();
    }
    // AES-GMAC signing on one side only (as Windows answers it).
    const bool gmac_here = signing_alg() == SigningAlg::kAesGmac;
    const bool gmac_there = info->alg == SigningAlg::kAesGmac;
    if (gmac_here != gmac_there) {
      c->status = gmac_here ? kStatusNotSupported : kStatusRequestOutOfSequence;
      return;
    }
    if (offered && info->dialect != dialect_) {
      // No common way to sign the answer: flagged signed, as clients
      // expect for this refusal.
      bind_reply_session_.reset();
      bind_flag_only_ = c->req.is_signed();
      c->status = kStatusInvalidParameter;
      return;
    }
    if (!verified) {
      CFS_LOG_DEBUG("{}: binding to session {:#x} refused: {}", peer_, id,
                    c->req.is_signed() ? "bad signature" : "not signed");
      bind_flag_only_ = false;
      c->status = kStatusAccessDenied;
      return;
    }
    if (!offered || !transport_->Group()) {
      c->status = kStatusRequestNotAccepted;
      return;
    }
    if (dialect_ == kDialect311 && info->cipher != cipher_) {
      c->status = kStatusInvalidParameter;
      return;
    }
    SmbConnection* owner = st_->sessions.FindInGroup(id, transport_->Group());
    std::shared_ptr<Session> s;
    if (owner) {
      if (auto it = owner->sessions_.find(id); it != owner->sessions_.end())
        s = it->second;
    }
    if (!s || s->state != Session::State::kValid) {
      // A session of another client (client GUID): not bound here.
      c->status = kStatusUserSessionDeleted;
      return;
    }
    bind_reply_session_ = s;
    if (s->anonymous || s->guest) {
      c->status = kStatusNotSupported;
      return;
    }
    if (s->channels.size() >= kMaxChannels) {  // as Windows limits them
      c->status = kStatusInsufficientResources;
      return;
    }
    Binding b;
    b.session = s;
    b.alg = info->alg;
    b.auth = NewAuthenticator(st_);
    if (dialect_ == kDialect311) b.preauth = conn_preauth_;
    bit = binding_.emplace(id, std::move(b)).first;
  } else if (!c->req.is_signed() ||
             !VerifySignature(bit->second.alg,
                              bit->second.session->keys.signing, c->msg)) {
    CFS_LOG_DEBUG(
        "{}: binding to session {:#x} refused: leg not signed "
        "with the session's key",
        peer_, id);
    binding_.erase(bit);
    c->status = kStatusAccessDenied;
    return;
  }
  Binding& b = bit->second;
  std::shared_ptr<Session> s = b.session;
  bind_reply_session_ = s;
  if (dialect_ == kDialect311) b.preauth.Update(c->msg);
  Authenticator::Step step = b.auth->Process(blob);
  if (step.status == kStatusSuccess) {
    bool same_user = step.user && s->user &&
                     Utf8EqualsIgnoreCase(step.user->name, s->user->name);
    if (!same_user || s->state != Session::State::kValid) {
      CFS_LOG_DEBUG("{}: binding to session {:#x} refused: {}", peer_, id,
                    same_user ? "session ended" : "another user");
      binding_.erase(bit);
      c->status = s->state != Session::State::kValid ? kStatusUserSessionDeleted
                                                     : kStatusAccessDenied;
      return;
    }
    // Channel.SigningKey: from this authentication's key (and, for 3.1.1,
    // this connection's exchange).
    channel_keys_[id] = DeriveSessionKeys(dialect_, step.session_key, cipher_,
                                          b.preauth.value())
                            .signing;
    sessions_[id] = s;
    s->channels.push_back(this);
    binding_.erase(bit);
    CFS_LOG_DEBUG("{}: bound to session {:#x} ({} channels)", peer_, id,
                  s->channels.size());
  } else if (step.status != kStatusMoreProcessingRequired) {
    binding_.erase(bit);
    c->status = step.status;
    return;
  }
  c->status = step.status;
  SetupBody(&c->body, 0, step.out_token);
  if (dialect_ == kDialect311 && step.status == kStatusMoreProcessingRequired) {
    // Sent signed with the session's key (HandleChain): hashed as sent.
    b.preauth.Update(
        SetupAsSent(*c, id, PeekGrant(c->req), &s->keys.signing, b.alg));
  }
}

void SmbConnection::ExpirePrevious(uint64_t previous, const std::string& user) {
  if (auto it = sessions_.find(previous); it != sessions_.end()) {
    if (it->second->user && it->second->user->name == user)
      ExpireSession(previous);
    return;
  }
  auto run = st_->sessions.Find(previous, user);
  if (!run) return;
  if (SmbConnection* other =
          st_->sessions.FindInGroup(previous, transport_->Group())) {
    // On this connection's own queue (same client): at once.
    other->ExpireSession(previous);
    return;
  }
  // The session lives on another connection: end it there, and answer
  // once it is gone (so a durable reconnect that follows finds its opens).
  auto done = std::make_shared<std::promise<void>>();
  std::future<void> f = done->get_future();
  (*run)([previous, done](SmbConnection* other) {
    other->ExpireSession(previous);
    done->set_value();
  });
  f.wait_for(std::chrono::seconds(2));
}

void SmbConnection::ExpireSession(uint64_t id) {
  auto sit = sessions_.find(id);
  if (sit == sessions_.end()) return;
  std::shared_ptr<Session> s = sit->second;
  // Its opens first (on every channel): their watches end with
  // NOTIFY_CLEANUP, as at close.
  for (Open* o : SessionOpens(id)) {
    SmbConnection* holder = nullptr;
    if (!AnyOpen(o->fid.volatile_id, &holder)) continue;
    if (!holder->KeepForReconnect(o)) holder->CloseOpen(o);
  }
  std::vector<SmbConnection*> channels = s->channels;
  if (std::find(channels.begin(), channels.end(), this) == channels.end())
    channels.push_back(this);
  for (SmbConnection* ch : channels) {
    std::vector<uint64_t> waits;
    for (auto& [aid, p] : ch->pending_) {
      if (p.session_id == id && p.cancel) waits.push_back(aid);
    }
    for (uint64_t aid : waits) {
      auto p = ch->pending_.find(aid);
      if (p != ch->pending_.end() && p->second.cancel) {
        auto cancel = std::move(p->second.cancel);
        cancel();
      }
    }
  }
  st_->sessions.Remove(id);
  s->channels.clear();
  for (SmbConnection* ch : channels) {
    ch->sessions_.erase(id);
    ch->channel_keys_.erase(id);
  }
  CFS_LOG_DEBUG("{}: session {:#x} ended by a reconnect", peer_, id);
}

void SmbConnection::Logoff(Call* c) {
  LeReader r(c->msg);
  if (!StructureSizeIs(c, &r, 4)) return;
  uint64_t id = c->session->id;
  st_->sessions.Remove(id);
  // On every channel of the session.
  for (Open* o : SessionOpens(id)) {
    SmbConnection* holder = nullptr;
    if (!AnyOpen(o->fid.volatile_id, &holder)) continue;
    // Durable opens outlive a logoff too (a new session may reconnect).
    if (!holder->KeepForReconnect(o)) holder->CloseOpen(o);
  }
  // The response is signed with the session's key: keep the session until
  // the response is built, then drop it.
  Session* s = c->session;
  s->trees.clear();
  s->state = Session::State::kExpired;
  LeWriter w(&c->body);
  w.U16(4);
  w.U16(0);
  std::vector<SmbConnection*> channels = s->channels;
  for (SmbConnection* ch : channels) {
    if (ch != this) {
      ch->sessions_.erase(id);
      ch->channel_keys_.erase(id);
    }
  }
  s->channels.assign(1, this);
  transport_->Post([this, id] {
    sessions_.erase(id);
    channel_keys_.erase(id);
  });
}

void SmbConnection::TreeConnect(Call* c) {
  LeReader r(c->msg);
  if (!StructureSizeIs(c, &r, 9)) return;
  r.Skip(2);
  uint16_t off = r.U16();
  uint16_t len = r.U16();
  std::string_view raw = r.At(off, len);
  auto path = Utf16ToUtf8(raw);
  if (!r.ok() || !path) {
    c->status = kStatusInvalidParameter;
    return;
  }
  // \\server\share
  std::string_view p = *path;
  if (p.size() < 3 || p[0] != '\\' || p[1] != '\\') {
    c->status = kStatusBadNetworkName;
    return;
  }
  size_t slash = p.find('\\', 2);
  if (slash == std::string_view::npos) {
    c->status = kStatusBadNetworkName;
    return;
  }
  std::string share_name(p.substr(slash + 1));
  auto tree = std::make_unique<Tree>();
  Session* s = c->session;
  if (Utf8EqualsIgnoreCase(share_name, "IPC$")) {
    tree->ipc = true;
  } else {
    tree->config = st_->Config();
    const SmbShare* share = nullptr;
    for (const SmbShare& sh : tree->config->shares)
      if (Utf8EqualsIgnoreCase(sh.name, share_name)) share = &sh;
    if (!share) {
      c->status = kStatusBadNetworkName;
      return;
    }
    if (!share->users.empty()) {
      bool allowed = false;
      for (const std::string& u : share->users)
        if (s->user && Utf8EqualsIgnoreCase(u, s->user->name)) allowed = true;
      if (!allowed) {
        c->status = kStatusAccessDenied;
        return;
      }
    } else if (s->anonymous && !st_->opts.guest) {
      c->status = kStatusAccessDenied;
      return;
    }
    // Resolve the share's directory (as root: the share exists for all).
    InodeId ino = kRootInode;
    OpContext root;
    std::string_view sp = share->path;
    while (!sp.empty()) {
      size_t n = sp.find('/');
      std::string_view comp = sp.substr(0, n);
      sp = n == std::string_view::npos ? std::string_view() : sp.substr(n + 1);
      if (comp.empty() || comp == ".") continue;
      auto a = st_->vfs->Lookup(root, ino, comp);
      if (!a.ok() || !a->inode.is_dir()) {
        CFS_LOG_WARN("share {}: path {} is not a directory", share->name,
                     share->path);
        c->status = kStatusBadNetworkName;
        return;
      }
      ino = a->inode.id;
    }
    tree->share = share;
    tree->root = ino;
    tree->read_only = share->read_only;
    if (share->encrypt) {
      if (dialect_ < kDialect300 || cipher_ == Cipher::kNone) {
        c->status = kStatusAccessDenied;
        return;
      }
      tree->encrypt = true;
    }
  }
  tree->id = s->next_tree_id++;
  uint32_t maximal = tree->ipc ? 0x001F01FF : 0x001F01FF;
  if (tree->read_only) maximal = 0x001200A9;
  tree->maximal_access = maximal;
  LeWriter w(&c->body);
  w.U16(16);
  w.U8(tree->ipc ? kShareTypePipe : kShareTypeDisk);
  w.U8(0);
  w.U32(tree->encrypt ? kShareFlagEncrypt : 0);
  w.U32(0);
  w.U32(maximal);
  c->req.tree_id = tree->id;
  s->trees[tree->id] = std::move(tree);
}

void SmbConnection::TreeDisconnect(Call* c) {
  LeReader r(c->msg);
  if (!StructureSizeIs(c, &r, 4)) return;
  uint32_t tid = c->tree->id;
  CloseAllOpens(c->session->id, tid);
  c->session->trees.erase(tid);
  c->tree = nullptr;
  LeWriter w(&c->body);
  w.U16(4);
  w.U16(0);
}

void SmbConnection::CloseAllOpens(uint64_t session_id, uint32_t tree_id) {
  for (Open* o : SessionOpens(session_id)) {
    if (o->tree_id != tree_id) continue;
    SmbConnection* holder = nullptr;
    if (AnyOpen(o->fid.volatile_id, &holder)) holder->CloseOpen(o);
  }
}

}  // namespace concordfs::smb
