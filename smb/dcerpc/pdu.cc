#include "smb/dcerpc/pdu.h"

#include <algorithm>

#include "smb/wire/le.h"

namespace concordfs::smb::dcerpc {

namespace {

// Size of a p_syntax_id_t on the wire.
constexpr size_t kSyntaxSize = 20;

SyntaxId ReadSyntax(LeReader* r) {
  SyntaxId s;
  s.uuid.time_low = r->U32();
  s.uuid.time_mid = r->U16();
  s.uuid.time_hi = r->U16();
  std::string_view tail = r->Bytes(8);
  if (tail.size() == 8)
    std::copy(tail.begin(), tail.end(), s.uuid.tail.begin());
  s.version = r->U32();
  return s;
}

void WriteSyntax(LeWriter* w, const SyntaxId& s) {
  w->U32(s.uuid.time_low);
  w->U16(s.uuid.time_mid);
  w->U16(s.uuid.time_hi);
  for (uint8_t b : s.uuid.tail) w->U8(b);
  w->U32(s.version);
}

// Common header with frag_length left 0; FinishPdu patches it.
void WriteHeader(LeWriter* w, PduType type, uint8_t flags, uint32_t call_id) {
  w->U8(5);
  w->U8(0);
  w->U8(static_cast<uint8_t>(type));
  w->U8(flags);
  w->U8(0x10);  // little-endian integers, ASCII characters
  w->U8(0);     // IEEE floating point
  w->U16(0);
  w->U16(0);  // frag_length
  w->U16(0);  // auth_length
  w->U32(call_id);
}

void FinishPdu(LeWriter* w) {
  w->PatchU16(8, static_cast<uint16_t>(w->size()));
}

}  // namespace

bool IsBindTimeFeatureSyntax(const SyntaxId& s) {
  return s.uuid.time_low == 0x6cb71c2c && s.uuid.time_mid == 0x9812 &&
         s.uuid.time_hi == 0x4540 && s.version == 1;
}

bool ParsePduHeader(std::string_view in, PduHeader* h) {
  LeReader r(in);
  h->version = r.U8();
  h->version_minor = r.U8();
  h->type = static_cast<PduType>(r.U8());
  h->flags = r.U8();
  for (uint8_t& b : h->drep) b = r.U8();
  h->frag_length = r.U16();
  h->auth_length = r.U16();
  h->call_id = r.U32();
  // Only the integer representation matters here (srvsvc carries no floats
  // or 8-bit characters); big-endian senders would need a second decoder.
  return r.ok() && (h->drep[0] >> 4) == 1;
}

bool ParseBindBody(std::string_view pdu, BindBody* body) {
  LeReader r(pdu);
  r.Skip(kPduHeaderSize);
  body->max_xmit_frag = r.U16();
  body->max_recv_frag = r.U16();
  body->assoc_group_id = r.U32();
  uint8_t n_contexts = r.U8();
  r.Skip(3);
  body->contexts.clear();
  for (int i = 0; i < n_contexts && r.ok(); ++i) {
    ContextElement c;
    c.context_id = r.U16();
    uint8_t n_transfer = r.U8();
    r.Skip(1);
    c.abstract_syntax = ReadSyntax(&r);
    // Bounded by the PDU: each entry must actually be present.
    if (!r.ok() || size_t{n_transfer} * kSyntaxSize > r.remaining()) {
      return false;
    }
    c.transfer_syntaxes.reserve(n_transfer);
    for (int t = 0; t < n_transfer; ++t) {
      c.transfer_syntaxes.push_back(ReadSyntax(&r));
    }
    body->contexts.push_back(std::move(c));
  }
  return r.ok();
}

bool ParseRequestBody(const PduHeader& h, std::string_view pdu,
                      RequestBody* body) {
  LeReader r(pdu);
  r.Skip(kPduHeaderSize);
  body->alloc_hint = r.U32();
  body->context_id = r.U16();
  body->opnum = r.U16();
  if (h.flags & kPfcObjectUuid) r.Skip(16);
  if (!r.ok()) return false;
  body->stub = pdu.substr(r.pos());
  return true;
}

std::string EncodeBindAck(PduType type, uint32_t call_id, const BindAck& ack) {
  std::string out;
  LeWriter w(&out);
  WriteHeader(&w, type, kPfcFirstFrag | kPfcLastFrag, call_id);
  w.U16(ack.max_xmit_frag);
  w.U16(ack.max_recv_frag);
  w.U32(ack.assoc_group_id);
  if (ack.secondary_address.empty()) {
    w.U16(0);
  } else {
    // port_spec: length including the NUL, then the ASCII bytes.
    w.U16(static_cast<uint16_t>(ack.secondary_address.size() + 1));
    w.Bytes(ack.secondary_address);
    w.U8(0);
  }
  w.Align(4);
  w.U8(static_cast<uint8_t>(ack.results.size()));
  w.Zeros(3);
  for (const ContextResult& res : ack.results) {
    w.U16(res.result);
    w.U16(res.reason);
    WriteSyntax(&w, res.transfer_syntax);
  }
  FinishPdu(&w);
  return out;
}

std::string EncodeBindNak(uint32_t call_id, uint16_t reason) {
  std::string out;
  LeWriter w(&out);
  WriteHeader(&w, PduType::kBindNak, kPfcFirstFrag | kPfcLastFrag, call_id);
  w.U16(reason);
  w.U8(1);  // one supported protocol version: 5.0
  w.U8(5);
  w.U8(0);
  w.Align(4);
  FinishPdu(&w);
  return out;
}

std::string EncodeFault(uint32_t call_id, uint16_t context_id,
                        uint32_t status) {
  std::string out;
  LeWriter w(&out);
  WriteHeader(&w, PduType::kFault,
              kPfcFirstFrag | kPfcLastFrag | kPfcDidNotExecute, call_id);
  w.U32(0);  // alloc_hint: no stub
  w.U16(context_id);
  w.U8(0);  // cancel_count
  w.U8(0);  // reserved
  w.U32(status);
  w.U32(0);  // reserved
  FinishPdu(&w);
  return out;
}

std::vector<std::string> EncodeResponse(uint32_t call_id, uint16_t context_id,
                                        std::string_view stub,
                                        uint16_t max_frag) {
  size_t chunk = max_frag > kResponseHeaderSize + 8
                     ? ((max_frag - kResponseHeaderSize) & ~size_t{7})
                     : 8;
  std::vector<std::string> frags;
  frags.reserve(stub.size() / chunk + 1);
  size_t off = 0;
  do {
    size_t n = std::min(chunk, stub.size() - off);
    uint8_t flags = 0;
    if (off == 0) flags |= kPfcFirstFrag;
    if (off + n == stub.size()) flags |= kPfcLastFrag;
    std::string out;
    out.reserve(kResponseHeaderSize + n);
    LeWriter w(&out);
    WriteHeader(&w, PduType::kResponse, flags, call_id);
    w.U32(static_cast<uint32_t>(stub.size() - off));  // alloc_hint
    w.U16(context_id);
    w.U8(0);  // cancel_count
    w.U8(0);  // reserved
    w.Bytes(stub.substr(off, n));
    FinishPdu(&w);
    frags.push_back(std::move(out));
    off += n;
  } while (off < stub.size());
  return frags;
}

}  // namespace concordfs::smb::dcerpc
