// RpcClient: outbound ONC RPC calls (portmapper registration, and the NLM
// GRANTED / NSM SM_NOTIFY callbacks later) with timeouts and retries.
//
// Call() is synchronous: it blocks the calling thread (never a pool thread
// of an RpcServer; use a worker) for at most `timeout` per attempt. UDP
// calls are retransmitted with the same xid; TCP calls connect, send one
// record and read one reply record. Replies are matched by xid. Stateless
// apart from an xid counter: thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "rpc/program.h"
#include "util/status.h"

namespace concordfs::rpc {

struct CallOptions {
  Transport transport = Transport::kUdp;
  std::chrono::milliseconds timeout{1000};  // per attempt
  int attempts = 3;
  const AuthSys* cred = nullptr;  // nullptr: AUTH_NONE
  // Bind the source port below 1024 (some servers require it; needs root).
  bool reserved_port = false;
};

// Calls `prog`/`vers`/`proc` at `to` (address and port) with XDR-encoded
// `args`; returns the XDR results. Errors: ETIMEDOUT (no answer),
// ECONNREFUSED, EPROTO (a rejected or malformed reply; the message says
// which, e.g. "PROG_UNAVAIL").
Result<std::string> Call(const Peer& to, uint32_t prog, uint32_t vers,
                         uint32_t proc, std::string_view args,
                         const CallOptions& opts = {});

}  // namespace concordfs::rpc
