// The NTLMSSP acceptor (server side of MS-NLMP, NTLMv2 only), independent of
// SPNEGO: NEGOTIATE_MESSAGE in, CHALLENGE_MESSAGE out; AUTHENTICATE_MESSAGE
// in, the authenticated user and the ExportedSessionKey out.
//
// One NtlmServer serves one exchange: it accepts one NEGOTIATE and then one
// AUTHENTICATE; anything else (a second AUTHENTICATE for the same challenge,
// an AUTHENTICATE without a challenge) fails. It owns copies of the options
// and the lookup callback. Thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "smb/auth/auth_types.h"
#include "smb/auth/ntlm_messages.h"

namespace concordfs::smb {

class NtlmServer {
 public:
  NtlmServer(AuthOptions opts, UserLookup lookup);

  struct ChallengeResult {
    uint32_t status = kStatusInvalidParameter;  // MoreProcessing on success
    std::string challenge;                      // the CHALLENGE_MESSAGE
    std::string error;                          // why it failed, for logs
  };
  ChallengeResult HandleNegotiate(std::string_view negotiate);

  struct AuthResult {
    uint32_t status = kStatusLogonFailure;  // Success or a failure
    std::string error;                      // why it failed, for logs
    std::optional<SmbUser> user;            // on success, unless anonymous
    bool anonymous = false;
    std::string session_key;   // ExportedSessionKey (16 bytes; empty if anon)
    uint32_t flags = 0;        // negotiated: CHALLENGE & AUTHENTICATE flags
    bool mic_present = false;  // the AUTHENTICATE carried a (valid) MIC
  };
  AuthResult HandleAuthenticate(std::string_view authenticate);

  // For tests: the challenge sent, empty before HandleNegotiate.
  const std::string& server_challenge() const { return server_challenge_; }
  // For tests with recorded messages: use this 8-byte challenge instead of a
  // random one.
  void SetServerChallengeForTesting(std::string challenge) {
    fixed_challenge_ = std::move(challenge);
  }

 private:
  enum class State { kInitial, kChallengeSent, kDone };

  uint32_t ChallengeFlags(uint32_t client_flags) const;
  std::string TargetInfo() const;
  int64_t NowNanos() const;
  AuthResult Fail(uint32_t status, std::string error);
  // The NTOWFv2 whose NTProofStr matches the response, if any.
  std::optional<std::string> MatchProof(std::string_view nt_hash,
                                        const NtlmAuthenticate& auth,
                                        const NtlmV2Response& v2) const;
  bool TimestampFresh(uint64_t filetime) const;
  bool MicValid(std::string_view authenticate,
                std::string_view session_key) const;

  AuthOptions opts_;
  UserLookup lookup_;
  State state_ = State::kInitial;
  uint32_t flags_ = 0;
  std::string server_challenge_;
  std::string negotiate_msg_;
  std::string challenge_msg_;
  std::string fixed_challenge_;
};

}  // namespace concordfs::smb
