// NTLMSSP wire messages (MS-NLMP 2.2): flag and AV_PAIR constants, a parser
// for NEGOTIATE_MESSAGE, a builder for CHALLENGE_MESSAGE and a bounds-checked
// parser for AUTHENTICATE_MESSAGE and the NTLMv2 response inside it.
//
// Parsers are pure functions over borrowed bytes: every offset and length is
// checked and malformed input yields nullopt, never a read out of range.
// Parsed views point into the caller's buffer, which must outlive them.
// Thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace concordfs::smb {

inline constexpr std::string_view kNtlmSignature("NTLMSSP\0", 8);
inline constexpr uint32_t kNtlmNegotiateType = 1;
inline constexpr uint32_t kNtlmChallengeType = 2;
inline constexpr uint32_t kNtlmAuthenticateType = 3;

// NEGOTIATE flags (MS-NLMP 2.2.2.5).
inline constexpr uint32_t kNtlmNegotiateUnicode = 0x00000001;
inline constexpr uint32_t kNtlmNegotiateOem = 0x00000002;
inline constexpr uint32_t kNtlmRequestTarget = 0x00000004;
inline constexpr uint32_t kNtlmNegotiateSign = 0x00000010;
inline constexpr uint32_t kNtlmNegotiateSeal = 0x00000020;
inline constexpr uint32_t kNtlmNegotiateLmKey = 0x00000080;
inline constexpr uint32_t kNtlmNegotiateNtlm = 0x00000200;
inline constexpr uint32_t kNtlmNegotiateAnonymous = 0x00000800;
inline constexpr uint32_t kNtlmNegotiateAlwaysSign = 0x00008000;
inline constexpr uint32_t kNtlmTargetTypeDomain = 0x00010000;
inline constexpr uint32_t kNtlmTargetTypeServer = 0x00020000;
inline constexpr uint32_t kNtlmNegotiateExtendedSessionSecurity = 0x00080000;
inline constexpr uint32_t kNtlmNegotiateIdentify = 0x00100000;
inline constexpr uint32_t kNtlmNegotiateTargetInfo = 0x00800000;
inline constexpr uint32_t kNtlmNegotiateVersion = 0x02000000;
inline constexpr uint32_t kNtlmNegotiate128 = 0x20000000;
inline constexpr uint32_t kNtlmNegotiateKeyExch = 0x40000000;
inline constexpr uint32_t kNtlmNegotiate56 = 0x80000000;

// AV_PAIR ids (MS-NLMP 2.2.2.1).
enum NtlmAvId : uint16_t {
  kAvEol = 0,
  kAvNbComputerName = 1,
  kAvNbDomainName = 2,
  kAvDnsComputerName = 3,
  kAvDnsDomainName = 4,
  kAvDnsTreeName = 5,
  kAvFlags = 6,
  kAvTimestamp = 7,
  kAvSingleHost = 8,
  kAvTargetName = 9,
  kAvChannelBindings = 10,
};
// MsvAvFlags bit: the AUTHENTICATE_MESSAGE carries a MIC.
inline constexpr uint32_t kAvFlagMicPresent = 0x00000002;

// Offset and size of the MIC field of an AUTHENTICATE_MESSAGE.
inline constexpr size_t kNtlmMicOffset = 72;
inline constexpr size_t kNtlmMicSize = 16;

struct NtlmAvPair {
  uint16_t id = 0;
  std::string_view value;
};
// Parses AV pairs up to MsvAvEOL. nullopt when a pair runs past the end or
// no EOL is found.
std::optional<std::vector<NtlmAvPair>> ParseNtlmAvPairs(std::string_view in);
void AppendNtlmAvPair(std::string* out, uint16_t id, std::string_view value);

// The 8-byte VERSION structure (MS-NLMP 2.2.2.10).
struct NtlmVersion {
  uint8_t major = 10;
  uint8_t minor = 0;
  uint16_t build = 17763;
  uint8_t revision = 15;  // NTLMSSP_REVISION_W2K3
};

struct NtlmNegotiate {
  uint32_t flags = 0;
};
// Checks the signature and type; the optional domain/workstation fields are
// not needed by a server and are ignored.
std::optional<NtlmNegotiate> ParseNtlmNegotiate(std::string_view msg);

struct NtlmChallengeFields {
  uint32_t flags = 0;
  std::string server_challenge;  // 8 bytes
  std::string target_name;       // already encoded (UTF-16LE or OEM)
  std::string target_info;       // AV pairs, EOL included
  NtlmVersion version;
};
std::string BuildNtlmChallenge(const NtlmChallengeFields& f);

struct NtlmAuthenticate {
  uint32_t flags = 0;
  std::string_view lm_response;
  std::string_view nt_response;
  std::string_view encrypted_random_session_key;
  std::string user;         // UTF-8
  std::string domain;       // UTF-8
  std::string workstation;  // UTF-8
  // The fixed header reaches past the MIC field (every payload field starts
  // at or after offset 88), so a MIC may be present there.
  bool has_mic_field = false;
};
// Strings are UTF-16LE when the message's flags say UNICODE, else OEM
// (taken as Latin-1). nullopt on any malformation.
std::optional<NtlmAuthenticate> ParseNtlmAuthenticate(std::string_view msg);

// An NTLMv2_RESPONSE split into the proof and the client challenge blob.
struct NtlmV2Response {
  std::string_view nt_proof_str;  // 16 bytes
  std::string_view blob;          // NTLMv2_CLIENT_CHALLENGE ("temp")
  uint64_t timestamp = 0;         // FILETIME from the blob header
  std::string_view client_challenge;
  std::string_view av_pairs;  // raw, as far as the blob reaches
};
// nullopt if `nt_response` is too short to be an NTLMv2 response or the
// blob's RespType is not 1.
std::optional<NtlmV2Response> ParseNtlmV2Response(std::string_view nt_response);

// Windows FILETIME (100 ns ticks since 1601-01-01) from Unix nanoseconds.
uint64_t FileTimeFromUnixNanos(int64_t unix_nanos);

}  // namespace concordfs::smb
