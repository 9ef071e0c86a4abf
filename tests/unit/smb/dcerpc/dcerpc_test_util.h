// Test helpers for smb/dcerpc: hand-built client PDUs and request stubs, and
// a small NDR / PDU reader written independently of the library's decoder so
// that the tests check the wire bytes, not the library against itself.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "smb/dcerpc/pdu.h"
#include "smb/dcerpc/pipe.h"
#include "smb/wire/le.h"
#include "smb/wire/unicode.h"

namespace concordfs::smb::dcerpc::testing {

inline void PutSyntax(LeWriter* w, const SyntaxId& s) {
  w->U32(s.uuid.time_low);
  w->U16(s.uuid.time_mid);
  w->U16(s.uuid.time_hi);
  for (uint8_t b : s.uuid.tail) w->U8(b);
  w->U32(s.version);
}

inline void PutHeader(LeWriter* w, uint8_t type, uint8_t flags,
                      uint32_t call_id) {
  w->U8(5);
  w->U8(0);
  w->U8(type);
  w->U8(flags);
  w->U32(0x10);
  w->U16(0);  // frag_length, patched by Finish
  w->U16(0);
  w->U32(call_id);
}

inline std::string Finish(std::string pdu) {
  LeWriter w(&pdu);
  w.PatchU16(8, static_cast<uint16_t>(pdu.size()));
  return pdu;
}

struct TestContext {
  uint16_t id;
  SyntaxId abstract;
  std::vector<SyntaxId> transfers;
};

// BIND (type 11) or ALTER_CONTEXT (14).
inline std::string BindPdu(const std::vector<TestContext>& ctxs,
                           uint32_t call_id = 1, uint16_t max_xmit = 4280,
                           uint16_t max_recv = 4280, uint32_t assoc = 0,
                           uint8_t type = 11) {
  std::string out;
  LeWriter w(&out);
  PutHeader(&w, type, kPfcFirstFrag | kPfcLastFrag, call_id);
  w.U16(max_xmit);
  w.U16(max_recv);
  w.U32(assoc);
  w.U8(static_cast<uint8_t>(ctxs.size()));
  w.Zeros(3);
  for (const TestContext& c : ctxs) {
    w.U16(c.id);
    w.U8(static_cast<uint8_t>(c.transfers.size()));
    w.U8(0);
    PutSyntax(&w, c.abstract);
    for (const SyntaxId& t : c.transfers) PutSyntax(&w, t);
  }
  return Finish(std::move(out));
}

inline std::string SrvsvcBind(uint32_t call_id = 1, uint16_t max_recv = 4280) {
  return BindPdu({{0, kSrvsvcSyntax, {kNdrSyntax}}}, call_id, 4280, max_recv);
}

inline std::string RequestPdu(uint16_t opnum, std::string_view stub,
                              uint32_t call_id = 2, uint16_t ctx = 0,
                              uint8_t flags = kPfcFirstFrag | kPfcLastFrag) {
  std::string out;
  LeWriter w(&out);
  PutHeader(&w, 0, flags, call_id);
  w.U32(static_cast<uint32_t>(stub.size()));
  w.U16(ctx);
  w.U16(opnum);
  w.Bytes(stub);
  return Finish(std::move(out));
}

// Client-side NDR encoder for the request stubs.
class StubWriter {
 public:
  void U32(uint32_t v) {
    w_.Align(4);
    w_.U32(v);
  }
  void Ptr(bool present) { U32(present ? next_++ * 4 + 0x20000 : 0); }
  void Str(std::string_view utf8) {
    std::string u = Utf8ToUtf16(utf8) + std::string(2, '\0');
    U32(static_cast<uint32_t>(u.size() / 2));
    U32(0);
    U32(static_cast<uint32_t>(u.size() / 2));
    w_.Bytes(u);
  }
  const std::string& str() { return *w_.str(); }

 private:
  LeWriter w_;
  uint32_t next_ = 0;
};

inline std::string ShareEnumStub(uint32_t level, uint32_t pref = 0xffffffff,
                                 bool resume = true, uint32_t handle = 0) {
  StubWriter s;
  s.Ptr(true);
  s.Str("\\\\server");
  s.U32(level);
  s.U32(level);
  s.Ptr(true);   // container
  s.U32(0);      // EntriesRead
  s.Ptr(false);  // Buffer
  s.U32(pref);
  s.Ptr(resume);
  if (resume) s.U32(handle);
  return s.str();
}

inline std::string ShareGetInfoStub(std::string_view name, uint32_t level) {
  StubWriter s;
  s.Ptr(false);
  s.Str(name);
  s.U32(level);
  return s.str();
}

inline std::string ServerGetInfoStub(uint32_t level) {
  StubWriter s;
  s.Ptr(true);
  s.Str("\\\\server");
  s.U32(level);
  return s.str();
}

// Independent NDR reader for response stubs (owns a copy of them).
class StubReader {
 public:
  explicit StubReader(std::string s) : stub_(std::move(s)), r_(stub_) {}
  StubReader(const StubReader&) = delete;
  StubReader& operator=(const StubReader&) = delete;
  uint32_t U32() {
    r_.Align(4);
    return r_.U32();
  }
  bool Ptr() { return U32() != 0; }
  std::string Str() {
    uint32_t max = U32();
    uint32_t off = U32();
    uint32_t actual = U32();
    EXPECT_EQ(off, 0u);
    EXPECT_EQ(max, actual);
    std::string_view b = r_.Bytes(size_t{actual} * 2);
    EXPECT_GE(b.size(), 2u);
    if (b.size() < 2) return {};
    EXPECT_EQ(b.substr(b.size() - 2), std::string_view("\0\0", 2));
    return Utf16ToUtf8(b.substr(0, b.size() - 2)).value_or("<bad utf16>");
  }
  bool ok() const { return r_.ok(); }
  size_t remaining() const { return r_.remaining(); }

 private:
  std::string stub_;
  LeReader r_;
};

// A parsed server PDU.
struct ServerPdu {
  uint8_t type = 0;
  uint8_t flags = 0;
  uint16_t frag_length = 0;
  uint32_t call_id = 0;
  std::string body;  // after the 16-byte header
};

inline ServerPdu ParseServerPdu(std::string_view pdu) {
  ServerPdu p;
  LeReader r(pdu);
  EXPECT_EQ(r.U8(), 5);
  EXPECT_EQ(r.U8(), 0);
  p.type = r.U8();
  p.flags = r.U8();
  EXPECT_EQ(r.U32(), 0x10u);
  p.frag_length = r.U16();
  EXPECT_EQ(r.U16(), 0);
  p.call_id = r.U32();
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(p.frag_length, pdu.size());
  p.body = std::string(pdu.substr(std::min<size_t>(16, pdu.size())));
  return p;
}

// Every message waiting on the pipe, each read whole.
inline std::vector<std::string> DrainMessages(PipeEndpoint* pipe) {
  std::vector<std::string> msgs;
  while (pipe->HasOutput()) {
    bool more = true;
    msgs.push_back(pipe->Read(1 << 20, &more));
    EXPECT_FALSE(more);
  }
  return msgs;
}

// Fault status of a FAULT PDU (0 if `pdu` is not a fault).
inline uint32_t FaultStatus(std::string_view pdu) {
  ServerPdu p = ParseServerPdu(pdu);
  if (p.type != 3) return 0;
  LeReader r(p.body);
  r.Skip(8);
  return r.U32();
}

// Reassembles the RESPONSE fragments of one call into its stub, checking
// the fragment flags and alloc hints on the way.
inline std::string ResponseStub(const std::vector<std::string>& frags,
                                uint32_t call_id = 2) {
  std::string stub;
  for (size_t i = 0; i < frags.size(); ++i) {
    ServerPdu p = ParseServerPdu(frags[i]);
    EXPECT_EQ(p.type, 2) << "fault status 0x" << std::hex
                         << FaultStatus(frags[i]);
    EXPECT_EQ(p.call_id, call_id);
    EXPECT_EQ((p.flags & kPfcFirstFrag) != 0, i == 0);
    EXPECT_EQ((p.flags & kPfcLastFrag) != 0, i + 1 == frags.size());
    LeReader r(p.body);
    r.U32();                // alloc_hint
    EXPECT_EQ(r.U16(), 0);  // context id
    r.Skip(2);
    stub.append(p.body.substr(std::min<size_t>(8, p.body.size())));
  }
  return stub;
}

inline std::vector<PipeShare> SampleShares() {
  return {
      {"IPC$", kStypeIpc | kStypeSpecial, "IPC Service (concordfs)", ""},
      {"data", kStypeDisktree, "Team data", "/srv/data"},
      {"Ünïcode", kStypeDisktree, "Grüße ✓", "/srv/u"},
  };
}

inline std::vector<PipeShare> ManyShares(int n) {
  std::vector<PipeShare> shares;
  for (int i = 0; i < n; ++i) {
    shares.push_back({"share_" + std::to_string(i), kStypeDisktree,
                      "comment number " + std::to_string(i),
                      "/srv/share_" + std::to_string(i)});
  }
  return shares;
}

// A pipe bound to srvsvc with the sample shares, output drained.
inline PipeEndpoint BoundPipe(std::vector<PipeShare> shares = SampleShares(),
                              uint16_t max_recv = 4280) {
  PipeEndpoint pipe(
      "srvsvc", [shares] { return shares; }, PipeServerInfo{});
  EXPECT_EQ(pipe.Write(SrvsvcBind(1, max_recv)), PipeEndpoint::kStatusSuccess);
  DrainMessages(&pipe);
  return pipe;
}

// One complete call on a bound pipe; returns the response messages.
inline std::vector<std::string> Call(PipeEndpoint* pipe, uint16_t opnum,
                                     std::string_view stub,
                                     uint32_t call_id = 2) {
  EXPECT_EQ(pipe->Write(RequestPdu(opnum, stub, call_id)),
            PipeEndpoint::kStatusSuccess);
  return DrainMessages(pipe);
}

}  // namespace concordfs::smb::dcerpc::testing
