// The portmapper (program 100000): PMAP version 2 and RPCBIND versions 3
// and 4, embedded in the daemon, plus registration with a system rpcbind.
//
// PortmapProgram serves a PortmapRegistry: which program/version is served
// on which transport and universal address. The daemon registers its own
// programs directly; SET/UNSET calls are accepted only from loopback
// addresses (a remote host may not redirect local services). CALLIT and
// INDIRECT are not served (PROC_UNAVAIL): they forward calls for anyone.
//
// RegisterWithRpcbind / UnregisterWithRpcbind talk to a system rpcbind on
// 127.0.0.1:111 with PMAP SET/UNSET over UDP.
//
// Thread safety: the registry has its own mutex; the program is stateless
// apart from it.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "rpc/program.h"
#include "util/status.h"

namespace concordfs::rpc {

inline constexpr uint32_t kPortmapProgram = 100000;
inline constexpr uint32_t kIpProtoTcp = 6;
inline constexpr uint32_t kIpProtoUdp = 17;

struct Mapping {
  uint32_t prog = 0;
  uint32_t vers = 0;
  std::string netid;  // "tcp", "udp", "tcp6", "udp6"
  std::string uaddr;  // universal address, e.g. "127.0.0.1.8.1"
  std::string owner;  // who registered it (informational)
  bool operator==(const Mapping&) const = default;
};

// "h1.h2.h3.h4.p1.p2" (IPv4) or "x:y::z.p1.p2" (IPv6) for an address+port.
std::string MakeUaddr(const Peer& p);
// The inverse; false when malformed.
bool ParseUaddr(std::string_view uaddr, Peer* out);
// "tcp"/"udp" (+"6" for IPv6) for a transport and address family.
std::string NetId(Transport t, int family);

class PortmapRegistry {
 public:
  // False if the same prog/vers/netid is already registered.
  bool Set(const Mapping& m);
  // Removes prog/vers entries (all netids when `netid` is empty).
  bool Unset(uint32_t prog, uint32_t vers, std::string_view netid);
  // The entry for prog/vers on netid; with `any_version`, another version
  // of prog when `vers` is not registered (the client then learns the
  // served versions from PROG_MISMATCH).
  bool Find(uint32_t prog, uint32_t vers, std::string_view netid,
            bool any_version, Mapping* out) const;
  std::vector<Mapping> Dump() const;

 private:
  mutable std::mutex mu_;
  std::vector<Mapping> entries_;  // GUARDED_BY(mu_)
};

class PortmapProgram : public RpcProgram {
 public:
  explicit PortmapProgram(PortmapRegistry* registry) : reg_(registry) {}
  uint32_t program() const override { return kPortmapProgram; }
  uint32_t min_version() const override { return 2; }
  uint32_t max_version() const override { return 4; }
  const char* name() const override { return "portmap"; }
  HandlerResult Call(const CallContext& ctx, XdrDecoder& args,
                     std::string* out) override;
  bool Quick(uint32_t, uint32_t) const override { return true; }

 private:
  HandlerResult CallV2(const CallContext& ctx, XdrDecoder& args,
                       std::string* out);
  HandlerResult CallV34(const CallContext& ctx, XdrDecoder& args,
                        std::string* out);
  PortmapRegistry* reg_;
};

// Registers each mapping with the rpcbind at `rpcbind` (normally
// 127.0.0.1:111) using PMAP SET (IPv4 netids only; PMAP v2 has no others).
Status RegisterWithRpcbind(const Peer& rpcbind,
                           const std::vector<Mapping>& mappings);
// Best effort: removes prog/vers registrations.
void UnregisterWithRpcbind(const Peer& rpcbind,
                           const std::vector<Mapping>& mappings);
// Asks the portmapper at `host` (PMAP v2 GETPORT) where prog/vers listens
// on transport `t`. ECONNREFUSED when it is not registered.
Result<uint16_t> PmapGetPort(const Peer& host, uint32_t prog, uint32_t vers,
                             Transport t, int attempts = 2);
// True when something answers the portmapper NULL procedure at `rpcbind`.
bool RpcbindAnswers(const Peer& rpcbind);

}  // namespace concordfs::rpc
