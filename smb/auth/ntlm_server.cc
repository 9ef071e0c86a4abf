#include "smb/auth/ntlm_server.h"

#include <cstdlib>
#include <utility>
#include <vector>

#include "smb/auth/ntlm_crypto.h"
#include "smb/auth/ntlm_messages.h"
#include "smb/wire/le.h"
#include "smb/wire/unicode.h"

namespace concordfs::smb {
namespace {

// Flags echoed when the client asks for them.
constexpr uint32_t kEchoedFlags = kNtlmNegotiateSign | kNtlmNegotiateSeal |
                                  kNtlmNegotiateExtendedSessionSecurity |
                                  kNtlmNegotiate128 | kNtlmNegotiate56 |
                                  kNtlmNegotiateKeyExch;
// Flags always set in the CHALLENGE.
constexpr uint32_t kServerFlags =
    kNtlmRequestTarget | kNtlmNegotiateNtlm | kNtlmNegotiateAlwaysSign |
    kNtlmTargetTypeServer | kNtlmNegotiateTargetInfo | kNtlmNegotiateVersion;

std::string EncodeU64(uint64_t v) {
  std::string out;
  LeWriter(&out).U64(v);
  return out;
}

bool IsAnonymous(const NtlmAuthenticate& a) {
  return a.user.empty() && a.nt_response.empty() &&
         (a.lm_response.empty() || a.lm_response == std::string_view("\0", 1));
}

// Why a non-anonymous AUTHENTICATE is not usable NTLMv2, or nullptr.
const char* NotNtlmV2(const NtlmAuthenticate& a) {
  if (a.nt_response.empty()) return "LM-only response refused";
  if (a.nt_response.size() == 24) return "NTLMv1 response refused";
  if (a.user.empty()) return "empty user name";
  return nullptr;
}

// NTLMv2: KeyExchangeKey = SessionBaseKey. With KEY_EXCH the client's random
// key, RC4-encrypted under it, becomes the ExportedSessionKey; nullopt if
// that encrypted key does not have the one valid size.
std::optional<std::string> ExportedSessionKey(std::string kxkey, uint32_t flags,
                                              std::string_view encrypted) {
  if (!(flags & kNtlmNegotiateKeyExch)) return kxkey;
  if (encrypted.size() != 16) return std::nullopt;
  return Rc4Once(kxkey, encrypted);
}

// The client's MsvAvFlags from the NTLMv2 blob (0 when absent or malformed:
// the pairs are covered by NTProofStr, so a malformed list is the client's
// own doing and only costs it the MIC check it asked for).
uint32_t ClientAvFlags(std::string_view av_pairs) {
  std::optional<std::vector<NtlmAvPair>> pairs = ParseNtlmAvPairs(av_pairs);
  if (!pairs) return 0;
  for (const NtlmAvPair& p : *pairs) {
    if (p.id == kAvFlags && p.value.size() == 4) {
      LeReader r(p.value);
      return r.U32();
    }
  }
  return 0;
}

// The domains NTOWFv2 may have been computed with: as sent, upper-cased (some
// clients upper-case it), and empty (clients that authenticate a local
// account without a domain).
std::vector<std::string> CandidateDomains(const std::string& sent) {
  std::vector<std::string> out{sent};
  std::string upper = Utf8ToUpper(sent);
  if (upper != sent) out.push_back(upper);
  if (!sent.empty()) out.push_back("");
  return out;
}

}  // namespace

NtlmServer::NtlmServer(AuthOptions opts, UserLookup lookup)
    : opts_(std::move(opts)), lookup_(std::move(lookup)) {}

int64_t NtlmServer::NowNanos() const {
  const Clock* clock = opts_.clock ? opts_.clock : Clock::Default();
  return clock->Now();
}

uint32_t NtlmServer::ChallengeFlags(uint32_t client_flags) const {
  uint32_t flags = kServerFlags | (client_flags & kEchoedFlags);
  if (client_flags & kNtlmNegotiateUnicode) {
    flags |= kNtlmNegotiateUnicode;
  } else if (client_flags & kNtlmNegotiateOem) {
    flags |= kNtlmNegotiateOem;
  } else {
    flags |= kNtlmNegotiateUnicode;
  }
  return flags;
}

std::string NtlmServer::TargetInfo() const {
  const std::string& dns_domain =
      opts_.dns_domain.empty() ? opts_.dns_name : opts_.dns_domain;
  std::string info;
  AppendNtlmAvPair(&info, kAvNbDomainName,
                   Utf8ToUtf16(Utf8ToUpper(opts_.netbios_domain)));
  AppendNtlmAvPair(&info, kAvNbComputerName,
                   Utf8ToUtf16(Utf8ToUpper(opts_.netbios_name)));
  AppendNtlmAvPair(&info, kAvDnsDomainName, Utf8ToUtf16(dns_domain));
  AppendNtlmAvPair(&info, kAvDnsComputerName, Utf8ToUtf16(opts_.dns_name));
  AppendNtlmAvPair(&info, kAvTimestamp,
                   EncodeU64(FileTimeFromUnixNanos(NowNanos())));
  AppendNtlmAvPair(&info, kAvEol, {});
  return info;
}

NtlmServer::ChallengeResult NtlmServer::HandleNegotiate(
    std::string_view negotiate) {
  ChallengeResult res;
  if (state_ != State::kInitial) {
    state_ = State::kDone;
    res.error = "NTLMSSP NEGOTIATE out of sequence";
    return res;
  }
  state_ = State::kDone;  // until the CHALLENGE is out
  if (Status s = NtlmCryptoStatus(); !s.ok()) {
    res.status = kStatusLogonFailure;
    res.error = s.ToString();
    return res;
  }
  std::optional<NtlmNegotiate> neg = ParseNtlmNegotiate(negotiate);
  if (!neg) {
    res.error = "malformed NTLMSSP NEGOTIATE";
    return res;
  }
  server_challenge_ =
      fixed_challenge_.empty() ? RandomBytes(8) : fixed_challenge_;
  if (server_challenge_.size() != 8) {
    res.status = kStatusLogonFailure;
    res.error = "no random bytes for the server challenge";
    return res;
  }
  NtlmChallengeFields f;
  f.flags = flags_ = ChallengeFlags(neg->flags);
  f.server_challenge = server_challenge_;
  std::string name = Utf8ToUpper(opts_.netbios_name);
  f.target_name = (f.flags & kNtlmNegotiateUnicode) ? Utf8ToUtf16(name) : name;
  f.target_info = TargetInfo();
  negotiate_msg_.assign(negotiate);
  challenge_msg_ = BuildNtlmChallenge(f);
  state_ = State::kChallengeSent;
  res.status = kStatusMoreProcessingRequired;
  res.challenge = challenge_msg_;
  return res;
}

NtlmServer::AuthResult NtlmServer::Fail(uint32_t status, std::string error) {
  AuthResult r;
  r.status = status;
  r.error = std::move(error);
  return r;
}

std::optional<std::string> NtlmServer::MatchProof(
    std::string_view nt_hash, const NtlmAuthenticate& auth,
    const NtlmV2Response& v2) const {
  std::optional<std::string> found;
  // Every candidate is tried even after a match, so the time taken does not
  // say which domain spelling (or none) matched.
  for (const std::string& domain : CandidateDomains(auth.domain)) {
    std::string key = NtOwfV2(nt_hash, auth.user, domain);
    std::string proof = NtProofStr(key, server_challenge_, v2.blob);
    if (!found && ConstantTimeEquals(proof, v2.nt_proof_str)) {
      found = std::move(key);
    }
  }
  return found;
}

bool NtlmServer::TimestampFresh(uint64_t filetime) const {
  if (opts_.max_clock_skew_seconds <= 0) return true;
  uint64_t now = FileTimeFromUnixNanos(NowNanos());
  uint64_t skew = now > filetime ? now - filetime : filetime - now;
  return skew / 10'000'000 <=
         static_cast<uint64_t>(opts_.max_clock_skew_seconds);
}

bool NtlmServer::MicValid(std::string_view authenticate,
                          std::string_view session_key) const {
  std::string zeroed(authenticate);
  std::string mic = zeroed.substr(kNtlmMicOffset, kNtlmMicSize);
  zeroed.replace(kNtlmMicOffset, kNtlmMicSize, kNtlmMicSize, '\0');
  std::string expect =
      HmacMd5(session_key, negotiate_msg_ + challenge_msg_ + zeroed);
  return ConstantTimeEquals(expect, mic);
}

NtlmServer::AuthResult NtlmServer::HandleAuthenticate(
    std::string_view authenticate) {
  if (state_ != State::kChallengeSent) {
    state_ = State::kDone;
    return Fail(kStatusInvalidParameter,
                "NTLMSSP AUTHENTICATE without an outstanding CHALLENGE");
  }
  state_ = State::kDone;  // one answer per challenge: no replays
  std::optional<NtlmAuthenticate> auth = ParseNtlmAuthenticate(authenticate);
  if (!auth) return Fail(kStatusInvalidParameter, "malformed AUTHENTICATE");
  AuthResult r;
  r.flags = flags_ & auth->flags;

  if (IsAnonymous(*auth)) {
    if (!opts_.allow_anonymous) {
      return Fail(kStatusLogonFailure, "anonymous logon not allowed");
    }
    r.status = kStatusSuccess;
    r.anonymous = true;
    return r;
  }
  if (const char* why = NotNtlmV2(*auth)) return Fail(kStatusLogonFailure, why);
  std::optional<NtlmV2Response> v2 = ParseNtlmV2Response(auth->nt_response);
  if (!v2) return Fail(kStatusLogonFailure, "malformed NTLMv2 response");

  std::optional<SmbUser> user;
  if (lookup_) user = lookup_(auth->user, auth->domain);
  bool known = user && user->nt_hash.size() == 16;
  // An unknown user costs the same HMACs as a wrong password.
  std::optional<std::string> ntowf =
      MatchProof(known ? user->nt_hash : std::string(16, '\0'), *auth, *v2);
  if (!known) return Fail(kStatusLogonFailure, "unknown user");
  if (!ntowf) return Fail(kStatusLogonFailure, "wrong password");
  if (!TimestampFresh(v2->timestamp)) {
    return Fail(kStatusLogonFailure, "NTLMv2 timestamp too far from now");
  }

  std::optional<std::string> key =
      ExportedSessionKey(SessionBaseKeyV2(*ntowf, v2->nt_proof_str), r.flags,
                         auth->encrypted_random_session_key);
  if (!key) {
    return Fail(kStatusInvalidParameter,
                "KEY_EXCH without a 16-byte encrypted session key");
  }
  if (key->size() != 16) {
    return Fail(kStatusLogonFailure, "session key derivation failed");
  }
  r.session_key = std::move(*key);
  if (ClientAvFlags(v2->av_pairs) & kAvFlagMicPresent) {
    if (!auth->has_mic_field || !MicValid(authenticate, r.session_key)) {
      return Fail(kStatusLogonFailure, "AUTHENTICATE MIC missing or wrong");
    }
    r.mic_present = true;
  }
  r.status = kStatusSuccess;
  r.user = std::move(user);
  return r;
}

}  // namespace concordfs::smb
