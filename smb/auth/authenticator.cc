#include "smb/auth/authenticator.h"

#include <algorithm>
#include <utility>

#include "smb/auth/ntlm_crypto.h"
#include "smb/auth/ntlm_messages.h"
#include "smb/auth/ntlm_session_security.h"
#include "smb/auth/spnego.h"
#include "smb/wire/le.h"

namespace concordfs::smb {
namespace {

bool IsNtlmssp(std::string_view blob) {
  return blob.substr(0, kNtlmSignature.size()) == kNtlmSignature;
}

}  // namespace

std::string NtHashOfPassword(std::string_view utf8_password) {
  return NtOwfV1(utf8_password);
}

std::string SpnegoNegotiateToken() {
  return EncodeNegTokenInit2({kOidNtlmssp});
}

Authenticator::Authenticator(AuthOptions opts, UserLookup lookup)
    : ntlm_(std::move(opts), std::move(lookup)) {}

Authenticator::Step Authenticator::Process(std::string_view security_buffer) {
  switch (phase_) {
    case Phase::kStart:
      return First(security_buffer);
    case Phase::kAwaitNegotiate:
    case Phase::kAwaitAuthenticate:
      if (wrap_ == Wrap::kSpnego) return NextSpnego(security_buffer);
      return Authenticate(security_buffer, std::nullopt);
    case Phase::kDone:
      break;
  }
  return Fail(kStatusInvalidParameter, "authentication exchange already over");
}

Authenticator::Step Authenticator::Fail(uint32_t status, std::string error) {
  phase_ = Phase::kDone;
  Step s;
  s.status = status;
  s.error = std::move(error);
  if (wrap_ == Wrap::kSpnego) {
    NegTokenRespOut resp;
    resp.neg_state = NegState::kReject;
    s.out_token = EncodeNegTokenResp(resp);
  }
  return s;
}

Authenticator::Step Authenticator::First(std::string_view buf) {
  if (buf.empty()) {
    // The client wants the server to start: offer the mechanism list again.
    Step s;
    s.status = kStatusMoreProcessingRequired;
    s.out_token = SpnegoNegotiateToken();
    return s;
  }
  if (IsNtlmssp(buf)) {
    wrap_ = Wrap::kRaw;
    return Negotiate(buf, false);
  }
  if (LooksLikeSpnegoInit(buf)) {
    wrap_ = Wrap::kSpnego;
    return FirstSpnego(buf);
  }
  return Fail(kStatusInvalidParameter, "blob is neither SPNEGO nor NTLMSSP");
}

Authenticator::Step Authenticator::FirstSpnego(std::string_view buf) {
  std::optional<NegTokenInit> init = ParseNegTokenInit(buf);
  if (!init) return Fail(kStatusInvalidParameter, "malformed NegTokenInit");
  auto it =
      std::find(init->mech_types.begin(), init->mech_types.end(), kOidNtlmssp);
  if (it == init->mech_types.end()) {
    return Fail(kStatusLogonFailure,
                "client offers no NTLMSSP (Kerberos is not supported)");
  }
  mech_types_der_.assign(init->mech_types_der);
  bool preferred = it == init->mech_types.begin();
  // The optimistic token belongs to the client's first mechanism; a client
  // that could not start that one may still send an NTLMSSP token.
  if (init->mech_token && (preferred || IsNtlmssp(*init->mech_token))) {
    return Negotiate(*init->mech_token, true);
  }
  // Select NTLMSSP and let the client start it (RFC 4178 4.2.2: when the
  // selected mechanism is not the client's first choice, ask for the MIC).
  phase_ = Phase::kAwaitNegotiate;
  NegTokenRespOut resp;
  resp.neg_state =
      preferred ? NegState::kAcceptIncomplete : NegState::kRequestMic;
  resp.supported_mech = std::string(kOidNtlmssp);
  Step s;
  s.status = kStatusMoreProcessingRequired;
  s.out_token = EncodeNegTokenResp(resp);
  return s;
}

Authenticator::Step Authenticator::NextSpnego(std::string_view buf) {
  std::optional<NegTokenResp> resp = ParseNegTokenResp(buf);
  if (!resp) return Fail(kStatusInvalidParameter, "malformed NegTokenResp");
  if (resp->neg_state == NegState::kReject) {
    return Fail(kStatusLogonFailure, "client rejected the negotiation");
  }
  if (!resp->response_token) {
    return Fail(kStatusInvalidParameter, "NegTokenResp without a token");
  }
  if (phase_ == Phase::kAwaitNegotiate) {
    return Negotiate(*resp->response_token, false);
  }
  return Authenticate(*resp->response_token, resp->mech_list_mic);
}

Authenticator::Step Authenticator::Negotiate(std::string_view ntlm,
                                             bool first_reply) {
  NtlmServer::ChallengeResult r = ntlm_.HandleNegotiate(ntlm);
  if (r.status != kStatusMoreProcessingRequired) {
    return Fail(r.status, std::move(r.error));
  }
  phase_ = Phase::kAwaitAuthenticate;
  Step s;
  s.status = kStatusMoreProcessingRequired;
  if (wrap_ == Wrap::kRaw) {
    s.out_token = std::move(r.challenge);
    return s;
  }
  NegTokenRespOut resp;
  resp.neg_state = NegState::kAcceptIncomplete;
  // supportedMech goes in the first reply only (RFC 4178 4.2.2).
  if (first_reply) resp.supported_mech = std::string(kOidNtlmssp);
  resp.response_token = std::move(r.challenge);
  s.out_token = EncodeNegTokenResp(resp);
  return s;
}

Authenticator::Step Authenticator::Authenticate(
    std::string_view ntlm, std::optional<std::string_view> mech_list_mic) {
  NtlmServer::AuthResult r = ntlm_.HandleAuthenticate(ntlm);
  if (r.status != kStatusSuccess) return Fail(r.status, std::move(r.error));
  Step s;
  if (wrap_ == Wrap::kSpnego) {
    NegTokenRespOut resp;
    resp.neg_state = NegState::kAcceptCompleted;
    // An anonymous context has no keys; its MIC (if any) cannot be checked.
    if (mech_list_mic && !r.anonymous) {
      NtlmSessionSecurity sec(r.session_key, r.flags,
                              NtlmSessionSecurity::Role::kServer);
      if (!sec.ok()) {
        return Fail(kStatusLogonFailure,
                    "mechListMIC without extended session security");
      }
      if (!sec.Verify(mech_types_der_, *mech_list_mic)) {
        return Fail(kStatusLogonFailure, "mechListMIC mismatch");
      }
      resp.mech_list_mic = sec.Sign(mech_types_der_);
    }
    s.out_token = EncodeNegTokenResp(resp);
  }
  phase_ = Phase::kDone;
  s.status = kStatusSuccess;
  s.user = std::move(r.user);
  s.anonymous = r.anonymous;
  s.session_key = std::move(r.session_key);
  return s;
}

void FuzzAuthenticatorInput(std::string_view data) {
  AuthOptions opts;
  opts.allow_anonymous = true;
  opts.max_clock_skew_seconds = 0;
  UserLookup lookup = [](std::string_view, std::string_view) {
    SmbUser u;
    u.name = "user";
    u.nt_hash = NtHashOfPassword("password");
    return std::optional<SmbUser>(u);
  };
  std::string negotiate;
  LeWriter w(&negotiate);
  w.Bytes(kNtlmSignature);
  w.U32(kNtlmNegotiateType);
  w.U32(kNtlmNegotiateUnicode | kNtlmNegotiateNtlm | kNtlmNegotiateSign |
        kNtlmNegotiateExtendedSessionSecurity | kNtlmNegotiate128 |
        kNtlmNegotiateKeyExch);
  w.Zeros(16);  // empty domain and workstation fields

  Authenticator first(opts, lookup);
  first.Process(data);
  first.Process(data);
  Authenticator spnego(opts, lookup);
  spnego.Process(EncodeNegTokenInit({kOidNtlmssp}, negotiate, std::nullopt));
  spnego.Process(data);
  Authenticator raw(opts, lookup);
  raw.Process(negotiate);
  raw.Process(data);
}

}  // namespace concordfs::smb
