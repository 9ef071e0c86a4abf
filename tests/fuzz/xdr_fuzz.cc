// libFuzzer target: the XDR decoder and the small parsers of rpc/ on
// arbitrary bytes.
//
// The input's first byte gives the number of decoder operations, the next
// bytes choose them (u32, u64, bool, opaque with a maximum, fixed, ...), and
// the rest is the XDR data they read. Checked: every view the decoder
// returns lies inside the data; when the sequence decodes, encoding the
// values with XdrEncoder and decoding that again yields the same values
// (the decoder accepts what the encoder writes). The same bytes also go to
// ParseReply, nfs3::GetSattr/GetTime, ParseUaddr (which must round-trip
// through MakeUaddr), NormalizeExportPath (idempotent), ValidClientPattern
// and HandleCodec::Decode (which accepts only what Encode produced).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "rpc/exports.h"
#include "rpc/file_handle.h"
#include "rpc/nfs3/nfs3_xdr.h"
#include "rpc/portmap/portmap.h"
#include "rpc/rpc_msg.h"
#include "rpc/xdr.h"

using namespace concordfs;       // NOLINT
using namespace concordfs::rpc;  // NOLINT

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "xdr_fuzz: invariant violated: %s\n", what);
    std::abort();
  }
}

bool Inside(std::string_view outer, std::string_view v) {
  return v.empty() || (v.data() >= outer.data() &&
                       v.data() + v.size() <= outer.data() + outer.size());
}

enum class Op : uint8_t { kU32, kI32, kU64, kBool, kOpaque, kString, kFixed };

struct Step {
  Op op;
  uint32_t arg;  // opaque/string maximum, fixed length
};

using Value = std::variant<uint64_t, std::string>;

// Runs `steps` over `data`; false if the decoder failed.
bool Decode(const std::vector<Step>& steps, std::string_view data,
            std::vector<Value>* out, size_t* consumed = nullptr) {
  XdrDecoder d(data);
  for (const Step& s : steps) {
    switch (s.op) {
      case Op::kU32:
        out->emplace_back(uint64_t{d.U32()});
        break;
      case Op::kI32:
        out->emplace_back(static_cast<uint64_t>(static_cast<int64_t>(d.I32())));
        break;
      case Op::kU64:
        out->emplace_back(d.U64());
        break;
      case Op::kBool:
        out->emplace_back(uint64_t{d.Bool()});
        break;
      case Op::kOpaque:
      case Op::kString:
      case Op::kFixed: {
        std::string_view v = s.op == Op::kOpaque   ? d.Opaque(s.arg)
                             : s.op == Op::kString ? d.String(s.arg)
                                                   : d.Fixed(s.arg);
        Check(Inside(data, v), "a decoded view lies outside the input");
        if (s.op != Op::kFixed && d.ok()) {
          Check(v.size() <= s.arg, "opaque longer than its maximum");
        }
        if (s.op == Op::kFixed && d.ok()) {
          Check(v.size() == s.arg, "fixed opaque of the wrong length");
        }
        out->emplace_back(std::string(v));
        break;
      }
    }
  }
  Check(d.remaining() <= data.size(), "remaining() beyond the input");
  if (consumed != nullptr) *consumed = data.size() - d.remaining();
  return d.ok();
}

std::string Encode(const std::vector<Step>& steps,
                   const std::vector<Value>& vals) {
  std::string buf;
  XdrEncoder e(&buf);
  for (size_t i = 0; i < steps.size(); ++i) {
    const Value& v = vals[i];
    switch (steps[i].op) {
      case Op::kU32:
        e.U32(static_cast<uint32_t>(std::get<uint64_t>(v)));
        break;
      case Op::kI32:
        e.I32(static_cast<int32_t>(std::get<uint64_t>(v)));
        break;
      case Op::kU64:
        e.U64(std::get<uint64_t>(v));
        break;
      case Op::kBool:
        e.Bool(std::get<uint64_t>(v) != 0);
        break;
      case Op::kOpaque:
        e.Opaque(std::get<std::string>(v));
        break;
      case Op::kString:
        e.String(std::get<std::string>(v));
        break;
      case Op::kFixed:
        e.Fixed(std::get<std::string>(v));
        break;
    }
  }
  Check(buf.size() % 4 == 0, "encoding is not a whole number of words");
  return buf;
}

void FuzzDecoder(std::string_view in) {
  if (in.empty()) return;
  size_t n = static_cast<uint8_t>(in[0]) % 24;
  in.remove_prefix(1);
  std::vector<Step> steps;
  for (size_t i = 0; i < n && !in.empty(); ++i) {
    uint8_t b = static_cast<uint8_t>(in[0]);
    in.remove_prefix(1);
    Step s{static_cast<Op>(b % 7), 0};
    // Maximum/length from the high bits: small values, and the edges.
    static const uint32_t kArgs[] = {0,  1,  3,   4,   5,    8,
                                     28, 64, 255, 400, 1024, UINT32_MAX};
    s.arg = kArgs[(b >> 3) % 12];
    if (s.op == Op::kFixed && s.arg > 1024) s.arg = 7;
    steps.push_back(s);
  }
  // An exact-size copy of the data so that ASan catches overreads.
  std::unique_ptr<char[]> buf(new char[in.empty() ? 1 : in.size()]);
  if (!in.empty()) std::memcpy(buf.get(), in.data(), in.size());
  std::string_view data(buf.get(), in.size());

  std::vector<Value> vals;
  size_t consumed = 0;
  if (!Decode(steps, data, &vals, &consumed)) return;
  std::string enc = Encode(steps, vals);
  std::vector<Value> again;
  Check(Decode(steps, enc, &again), "the decoder rejects the encoder's output");
  Check(vals == again, "values changed through encode/decode");
  // Items and their padding: the encoding is as long as what was read.
  Check(enc.size() == consumed, "encoding and input differ in length");
}

void FuzzParsers(std::string_view in) {
  ParsedReply r = ParseReply(in);
  Check(!r.ok || Inside(in, r.results), "reply results outside the input");
  Check(r.ok || !r.error.empty(), "a failed reply without an error");

  XdrDecoder d(in);
  nfs3::Sattr sa = nfs3::GetSattr(&d);
  if (d.ok()) {
    Check(!sa.req.mode || *sa.req.mode <= 07777, "sattr mode beyond 07777");
    Check(!sa.req.atime || *sa.req.atime >= 0, "negative atime");
  }
  XdrDecoder t(in);
  NanoTime nt = nfs3::GetTime(&t);
  if (t.ok()) Check(nt >= 0 && nt % kNanosPerSecond < kNanosPerSecond, "time");

  Peer p;
  if (ParseUaddr(in, &p)) {
    std::string u = MakeUaddr(p);
    Peer back;
    Check(ParseUaddr(u, &back), "MakeUaddr output does not parse");
    Check(back.SameAddress(p) && back.port == p.port && back.family == p.family,
          "uaddr round trip changed the address");
  }
  std::string norm;
  if (NormalizeExportPath(in, &norm)) {
    Check(!norm.empty() && norm[0] == '/', "normalized path not absolute");
    Check(norm.size() == 1 || norm.back() != '/', "trailing slash");
    std::string again;
    Check(NormalizeExportPath(norm, &again) && again == norm,
          "NormalizeExportPath is not idempotent");
  }
  std::string why;
  if (ValidClientPattern(in, &why)) {
    Export e;
    e.opts.clients = {std::string(in)};
    (void)e.AllowsClient(Peer::Loopback());
    Peer v6;
    Peer::Parse("2001:db8::1", 0, &v6);
    (void)e.AllowsClient(v6);
  }
  static const HandleCodec codec(std::string(32, 'x'));
  auto h = codec.Decode(in);
  if (h)
    Check(codec.Encode(*h) == in, "a handle decoded that Encode never made");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  FuzzDecoder(in);
  FuzzParsers(in);
  return 0;
}
