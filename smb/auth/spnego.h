// SPNEGO (RFC 4178, MS-SPNG) tokens as SMB carries them in security buffers:
// parsing the client's NegTokenInit (inside the GSS-API [APPLICATION 0]
// wrapper) and NegTokenResp, and encoding the server's NegTokenInit2 hint
// token and NegTokenResp replies.
//
// Mechanism OIDs are handled as their DER content bytes (no tag/length).
// Parsed views borrow the input buffer, which must outlive them. Pure
// functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace concordfs::smb {

// 1.3.6.1.5.5.2
inline constexpr std::string_view kOidSpnego("\x2b\x06\x01\x05\x05\x02", 6);
// 1.3.6.1.4.1.311.2.2.10
inline constexpr std::string_view kOidNtlmssp(
    "\x2b\x06\x01\x04\x01\x82\x37\x02\x02\x0a", 10);
// 1.2.840.113554.1.2.2
inline constexpr std::string_view kOidKerberos(
    "\x2a\x86\x48\x86\xf7\x12\x01\x02\x02", 9);
// 1.2.840.48018.1.2.2 (Microsoft's variant of the Kerberos OID)
inline constexpr std::string_view kOidMsKerberos(
    "\x2a\x86\x48\x82\xf7\x12\x01\x02\x02", 9);
// 1.3.6.1.4.1.311.2.2.30
inline constexpr std::string_view kOidNegoEx(
    "\x2b\x06\x01\x04\x01\x82\x37\x02\x02\x1e", 10);

enum class NegState : uint8_t {
  kAcceptCompleted = 0,
  kAcceptIncomplete = 1,
  kReject = 2,
  kRequestMic = 3,
};

struct NegTokenInit {
  std::vector<std::string_view> mech_types;  // OID contents, in client order
  // The MechTypeList SEQUENCE exactly as sent: what the mechListMIC covers.
  std::string_view mech_types_der;
  std::optional<std::string_view> mech_token;
  std::optional<std::string_view> mech_list_mic;
};

struct NegTokenResp {
  std::optional<NegState> neg_state;
  std::optional<std::string_view> supported_mech;
  std::optional<std::string_view> response_token;
  std::optional<std::string_view> mech_list_mic;
};

// True if the token looks like the GSS-API wrapped NegTokenInit (first byte
// 0x60) or a bare NegTokenInit (0xa0); NegTokenResp starts with 0xa1.
bool LooksLikeSpnegoInit(std::string_view token);
bool LooksLikeSpnegoResp(std::string_view token);

// The wrapped form (with the SPNEGO OID) or a bare [0] NegTokenInit.
std::optional<NegTokenInit> ParseNegTokenInit(std::string_view token);
std::optional<NegTokenResp> ParseNegTokenResp(std::string_view token);

// Owned fields for encoding a NegTokenResp; empty optionals are omitted.
struct NegTokenRespOut {
  std::optional<NegState> neg_state;
  std::optional<std::string> supported_mech;  // OID contents
  std::optional<std::string> response_token;
  std::optional<std::string> mech_list_mic;
};
std::string EncodeNegTokenResp(const NegTokenRespOut& resp);

// The MechTypeList SEQUENCE for `mechs` (OID contents).
std::string EncodeMechTypeList(const std::vector<std::string_view>& mechs);
// A GSS-API wrapped NegTokenInit with the given mechanisms, optional
// optimistic token and optional mechListMIC (client side; used by tests and
// tools).
std::string EncodeNegTokenInit(const std::vector<std::string_view>& mechs,
                               std::optional<std::string_view> mech_token,
                               std::optional<std::string_view> mech_list_mic);
// The server's NegTokenInit2 (MS-SPNG 2.2.1) with `mechs` and the
// "not_defined_in_RFC4178@please_ignore" hint.
std::string EncodeNegTokenInit2(const std::vector<std::string_view>& mechs);

}  // namespace concordfs::smb
