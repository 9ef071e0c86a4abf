// Server-side SMB2/3 authentication: SPNEGO (RFC 4178, MS-SPNG) carrying
// NTLMSSP with NTLMv2 (MS-NLMP), or raw NTLMSSP as Linux cifs.ko sends it.
// Kerberos is not supported: a client offering only Kerberos is rejected, one
// that prefers Kerberos is steered to NTLMSSP.
//
// The SMB server core calls SpnegoNegotiateToken() for the NEGOTIATE
// response and creates one Authenticator per SESSION_SETUP sequence, feeding
// it each request's security buffer. An Authenticator owns copies of its
// options and lookup callback and keeps the per-exchange state (server
// challenge, the messages the MICs cover); it is not thread-safe and is used
// for one exchange only. The free functions are thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "smb/auth/auth_types.h"
#include "smb/auth/ntlm_server.h"

namespace concordfs::smb {

// MD4(UTF-16LE(password)): the 16-byte NT hash to store in SmbUser. Empty if
// the OpenSSL legacy provider is unavailable (see NtlmCryptoStatus()).
std::string NtHashOfPassword(std::string_view utf8_password);

// The security blob for the SMB2 NEGOTIATE response: a SPNEGO NegTokenInit2
// (with the hint Windows and Samba send) announcing NTLMSSP
// (1.3.6.1.4.1.311.2.2.10) as the only mechanism.
std::string SpnegoNegotiateToken();

class Authenticator {
 public:
  Authenticator(AuthOptions opts, UserLookup lookup);

  struct Step {
    // kStatusMoreProcessingRequired, kStatusSuccess, or a failure
    // (kStatusLogonFailure; kStatusInvalidParameter for malformed input).
    uint32_t status = 0;
    std::string out_token;  // security buffer to send back (may be empty)
    // On success:
    std::optional<SmbUser> user;  // nullopt for anonymous
    bool anonymous = false;
    std::string session_key;  // 16 bytes: the NTLM ExportedSessionKey
    // On failure, why (for the log; never sent to the client).
    std::string error;
  };

  // Feeds the client's security buffer from one SESSION_SETUP request.
  // After a final answer (success or failure) every further call fails.
  Step Process(std::string_view security_buffer);

  // For tests with recorded messages (see NtlmServer).
  void SetServerChallengeForTesting(std::string challenge) {
    ntlm_.SetServerChallengeForTesting(std::move(challenge));
  }

 private:
  enum class Wrap { kUnknown, kRaw, kSpnego };
  enum class Phase { kStart, kAwaitNegotiate, kAwaitAuthenticate, kDone };

  Step First(std::string_view buf);
  Step FirstSpnego(std::string_view buf);
  Step NextSpnego(std::string_view buf);
  Step Negotiate(std::string_view ntlm, bool first_reply);
  Step Authenticate(std::string_view ntlm,
                    std::optional<std::string_view> mech_list_mic);
  Step Fail(uint32_t status, std::string error);

  NtlmServer ntlm_;
  Wrap wrap_ = Wrap::kUnknown;
  Phase phase_ = Phase::kStart;
  // The client's MechTypeList as sent, which both mechListMICs cover.
  std::string mech_types_der_;
};

// For a libFuzzer target: runs `data` through fresh Authenticators as the
// first blob, and as the second blob after a valid SPNEGO and a valid raw
// NTLMSSP NEGOTIATE. Must never crash.
void FuzzAuthenticatorInput(std::string_view data);

}  // namespace concordfs::smb
