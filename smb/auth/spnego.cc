#include "smb/auth/spnego.h"

#include "smb/auth/der.h"

namespace concordfs::smb {
namespace {

constexpr std::string_view kHintName = "not_defined_in_RFC4178@please_ignore";

// An OCTET STRING wrapped in an explicit context tag: [n] { 04 len bytes }.
std::optional<std::string_view> OctetsIn(const DerElement& tagged) {
  DerReader r(tagged.content);
  std::optional<DerElement> s = r.Expect(kDerOctetString);
  if (!s || !r.at_end()) return std::nullopt;
  return s->content;
}

bool ParseMechTypes(const DerElement& tagged, NegTokenInit* out) {
  DerReader r(tagged.content);
  std::optional<DerElement> seq = r.Expect(kDerSequence);
  if (!seq || !r.at_end()) return false;
  out->mech_types_der = seq->whole;
  DerReader mechs(seq->content);
  while (!mechs.at_end()) {
    std::optional<DerElement> oid = mechs.Expect(kDerOid);
    if (!oid) return false;
    out->mech_types.push_back(oid->content);
  }
  return true;
}

std::optional<NegTokenInit> ParseInitSequence(const DerElement& tagged) {
  DerReader outer(tagged.content);
  std::optional<DerElement> seq = outer.Expect(kDerSequence);
  if (!seq || !outer.at_end()) return std::nullopt;
  NegTokenInit init;
  bool have_mechs = false;
  DerReader r(seq->content);
  while (!r.at_end()) {
    std::optional<DerElement> e = r.Next();
    if (!e) return std::nullopt;
    if (e->tag == DerContext(0) && !have_mechs) {
      if (!ParseMechTypes(*e, &init)) return std::nullopt;
      have_mechs = true;
    } else if (e->tag == DerContext(2) && !init.mech_token) {
      init.mech_token = OctetsIn(*e);
      if (!init.mech_token) return std::nullopt;
    } else if (e->tag == DerContext(3) && !init.mech_list_mic) {
      // RFC 4178 mechListMIC; NegTokenInit2's negHints (a SEQUENCE) share
      // this tag and are simply not an OCTET STRING.
      init.mech_list_mic = OctetsIn(*e);
    }
    // reqFlags [1], NegTokenInit2's mechListMIC [4] and extensions: ignored.
  }
  if (!have_mechs) return std::nullopt;
  return init;
}

std::string Explicit(int n, uint8_t tag, std::string_view content) {
  return DerEncode(DerContext(n), DerEncode(tag, content));
}

}  // namespace

bool LooksLikeSpnegoInit(std::string_view token) {
  return !token.empty() &&
         (static_cast<uint8_t>(token[0]) == kDerApplication0 ||
          static_cast<uint8_t>(token[0]) == DerContext(0));
}

bool LooksLikeSpnegoResp(std::string_view token) {
  return !token.empty() && static_cast<uint8_t>(token[0]) == DerContext(1);
}

std::optional<NegTokenInit> ParseNegTokenInit(std::string_view token) {
  DerReader top(token);
  std::optional<DerElement> e = top.Next();
  if (!e) return std::nullopt;
  if (e->tag == DerContext(0)) return ParseInitSequence(*e);
  if (e->tag != kDerApplication0) return std::nullopt;
  DerReader r(e->content);
  std::optional<DerElement> oid = r.Expect(kDerOid);
  if (!oid || oid->content != kOidSpnego) return std::nullopt;
  std::optional<DerElement> inner = r.Expect(DerContext(0));
  if (!inner || !r.at_end()) return std::nullopt;
  return ParseInitSequence(*inner);
}

std::optional<NegTokenResp> ParseNegTokenResp(std::string_view token) {
  DerReader top(token);
  std::optional<DerElement> e = top.Expect(DerContext(1));
  if (!e) return std::nullopt;
  DerReader outer(e->content);
  std::optional<DerElement> seq = outer.Expect(kDerSequence);
  if (!seq || !outer.at_end()) return std::nullopt;
  NegTokenResp resp;
  DerReader r(seq->content);
  while (!r.at_end()) {
    std::optional<DerElement> f = r.Next();
    if (!f) return std::nullopt;
    if (f->tag == DerContext(0)) {
      DerReader v(f->content);
      std::optional<DerElement> en = v.Expect(kDerEnumerated);
      if (!en || en->content.size() != 1 ||
          static_cast<uint8_t>(en->content[0]) > 3) {
        return std::nullopt;
      }
      resp.neg_state = static_cast<NegState>(en->content[0]);
    } else if (f->tag == DerContext(1)) {
      DerReader v(f->content);
      std::optional<DerElement> oid = v.Expect(kDerOid);
      if (!oid) return std::nullopt;
      resp.supported_mech = oid->content;
    } else if (f->tag == DerContext(2)) {
      resp.response_token = OctetsIn(*f);
      if (!resp.response_token) return std::nullopt;
    } else if (f->tag == DerContext(3)) {
      resp.mech_list_mic = OctetsIn(*f);
      if (!resp.mech_list_mic) return std::nullopt;
    }
  }
  return resp;
}

std::string EncodeNegTokenResp(const NegTokenRespOut& resp) {
  std::string body;
  if (resp.neg_state) {
    char v = static_cast<char>(*resp.neg_state);
    body += Explicit(0, kDerEnumerated, std::string_view(&v, 1));
  }
  if (resp.supported_mech) body += Explicit(1, kDerOid, *resp.supported_mech);
  if (resp.response_token) {
    body += Explicit(2, kDerOctetString, *resp.response_token);
  }
  if (resp.mech_list_mic) {
    body += Explicit(3, kDerOctetString, *resp.mech_list_mic);
  }
  return DerEncode(DerContext(1), DerEncode(kDerSequence, body));
}

std::string EncodeMechTypeList(const std::vector<std::string_view>& mechs) {
  std::string oids;
  for (std::string_view m : mechs) oids += DerEncode(kDerOid, m);
  return DerEncode(kDerSequence, oids);
}

std::string EncodeNegTokenInit(const std::vector<std::string_view>& mechs,
                               std::optional<std::string_view> mech_token,
                               std::optional<std::string_view> mech_list_mic) {
  std::string body = DerEncode(DerContext(0), EncodeMechTypeList(mechs));
  if (mech_token) body += Explicit(2, kDerOctetString, *mech_token);
  if (mech_list_mic) body += Explicit(3, kDerOctetString, *mech_list_mic);
  std::string inner = DerEncode(kDerOid, kOidSpnego) +
                      DerEncode(DerContext(0), DerEncode(kDerSequence, body));
  return DerEncode(kDerApplication0, inner);
}

std::string EncodeNegTokenInit2(const std::vector<std::string_view>& mechs) {
  std::string hints =
      DerEncode(kDerSequence, Explicit(0, kDerGeneralString, kHintName));
  std::string body = DerEncode(DerContext(0), EncodeMechTypeList(mechs)) +
                     DerEncode(DerContext(3), hints);
  std::string inner = DerEncode(kDerOid, kOidSpnego) +
                      DerEncode(DerContext(0), DerEncode(kDerSequence, body));
  return DerEncode(kDerApplication0, inner);
}

}  // namespace concordfs::smb
