// Test harness for the SMB2/3 server core without sockets: an in-memory
// world (memory metadata and content stores, a Vfs, share modes, a name
// cache, and an SmbServerState with one user alice/"Secret-1" as uid 0 and
// one share "share" at "/", set up as SmbServer does), a fake
// Transport that records what the connection sends and queues what it
// Post()s, and a small SMB2 client that builds requests (NEGOTIATE with 3.1.1
// contexts, SESSION_SETUP through the test NTLM client, raw or in SPNEGO,
// TREE_CONNECT, CREATE, READ, WRITE, CLOSE, ...), tracks message ids and
// credits, signs and encrypts like a real client and parses responses.
//
// Used by the smb_core_test unit tests and by tests/fuzz/smb_fuzz.cc, so it
// does not include gtest. Not production code; thread-compatible.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "locking/share_modes.h"
#include "metadata/content_store.h"
#include "metadata/metadata_store.h"
#include "smb/auth/authenticator.h"
#include "smb/auth/spnego.h"
#include "smb/core/connection.h"
#include "smb/core/name_cache.h"
#include "smb/core/smb2.h"
#include "smb/core/state.h"
#include "smb/crypto/smb_crypto.h"
#include "smb/info/nt_status.h"
#include "smb/wire/le.h"
#include "smb/wire/unicode.h"
#include "tests/unit/smb/auth/test_ntlm_client.h"
#include "util/clock.h"
#include "vfs/vfs.h"

namespace concordfs::smb::testing {

inline constexpr char kTestUser[] = "alice";
inline constexpr char kTestPassword[] = "Secret-1";
// Status of a Response that never came.
inline constexpr uint32_t kNoResponse = 0xFFFFFFFF;
inline constexpr uint32_t kFileAllAccess = 0x001F01FF;

// CREATE dispositions, options and actions (MS-SMB2 2.2.13, 2.2.14).
inline constexpr uint32_t kDispSupersede = 0, kDispOpen = 1, kDispCreate = 2,
                          kDispOpenIf = 3, kDispOverwrite = 4,
                          kDispOverwriteIf = 5;
inline constexpr uint32_t kDirectoryFile = 0x1, kNonDirectoryFile = 0x40,
                          kDeleteOnClose = 0x1000;
inline constexpr uint32_t kActionSuperseded = 0, kActionOpened = 1,
                          kActionCreated = 2, kActionOverwritten = 3;

inline void HarnessCheck(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "smb test harness: %s\n", what);
    std::abort();
  }
}

inline SmbOptions DefaultSmbOptions() {
  SmbOptions o;
  SmbUser u;
  u.name = kTestUser;
  u.nt_hash = NtHashOfPassword(kTestPassword);
  o.users.push_back(u);
  SmbShare s;
  s.name = "share";
  s.path = "/";
  o.shares.push_back(s);
  return o;
}

// Stores, Vfs and the server state every connection of a test shares.
struct SmbWorld {
  explicit SmbWorld(SmbOptions opts = DefaultSmbOptions()) {
    HarnessCheck(md->Initialize(0, 0, 0755).ok(), "initialize");
    VfsOptions vo;
    vo.clock = &clock;
    vfs = std::make_unique<Vfs>(md.get(), content.get(), vo);
    HarnessCheck(vfs->Recover().ok(), "recover");
    st.opts = std::move(opts);
    st.vfs = vfs.get();
    st.shares = &shares;
    st.names = std::make_unique<NameCache>(vfs.get());
    std::memcpy(st.server_guid, "concordfs-testsv", 16);
    st.volume_serial = 0x5eed;
  }
  ManualClock clock{2'000'000'000LL * kNanosPerSecond};
  std::unique_ptr<MetadataStore> md = NewMemoryStore();
  std::unique_ptr<ContentStore> content = NewMemoryContentStore();
  std::unique_ptr<Vfs> vfs;
  locking::ShareModeTable shares;
  SmbServerState st;
};

class FakeTransport : public Transport {
 public:
  void Send(std::string message) override {
    sent.push_back(std::move(message));
  }
  void Close() override { ++close_calls; }
  void Post(std::function<void()> fn) override {
    posted.push_back(std::move(fn));
  }
  // Runs the queued functions (and what they queue) in order, as the
  // connection's serial queue would after the current message.
  void RunPosted() {
    while (!posted.empty()) {
      auto fn = std::move(posted.front());
      posted.pop_front();
      fn();
    }
  }
  bool closed() const { return close_calls > 0; }
  // Connections with the same non-null group share a serial queue (as the
  // server's connections of one client do): multichannel binding works
  // only between them.
  const void* Group() const override { return group; }

  const void* group = nullptr;
  std::vector<std::string> sent;
  int close_calls = 0;
  std::deque<std::function<void()>> posted;
};

// One element of a response chain.
struct Response {
  Smb2Header h;
  std::string raw;  // header + body (+ padding up to the next element)
  bool encrypted = false;
  bool signature_ok = false;  // signed, and the signature verifies

  bool present() const { return !raw.empty(); }
  uint32_t status() const { return present() ? h.status : kNoResponse; }
  // Reader positioned at the body; offsets (At) are from the header start.
  LeReader Body() const {
    LeReader r(raw);
    r.Seek(kSmb2HeaderSize);
    return r;
  }
  uint16_t U16(size_t body_off) const {
    LeReader r(raw);
    r.Seek(kSmb2HeaderSize + body_off);
    return r.U16();
  }
  uint32_t U32(size_t body_off) const {
    LeReader r(raw);
    r.Seek(kSmb2HeaderSize + body_off);
    return r.U32();
  }
  uint64_t U64(size_t body_off) const {
    LeReader r(raw);
    r.Seek(kSmb2HeaderSize + body_off);
    return r.U64();
  }
  // The bytes an (offset from the header, length) pair names.
  std::string At(size_t off, size_t len) const {
    LeReader r(raw);
    return std::string(r.At(off, len));
  }
};

// Splits a plaintext message into its chain elements (stops at the first
// malformed one).
inline std::vector<Response> SplitChain(std::string_view msg) {
  std::vector<Response> out;
  size_t pos = 0;
  while (pos < msg.size()) {
    Response r;
    std::string_view rest = msg.substr(pos);
    if (!ParseHeader(rest, &r.h)) break;
    size_t len = r.h.next_command ? r.h.next_command : rest.size();
    if (len > rest.size() || len < kSmb2HeaderSize) break;
    r.raw = std::string(rest.substr(0, len));
    out.push_back(std::move(r));
    if (!r.h.next_command) break;
    pos += len;
  }
  return out;
}

// ---- request bodies (offsets assume the body follows a 64-byte header) ----

inline void PutFileId(LeWriter* w, SmbFileId f) {
  w->U64(f.persistent);
  w->U64(f.volatile_id);
}
inline SmbFileId PlaceholderFileId() { return SmbFileId{~0ULL, ~0ULL}; }

inline std::string NegotiateContext(uint16_t type, std::string_view data) {
  std::string c;
  LeWriter w(&c);
  w.U16(type);
  w.U16(static_cast<uint16_t>(data.size()));
  w.U32(0);
  w.Bytes(data);
  return c;
}
inline std::string PreauthContext() {
  std::string d;
  LeWriter w(&d);
  w.U16(1);   // one hash algorithm
  w.U16(32);  // salt length
  w.U16(1);   // SHA-512
  w.Bytes(std::string(32, 's'));
  return NegotiateContext(1, d);
}
inline std::string IdListContext(uint16_t type,
                                 const std::vector<uint16_t>& ids) {
  std::string d;
  LeWriter w(&d);
  w.U16(static_cast<uint16_t>(ids.size()));
  for (uint16_t id : ids) w.U16(id);
  return NegotiateContext(type, d);
}
inline std::string CipherContext(const std::vector<uint16_t>& ids) {
  return IdListContext(2, ids);
}
inline std::string SigningContext(const std::vector<uint16_t>& ids) {
  return IdListContext(8, ids);
}

inline std::string NegotiateBody(const std::vector<uint16_t>& dialects,
                                 const std::vector<std::string>& contexts = {},
                                 uint16_t security_mode = kSigningEnabled,
                                 uint32_t caps = kCapLargeMtu |
                                                 kCapEncryption) {
  std::string b;
  LeWriter w(&b);
  w.U16(36);
  w.U16(static_cast<uint16_t>(dialects.size()));
  w.U16(security_mode);
  w.U16(0);
  w.U32(caps);
  w.Bytes("concordfs-client");  // ClientGuid
  size_t ctx_off_at = w.size();
  w.U32(0);
  w.U16(static_cast<uint16_t>(contexts.size()));
  w.U16(0);
  for (uint16_t d : dialects) w.U16(d);
  if (!contexts.empty()) {
    w.Align(8);
    w.PatchU32(ctx_off_at, static_cast<uint32_t>(kSmb2HeaderSize + w.size()));
    for (const std::string& c : contexts) {
      w.Align(8);
      w.Bytes(c);
    }
  }
  return b;
}

inline std::string SessionSetupBody(std::string_view blob,
                                    uint16_t security_mode = kSigningEnabled,
                                    uint8_t flags = 0) {
  std::string b;
  LeWriter w(&b);
  w.U16(25);
  w.U8(flags);  // 1: binding
  w.U8(static_cast<uint8_t>(security_mode));
  w.U32(0);  // capabilities
  w.U32(0);  // channel
  w.U16(kSmb2HeaderSize + 24);
  w.U16(static_cast<uint16_t>(blob.size()));
  w.U64(0);  // previous session
  w.Bytes(blob);
  return b;
}

inline constexpr uint32_t kLockShared = 1, kLockExclusive = 2, kLockUnlock = 4,
                          kLockFailImmediately = 0x10;

// A LOCK body with one element.
inline std::string LockBody(SmbFileId f, uint64_t off, uint64_t len,
                            uint32_t flags, uint32_t sequence = 0) {
  std::string b;
  LeWriter w(&b);
  w.U16(48);
  w.U16(1);
  w.U32(sequence);
  PutFileId(&w, f);
  w.U64(off);
  w.U64(len);
  w.U32(flags);
  w.U32(0);
  return b;
}

inline std::string TreeConnectBody(std::string_view unc) {
  std::string path = Utf8ToUtf16(unc);
  std::string b;
  LeWriter w(&b);
  w.U16(9);
  w.U16(0);
  w.U16(kSmb2HeaderSize + 8);
  w.U16(static_cast<uint16_t>(path.size()));
  w.Bytes(path);
  return b;
}

inline std::string SmallBody(uint16_t structure_size) {  // ECHO, LOGOFF, ...
  std::string b;
  LeWriter w(&b);
  w.U16(structure_size);
  w.U16(0);
  return b;
}

// A create context (name, data) for CreateBody.
inline std::string CreateContextBlob(std::string_view name,
                                     std::string_view data) {
  std::string c;
  LeWriter w(&c);
  w.U32(0);  // next
  w.U16(16);
  w.U16(static_cast<uint16_t>(name.size()));
  w.U16(0);
  w.U16(data.empty() ? 0 : 24);
  w.U32(static_cast<uint32_t>(data.size()));
  w.Bytes(name);
  w.Align(8);
  w.Bytes(data);
  return c;
}

inline std::string CreateBody(std::string_view name, uint32_t disposition,
                              uint32_t options = 0,
                              uint32_t access = kFileAllAccess,
                              uint32_t attrs = 0,
                              std::string_view contexts = {}) {
  std::string uname = Utf8ToUtf16(name);
  std::string b;
  LeWriter w(&b);
  w.U16(57);
  w.U8(0);   // security flags
  w.U8(0);   // oplock
  w.U32(2);  // impersonation
  w.U64(0);
  w.U64(0);
  w.U32(access);
  w.U32(attrs);
  w.U32(7);  // share read|write|delete
  w.U32(disposition);
  w.U32(options);
  w.U16(kSmb2HeaderSize + 56);
  w.U16(static_cast<uint16_t>(uname.size()));
  size_t ctx_at = w.size();
  w.U32(0);
  w.U32(0);
  w.Bytes(uname);
  if (!contexts.empty()) {
    w.Align(8);
    w.PatchU32(ctx_at, static_cast<uint32_t>(kSmb2HeaderSize + w.size()));
    w.PatchU32(ctx_at + 4, static_cast<uint32_t>(contexts.size()));
    w.Bytes(contexts);
  }
  if (uname.empty() && contexts.empty()) w.U8(0);
  return b;
}

inline std::string CloseBody(SmbFileId f, uint16_t flags = 0) {
  std::string b;
  LeWriter w(&b);
  w.U16(24);
  w.U16(flags);
  w.U32(0);
  PutFileId(&w, f);
  return b;
}

inline std::string FlushBody(SmbFileId f) {
  std::string b;
  LeWriter w(&b);
  w.U16(24);
  w.U16(0);
  w.U32(0);
  PutFileId(&w, f);
  return b;
}

inline std::string WriteBody(SmbFileId f, uint64_t offset,
                             std::string_view data) {
  std::string b;
  LeWriter w(&b);
  w.U16(49);
  w.U16(kSmb2HeaderSize + 48);
  w.U32(static_cast<uint32_t>(data.size()));
  w.U64(offset);
  PutFileId(&w, f);
  w.U32(0);  // channel
  w.U32(0);  // remaining
  w.U16(0);
  w.U16(0);
  w.U32(0);  // flags
  w.Bytes(data);
  if (data.empty()) w.U8(0);
  return b;
}

inline std::string ReadBody(SmbFileId f, uint64_t offset, uint32_t length,
                            uint32_t minimum = 0) {
  std::string b;
  LeWriter w(&b);
  w.U16(49);
  w.U8(0);
  w.U8(0);
  w.U32(length);
  w.U64(offset);
  PutFileId(&w, f);
  w.U32(minimum);
  w.U32(0);  // channel
  w.U32(0);  // remaining
  w.U16(0);
  w.U16(0);
  w.U8(0);  // buffer
  return b;
}

inline std::string QueryInfoBody(SmbFileId f, uint8_t type, uint8_t cls,
                                 uint32_t out_len, uint16_t in_off = 0,
                                 uint32_t in_len = 0, uint32_t additional = 0) {
  std::string b;
  LeWriter w(&b);
  w.U16(41);
  w.U8(type);
  w.U8(cls);
  w.U32(out_len);
  w.U16(in_off);
  w.U16(0);
  w.U32(in_len);
  w.U32(additional);
  w.U32(0);  // flags
  PutFileId(&w, f);
  w.U8(0);
  return b;
}

inline std::string SetInfoBody(SmbFileId f, uint8_t type, uint8_t cls,
                               std::string_view data) {
  std::string b;
  LeWriter w(&b);
  w.U16(33);
  w.U8(type);
  w.U8(cls);
  w.U32(static_cast<uint32_t>(data.size()));
  w.U16(kSmb2HeaderSize + 32);
  w.U16(0);
  w.U32(0);  // additional
  PutFileId(&w, f);
  w.Bytes(data);
  if (data.empty()) w.U8(0);
  return b;
}

inline std::string QueryDirectoryBody(SmbFileId f, std::string_view pattern,
                                      uint8_t cls = 37, uint8_t flags = 0,
                                      uint32_t out_len = 65536) {
  std::string upat = Utf8ToUtf16(pattern);
  std::string b;
  LeWriter w(&b);
  w.U16(33);
  w.U8(cls);
  w.U8(flags);
  w.U32(0);
  PutFileId(&w, f);
  w.U16(kSmb2HeaderSize + 32);
  w.U16(static_cast<uint16_t>(upat.size()));
  w.U32(out_len);
  w.Bytes(upat);
  if (upat.empty()) w.U8(0);
  return b;
}

inline std::string IoctlBody(SmbFileId f, uint32_t code, std::string_view in,
                             uint32_t max_out = 4096, uint32_t flags = 1) {
  std::string b;
  LeWriter w(&b);
  w.U16(57);
  w.U16(0);
  w.U32(code);
  PutFileId(&w, f);
  w.U32(in.empty() ? 0 : kSmb2HeaderSize + 56);
  w.U32(static_cast<uint32_t>(in.size()));
  w.U32(0);  // max input response
  w.U32(0);  // output offset
  w.U32(0);  // output count
  w.U32(max_out);
  w.U32(flags);
  w.U32(0);
  w.Bytes(in);
  if (in.empty()) w.U8(0);
  return b;
}

inline std::string ChangeNotifyBody(SmbFileId f) {
  std::string b;
  LeWriter w(&b);
  w.U16(32);
  w.U16(0);
  w.U32(65536);
  PutFileId(&w, f);
  w.U32(0x1);  // FILE_NOTIFY_CHANGE_FILE_NAME
  w.U32(0);
  return b;
}

// An SMB1 NEGOTIATE listing `dialects` ("SMB 2.002", "SMB 2.???", ...).
inline std::string Smb1Negotiate(const std::vector<std::string>& dialects) {
  std::string m;
  LeWriter w(&m);
  w.U8(0xFF);
  w.Bytes("SMB");
  w.U8(0x72);
  w.Zeros(27);
  std::string names;
  for (const std::string& d : dialects) {
    names.push_back('\x02');
    names += d;
    names.push_back('\0');
  }
  w.U8(0);  // word count
  w.U16(static_cast<uint16_t>(names.size()));
  w.Bytes(names);
  return m;
}

// ---- the client ----

struct Request {
  uint16_t command = 0;
  std::string body;
  uint32_t flags = 0;
  uint16_t credits = 64;                  // credits asked for
  std::optional<uint16_t> credit_charge;  // default 1
  std::optional<uint64_t> message_id;     // default: the next one
  std::optional<uint64_t> session_id;     // default: the client's
  std::optional<uint32_t> tree_id;        // default: the client's
};

inline Request Req(uint16_t command, std::string body) {
  Request q;
  q.command = command;
  q.body = std::move(body);
  return q;
}

struct NegotiateOptions {
  std::vector<uint16_t> dialects = {kDialect202, kDialect210, kDialect300,
                                    kDialect302, kDialect311};
  bool preauth = true;  // the 3.1.1 preauth integrity context
  std::vector<uint16_t> ciphers = {2, 1};  // AES-128-GCM, AES-128-CCM
  std::vector<uint16_t> signing;           // empty: no signing context
  uint16_t security_mode = kSigningEnabled;
  uint32_t caps = kCapLargeMtu | kCapEncryption;
};

struct LoginOptions {
  std::string user = kTestUser;
  std::string password = kTestPassword;
  bool spnego = true;  // else raw NTLMSSP
  uint16_t security_mode = kSigningEnabled;
};

struct CreateResult {
  uint32_t status = kNoResponse;
  uint32_t action = 0;
  SmbFileId fid;
  uint64_t size = 0;
  uint32_t attrs = 0;
  Response resp;
};

class SmbTestClient {
 public:
  explicit SmbTestClient(SmbOptions opts = DefaultSmbOptions())
      : own_world_(std::make_unique<SmbWorld>(std::move(opts))),
        world_(*own_world_),
        conn_(&world_.st, &transport_, "test") {}
  // Another connection to the world of `other` (same server state).
  explicit SmbTestClient(SmbTestClient& other)
      : world_(other.world()), conn_(&world_.st, &transport_, "test2") {}
  ~SmbTestClient() {
    conn_.OnDisconnect();
    transport_.RunPosted();
  }
  SmbTestClient(const SmbTestClient&) = delete;
  SmbTestClient& operator=(const SmbTestClient&) = delete;

  SmbWorld& world() { return world_; }
  Vfs& vfs() { return *world_.vfs; }
  FakeTransport& transport() { return transport_; }
  SmbConnection& conn() { return conn_; }

  // ---- raw I/O ----

  // Feeds one message, runs what was posted, and returns every element sent
  // in reply (decrypted when it came in a transform message).
  std::vector<Response> SendRaw(std::string_view msg) {
    size_t first = transport_.sent.size();
    conn_.OnMessage(msg);
    transport_.RunPosted();
    std::vector<Response> out;
    for (size_t i = first; i < transport_.sent.size(); ++i)
      Absorb(transport_.sent[i], &out);
    return out;
  }

  // Header + body, with the next message id (advanced by the charge).
  std::string Build(const Request& q) {
    Smb2Header h;
    h.command = q.command;
    h.credits = q.credits;
    h.flags = q.flags;
    h.credit_charge = q.credit_charge.value_or(1);
    uint64_t charge = std::max<uint16_t>(1, h.credit_charge);
    h.message_id = q.message_id.value_or(next_mid_);
    if (!q.message_id) next_mid_ += charge;
    credits_ -= static_cast<int64_t>(charge);
    h.process_id = 0xFEFF;
    h.tree_id = q.tree_id.value_or(tree_id_);
    h.session_id = q.session_id.value_or(session_id_);
    std::string m;
    AppendHeader(h, &m);
    m += q.body;
    return m;
  }

  // Signs one element (setting the SIGNED flag) with the session's key.
  bool Sign(std::string* element) const {
    if (keys_.signing.empty() || element->size() < kSmb2HeaderSize)
      return false;
    (*element)[16] = static_cast<char>((*element)[16] | kFlagSigned);
    return SignMessage(signing_alg_, keys_.signing, element);
  }
  // A transform message carrying `plain` for this session.
  std::string Encrypt(std::string_view plain) const {
    auto e = EncryptMessage(cipher_, keys_.decrypt, session_id_, plain);
    HarnessCheck(e.ok(), "encrypt");
    return *e;
  }
  // As the client sends it: signed if sign_requests(), encrypted if
  // encrypt_requests().
  std::string Seal(std::string msg) const {
    if (sign_ && !encrypt_) Sign(&msg);
    if (encrypt_) return Encrypt(msg);
    return msg;
  }

  // One request, one response (kNoResponse status if none came).
  Response Call(const Request& q) {
    auto rs = SendRaw(Seal(Build(q)));
    return rs.size() == 1 ? rs[0] : Response{};
  }
  Response Call(uint16_t command, std::string body) {
    Request q;
    q.command = command;
    q.body = std::move(body);
    return Call(q);
  }

  // A compound of `reqs`; elements after the first are marked related when
  // `related`. Each element is padded to 8 bytes and signed on its own.
  std::string BuildCompound(std::vector<Request> reqs, bool related) {
    std::vector<std::string> parts;
    for (size_t i = 0; i < reqs.size(); ++i) {
      if (related && i > 0) reqs[i].flags |= kFlagRelated;
      parts.push_back(Build(reqs[i]));
    }
    std::string out;
    for (size_t i = 0; i < parts.size(); ++i) {
      std::string& p = parts[i];
      if (i + 1 < parts.size()) {
        while (p.size() % 8) p.push_back('\0');
        LeWriter(&p).PatchU32(20, static_cast<uint32_t>(p.size()));
      }
      if (sign_ && !encrypt_) Sign(&p);
      out += p;
    }
    return encrypt_ ? Encrypt(out) : out;
  }
  std::vector<Response> Compound(std::vector<Request> reqs, bool related) {
    return SendRaw(BuildCompound(std::move(reqs), related));
  }

  // ---- protocol steps ----

  Response Negotiate(const NegotiateOptions& no = {}) {
    std::vector<std::string> ctx;
    bool has311 = std::find(no.dialects.begin(), no.dialects.end(),
                            kDialect311) != no.dialects.end();
    if (has311) {
      if (no.preauth) ctx.push_back(PreauthContext());
      if (!no.ciphers.empty()) ctx.push_back(CipherContext(no.ciphers));
      if (!no.signing.empty()) ctx.push_back(SigningContext(no.signing));
    }
    Request q;
    q.command = kNegotiate;
    q.body = NegotiateBody(no.dialects, ctx, no.security_mode, no.caps);
    std::string m = Build(q);
    auto rs = SendRaw(m);
    if (rs.size() != 1) return Response{};
    const Response& r = rs[0];
    if (r.status() != kStatusSuccess) return r;
    dialect_ = r.U16(4);
    uint32_t caps = r.U32(24);
    cipher_ = Cipher::kNone;
    signing_alg_ = DefaultSigningAlg(dialect_);
    if (dialect_ == kDialect311) {
      conn_preauth_.Update(m);
      conn_preauth_.Update(r.raw);
      LeReader cr(r.raw);
      cr.Seek(r.U32(60));
      for (uint16_t i = 0; i < r.U16(6) && cr.ok(); ++i) {
        cr.Align(8);
        uint16_t type = cr.U16();
        uint16_t len = cr.U16();
        cr.Skip(4);
        LeReader d(cr.Bytes(len));
        d.Skip(2);
        uint16_t id = d.U16();
        if (type == 2 && d.ok()) cipher_ = static_cast<Cipher>(id);
        if (type == 8 && d.ok()) {
          auto alg = SigningAlgFromId(id);
          if (alg) signing_alg_ = *alg;
        }
      }
    } else if (dialect_ >= kDialect300 && (caps & kCapEncryption)) {
      cipher_ = Cipher::kAes128Ccm;
    }
    return r;
  }

  // SESSION_SETUP until success or failure; returns the final status. On
  // success the session id, keys and encryption flag are set.
  uint32_t Login(const LoginOptions& lo = {}) {
    TestClientOptions co;
    co.user = lo.user;
    co.password = lo.password;
    TestNtlmClient ntlm(co);
    PreauthHash ph = conn_preauth_;
    std::string mech_der = EncodeMechTypeList({kOidNtlmssp});
    std::string blob =
        lo.spnego
            ? EncodeNegTokenInit({kOidNtlmssp}, ntlm.Negotiate(), std::nullopt)
            : ntlm.Negotiate();
    Request q;
    q.command = kSessionSetup;
    q.body = SessionSetupBody(blob, lo.security_mode);
    q.session_id = 0;
    std::string m = Build(q);
    if (dialect_ == kDialect311) ph.Update(m);
    auto rs = SendRaw(m);
    if (rs.size() != 1) return kNoResponse;
    last_setup_ = rs[0];
    if (rs[0].status() != kStatusMoreProcessingRequired) return rs[0].status();
    if (dialect_ == kDialect311) ph.Update(rs[0].raw);
    uint64_t sid = rs[0].h.session_id;
    std::string token = rs[0].At(rs[0].U16(4), rs[0].U16(6));
    std::string challenge = token;
    if (lo.spnego) {
      auto t = ParseNegTokenResp(token);
      if (!t || !t->response_token) return kNoResponse;
      challenge = std::string(*t->response_token);
    }
    std::string auth = ntlm.Authenticate(challenge);
    blob = auth;
    if (lo.spnego) {
      NegTokenRespOut o;
      o.response_token = auth;
      o.mech_list_mic = ntlm.MechListMic(mech_der);
      blob = EncodeNegTokenResp(o);
    }
    q.body = SessionSetupBody(blob, lo.security_mode);
    q.session_id = sid;
    m = Build(q);
    if (dialect_ == kDialect311) ph.Update(m);
    // The keys are known before the answer: it is signed (and may be
    // encrypted) with them.
    SessionKeys saved = keys_;
    uint64_t saved_sid = session_id_;
    keys_ = DeriveSessionKeys(dialect_, ntlm.exported_session_key(), cipher_,
                              ph.value());
    session_id_ = sid;
    rs = SendRaw(m);
    if (rs.size() != 1 || rs[0].status() != kStatusSuccess) {
      keys_ = saved;
      session_id_ = saved_sid;
      if (rs.size() == 1) last_setup_ = rs[0];
      return rs.size() == 1 ? rs[0].status() : kNoResponse;
    }
    last_setup_ = rs[0];
    session_key_ = ntlm.exported_session_key();
    session_flags_ = rs[0].U16(2);
    encrypt_ = session_flags_ & kSessionEncrypt;
    return kStatusSuccess;
  }

  // Binds this connection to `first`'s session as another channel
  // (multichannel): SESSION_SETUP with the binding flag, every leg signed
  // with the session's key; on success this client uses the session and
  // tree of `first`, signing with the new channel's key.
  uint32_t Bind(const SmbTestClient& first, const LoginOptions& lo = {}) {
    TestClientOptions co;
    co.user = lo.user;
    co.password = lo.password;
    TestNtlmClient ntlm(co);
    PreauthHash ph = conn_preauth_;
    std::string mech_der = EncodeMechTypeList({kOidNtlmssp});
    SessionKeys saved = keys_;
    keys_ = first.keys_;  // legs are signed with Session.SigningKey
    // ... the session's way (a client signs a binding request with the
    // session's algorithm, whatever this connection negotiated).
    SigningAlg own_alg = signing_alg_;
    signing_alg_ = first.signing_alg_;
    auto leg = [&](std::string_view blob) {
      Request q;
      q.command = kSessionSetup;
      q.body = SessionSetupBody(blob, lo.security_mode, 1);
      q.session_id = first.session_id_;
      std::string m = Build(q);
      Sign(&m);
      if (dialect_ == kDialect311) ph.Update(m);
      return m;
    };
    auto rs = SendRaw(
        leg(EncodeNegTokenInit({kOidNtlmssp}, ntlm.Negotiate(), std::nullopt)));
    if (rs.size() != 1 || rs[0].status() != kStatusMoreProcessingRequired) {
      keys_ = saved;
      signing_alg_ = own_alg;
      if (rs.size() == 1) last_setup_ = rs[0];
      return rs.size() == 1 ? rs[0].status() : kNoResponse;
    }
    if (dialect_ == kDialect311) ph.Update(rs[0].raw);
    std::string token = rs[0].At(rs[0].U16(4), rs[0].U16(6));  // (kept)
    auto t = ParseNegTokenResp(token);
    if (!t || !t->response_token) return kNoResponse;
    NegTokenRespOut o;
    o.response_token = ntlm.Authenticate(std::string(*t->response_token));
    o.mech_list_mic = ntlm.MechListMic(mech_der);
    std::string m = leg(EncodeNegTokenResp(o));
    signing_alg_ = own_alg;
    // The answer is signed with the channel's key.
    SessionKeys channel = first.keys_;
    channel.signing = DeriveSessionKeys(dialect_, ntlm.exported_session_key(),
                                        cipher_, ph.value())
                          .signing;
    keys_ = channel;
    rs = SendRaw(m);
    if (rs.size() != 1 || rs[0].status() != kStatusSuccess) {
      keys_ = saved;
      if (rs.size() == 1) last_setup_ = rs[0];
      return rs.size() == 1 ? rs[0].status() : kNoResponse;
    }
    last_setup_ = rs[0];
    session_id_ = first.session_id_;
    tree_id_ = first.tree_id_;
    encrypt_ = first.encrypt_;
    return kStatusSuccess;
  }

  uint32_t TreeConnect(std::string_view share = "share") {
    Response r = Call(kTreeConnect,
                      TreeConnectBody("\\\\server\\" + std::string(share)));
    if (r.status() == kStatusSuccess) tree_id_ = r.h.tree_id;
    return r.status();
  }

  // NEGOTIATE, SESSION_SETUP and TREE_CONNECT; false if a step failed.
  bool Setup(uint16_t dialect = kDialect311, const LoginOptions& lo = {}) {
    NegotiateOptions no;
    no.dialects = {dialect};
    if (Negotiate(no).status() != kStatusSuccess) return false;
    if (Login(lo) != kStatusSuccess) return false;
    return TreeConnect() == kStatusSuccess;
  }

  CreateResult Create(std::string_view name, uint32_t disposition,
                      uint32_t options = 0, uint32_t access = kFileAllAccess,
                      uint32_t attrs = 0) {
    CreateResult c;
    c.resp =
        Call(kCreate, CreateBody(name, disposition, options, access, attrs));
    return ParseCreate(c.resp);
  }
  static CreateResult ParseCreate(const Response& r) {
    CreateResult c;
    c.resp = r;
    c.status = r.status();
    if (c.status != kStatusSuccess) return c;
    c.action = r.U32(4);
    c.size = r.U64(48);
    c.attrs = r.U32(56);
    c.fid.persistent = r.U64(64);
    c.fid.volatile_id = r.U64(72);
    return c;
  }
  uint32_t Write(SmbFileId f, uint64_t off, std::string_view data) {
    return Call(kWrite, WriteBody(f, off, data)).status();
  }
  // Status and data.
  std::pair<uint32_t, std::string> Read(SmbFileId f, uint64_t off,
                                        uint32_t len) {
    Response r = Call(kRead, ReadBody(f, off, len));
    if (r.status() != kStatusSuccess) return {r.status(), {}};
    return {r.status(), r.At(r.raw[kSmb2HeaderSize + 2] & 0xFF, r.U32(4))};
  }
  uint32_t Close(SmbFileId f) { return Call(kClose, CloseBody(f)).status(); }

  // ---- state ----

  uint16_t dialect() const { return dialect_; }
  Cipher cipher() const { return cipher_; }
  SigningAlg signing_alg() const { return signing_alg_; }
  uint64_t session_id() const { return session_id_; }
  uint32_t tree_id() const { return tree_id_; }
  uint64_t next_message_id() const { return next_mid_; }
  void set_next_message_id(uint64_t m) { next_mid_ = m; }
  const SessionKeys& keys() const { return keys_; }
  const std::string& session_key() const { return session_key_; }
  uint16_t session_flags() const { return session_flags_; }
  const Response& last_setup() const { return last_setup_; }
  // Credits the client holds: granted minus charged.
  int64_t credits() const { return credits_; }
  int64_t max_credits_seen() const { return max_credits_seen_; }
  void set_sign_requests(bool v) { sign_ = v; }
  bool sign_requests() const { return sign_; }
  void set_encrypt_requests(bool v) { encrypt_ = v; }
  bool encrypt_requests() const { return encrypt_; }

 private:
  void Absorb(const std::string& m, std::vector<Response>* out) {
    std::string plain = m;
    bool enc = false;
    if (IsTransformMessage(m)) {
      auto d = DecryptMessage(cipher_, keys_.encrypt, m);
      if (!d.ok()) {
        Response r;
        r.raw = m;
        r.h.status = kNoResponse;
        r.encrypted = true;
        out->push_back(r);
        return;
      }
      plain = std::move(d->plaintext);
      enc = true;
    }
    for (Response& r : SplitChain(plain)) {
      r.encrypted = enc;
      if (r.h.is_signed() && !keys_.signing.empty())
        r.signature_ok = VerifySignature(signing_alg_, keys_.signing, r.raw);
      credits_ += r.h.credits;
      max_credits_seen_ = std::max(max_credits_seen_, credits_);
      out->push_back(std::move(r));
    }
  }

  std::unique_ptr<SmbWorld> own_world_;  // null: shares another's
  SmbWorld& world_;
  FakeTransport transport_;
  SmbConnection conn_;
  uint16_t dialect_ = 0;
  Cipher cipher_ = Cipher::kNone;
  SigningAlg signing_alg_ = SigningAlg::kHmacSha256;
  PreauthHash conn_preauth_;
  uint64_t next_mid_ = 0;
  int64_t credits_ = 1;
  int64_t max_credits_seen_ = 1;
  uint64_t session_id_ = 0;
  uint32_t tree_id_ = 0;
  SessionKeys keys_;
  std::string session_key_;
  uint16_t session_flags_ = 0;
  bool sign_ = false;
  bool encrypt_ = false;
  Response last_setup_;
};

}  // namespace concordfs::smb::testing
