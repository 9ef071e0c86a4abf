#include "smb/core/connection.h"

#include <algorithm>

#include "metrics/metrics.h"
#include "smb/info/access.h"
#include "smb/info/nt_status.h"
#include "smb/wire/le.h"
#include "util/clock.h"
#include "util/log.h"

namespace concordfs::smb {

namespace {

thread_local SmbConnection* t_handling = nullptr;

std::string DialectName(uint16_t d) {
  switch (d) {
    case kDialect202:
      return "2.0.2";
    case kDialect210:
      return "2.1";
    case kDialect300:
      return "3.0";
    case kDialect302:
      return "3.0.2";
    case kDialect311:
      return "3.1.1";
  }
  return "";
}

}  // namespace

SmbConnection* SmbConnection::Handling() { return t_handling; }

void SmbConnection::AppendSessions(std::vector<SmbSessionInfo>* out) {
  NanoTime now = Clock::Default()->Now();
  for (const auto& [id, s] : sessions_) {
    if (s->state != Session::State::kValid) continue;
    // A multichannel session is listed once, by its first channel.
    if (!s->channels.empty() && s->channels.front() != this) continue;
    SmbSessionInfo i;
    i.session_id = id;
    i.user = s->user ? s->user->name : "";
    i.guest = s->guest || s->anonymous;
    i.client = peer_;
    i.dialect = DialectName(dialect_);
    i.signing = s->signing_required;
    i.encrypted = s->encrypt;
    i.trees = static_cast<uint32_t>(s->trees.size());
    std::set<std::string> leases;
    for (const Open* o : SessionOpens(id)) {
      uint64_t vid = o->fid.volatile_id;
      ++i.opens;
      if (o->durable || o->resilient) ++i.durable;
      if (!o->lease_id.empty()) {
        if (st_->oplocks && st_->oplocks->LeaseStateOf(o->lease_id) != 0)
          leases.insert(o->lease_id);
      } else if (o->oplock_registered && st_->oplocks &&
                 st_->oplocks->OplockOf(vid) != kOplockNone) {
        ++i.oplocks;
      }
    }
    i.leases = static_cast<uint32_t>(leases.size());
    if (s->established)
      i.age_seconds = (now - s->established) / kNanosPerSecond;
    out->push_back(std::move(i));
  }
}

SmbConnection::SmbConnection(SmbServerState* state, Transport* transport,
                             std::string peer)
    : st_(state), transport_(transport), peer_(std::move(peer)) {}

SmbConnection::~SmbConnection() = default;

void SmbConnection::OnMessage(std::string_view message) {
  if (closing_) return;
  struct Handling {
    SmbConnection* prev;
    explicit Handling(SmbConnection* c) : prev(t_handling) { t_handling = c; }
    ~Handling() { t_handling = prev; }
  } handling(this);
  if (IsTransformMessage(message)) {
    uint64_t sid = TransformSessionId(message);
    Session* s = FindSession(sid);
    if (!s || s->state != Session::State::kValid || cipher_ == Cipher::kNone ||
        s->keys.decrypt.empty()) {
      CFS_LOG_DEBUG("{}: encrypted message for unknown session; closing",
                    peer_);
      closing_ = true;
      transport_->Close();
      return;
    }
    auto plain = DecryptMessage(cipher_, s->keys.decrypt, message);
    if (!plain.ok() || plain->session_id != sid) {
      CFS_LOG_DEBUG("{}: message fails decryption; closing", peer_);
      closing_ = true;
      transport_->Close();
      return;
    }
    HandleChain(plain->plaintext, true, sid);
    return;
  }
  if (IsSmb1(message)) {
    HandleSmb1(message);
    return;
  }
  if (!IsSmb2(message)) {
    CFS_LOG_DEBUG("{}: not an SMB2 message; closing", peer_);
    closing_ = true;
    transport_->Close();
    return;
  }
  HandleChain(message, false, 0);
}

Session* SmbConnection::FindSession(uint64_t id) {
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : it->second.get();
}

const std::string& SmbConnection::SigningKey(const Session* s) const {
  auto it = channel_keys_.find(s->id);
  return it == channel_keys_.end() ? s->keys.signing : it->second;
}

Open* SmbConnection::AnyOpen(uint64_t volatile_id, SmbConnection** holder) {
  if (auto it = opens_.find(volatile_id); it != opens_.end()) {
    if (holder) *holder = this;
    return it->second.get();
  }
  for (const auto& [id, s] : sessions_) {
    for (SmbConnection* ch : s->channels) {
      if (ch == this) continue;
      if (auto it = ch->opens_.find(volatile_id); it != ch->opens_.end()) {
        if (holder) *holder = ch;
        return it->second.get();
      }
    }
  }
  return nullptr;
}

SmbConnection* SmbConnection::AsyncHolder(uint64_t async_id) {
  if (pending_.count(async_id)) return this;
  for (const auto& [id, s] : sessions_) {
    for (SmbConnection* ch : s->channels)
      if (ch != this && ch->pending_.count(async_id)) return ch;
  }
  return nullptr;
}

std::vector<Open*> SmbConnection::SessionOpens(uint64_t id) {
  std::vector<Open*> out;
  std::vector<SmbConnection*> holders{this};
  if (auto it = sessions_.find(id); it != sessions_.end()) {
    for (SmbConnection* ch : it->second->channels)
      if (ch != this) holders.push_back(ch);
  }
  for (SmbConnection* h : holders) {
    for (const auto& [vid, o] : h->opens_)
      if (o->session_id == id) out.push_back(o.get());
  }
  return out;
}

bool SmbConnection::LeaveSession(uint64_t id) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return false;
  std::shared_ptr<Session> s = it->second;
  auto& ch = s->channels;
  ch.erase(std::remove(ch.begin(), ch.end(), this), ch.end());
  channel_keys_.erase(id);
  if (ch.empty()) return false;
  // The session lives on: its opens held here move to another channel,
  // which now also answers their breaks and the session's directory entry.
  SmbConnection* heir = ch.front();
  for (auto o = opens_.begin(); o != opens_.end();) {
    if (o->second->session_id != id) {
      ++o;
      continue;
    }
    Open* open = o->second.get();
    if (open->oplock_registered && st_->oplocks) {
      st_->oplocks->Rebind(open->fid.volatile_id, id, heir->MakeBreakSender());
    }
    heir->opens_[o->first] = std::move(o->second);
    o = opens_.erase(o);
  }
  if (s->state == Session::State::kValid && !s->anonymous) {
    heir->Register(s.get());
  }
  sessions_.erase(it);
  return true;
}

void SmbConnection::Register(Session* s) {
  registered_group_ = transport_->Group();
  auto post = transport_->Poster();
  st_->sessions.Add(
      s->id, s->user ? s->user->name : "",
      [post, self = this](std::function<void(SmbConnection*)> fn) {
        post([self, fn = std::move(fn)] { fn(self); });
      },
      this, transport_->Group(),
      SessionDirectory::BindInfo{dialect_, signing_alg(), cipher_,
                                 s->keys.signing});
}

SigningAlg SmbConnection::signing_alg() const {
  if (dialect_ < kDialect300) return SigningAlg::kHmacSha256;
  return signing_alg_negotiated_ ? signing_alg_ : SigningAlg::kAesCmac;
}

namespace {

// The payload a multi-credit request moves (MS-SMB2 3.3.5.2.5): what its
// CreditCharge must cover.
size_t ChargedPayload(const Smb2Header& h, std::string_view msg) {
  LeReader r(msg);
  auto at32 = [&](size_t off) {
    r.Seek(kSmb2HeaderSize + off);
    return r.U32();
  };
  switch (h.command) {
    case kRead:
    case kWrite:
      return at32(4);
    case kIoctl:
      return std::max(at32(28), at32(44));
    case kQueryDirectory:
      return at32(28);
    case kQueryInfo:
      return std::max(at32(4), at32(12));
    case kSetInfo:
      return at32(4);
    case kChangeNotify:
      return at32(4);
    default:
      return 0;
  }
}

}  // namespace

SmbConnection::Charge SmbConnection::ChargeCredits(const Smb2Header& h,
                                                   size_t payload_len) {
  uint64_t charge = 1;
  bool short_charge = false;
  if (dialect_ >= kDialect210 && (client_caps_ & kCapLargeMtu)) {
    charge = std::max<uint64_t>(1, h.credit_charge);
    uint64_t needed = payload_len == 0 ? 1 : (payload_len - 1) / 65536 + 1;
    short_charge = charge < needed;
  }
  uint64_t m = h.message_id;
  if (m < seq_low_ || m >= seq_high_ || charge > seq_high_ - m) {
    return Charge::kOutsideWindow;
  }
  for (uint64_t i = m; i < m + charge; ++i) {
    if (used_above_low_.count(i)) return Charge::kOutsideWindow;
  }
  for (uint64_t i = m; i < m + charge; ++i) used_above_low_.insert(i);
  while (!used_above_low_.empty() && *used_above_low_.begin() == seq_low_) {
    used_above_low_.erase(used_above_low_.begin());
    ++seq_low_;
  }
  return short_charge ? Charge::kTooSmall : Charge::kOk;
}

uint16_t SmbConnection::PeekGrant(const Smb2Header& h) const {
  uint64_t outstanding = seq_high_ - seq_low_ - used_above_low_.size();
  uint64_t want = std::max<uint64_t>(1, h.credits);
  uint64_t room = st_->opts.max_credits > outstanding
                      ? st_->opts.max_credits - outstanding
                      : 0;
  uint64_t grant = std::min(want, room);
  // Never leave the client without a credit to send its next request.
  if (grant == 0 && outstanding == 0) grant = 1;
  return static_cast<uint16_t>(std::min<uint64_t>(grant, 0xFFFF));
}

uint16_t SmbConnection::GrantCredits(const Smb2Header& h) {
  uint16_t grant = PeekGrant(h);
  seq_high_ += grant;
  return grant;
}

bool SmbConnection::HasOpensBelow(const Open* dir) const {
  std::string prefix = dir->path + "\\";
  for (const auto& [id, o] : opens_) {
    if (o.get() != dir && o->tree_id == dir->tree_id &&
        o->path.compare(0, prefix.size(), prefix) == 0) {
      return true;
    }
  }
  return false;
}

bool SmbConnection::ShouldSign(const Call& c, const Session* s) const {
  if (!s || s->keys.signing.empty() || c.encrypted) return false;
  if (s->anonymous || s->guest) return false;
  return s->signing_required || c.req.is_signed();
}

void SmbConnection::HandleChain(std::string_view plain, bool encrypted,
                                uint64_t encrypted_session) {
  std::string out;
  size_t pos = 0;
  uint64_t prev_session = 0;
  uint32_t prev_tree = 0;
  SmbFileId prev_fid{~0ULL, ~0ULL};
  uint32_t prev_status = 0;
  bool prev_create_failed = false;
  bool saw_session_setup = false;
  std::shared_ptr<char[]> tail;  // READ data sent after `out`
  size_t tail_len = 0;
  bool first = true;
  Session* reply_session = nullptr;
  bool any_response = false;
  size_t last_element_start = 0;
  while (pos < plain.size()) {
    Smb2Header h;
    std::string_view rest = plain.substr(pos);
    if (!ParseHeader(rest, &h)) {
      if (first) {
        CFS_LOG_DEBUG("{}: malformed SMB2 header; closing", peer_);
        closing_ = true;
        transport_->Close();
        return;
      }
      break;  // trailing garbage after a valid chain: ignore it
    }
    size_t len = rest.size();
    if (h.next_command) {
      if (h.next_command % 8 || h.next_command < kSmb2HeaderSize ||
          h.next_command > rest.size()) {
        closing_ = true;
        transport_->Close();
        return;
      }
      len = h.next_command;
    }
    Call c;
    c.req = h;
    c.msg = rest.substr(0, len);
    c.encrypted = encrypted;
    bind_reply_session_.reset();
    bind_flag_only_ = false;

    if (h.command == kCancel) {
      Cancel(h);
      pos += len;
      if (!h.next_command) break;
      continue;
    }
    if (h.command == kSessionSetup) saw_session_setup = true;
    Charge charge = ChargeCredits(h, ChargedPayload(h, c.msg));
    if (charge == Charge::kOutsideWindow) {
      CFS_LOG_DEBUG(
          "{}: message id {} (charge {}, command {}) outside the credit "
          "window [{}, {}); closing",
          peer_, h.message_id, h.credit_charge, h.command, seq_low_, seq_high_);
      closing_ = true;
      transport_->Close();
      return;
    }

    bool related = !first && h.related();
    // The related flag on the first element has nothing to relate to.
    bool bad_related = first && h.related();
    if (!related) prev_fid = SmbFileId{~0ULL, ~0ULL};
    if (related) {
      if (h.session_id == ~0ULL || h.session_id == 0)
        c.req.session_id = prev_session;
      if (h.tree_id == ~0U || h.tree_id == 0) c.req.tree_id = prev_tree;
    }
    c.session = FindSession(c.req.session_id);
    if (encrypted && c.req.session_id != encrypted_session) c.session = nullptr;

    // Signature check (encrypted messages are authenticated already).
    bool bad_signature = false;
    if (!encrypted && c.session && c.session->state == Session::State::kValid &&
        !c.session->keys.signing.empty() && !c.session->guest &&
        !c.session->anonymous) {
      if (h.is_signed()) {
        // SESSION_SETUP is signed with Session.SigningKey on every channel
        // (MS-SMB2 3.2.4.1.1), the rest with the channel's key.
        bad_signature =
            h.command == kSessionSetup
                ? !VerifySignature(c.session->alg, c.session->keys.signing,
                                   c.msg)
                : !VerifySignature(signing_alg(), SigningKey(c.session), c.msg);
      } else if (c.session->signing_required && h.command != kEcho) {
        bad_signature = true;
      }
    }

    if (charge == Charge::kTooSmall || bad_related) {
      c.status = kStatusInvalidParameter;
    } else if (related && prev_create_failed) {
      // A related chain after a failed CREATE has no file to work on:
      // every follower gets the CREATE's status.
      c.status = prev_status;
    } else if (bad_signature) {
      c.status = kStatusAccessDenied;
    } else if (c.session && c.session->encrypt && !encrypted &&
               h.command != kNegotiate && h.command != kSessionSetup) {
      c.status = kStatusAccessDenied;
    } else {
      if (related) {
        // Related CREATE -> READ/CLOSE etc.: a placeholder file id means the
        // previous element's file.
        c.created = prev_fid;
      }
      c.chain_continues = h.next_command != 0;
      Dispatch(&c);
    }
    if (closing_) return;  // the command ended the connection: no replies
    if (c.status != 0 && spdlog::should_log(spdlog::level::debug)) {
      CFS_LOG_DEBUG("{}: command {} mid {} -> {:#010x}", peer_, h.command,
                    h.message_id, c.status);
    }
    if (c.no_response) {
      pos += len;
      if (!h.next_command) break;
      continue;
    }
    // The session the response belongs to (a new one for SESSION_SETUP).
    Session* s = FindSession(c.req.session_id);
    bool binding_leg = false;
    if (!s && h.command == kSessionSetup && bind_reply_session_ &&
        bind_reply_session_->id == c.req.session_id) {
      // A binding leg or refusal: answered signed with the session's key
      // (MS-SMB2 3.3.4.1.1).
      s = bind_reply_session_.get();
      binding_leg = true;
    }
    if (!reply_session && !binding_leg) reply_session = s;
    bool sign = ShouldSign(c, s) && !bad_signature;
    if (h.command == kSessionSetup && c.status == kStatusSuccess && s &&
        !s->keys.signing.empty() && !s->guest && !s->anonymous &&
        (dialect_ >= kDialect300 || s->signing_required)) {
      sign = !encrypted;
    }
    // Chain: the previous element's NextCommand points here.
    if (any_response) {
      while (out.size() % 8) out.push_back('\0');
      LeWriter patch(&out);
      patch.PatchU32(last_element_start + 20,
                     static_cast<uint32_t>(out.size() - last_element_start));
      // (Signed elements are re-signed with their padding in SendChain.)
    }
    last_element_start = out.size();
    // READ data goes out as a separate buffer when nothing has to be
    // computed over it (the last element, not signed, not encrypted);
    // otherwise it joins the body.
    bool will_encrypt =
        encrypted || (s && s->encrypt && s->state == Session::State::kValid &&
                      !saw_session_setup);
    if (c.bulk &&
        (sign || will_encrypt || h.next_command != 0 || any_response)) {
      c.body.append(c.bulk.get(), c.bulk_len);
      c.bulk.reset();
      c.bulk_len = 0;
    }
    FinishElement(&c, s, sign, &out, last_element_start);
    if (!sign && h.is_signed() &&
        (c.status == kStatusUserSessionDeleted || bind_flag_only_)) {
      // No key to sign with (the session is not on this connection), but
      // clients that sign expect the flag on this answer; they do not
      // check its signature (as other servers answer it).
      out[last_element_start + 16] =
          static_cast<char>(out[last_element_start + 16] | kFlagSigned);
    }
    if (c.bulk) {
      tail = std::move(c.bulk);
      tail_len = c.bulk_len;
    }
    any_response = true;

    prev_session = c.req.session_id;
    prev_tree = c.req.tree_id;
    if (h.command == kCreate && c.status == kStatusSuccess)
      prev_fid = c.created;
    prev_status = c.status;
    if (!related) prev_create_failed = false;
    if (h.command == kCreate || bad_related) {
      // A chain that starts badly fails as a whole, like one whose CREATE
      // failed.
      prev_create_failed = (c.status & 0xC0000000) == 0xC0000000;
    }
    first = false;
    pos += len;
    if (!h.next_command) break;
  }
  if (!any_response) return;
  // A session that must be encrypted gets encrypted replies, except the
  // SESSION_SETUP that completes it (the client derives its keys from it;
  // it is signed instead).
  bool encrypt = encrypted;
  if (!encrypt && reply_session && reply_session->encrypt &&
      reply_session->state == Session::State::kValid && !saw_session_setup) {
    encrypt = true;
  }
  if (tail) {
    transport_->SendWithTail(std::move(out), std::move(tail), tail_len);
    return;
  }
  SendChain(std::move(out), reply_session, encrypt);
}

void SmbConnection::FinishElement(Call* c, Session* s, bool sign,
                                  std::string* out, size_t element_start) {
  Smb2Header r;
  r.credit_charge = c->req.credit_charge;
  r.status = c->go_async ? kStatusPending : c->status;
  r.command = c->req.command;
  r.flags = kFlagServerToRedir | (c->req.flags & kFlagRelated);
  r.message_id = c->req.message_id;
  r.process_id = c->req.process_id;
  r.tree_id = c->req.tree_id;
  r.session_id = c->req.session_id;
  if (c->go_async) {
    r.flags |= kFlagAsync;
    r.async_id = c->req.async_id;
  }
  r.credits = c->req.command == kCancel ? 0 : GrantCredits(c->req);
  if (sign) r.flags |= kFlagSigned;
  AppendHeader(r, out);
  bool error_body = c->go_async || (c->body.empty() && c->status != 0);
  if (error_body) {
    LeWriter w(out);
    w.U16(9);
    w.U8(0);
    w.U8(0);
    std::string_view data = c->go_async ? std::string_view() : c->error_data;
    w.U32(static_cast<uint32_t>(data.size()));
    if (data.empty()) {
      w.U8(0);
    } else {
      w.Bytes(data);
    }
  } else {
    out->append(c->body);
  }
  if (sign) {
    // Sign this element alone; if another element follows, its padding is
    // added later and the element is re-signed in SendChain.
    std::string element = out->substr(element_start);
    // A binding leg that is not the last is signed with the session's key
    // (MS-SMB2 3.3.4.1.1); everything else with this channel's.
    const std::string& key =
        c->req.command == kSessionSetup && c->status != kStatusSuccess
            ? s->keys.signing
            : SigningKey(s);
    // A refused binding from another dialect is signed the session's way.
    // ... the session's way (its algorithm, as the client keeps it).
    SigningAlg alg =
        c->req.command == kSessionSetup && c->status != kStatusSuccess
            ? s->alg
            : signing_alg();
    SignMessage(alg, key, &element);
    out->replace(element_start, element.size(), element);
  }
}

void SmbConnection::SendChain(std::string chain, Session* s, bool encrypt) {
  // Re-sign elements of a compound: each signature covers the element and
  // its padding, known only now.
  if (chain.size() > kSmb2HeaderSize) {
    size_t pos = 0;
    bool compound = false;
    {
      LeReader r(chain);
      r.Seek(20);
      compound = r.U32() != 0;
    }
    while (compound && pos + kSmb2HeaderSize <= chain.size()) {
      LeReader r(std::string_view(chain).substr(pos));
      r.Seek(16);
      uint32_t flags = r.U32();
      uint32_t next = r.U32();
      r.Seek(40);
      uint64_t sid = r.U64();
      size_t len = next ? next : chain.size() - pos;
      if (flags & kFlagSigned) {
        Session* es = FindSession(sid);
        if (es && !es->keys.signing.empty()) {
          std::string element = chain.substr(pos, len);
          SignMessage(signing_alg(), SigningKey(es), &element);
          chain.replace(pos, len, element);
        }
      }
      if (!next) break;
      pos += next;
    }
  }
  if (encrypt && s && !s->keys.encrypt.empty() && cipher_ != Cipher::kNone) {
    auto enc = EncryptMessage(cipher_, s->keys.encrypt, s->id, chain);
    if (!enc.ok()) {
      CFS_LOG_WARN("{}: encryption failed: {}", peer_, enc.status().ToString());
      closing_ = true;
      transport_->Close();
      return;
    }
    transport_->Send(std::move(*enc));
    return;
  }
  transport_->Send(std::move(chain));
}

void SmbConnection::Dispatch(Call* c) {
  uint16_t cmd = c->req.command;
  metrics::OpTimer timer(metrics::Protocol::kSmb, cmd);
  if (!negotiated_ && cmd != kNegotiate) {
    c->status = kStatusInvalidParameter;
    return;
  }
  if (cmd == kNegotiate) return Negotiate(c);
  if (cmd == kEcho) return Echo(c);
  if (cmd == kSessionSetup) return SessionSetup(c);
  if (!c->session) {
    c->status = kStatusUserSessionDeleted;
    return;
  }
  if (c->session->state != Session::State::kValid) {
    c->status = c->session->state == Session::State::kExpired
                    ? kStatusNetworkSessionExpired
                    : kStatusUserSessionDeleted;
    return;
  }
  if (cmd == kLogoff) return Logoff(c);
  if (cmd == kTreeConnect) return TreeConnect(c);
  auto t = c->session->trees.find(c->req.tree_id);
  if (t == c->session->trees.end()) {
    c->status = kStatusNetworkNameDeleted;
    return;
  }
  c->tree = t->second.get();
  if (c->tree->encrypt && !c->encrypted) {
    c->status = kStatusAccessDenied;
    return;
  }
  switch (cmd) {
    case kTreeDisconnect:
      return TreeDisconnect(c);
    case kCreate:
      return Create(c);
    case kClose:
      return Close(c);
    case kFlush:
      return Flush(c);
    case kRead:
      return Read(c);
    case kWrite:
      return Write(c);
    case kLock:
      return Lock(c);
    case kIoctl:
      return Ioctl(c);
    case kQueryDirectory:
      return QueryDirectory(c);
    case kChangeNotify:
      return ChangeNotify(c);
    case kQueryInfo:
      return QueryInfo(c);
    case kSetInfo:
      return SetInfo(c);
    case kOplockBreak:
      return OplockBreak(c);
    default:
      c->status = kStatusInvalidParameter;
  }
}

void SmbConnection::Echo(Call* c) {
  LeReader r(c->msg);
  if (!StructureSizeIs(c, &r, 4)) return;
  LeWriter w(&c->body);
  w.U16(4);
  w.U16(0);
}

void SmbConnection::Cancel(const Smb2Header& h) {
  for (auto it = pending_.begin(); it != pending_.end(); ++it) {
    bool match = h.is_async() ? it->first == h.async_id
                              : it->second.message_id == h.message_id;
    if (match && it->second.session_id == h.session_id) {
      auto cancel = std::move(it->second.cancel);
      if (cancel) cancel();  // completes (and erases) the pending request
      return;
    }
  }
}

void SmbConnection::CompleteAsync(uint64_t async_id, uint32_t status,
                                  std::string body) {
  auto it = pending_.find(async_id);
  if (it == pending_.end()) return;
  Pending p = std::move(it->second);
  pending_.erase(it);
  if (p.closed && status == kStatusCancelled && p.closed_status) {
    status = p.closed_status;
    body.clear();
  }
  if (closing_) return;
  Session* s = FindSession(p.session_id);
  Call c;
  c.req.command = p.command;
  c.req.message_id = p.message_id;
  c.req.session_id = p.session_id;
  c.req.flags = kFlagAsync;
  c.req.async_id = async_id;
  c.status = status;
  c.body = std::move(body);
  std::string out;
  Smb2Header r;
  r.status = status;
  r.command = p.command;
  r.flags = kFlagServerToRedir | kFlagAsync;
  r.message_id = p.message_id;
  r.async_id = async_id;
  r.session_id = p.session_id;
  r.credits = 0;
  bool sign = s && !s->keys.signing.empty() && s->signing_required &&
              !s->encrypt && !s->guest && !s->anonymous;
  if (sign) r.flags |= kFlagSigned;
  AppendHeader(r, &out);
  if (c.body.empty() && status != 0) {
    LeWriter w(&out);
    w.U16(9);
    w.U16(0);
    w.U32(0);
    w.U8(0);
  } else {
    out.append(c.body);
  }
  if (sign) SignMessage(signing_alg(), SigningKey(s), &out);
  SendChain(std::move(out), s, s && s->encrypt);
}

Result<Attr> SmbConnection::LookupName(const OpContext& ctx, InodeId dir,
                                       std::string_view name,
                                       std::string* stored) {
  if (st_->names) return st_->names->Lookup(ctx, dir, name, stored);
  if (stored) *stored = std::string(name);
  return st_->vfs->Lookup(ctx, dir, name);
}

std::vector<Ea> SmbConnection::LoadEas(const OpContext& ctx, InodeId ino) {
  std::vector<Ea> eas;
  auto names = st_->vfs->ListXattr(ctx, ino);
  if (!names.ok()) return eas;
  for (const std::string& x : *names) {
    std::string ea = EaNameOfXattr(x);
    if (ea.empty()) continue;
    auto v = st_->vfs->GetXattr(ctx, ino, x);
    if (v.ok() && !v->empty()) eas.push_back(Ea{ea, *v, 0});
  }
  return eas;
}

uint32_t SmbConnection::ApplyEas(const OpContext& ctx, InodeId ino,
                                 const std::vector<Ea>& eas) {
  for (const Ea& e : eas) {
    std::string x = EaXattrName(e.name);
    // An empty value deletes the EA (absent already is fine).
    Status s = e.value.empty() ? st_->vfs->RemoveXattr(ctx, ino, x)
                               : st_->vfs->SetXattr(ctx, ino, x, e.value, 0);
    if (!s.ok() && !(e.value.empty() && s.code() == ENODATA)) {
      return ErrnoToNtStatus(s.code());
    }
  }
  return kStatusSuccess;
}

std::optional<SdParts> SmbConnection::StoredSd(const Inode& inode) {
  OpContext root;
  auto v = st_->vfs->GetXattr(root, inode.id, kNtAclXattr);
  if (!v.ok()) return std::nullopt;
  auto sd = DecodeStoredSd(inode, *v);
  if (!sd) return std::nullopt;
  SdParts parts;
  if (SplitSecurityDescriptor(*sd, &parts) != kStatusSuccess) {
    return std::nullopt;
  }
  return parts;
}

std::vector<Sid> SmbConnection::TokenSids(const Session* s) const {
  std::vector<Sid> sids;
  const Credential& cred = s->ctx.cred;
  sids.push_back(UnixUserSid(cred.uid));
  sids.push_back(UnixGroupSid(cred.gid));
  for (uint32_t g : cred.groups) sids.push_back(UnixGroupSid(g));
  sids.push_back(EveryoneSid());
  if (!s->anonymous) sids.push_back(Sid{1, 5, {11}});  // Authenticated Users
  return sids;
}

uint32_t SmbConnection::SessionMaximalAccess(const Session* s,
                                             const Inode& inode) {
  if (auto sd = StoredSd(inode)) {
    // A descriptor the client set is what Windows would enforce, even for
    // an administrator (root here).
    return DaclGrantedAccess(*sd, TokenSids(s), s->ctx.cred.uid == inode.uid) |
           kSynchronize;
  }
  return MaximalAccess(inode, s->ctx.cred);
}

std::string SmbConnection::QuerySd(const Inode& inode,
                                   uint32_t additional_info) {
  if (auto sd = StoredSd(inode)) {
    return JoinSecurityDescriptor(*sd, additional_info);
  }
  return EncodeSecurityDescriptor(inode, additional_info);
}

uint32_t SmbConnection::SetSd(Session* s, InodeId ino, std::string_view sd,
                              uint32_t additional_info, bool at_create) {
  SdParts update;
  uint32_t st = SplitSecurityDescriptor(sd, &update);
  if (st != kStatusSuccess) return st;
  if (!update.dacl_present) {
    // At CREATE, no DACL means "the default one"; in SET_INFO it means a
    // NULL DACL (everyone may do everything), as on Windows.
    if (at_create) {
      additional_info &= ~kDaclSecurityInformation;
    } else if (additional_info & kDaclSecurityInformation) {
      update.dacl_present = true;
      update.dacl.reset();
    }
  }
  std::string normalized = JoinSecurityDescriptor(update, additional_info);
  auto a = st_->vfs->GetAttr(ino);
  if (!a.ok()) return ErrnoToNtStatus(a.status().code());
  SdParts base;
  if (auto stored = StoredSd(a->inode)) {
    base = *stored;
  } else if (SplitSecurityDescriptor(
                 EncodeSecurityDescriptor(a->inode,
                                          kOwnerSecurityInformation |
                                              kGroupSecurityInformation |
                                              kDaclSecurityInformation),
                 &base) != kStatusSuccess) {
    return kStatusInternalError;
  }
  SdParts merged = MergeSecurityDescriptor(base, update, additional_info);
  // Owner, group and the mode bits follow the descriptor, so local and NFS
  // clients see the same permissions.
  SdChange ch;
  st = DecodeSecurityDescriptor(normalized, additional_info, a->inode, &ch);
  if (st != kStatusSuccess) return st;
  SetAttrRequest sr;
  if ((additional_info & kOwnerSecurityInformation) && ch.uid) sr.uid = ch.uid;
  if ((additional_info & kGroupSecurityInformation) && ch.gid) sr.gid = ch.gid;
  if ((additional_info & kDaclSecurityInformation) && ch.mode)
    sr.mode = ch.mode;
  sr.ctime = a->inode.ctime;
  OpContext ctx = Ctx(s);
  Inode after = a->inode;
  if (sr.uid || sr.gid || sr.mode) {
    auto r = st_->vfs->SetAttr(ctx, ino, sr);
    if (!r.ok()) return ErrnoToNtStatus(r.status().code());
    after = r->inode;
  }
  OpContext root;
  root.origin = Origin::kSmb;
  std::string whole = JoinSecurityDescriptor(
      merged, kOwnerSecurityInformation | kGroupSecurityInformation |
                  kDaclSecurityInformation | kSaclSecurityInformation);
  Status x = st_->vfs->SetXattr(root, ino, kNtAclXattr,
                                EncodeStoredSd(after, whole), 0);
  if (!x.ok()) return ErrnoToNtStatus(x.code());
  return kStatusSuccess;
}

OpContext SmbConnection::Ctx(const Session* s) const {
  OpContext ctx = s->ctx;
  ctx.origin = Origin::kSmb;
  return ctx;
}

void SmbConnection::OnDisconnect() {
  closing_ = true;
  std::vector<uint64_t> ids;
  for (auto& [id, p] : pending_) ids.push_back(id);
  for (uint64_t id : ids) {
    auto it = pending_.find(id);
    if (it != pending_.end() && it->second.cancel) {
      auto cancel = std::move(it->second.cancel);
      cancel();
    }
  }
  pending_.clear();
  binding_.clear();
  bind_reply_session_.reset();
  // Sessions bound to other channels too live on there (with their opens).
  std::vector<uint64_t> ids_here;
  for (auto& [id, sess] : sessions_) ids_here.push_back(id);
  for (uint64_t id : ids_here) {
    if (!LeaveSession(id)) st_->sessions.Remove(id);
  }
  // Durable and resilient opens are kept for a reconnect; the rest close.
  while (!opens_.empty()) {
    Open* o = opens_.begin()->second.get();
    if (!KeepForReconnect(o)) CloseOpen(o);
  }
  sessions_.clear();
  if (in_client_directory_) {
    st_->clients.Remove(std::string(client_guid_, 16), serial_);
  }
}

}  // namespace concordfs::smb
