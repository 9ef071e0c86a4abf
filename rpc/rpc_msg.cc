#include "rpc/rpc_msg.h"

#include "rpc/xdr.h"

namespace concordfs::rpc {
namespace {

constexpr uint32_t kMsgAccepted = 0;
constexpr uint32_t kMsgDenied = 1;
constexpr uint32_t kRejectRpcMismatch = 0;
constexpr uint32_t kRejectAuthError = 1;

void AppendReplyPrefix(XdrEncoder* e, uint32_t xid, uint32_t reply_stat) {
  e->U32(xid);
  e->U32(kMsgReply);
  e->U32(reply_stat);
}

// AUTH_SYS body (RFC 5531 appendix A).
bool ParseAuthSys(std::string_view body, AuthSys* out) {
  XdrDecoder d(body);
  out->stamp = d.U32();
  out->machine = std::string(d.String(kMaxMachineName));
  out->uid = d.U32();
  out->gid = d.U32();
  uint32_t n = d.U32();
  if (!d.ok() || n > kMaxAuthSysGroups) return false;
  out->gids.reserve(n);
  for (uint32_t i = 0; i < n; ++i) out->gids.push_back(d.U32());
  return d.ok() && d.remaining() == 0;
}

}  // namespace

ParsedCall ParseCall(std::string_view record) {
  ParsedCall pc;
  XdrDecoder d(record);
  pc.header.xid = d.U32();
  uint32_t mtype = d.U32();
  if (!d.ok() || mtype != kMsgCall) return pc;  // kDrop
  uint32_t rpcvers = d.U32();
  if (!d.ok()) {
    pc.kind = ParsedCall::Kind::kGarbage;
    return pc;
  }
  if (rpcvers != kRpcVersion) {
    pc.kind = ParsedCall::Kind::kRpcMismatch;
    return pc;
  }
  CallHeader& h = pc.header;
  h.prog = d.U32();
  h.vers = d.U32();
  h.proc = d.U32();
  h.flavor = d.U32();
  uint32_t cred_len = d.U32();
  if (!d.ok()) {
    pc.kind = ParsedCall::Kind::kGarbage;
    return pc;
  }
  if (cred_len > kMaxAuthBytes) {
    pc.kind = ParsedCall::Kind::kAuthError;
    pc.auth = AuthStat::kBadCred;
    return pc;
  }
  std::string_view cred = d.Fixed(cred_len);
  uint32_t verf_flavor = d.U32();
  uint32_t verf_len = d.U32();
  if (!d.ok()) {
    pc.kind = ParsedCall::Kind::kGarbage;
    return pc;
  }
  if (verf_len > kMaxAuthBytes) {
    pc.kind = ParsedCall::Kind::kAuthError;
    pc.auth = AuthStat::kBadVerf;
    return pc;
  }
  d.Fixed(verf_len);
  if (!d.ok()) {
    pc.kind = ParsedCall::Kind::kGarbage;
    return pc;
  }
  switch (h.flavor) {
    case kAuthNone:
      break;
    case kAuthSys: {
      AuthSys sys;
      if (!ParseAuthSys(cred, &sys)) {
        pc.kind = ParsedCall::Kind::kAuthError;
        pc.auth = AuthStat::kBadCred;
        return pc;
      }
      h.sys = std::move(sys);
      break;
    }
    default:
      // Kerberos (RPCSEC_GSS), AUTH_DH, ...: not supported. The client
      // learns its credential flavor is refused and may retry with another.
      pc.kind = ParsedCall::Kind::kAuthError;
      pc.auth = AuthStat::kBadCred;
      return pc;
  }
  // Only an AUTH_NONE verifier is meaningful with these flavors.
  if (verf_flavor != kAuthNone && verf_flavor != kAuthSys) {
    pc.kind = ParsedCall::Kind::kAuthError;
    pc.auth = AuthStat::kBadVerf;
    return pc;
  }
  h.args = d.Rest();
  pc.kind = ParsedCall::Kind::kCall;
  return pc;
}

void AppendAcceptedHeader(std::string* out, uint32_t xid, AcceptStat stat) {
  XdrEncoder e(out);
  AppendReplyPrefix(&e, xid, kMsgAccepted);
  e.U32(kAuthNone);  // verifier
  e.U32(0);
  e.U32(static_cast<uint32_t>(stat));
}

void AppendProgMismatch(std::string* out, uint32_t xid, uint32_t low,
                        uint32_t high) {
  AppendAcceptedHeader(out, xid, AcceptStat::kProgMismatch);
  XdrEncoder e(out);
  e.U32(low);
  e.U32(high);
}

void AppendRpcMismatch(std::string* out, uint32_t xid) {
  XdrEncoder e(out);
  AppendReplyPrefix(&e, xid, kMsgDenied);
  e.U32(kRejectRpcMismatch);
  e.U32(kRpcVersion);
  e.U32(kRpcVersion);
}

void AppendAuthError(std::string* out, uint32_t xid, AuthStat stat) {
  XdrEncoder e(out);
  AppendReplyPrefix(&e, xid, kMsgDenied);
  e.U32(kRejectAuthError);
  e.U32(static_cast<uint32_t>(stat));
}

void AppendCallHeader(std::string* out, uint32_t xid, uint32_t prog,
                      uint32_t vers, uint32_t proc, const AuthSys* cred) {
  XdrEncoder e(out);
  e.U32(xid);
  e.U32(kMsgCall);
  e.U32(kRpcVersion);
  e.U32(prog);
  e.U32(vers);
  e.U32(proc);
  if (cred == nullptr) {
    e.U32(kAuthNone);
    e.U32(0);
  } else {
    std::string body;
    XdrEncoder b(&body);
    b.U32(cred->stamp);
    b.String(cred->machine);
    b.U32(cred->uid);
    b.U32(cred->gid);
    b.U32(static_cast<uint32_t>(cred->gids.size()));
    for (uint32_t g : cred->gids) b.U32(g);
    e.U32(kAuthSys);
    e.Opaque(body);
  }
  e.U32(kAuthNone);
  e.U32(0);
}

ParsedReply ParseReply(std::string_view record) {
  ParsedReply r;
  XdrDecoder d(record);
  r.xid = d.U32();
  uint32_t mtype = d.U32();
  uint32_t stat = d.U32();
  if (!d.ok() || mtype != kMsgReply) {
    r.error = "not an RPC reply";
    return r;
  }
  if (stat == kMsgDenied) {
    uint32_t why = d.U32();
    uint32_t detail = d.U32();  // low version, or the auth_stat
    if (!d.ok()) {
      r.error = "truncated RPC reply";
    } else if (why == kRejectRpcMismatch) {
      r.error = "RPC version mismatch";
    } else {
      r.error = "authentication error " + std::to_string(detail);
    }
    return r;
  }
  d.U32();  // verifier flavor
  d.Opaque(kMaxAuthBytes);
  uint32_t accept = d.U32();
  if (!d.ok()) {
    r.error = "truncated RPC reply";
    return r;
  }
  if (accept != 0) {
    r.error = AcceptStatName(static_cast<AcceptStat>(accept));
    return r;
  }
  r.ok = true;
  r.results = d.Rest();
  return r;
}

const char* AcceptStatName(AcceptStat s) {
  switch (s) {
    case AcceptStat::kSuccess:
      return "SUCCESS";
    case AcceptStat::kProgUnavail:
      return "PROG_UNAVAIL";
    case AcceptStat::kProgMismatch:
      return "PROG_MISMATCH";
    case AcceptStat::kProcUnavail:
      return "PROC_UNAVAIL";
    case AcceptStat::kGarbageArgs:
      return "GARBAGE_ARGS";
    case AcceptStat::kSystemErr:
      return "SYSTEM_ERR";
  }
  return "unknown accept_stat";
}

}  // namespace concordfs::rpc
