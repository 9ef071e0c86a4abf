// libFuzzer target: SMB2 messages through SmbConnection, the SMB2/3 server
// core (framing, credits, compounds, signing, encryption and every command
// handler), over an in-memory backend and a fake transport.
//
// Every input runs against a fresh, identical world (stores, vfs, server
// state, connection) holding /file (with data) and /dir/sub. Input format:
//
//   byte 0   mode: bits 0-1 how far the harness gets before the input's
//            messages (0 nothing, 1 NEGOTIATE, 2 + SESSION_SETUP as alice,
//            3 + TREE_CONNECT to "share"); bits 2-3 the dialect it
//            negotiates (3.1.1, 3.0.2, 2.1, 2.0.2); bit 4 fix up each
//            element's MessageId (the next in the window; a CANCEL's names
//            the request before it) and non-zero SessionId (the harness's
//            session) so the messages reach the handlers; bit 5 signing
//            required (the harness signs every element); bit 6 encryption
//            required (the harness encrypts every message); bit 7 raw
//            NTLMSSP instead of SPNEGO for the login.
//   then     messages, each a 2-byte big-endian length and that many bytes
//            (the last one may be short), fed to OnMessage in order until
//            the connection closes.
//
// Checked beyond "no crash, leak or UB": everything sent is an SMB2 message
// or a transform message; a plaintext chain parses element by element with
// 8-byte aligned NextCommand and SERVER_TO_REDIR set; a signed answer
// verifies under the session's key; an encrypted one decrypts.
//
// Seeds: run with CFS_SMB_FUZZ_WRITE_SEEDS=<dir> to (re)write the seed
// corpus (request sequences built with the unit tests' client, in several
// modes), then exit.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tests/unit/smb/core/smb_test_util.h"
#include "util/log.h"

using namespace concordfs;                // NOLINT
using namespace concordfs::smb;           // NOLINT
using namespace concordfs::smb::testing;  // NOLINT

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "smb_fuzz: invariant violated: %s\n", what);
    std::abort();
  }
}

struct Mode {
  int prefix = 0;
  uint16_t dialect = kDialect311;
  bool fixup = false;
  bool signing = false;
  bool encryption = false;
  bool raw_ntlm = false;

  static Mode From(uint8_t b) {
    static const uint16_t kDialects[] = {kDialect311, kDialect302, kDialect210,
                                         kDialect202};
    Mode m;
    m.prefix = b & 3;
    m.dialect = kDialects[(b >> 2) & 3];
    m.fixup = b & 0x10;
    m.signing = b & 0x20;
    m.encryption = b & 0x40;
    m.raw_ntlm = b & 0x80;
    return m;
  }
  uint8_t Byte() const {
    uint8_t d = dialect == kDialect311   ? 0
                : dialect == kDialect302 ? 1
                : dialect == kDialect210 ? 2
                                         : 3;
    return static_cast<uint8_t>(prefix | d << 2 | (fixup ? 0x10 : 0) |
                                (signing ? 0x20 : 0) | (encryption ? 0x40 : 0) |
                                (raw_ntlm ? 0x80 : 0));
  }
};

SmbOptions FuzzOptions(const Mode& m) {
  SmbOptions o = DefaultSmbOptions();
  o.max_io = 1 << 18;  // keeps READ buffers small
  o.max_transact = 1 << 16;
  o.max_credits = 512;
  o.signing_required = m.signing;
  if (m.encryption) o.encryption = SmbEncryption::kRequired;
  return o;
}

// The client after the harness's part of the conversation.
std::unique_ptr<SmbTestClient> Start(const Mode& m) {
  auto c = std::make_unique<SmbTestClient>(FuzzOptions(m));
  OpContext root;
  auto f = c->vfs().Mknod(root, kRootInode, "file", 0100644, 0);
  Check(f.ok(), "mknod file");
  Check(c->vfs().Write(root, f->inode.id, 0, 0, "hello, fuzzer\n").ok(),
        "write file");
  auto d = c->vfs().Mkdir(root, kRootInode, "dir", 0755);
  Check(d.ok(), "mkdir dir");
  Check(c->vfs().Mkdir(root, d->inode.id, "sub", 0755).ok(), "mkdir sub");
  if (m.prefix >= 1) {
    NegotiateOptions no;
    no.dialects = {m.dialect};
    no.signing = {2, 1, 0};
    Check(c->Negotiate(no).status() == kStatusSuccess, "negotiate");
  }
  if (m.prefix >= 2) {
    LoginOptions lo;
    lo.spnego = !m.raw_ntlm;
    uint32_t st = c->Login(lo);
    // Encryption required refuses dialects that cannot encrypt.
    Check(st == kStatusSuccess || (m.encryption && m.dialect < kDialect300 &&
                                   st == kStatusAccessDenied),
          "login");
    c->set_sign_requests(m.signing);
  }
  if (m.prefix >= 3 && c->session_id()) {
    Check(c->TreeConnect() == kStatusSuccess, "tree connect");
  }
  return c;
}

// Patches message ids (and session and tree ids) of each element so the
// chain is accepted, then signs and encrypts it as the mode asks.
std::string Prepare(SmbTestClient* c, const Mode& m, std::string msg) {
  if (!m.fixup && !m.signing && !m.encryption) return msg;
  std::vector<std::string> elements;
  size_t pos = 0;
  while (pos < msg.size()) {
    std::string_view rest = std::string_view(msg).substr(pos);
    Smb2Header h;
    if (!ParseHeader(rest, &h)) {
      elements.emplace_back(rest);  // garbage stays garbage
      break;
    }
    size_t len = rest.size();
    if (h.next_command && h.next_command <= rest.size()) len = h.next_command;
    std::string e(rest.substr(0, len));
    if (m.fixup) {
      LeWriter w(&e);
      if (h.command == kCancel) {
        // Uses no credit: it names the request before it.
        w.PatchU64(24, c->next_message_id() - 1);
      } else {
        uint64_t charge = std::max<uint16_t>(1, h.credit_charge);
        w.PatchU64(24, c->next_message_id());
        c->set_next_message_id(c->next_message_id() + charge);
      }
      // Session ids other than 0 and the related placeholder become the
      // harness's session; tree ids stay (they are small and predictable).
      if (h.session_id != 0 && h.session_id != ~0ULL)
        w.PatchU64(40, c->session_id());
    }
    if (m.signing && !c->encrypt_requests()) c->Sign(&e);
    elements.push_back(std::move(e));
    if (len == rest.size()) break;
    pos += len;
  }
  std::string out;
  for (const std::string& e : elements) out += e;
  if (m.encryption && c->encrypt_requests() && !out.empty())
    return c->Encrypt(out);
  return out;
}

void CheckSent(const SmbTestClient& c, const std::string& m) {
  Check(m.size() >= 4, "short message sent");
  if (IsTransformMessage(m)) {
    Check(m.size() > 52, "empty transform message sent");
    auto d = DecryptMessage(c.cipher(), c.keys().encrypt, m);
    Check(d.ok(), "sent transform message does not decrypt");
    Check(d->session_id == c.session_id(), "transform for another session");
    return CheckSent(c, d->plaintext);
  }
  Check(IsSmb2(m), "sent message is not SMB2");
  size_t pos = 0;
  while (true) {
    Smb2Header h;
    std::string_view rest = std::string_view(m).substr(pos);
    Check(ParseHeader(rest, &h), "sent element has no valid header");
    Check(h.flags & kFlagServerToRedir, "answer without SERVER_TO_REDIR");
    Check(rest.size() >= kSmb2HeaderSize + 2, "answer without a body");
    size_t len = rest.size();
    if (h.next_command) {
      Check(h.next_command % 8 == 0, "NextCommand not 8-byte aligned");
      Check(h.next_command < rest.size(), "NextCommand past the end");
      len = h.next_command;
    }
    // An answer flagged signed verifies, except the refusals clients take
    // with the flag alone (a zero signature): USER_SESSION_DELETED for a
    // session not on the connection, INVALID_PARAMETER for a binding from
    // another dialect.
    bool flag_only =
        (h.status == kStatusUserSessionDeleted ||
         h.status == kStatusInvalidParameter) &&
        rest.substr(48, 16) ==
            std::string_view("\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16);
    if (h.is_signed() && !c.keys().signing.empty() && !flag_only) {
      Check(VerifySignature(c.signing_alg(), c.keys().signing,
                            rest.substr(0, len)),
            "signed answer does not verify");
    }
    if (!h.next_command) break;
    pos += len;
  }
}

// Splits the input after the mode byte into messages.
std::vector<std::string_view> Messages(std::string_view in) {
  std::vector<std::string_view> out;
  while (in.size() >= 2) {
    size_t len = static_cast<uint8_t>(in[0]) << 8 | static_cast<uint8_t>(in[1]);
    in.remove_prefix(2);
    len = std::min(len, in.size());
    out.push_back(in.substr(0, len));
    in.remove_prefix(len);
  }
  return out;
}

void Append(std::string* input, std::string_view msg) {
  input->push_back(static_cast<char>(msg.size() >> 8));
  input->push_back(static_cast<char>(msg.size() & 0xFF));
  input->append(msg);
}

// ---- seeds ----

struct SeedWriter {
  const char* dir;
  size_t count = 0;

  // Runs `build` against a client in mode `m`: each message it returns is
  // sent at once (so later ones may use what earlier ones created) and
  // recorded unsigned and unencrypted, with the ids the fixup would give.
  void Write(
      const char* name, const Mode& m,
      const std::function<std::vector<std::string>(SmbTestClient*)>& build) {
    auto c = Start(m);
    std::string input(1, static_cast<char>(m.Byte()));
    std::string statuses;
    for (const std::string& msg : build(c.get())) {
      Append(&input, msg);
      std::string sealed = msg;
      if (m.signing || m.encryption) {
        Mode no_fix = m;
        no_fix.fixup = false;
        sealed = Prepare(c.get(), no_fix, msg);
      }
      for (const Response& r : c->SendRaw(sealed)) {
        char b[16];
        std::snprintf(b, sizeof b, " %x", r.status());
        statuses += b;
      }
    }
    std::string path = std::string(dir) + "/" + name;
    std::ofstream(path, std::ios::binary) << input;
    std::fprintf(stderr, "smb_fuzz: seed %-28s %5zu bytes, answers:%s\n", name,
                 input.size(), statuses.c_str());
    ++count;
  }
};

std::vector<std::string> FileSession(SmbTestClient* c) {
  std::vector<std::string> v;
  auto send = [&](uint16_t cmd, std::string body) {
    std::string m = c->Build(Req(cmd, std::move(body)));
    v.push_back(m);
    return m;
  };
  // Open /file, read it, write, query, close; enumerate the root.
  send(kCreate, CreateBody("file", kDispOpen, 0, kFileAllAccess, 0,
                           CreateContextBlob("MxAc", "")));
  SmbFileId f{1, 1};
  send(kRead, ReadBody(f, 0, 100));
  send(kWrite, WriteBody(f, 6, "world"));
  send(kQueryInfo, QueryInfoBody(f, 1, 18, 4096));  // FileAllInformation
  send(kQueryInfo, QueryInfoBody(f, 3, 0, 4096, 0, 0, 7));  // security
  send(kQueryInfo, QueryInfoBody(f, 2, 1, 4096));  // FileFsVolumeInformation
  send(kFlush, FlushBody(f));
  send(kClose, CloseBody(f, 1));
  send(kCreate, CreateBody("", kDispOpen, kDirectoryFile));
  send(kQueryDirectory, QueryDirectoryBody(SmbFileId{2, 2}, "*"));
  send(kQueryDirectory, QueryDirectoryBody(SmbFileId{2, 2}, "f*", 3, 1));
  send(kClose, CloseBody(SmbFileId{2, 2}));
  return v;
}

std::vector<std::string> RelatedChain(SmbTestClient* c) {
  SmbFileId ph = PlaceholderFileId();
  std::vector<Request> reqs = {
      Req(kCreate, CreateBody("new.txt", kDispOverwriteIf)),
      Req(kWrite, WriteBody(ph, 0, "compound data")),
      Req(kRead, ReadBody(ph, 0, 100)),
      Req(kQueryInfo, QueryInfoBody(ph, 1, 5, 4096)),
      Req(kClose, CloseBody(ph)),
  };
  for (size_t i = 1; i < reqs.size(); ++i) {
    reqs[i].session_id = ~0ULL;
    reqs[i].tree_id = ~0U;
  }
  // Recorded plain: the harness signs and encrypts per the mode.
  bool enc = c->encrypt_requests(), sign = c->sign_requests();
  c->set_encrypt_requests(false);
  c->set_sign_requests(false);
  std::string m = c->BuildCompound(reqs, true);
  c->set_encrypt_requests(enc);
  c->set_sign_requests(sign);
  return {m, c->Build(Req(kEcho, SmallBody(4)))};
}

std::vector<std::string> SetInfoOps(SmbTestClient* c) {
  std::vector<std::string> v;
  auto add = [&](uint16_t cmd, std::string body) {
    v.push_back(c->Build(Req(cmd, std::move(body))));
  };
  add(kCreate, CreateBody("dir\\victim", kDispCreate));
  SmbFileId f{1, 1};
  std::string eof;
  LeWriter(&eof).U64(4096);
  add(kSetInfo, SetInfoBody(f, 1, 20, eof));  // FileEndOfFileInformation
  std::string basic(40, '\0');
  LeWriter(&basic).PatchU32(32, 0x2);  // hidden
  add(kSetInfo, SetInfoBody(f, 1, 4, basic));
  std::string ren;
  LeWriter rw(&ren);
  std::string target = Utf8ToUtf16("dir\\renamed");
  rw.U8(1);
  rw.Zeros(7);
  rw.U64(0);
  rw.U32(static_cast<uint32_t>(target.size()));
  rw.Bytes(target);
  add(kSetInfo, SetInfoBody(f, 1, 10, ren));  // FileRenameInformation
  add(kSetInfo, SetInfoBody(f, 1, 13, std::string(1, '\1')));  // delete
  add(kClose, CloseBody(f));
  add(kCreate, CreateBody("dir", kDispOpen, kDirectoryFile));
  add(kChangeNotify, ChangeNotifyBody(SmbFileId{2, 2}));
  add(kCancel, SmallBody(4));
  add(kClose, CloseBody(SmbFileId{2, 2}));
  add(kCreate, CreateBody("tmp", kDispCreate, kDeleteOnClose));
  add(kIoctl, IoctlBody(SmbFileId{3, 3}, 0x0009003C, ""));  // compression
  std::string lock;
  LeWriter lw(&lock);
  lw.U16(48);
  lw.U16(1);  // one lock
  lw.U32(0);
  PutFileId(&lw, SmbFileId{3, 3});
  lw.U64(0);
  lw.U64(10);
  lw.U32(0x2 | 0x10);  // exclusive, fail immediately
  lw.U32(0);
  add(kLock, lock);
  add(kTreeDisconnect, SmallBody(4));
  add(kLogoff, SmallBody(4));
  return v;
}

std::vector<std::string> PipeOps(SmbTestClient* c) {
  std::vector<std::string> v;
  Request t = Req(kTreeConnect, TreeConnectBody("\\\\server\\IPC$"));
  v.push_back(c->Build(t));
  auto add = [&](uint16_t cmd, std::string body) {
    Request q = Req(cmd, std::move(body));
    q.tree_id = 2;
    v.push_back(c->Build(q));
  };
  add(kCreate, CreateBody("srvsvc", kDispOpen));
  // A DCE/RPC bind to srvsvc v3.0 with NDR.
  std::string bind =
      Hex("05000b03100000004800000001000000b810b810000000000100000000000100"
          "c84f324b7016d30112785a47bf6ee18803000000045d888aeb1cc9119fe80800"
          "2b10486002000000");
  add(kWrite, WriteBody(SmbFileId{1, 1}, 0, bind));
  add(kRead, ReadBody(SmbFileId{1, 1}, 0, 1024));
  add(kIoctl, IoctlBody(SmbFileId{1, 1}, 0x0011C017, bind, 1024));
  add(kQueryInfo, QueryInfoBody(SmbFileId{1, 1}, 1, 5, 100));
  add(kClose, CloseBody(SmbFileId{1, 1}));
  return v;
}

void WriteSeeds(const char* dir) {
  SeedWriter w{dir};
  Mode none;
  w.Write("negotiate_311", none, [](SmbTestClient* c) {
    std::vector<std::string> ctx = {PreauthContext(), CipherContext({2, 1}),
                                    SigningContext({2, 1, 0})};
    return std::vector<std::string>{c->Build(
        Req(kNegotiate, NegotiateBody({kDialect202, kDialect210, kDialect300,
                                       kDialect302, kDialect311},
                                      ctx)))};
  });
  w.Write("negotiate_21_setup", none, [](SmbTestClient* c) {
    std::string neg = c->Build(Req(kNegotiate, NegotiateBody({kDialect210})));
    c->SendRaw(neg);
    TestNtlmClient ntlm;
    Request q =
        Req(kSessionSetup, SessionSetupBody(EncodeNegTokenInit(
                               {kOidNtlmssp}, ntlm.Negotiate(), std::nullopt)));
    return std::vector<std::string>{neg, c->Build(q)};
  });
  w.Write("smb1_negotiate", none, [](SmbTestClient* c) {
    c->set_next_message_id(1);
    return std::vector<std::string>{
        Smb1Negotiate({"NT LM 0.12", "SMB 2.002", "SMB 2.???"}),
        c->Build(Req(kNegotiate, NegotiateBody({kDialect302})))};
  });
  Mode negotiated;
  negotiated.prefix = 1;
  negotiated.fixup = true;
  w.Write("raw_ntlm_setup", negotiated, [](SmbTestClient* c) {
    TestNtlmClient ntlm;
    return std::vector<std::string>{
        c->Build(Req(kSessionSetup, SessionSetupBody(ntlm.Negotiate()))),
        c->Build(Req(kEcho, SmallBody(4)))};
  });
  for (int variant = 0; variant < 4; ++variant) {
    Mode m;
    m.prefix = 3;
    m.fixup = true;
    m.dialect = variant == 3 ? kDialect202 : kDialect311;
    m.signing = variant == 1;
    m.encryption = variant == 2;
    std::string suffix = variant == 0   ? "_311"
                         : variant == 1 ? "_311_signed"
                         : variant == 2 ? "_311_encrypted"
                                        : "_202";
    w.Write(("files" + suffix).c_str(), m, FileSession);
    w.Write(("related_chain" + suffix).c_str(), m, RelatedChain);
    w.Write(("set_info" + suffix).c_str(), m, SetInfoOps);
    if (variant == 0) w.Write("pipe_311", m, PipeOps);
  }
  std::fprintf(stderr, "smb_fuzz: wrote %zu seeds to %s\n", w.count, dir);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  SetLogLevel("off");
  if (const char* dir = std::getenv("CFS_SMB_FUZZ_WRITE_SEEDS")) {
    WriteSeeds(dir);
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  Mode m = Mode::From(data[0]);
  auto c = Start(m);
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  for (std::string_view piece : Messages(in)) {
    if (c->transport().closed()) break;
    std::string msg = Prepare(c.get(), m, std::string(piece));
    // An exact-size copy, so that AddressSanitizer sees any overread.
    std::unique_ptr<char[]> buf(new char[msg.empty() ? 1 : msg.size()]);
    if (!msg.empty()) std::memcpy(buf.get(), msg.data(), msg.size());
    size_t first = c->transport().sent.size();
    c->SendRaw(std::string_view(buf.get(), msg.size()));
    for (size_t i = first; i < c->transport().sent.size(); ++i)
      CheckSent(*c, c->transport().sent[i]);
  }
  return 0;
}
