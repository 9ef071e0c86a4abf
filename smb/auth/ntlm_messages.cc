#include "smb/auth/ntlm_messages.h"

#include "smb/wire/le.h"
#include "smb/wire/unicode.h"

namespace concordfs::smb {
namespace {

constexpr size_t kAuthenticateHeader = 64;  // up to and including the flags
constexpr size_t kAuthenticateWithMic = kNtlmMicOffset + kNtlmMicSize;

bool HasHeader(LeReader* r, uint32_t type) {
  std::string_view sig = r->Bytes(kNtlmSignature.size());
  uint32_t t = r->U32();
  return r->ok() && sig == kNtlmSignature && t == type;
}

struct Field {
  uint16_t len = 0;
  uint32_t offset = 0;
  std::string_view bytes;
};

Field ReadField(LeReader* r) {
  Field f;
  f.len = r->U16();
  r->U16();  // MaxLen: ignored on receipt
  f.offset = r->U32();
  if (r->ok()) f.bytes = r->At(f.offset, f.len);
  return f;
}

std::string Latin1ToUtf8(std::string_view in) {
  std::string out;
  for (char c : in) {
    auto b = static_cast<uint8_t>(c);
    if (b < 0x80) {
      out.push_back(c);
    } else {
      out.push_back(static_cast<char>(0xC0 | (b >> 6)));
      out.push_back(static_cast<char>(0x80 | (b & 0x3F)));
    }
  }
  return out;
}

std::optional<std::string> DecodeString(std::string_view bytes, bool unicode) {
  if (unicode) return Utf16ToUtf8(bytes);
  return Latin1ToUtf8(bytes);
}

}  // namespace

std::optional<std::vector<NtlmAvPair>> ParseNtlmAvPairs(std::string_view in) {
  std::vector<NtlmAvPair> pairs;
  LeReader r(in);
  while (true) {
    uint16_t id = r.U16();
    uint16_t len = r.U16();
    std::string_view value = r.Bytes(len);
    if (!r.ok()) return std::nullopt;
    if (id == kAvEol) return pairs;
    pairs.push_back({id, value});
  }
}

void AppendNtlmAvPair(std::string* out, uint16_t id, std::string_view value) {
  LeWriter w(out);
  w.U16(id);
  w.U16(static_cast<uint16_t>(value.size()));
  w.Bytes(value);
}

std::optional<NtlmNegotiate> ParseNtlmNegotiate(std::string_view msg) {
  LeReader r(msg);
  if (!HasHeader(&r, kNtlmNegotiateType)) return std::nullopt;
  NtlmNegotiate n;
  n.flags = r.U32();
  if (!r.ok()) return std::nullopt;
  return n;
}

std::string BuildNtlmChallenge(const NtlmChallengeFields& f) {
  constexpr uint32_t kPayload = 56;
  std::string out;
  LeWriter w(&out);
  w.Bytes(kNtlmSignature);
  w.U32(kNtlmChallengeType);
  auto name_len = static_cast<uint16_t>(f.target_name.size());
  auto info_len = static_cast<uint16_t>(f.target_info.size());
  w.U16(name_len);
  w.U16(name_len);
  w.U32(kPayload);
  w.U32(f.flags);
  w.Bytes(f.server_challenge);
  w.Zeros(8);  // Reserved
  w.U16(info_len);
  w.U16(info_len);
  w.U32(kPayload + name_len);
  w.U8(f.version.major);
  w.U8(f.version.minor);
  w.U16(f.version.build);
  w.Zeros(3);
  w.U8(f.version.revision);
  w.Bytes(f.target_name.substr(0, name_len));
  w.Bytes(f.target_info.substr(0, info_len));
  return out;
}

std::optional<NtlmAuthenticate> ParseNtlmAuthenticate(std::string_view msg) {
  if (msg.size() < kAuthenticateHeader) return std::nullopt;
  LeReader r(msg);
  if (!HasHeader(&r, kNtlmAuthenticateType)) return std::nullopt;
  Field lm = ReadField(&r);
  Field nt = ReadField(&r);
  Field domain = ReadField(&r);
  Field user = ReadField(&r);
  Field workstation = ReadField(&r);
  Field key = ReadField(&r);
  NtlmAuthenticate a;
  a.flags = r.U32();
  if (!r.ok()) return std::nullopt;

  a.has_mic_field = msg.size() >= kAuthenticateWithMic;
  for (const Field* f : {&lm, &nt, &domain, &user, &workstation, &key}) {
    if (f->len != 0 && f->offset < kAuthenticateWithMic) {
      a.has_mic_field = false;
    }
  }
  bool unicode = (a.flags & kNtlmNegotiateUnicode) != 0;
  auto d = DecodeString(domain.bytes, unicode);
  auto u = DecodeString(user.bytes, unicode);
  auto ws = DecodeString(workstation.bytes, unicode);
  if (!d || !u || !ws) return std::nullopt;
  a.domain = std::move(*d);
  a.user = std::move(*u);
  a.workstation = std::move(*ws);
  a.lm_response = lm.bytes;
  a.nt_response = nt.bytes;
  a.encrypted_random_session_key = key.bytes;
  return a;
}

std::optional<NtlmV2Response> ParseNtlmV2Response(
    std::string_view nt_response) {
  constexpr size_t kProof = 16;
  constexpr size_t kBlobHeader = 28;
  if (nt_response.size() < kProof + kBlobHeader) return std::nullopt;
  NtlmV2Response v;
  v.nt_proof_str = nt_response.substr(0, kProof);
  v.blob = nt_response.substr(kProof);
  LeReader r(v.blob);
  uint8_t resp_type = r.U8();
  r.Skip(7);  // HiRespType, Reserved1, Reserved2
  v.timestamp = r.U64();
  v.client_challenge = r.Bytes(8);
  r.Skip(4);  // Reserved3
  if (!r.ok() || resp_type != 1) return std::nullopt;
  v.av_pairs = v.blob.substr(kBlobHeader);
  return v;
}

uint64_t FileTimeFromUnixNanos(int64_t unix_nanos) {
  // 100 ns ticks from 1601 to 1970; |INT64_MIN / 100| is smaller, so the
  // sum never leaves the int64 range.
  constexpr int64_t kEpochDelta = 116444736000000000LL;
  return static_cast<uint64_t>(kEpochDelta + unix_nanos / 100);
}

}  // namespace concordfs::smb
