#include "rpc/portmap/portmap.h"

#include <arpa/inet.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "rpc/client.h"

namespace concordfs::rpc {
namespace {

enum PmapProc : uint32_t {
  kPmapNull = 0,
  kPmapSet = 1,
  kPmapUnset = 2,
  kPmapGetport = 3,
  kPmapDump = 4,
};

enum RpcbProc : uint32_t {
  kRpcbNull = 0,
  kRpcbSet = 1,
  kRpcbUnset = 2,
  kRpcbGetaddr = 3,
  kRpcbDump = 4,
  kRpcbGettime = 6,
  kRpcbUaddr2taddr = 7,
  kRpcbTaddr2uaddr = 8,
  kRpcbGetversaddr = 9,
  kRpcbGetaddrlist = 11,
};

constexpr uint32_t kMaxNetIdLen = 64;
constexpr uint32_t kMaxUaddrLen = 128;

uint32_t ProtoOf(std::string_view netid) {
  if (netid == "tcp") return kIpProtoTcp;
  if (netid == "udp") return kIpProtoUdp;
  return 0;
}

const char* NetIdOfProto(uint32_t prot) {
  return prot == kIpProtoTcp ? "tcp" : prot == kIpProtoUdp ? "udp" : nullptr;
}

}  // namespace

std::string MakeUaddr(const Peer& p) {
  return p.AddressString() + "." + std::to_string(p.port >> 8) + "." +
         std::to_string(p.port & 0xff);
}

bool ParseUaddr(std::string_view uaddr, Peer* out) {
  size_t last = uaddr.rfind('.');
  if (last == std::string_view::npos) return false;
  size_t prev = uaddr.rfind('.', last - 1);
  if (prev == std::string_view::npos || last == 0) return false;
  auto num = [](std::string_view s, unsigned* v) {
    if (s.empty() || s.size() > 3) return false;
    *v = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return false;
      *v = *v * 10 + static_cast<unsigned>(c - '0');
    }
    return *v < 256;
  };
  unsigned hi = 0, lo = 0;
  if (!num(uaddr.substr(prev + 1, last - prev - 1), &hi) ||
      !num(uaddr.substr(last + 1), &lo)) {
    return false;
  }
  return Peer::Parse(uaddr.substr(0, prev), static_cast<uint16_t>(hi << 8 | lo),
                     out);
}

std::string NetId(Transport t, int family) {
  std::string s = t == Transport::kTcp ? "tcp" : "udp";
  if (family == AF_INET6) s += "6";
  return s;
}

bool PortmapRegistry::Set(const Mapping& m) {
  std::lock_guard<std::mutex> lk(mu_);
  for (const Mapping& e : entries_) {
    if (e.prog == m.prog && e.vers == m.vers && e.netid == m.netid) {
      return false;
    }
  }
  entries_.push_back(m);
  return true;
}

bool PortmapRegistry::Unset(uint32_t prog, uint32_t vers,
                            std::string_view netid) {
  std::lock_guard<std::mutex> lk(mu_);
  size_t before = entries_.size();
  std::erase_if(entries_, [&](const Mapping& e) {
    return e.prog == prog && e.vers == vers &&
           (netid.empty() || e.netid == netid);
  });
  return entries_.size() != before;
}

bool PortmapRegistry::Find(uint32_t prog, uint32_t vers, std::string_view netid,
                           bool any_version, Mapping* out) const {
  std::lock_guard<std::mutex> lk(mu_);
  const Mapping* other = nullptr;
  for (const Mapping& e : entries_) {
    if (e.prog != prog || (!netid.empty() && e.netid != netid)) continue;
    if (e.vers == vers) {
      *out = e;
      return true;
    }
    if (other == nullptr || e.vers > other->vers) other = &e;
  }
  if (any_version && other != nullptr) {
    *out = *other;
    return true;
  }
  return false;
}

std::vector<Mapping> PortmapRegistry::Dump() const {
  std::lock_guard<std::mutex> lk(mu_);
  return entries_;
}

HandlerResult PortmapProgram::Call(const CallContext& ctx, XdrDecoder& args,
                                   std::string* out) {
  if (ctx.header.vers == 2) return CallV2(ctx, args, out);
  return CallV34(ctx, args, out);
}

HandlerResult PortmapProgram::CallV2(const CallContext& ctx, XdrDecoder& args,
                                     std::string* out) {
  XdrEncoder e(out);
  uint32_t proc = ctx.header.proc;
  if (proc == kPmapNull) return {};
  if (proc == kPmapDump) {
    for (const Mapping& m : reg_->Dump()) {
      uint32_t prot = ProtoOf(m.netid);
      Peer p;
      if (prot == 0 || !ParseUaddr(m.uaddr, &p)) continue;
      e.Bool(true);
      e.U32(m.prog);
      e.U32(m.vers);
      e.U32(prot);
      e.U32(p.port);
    }
    e.Bool(false);
    return {};
  }
  if (proc > kPmapDump) return {AcceptStat::kProcUnavail};
  uint32_t prog = args.U32(), vers = args.U32(), prot = args.U32(),
           port = args.U32();
  if (!args.ok()) return {AcceptStat::kGarbageArgs};
  const char* netid = NetIdOfProto(prot);
  switch (proc) {
    case kPmapSet: {
      bool ok = netid != nullptr && port <= 0xffff && ctx.peer.IsLoopback();
      if (ok) {
        Peer at = Peer::V4(0, static_cast<uint16_t>(port));
        ok = reg_->Set({prog, vers, netid, MakeUaddr(at), "pmap"});
      }
      e.Bool(ok);
      return {};
    }
    case kPmapUnset:
      e.Bool(ctx.peer.IsLoopback() && reg_->Unset(prog, vers, {}));
      return {};
    case kPmapGetport: {
      Mapping m;
      Peer p;
      bool found = netid != nullptr &&
                   reg_->Find(prog, vers, netid, true, &m) &&
                   ParseUaddr(m.uaddr, &p);
      e.U32(found ? p.port : 0);
      return {};
    }
  }
  return {AcceptStat::kProcUnavail};
}

HandlerResult PortmapProgram::CallV34(const CallContext& ctx, XdrDecoder& args,
                                      std::string* out) {
  XdrEncoder e(out);
  uint32_t proc = ctx.header.proc;
  uint32_t vers = ctx.header.vers;
  auto read_rpcb = [&](Mapping* m) {
    m->prog = args.U32();
    m->vers = args.U32();
    m->netid = std::string(args.String(kMaxNetIdLen));
    m->uaddr = std::string(args.String(kMaxUaddrLen));
    m->owner = std::string(args.String(kMaxUaddrLen));
    return args.ok();
  };
  switch (proc) {
    case kRpcbNull:
      return {};
    case kRpcbSet:
    case kRpcbUnset: {
      Mapping m;
      if (!read_rpcb(&m)) return {AcceptStat::kGarbageArgs};
      bool ok = ctx.peer.IsLoopback();
      if (ok && proc == kRpcbSet) {
        Peer p;
        ok = !m.netid.empty() && ParseUaddr(m.uaddr, &p) && reg_->Set(m);
      } else if (ok) {
        ok = reg_->Unset(m.prog, m.vers, m.netid);
      }
      e.Bool(ok);
      return {};
    }
    case kRpcbGetaddr:
    case kRpcbGetversaddr: {
      if (proc == kRpcbGetversaddr && vers < 4) {
        return {AcceptStat::kProcUnavail};
      }
      Mapping m, found;
      if (!read_rpcb(&m)) return {AcceptStat::kGarbageArgs};
      bool ok =
          reg_->Find(m.prog, m.vers, m.netid, proc == kRpcbGetaddr, &found);
      e.String(ok ? found.uaddr : "");
      return {};
    }
    case kRpcbDump:
      for (const Mapping& m : reg_->Dump()) {
        e.Bool(true);
        e.U32(m.prog);
        e.U32(m.vers);
        e.String(m.netid);
        e.String(m.uaddr);
        e.String(m.owner);
      }
      e.Bool(false);
      return {};
    case kRpcbGettime:
      e.U32(static_cast<uint32_t>(
          std::chrono::duration_cast<std::chrono::seconds>(
              std::chrono::system_clock::now().time_since_epoch())
              .count()));
      return {};
    case kRpcbUaddr2taddr: {
      std::string_view uaddr = args.String(kMaxUaddrLen);
      if (!args.ok()) return {AcceptStat::kGarbageArgs};
      Peer p;
      if (!ParseUaddr(uaddr, &p)) {
        e.U32(0);  // netbuf maxlen
        e.Opaque({});
        return {};
      }
      // A struct sockaddr in network layout.
      std::string sa;
      if (p.family == AF_INET) {
        sockaddr_in s{};
        s.sin_family = AF_INET;
        s.sin_port = htons(p.port);
        std::memcpy(&s.sin_addr, p.addr, 4);
        sa.assign(reinterpret_cast<const char*>(&s), sizeof(s));
      } else {
        sockaddr_in6 s{};
        s.sin6_family = AF_INET6;
        s.sin6_port = htons(p.port);
        std::memcpy(&s.sin6_addr, p.addr, 16);
        sa.assign(reinterpret_cast<const char*>(&s), sizeof(s));
      }
      e.U32(static_cast<uint32_t>(sa.size()));
      e.Opaque(sa);
      return {};
    }
    case kRpcbTaddr2uaddr: {
      args.U32();  // maxlen
      std::string_view sa = args.Opaque(128);
      if (!args.ok()) return {AcceptStat::kGarbageArgs};
      Peer p;
      bool ok = false;
      if (sa.size() >= sizeof(sockaddr_in)) {
        sa_family_t fam;
        std::memcpy(&fam, sa.data(), sizeof(fam));
        if (fam == AF_INET) {
          sockaddr_in s;
          std::memcpy(&s, sa.data(), sizeof(s));
          p = Peer::V4(ntohl(s.sin_addr.s_addr), ntohs(s.sin_port));
          ok = true;
        } else if (fam == AF_INET6 && sa.size() >= sizeof(sockaddr_in6)) {
          sockaddr_in6 s;
          std::memcpy(&s, sa.data(), sizeof(s));
          p.family = AF_INET6;
          std::memcpy(p.addr, &s.sin6_addr, 16);
          p.port = ntohs(s.sin6_port);
          ok = true;
        }
      }
      e.String(ok ? MakeUaddr(p) : "");
      return {};
    }
    case kRpcbGetaddrlist: {
      if (vers < 4) return {AcceptStat::kProcUnavail};
      Mapping m;
      if (!read_rpcb(&m)) return {AcceptStat::kGarbageArgs};
      for (const Mapping& x : reg_->Dump()) {
        if (x.prog != m.prog || x.vers != m.vers) continue;
        if (!m.netid.empty() && x.netid != m.netid) continue;
        bool v6 = x.netid.size() == 4 && x.netid[3] == '6';
        bool tcp = x.netid.rfind("tcp", 0) == 0;
        e.Bool(true);
        e.String(x.uaddr);
        e.String(x.netid);
        e.U32(tcp ? 3 : 1);  // NC_TPI_COTS_ORD : NC_TPI_CLTS
        e.String(v6 ? "inet6" : "inet");
        e.String(tcp ? "tcp" : "udp");
      }
      e.Bool(false);
      return {};
    }
  }
  return {AcceptStat::kProcUnavail};
}

Status RegisterWithRpcbind(const Peer& rpcbind,
                           const std::vector<Mapping>& mappings) {
  CallOptions o;
  o.timeout = std::chrono::milliseconds(500);
  // Replace stale registrations (e.g. from a crashed earlier run) first:
  // PMAP UNSET drops every transport of a program version, so all UNSETs
  // must precede the SETs.
  UnregisterWithRpcbind(rpcbind, mappings);
  for (const Mapping& m : mappings) {
    uint32_t prot = ProtoOf(m.netid);
    Peer p;
    if (prot == 0 || !ParseUaddr(m.uaddr, &p)) continue;
    std::string args;
    XdrEncoder e(&args);
    e.U32(m.prog);
    e.U32(m.vers);
    e.U32(prot);
    e.U32(p.port);
    Result<std::string> r =
        Call(rpcbind, kPortmapProgram, 2, kPmapSet, args, o);
    if (!r.ok()) return r.status();
    XdrDecoder d(*r);
    if (!d.Bool() || !d.ok()) {
      return Status::Error(EADDRINUSE,
                           "rpcbind refused to register program " +
                               std::to_string(m.prog) + " version " +
                               std::to_string(m.vers) + " on " + m.netid);
    }
  }
  return Status::Ok();
}

void UnregisterWithRpcbind(const Peer& rpcbind,
                           const std::vector<Mapping>& mappings) {
  std::vector<std::pair<uint32_t, uint32_t>> done;
  for (const Mapping& m : mappings) {
    std::pair<uint32_t, uint32_t> pv(m.prog, m.vers);
    if (std::find(done.begin(), done.end(), pv) != done.end()) continue;
    done.push_back(pv);
    std::string args;
    XdrEncoder e(&args);
    e.U32(m.prog);
    e.U32(m.vers);
    e.U32(ProtoOf(m.netid));
    e.U32(0);
    CallOptions o;
    o.timeout = std::chrono::milliseconds(300);
    o.attempts = 1;
    (void)Call(rpcbind, kPortmapProgram, 2, kPmapUnset, args, o);
  }
}

Result<uint16_t> PmapGetPort(const Peer& host, uint32_t prog, uint32_t vers,
                             Transport t, int attempts) {
  std::string args;
  XdrEncoder e(&args);
  e.U32(prog);
  e.U32(vers);
  e.U32(t == Transport::kTcp ? kIpProtoTcp : kIpProtoUdp);
  e.U32(0);
  CallOptions o;
  o.timeout = std::chrono::milliseconds(1000);
  o.attempts = attempts;
  CFS_ASSIGN_OR_RETURN(std::string r,
                       Call(host, kPortmapProgram, 2, kPmapGetport, args, o));
  XdrDecoder d(r);
  uint32_t port = d.U32();
  if (!d.ok() || port == 0 || port > 0xffff) {
    return Status::Error(ECONNREFUSED, "program " + std::to_string(prog) +
                                           " is not registered at " +
                                           host.AddressString());
  }
  return static_cast<uint16_t>(port);
}

bool RpcbindAnswers(const Peer& rpcbind) {
  CallOptions o;
  o.timeout = std::chrono::milliseconds(300);
  o.attempts = 2;
  return Call(rpcbind, kPortmapProgram, 2, kPmapNull, {}, o).ok();
}

}  // namespace concordfs::rpc
