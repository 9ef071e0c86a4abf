// libFuzzer target: the SMB authentication decoders — the Authenticator as
// SESSION_SETUP feeds it (FuzzAuthenticatorInput: the input as a first blob,
// and as the second after valid SPNEGO and raw NTLMSSP openings), the
// SPNEGO NegTokenInit/NegTokenResp parsers, the DER reader, and the NTLMSSP
// NEGOTIATE, AUTHENTICATE, NTLMv2 response and AV pair parsers.
//
// Checked beyond "no crash, leak or UB": every view a parser returns lies
// inside the input; a parsed NegTokenResp encodes and parses back to the
// same fields; the DER reader always makes progress.
//
// Seeds: run with CFS_NTLM_FUZZ_WRITE_SEEDS=<dir> to (re)write the seed
// corpus (the messages of a raw and a SPNEGO exchange with the unit tests'
// NTLM client, an anonymous AUTHENTICATE, the server's NegTokenInit2 and a
// CHALLENGE), then exit.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>

#include "smb/auth/authenticator.h"
#include "smb/auth/der.h"
#include "smb/auth/ntlm_messages.h"
#include "smb/auth/ntlm_server.h"
#include "smb/auth/spnego.h"
#include "tests/unit/smb/auth/test_ntlm_client.h"
#include "util/log.h"

using namespace concordfs::smb;  // NOLINT

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "ntlm_fuzz: invariant violated: %s\n", what);
    std::abort();
  }
}

// True if `v` is empty or points into `in`.
bool Inside(std::string_view in, std::string_view v) {
  if (v.empty()) return true;
  return v.data() >= in.data() && v.data() + v.size() <= in.data() + in.size();
}
bool Inside(std::string_view in, const std::optional<std::string_view>& v) {
  return !v || Inside(in, *v);
}

void FuzzSpnego(std::string_view in) {
  (void)LooksLikeSpnegoInit(in);
  (void)LooksLikeSpnegoResp(in);
  if (auto init = ParseNegTokenInit(in)) {
    Check(Inside(in, init->mech_types_der), "mech_types_der outside");
    for (std::string_view m : init->mech_types)
      Check(Inside(in, m), "mech type outside");
    Check(Inside(in, init->mech_token), "mech_token outside");
    Check(Inside(in, init->mech_list_mic), "mech_list_mic outside");
  }
  if (auto resp = ParseNegTokenResp(in)) {
    Check(Inside(in, resp->supported_mech), "supported_mech outside");
    Check(Inside(in, resp->response_token), "response_token outside");
    Check(Inside(in, resp->mech_list_mic), "mech_list_mic outside");
    NegTokenRespOut out;
    out.neg_state = resp->neg_state;
    if (resp->supported_mech)
      out.supported_mech = std::string(*resp->supported_mech);
    if (resp->response_token)
      out.response_token = std::string(*resp->response_token);
    if (resp->mech_list_mic)
      out.mech_list_mic = std::string(*resp->mech_list_mic);
    std::string again = EncodeNegTokenResp(out);
    auto back = ParseNegTokenResp(again);
    Check(back.has_value(), "encoded NegTokenResp does not parse");
    Check(back->neg_state == resp->neg_state, "neg_state round trip");
    Check(back->supported_mech == resp->supported_mech,
          "supported_mech round trip");
    Check(back->response_token == resp->response_token,
          "response_token round trip");
    Check(back->mech_list_mic == resp->mech_list_mic,
          "mech_list_mic round trip");
  }
  DerReader r(in);
  size_t n = 0;
  while (auto e = r.Next()) {
    Check(Inside(in, e->whole) && Inside(in, e->content), "DER outside");
    Check(!e->whole.empty(), "DER element without bytes");
    Check(++n <= in.size(), "DER reader makes no progress");
  }
}

void FuzzNtlm(std::string_view in) {
  (void)ParseNtlmNegotiate(in);
  if (auto a = ParseNtlmAuthenticate(in)) {
    Check(Inside(in, a->lm_response), "lm_response outside");
    Check(Inside(in, a->nt_response), "nt_response outside");
    Check(Inside(in, a->encrypted_random_session_key), "session key outside");
  }
  if (auto v = ParseNtlmV2Response(in)) {
    Check(v->nt_proof_str.size() == 16, "NTProofStr size");
    Check(Inside(in, v->nt_proof_str) && Inside(in, v->blob) &&
              Inside(in, v->client_challenge) && Inside(in, v->av_pairs),
          "NTLMv2 response view outside");
  }
  if (auto pairs = ParseNtlmAvPairs(in)) {
    for (const NtlmAvPair& p : *pairs)
      Check(Inside(in, p.value), "AV pair outside");
  }
}

void WriteSeeds(const char* dir) {
  using concordfs::smb::testing::Hex;
  using concordfs::smb::testing::TestClientOptions;
  using concordfs::smb::testing::TestNtlmClient;
  size_t count = 0;
  auto write = [&](const char* name, std::string_view bytes) {
    std::ofstream(std::string(dir) + "/" + name, std::ios::binary) << bytes;
    ++count;
  };
  AuthOptions opts;
  UserLookup lookup = [](std::string_view, std::string_view) {
    SmbUser u;
    u.name = "user";
    u.nt_hash = NtHashOfPassword("password");
    return std::optional<SmbUser>(u);
  };
  TestClientOptions co;
  co.user = "user";
  co.password = "password";
  // Raw NTLMSSP.
  {
    TestNtlmClient c(co);
    std::string neg = c.Negotiate();
    NtlmServer server(opts, lookup);
    auto ch = server.HandleNegotiate(neg);
    write("ntlm_negotiate", neg);
    write("ntlm_challenge", ch.challenge);
    write("ntlm_authenticate", c.Authenticate(ch.challenge));
  }
  {
    TestClientOptions anon = co;
    anon.anonymous = true;
    TestNtlmClient c(anon);
    NtlmServer server(opts, lookup);
    auto ch = server.HandleNegotiate(c.Negotiate());
    write("ntlm_authenticate_anonymous", c.Authenticate(ch.challenge));
  }
  // SPNEGO.
  {
    TestNtlmClient c(co);
    std::vector<std::string_view> mechs{kOidNtlmssp};
    std::string init = EncodeNegTokenInit(mechs, c.Negotiate(), std::nullopt);
    Authenticator a(opts, lookup);
    auto s1 = a.Process(init);
    auto r1 = ParseNegTokenResp(s1.out_token);
    Check(r1 && r1->response_token, "seed exchange");
    NegTokenRespOut out;
    out.response_token = c.Authenticate(*r1->response_token);
    out.mech_list_mic = c.MechListMic(EncodeMechTypeList(mechs));
    write("spnego_init", init);
    write("spnego_challenge", s1.out_token);
    write("spnego_authenticate", EncodeNegTokenResp(out));
  }
  write("spnego_init_kerberos_first",
        EncodeNegTokenInit({kOidMsKerberos, kOidKerberos, kOidNtlmssp},
                           "kerberos-token", std::nullopt));
  write("spnego_negtokeninit2", SpnegoNegotiateToken());
  // From the impacket cross-check (tests/unit/smb/auth).
  write("impacket_type1",
        Hex("4e544c4d5353500001000000358288e0000000000000000000000000000000"
            "00"));
  write("impacket_type3_anonymous",
        Hex("4e544c4d535350000300000001000100400000000000000041000000000000"
            "0040000000000000004000000000000000400000001000100041000000358288"
            "e000b177ee16f1521462b25551231c23d305"));
  std::fprintf(stderr, "ntlm_fuzz: wrote %zu seeds to %s\n", count, dir);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  concordfs::SetLogLevel("off");
  if (const char* dir = std::getenv("CFS_NTLM_FUZZ_WRITE_SEEDS")) {
    WriteSeeds(dir);
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // An exact-size copy, so that AddressSanitizer sees any overread.
  std::unique_ptr<char[]> buf(new char[size == 0 ? 1 : size]);
  if (size != 0) std::memcpy(buf.get(), data, size);
  std::string_view in(buf.get(), size);
  FuzzAuthenticatorInput(in);
  FuzzSpnego(in);
  FuzzNtlm(in);
  return 0;
}
