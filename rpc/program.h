// RpcProgram and Dispatcher: how an ONC RPC program (portmap, MOUNT, NFS,
// later NLM/NSM) plugs into the runtime, independent of sockets.
//
// A program answers calls for one program number and a range of versions.
// The Dispatcher turns one received record into the reply record: it parses
// the call header, rejects what no program serves (PROG_UNAVAIL,
// PROG_MISMATCH with the served range, RPC_MISMATCH, AUTH_ERROR), runs the
// program, and keeps the duplicate-request cache for procedures a program
// marks non-idempotent (a retransmitted CREATE is answered from the cache,
// not applied twice; a retransmission of a call still running is dropped).
//
// Thread safety: Dispatch may be called from many threads at once; programs
// must be thread-safe. Programs are registered before serving starts and
// are borrowed (they outlive the Dispatcher).
#pragma once

#include <netinet/in.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "rpc/rpc_msg.h"
#include "rpc/xdr.h"

namespace concordfs::rpc {

enum class Transport : uint8_t { kTcp, kUdp };

// The address a call came from (IPv4 or IPv6, with port).
struct Peer {
  int family = AF_INET;   // AF_INET or AF_INET6
  uint8_t addr[16] = {};  // IPv4 in the first 4 bytes
  uint16_t port = 0;

  static Peer V4(uint32_t host_order_addr, uint16_t port);
  static Peer Loopback(uint16_t port = 0) { return V4(0x7f000001, port); }
  // Parses a numeric IPv4 or IPv6 address; false if it is neither.
  static bool Parse(std::string_view text, uint16_t port, Peer* out);
  // IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) become plain IPv4.
  Peer Unmapped() const;
  bool SameAddress(const Peer& o) const;
  // 127.0.0.0/8 or ::1 (also IPv4-mapped).
  bool IsLoopback() const;
  std::string AddressString() const;  // "127.0.0.1", "::1"
  std::string ToString() const;       // "127.0.0.1:811", "[::1]:811"
};

// Bulk data a procedure returns (READ's bytes): sent after the XDR results
// instead of being copied into the reply buffer. Either `data` (the bytes
// and their XDR padding, sent by a gather write), or `file_len` bytes of the
// open descriptor `fd` at `file_off`, sent by sendfile(2) straight from the
// page cache, followed by the `size` bytes of `data` (the padding). `file`
// keeps the descriptor open until the bytes are out; bytes the file no
// longer holds when they are sent (truncated meanwhile) go out as zeros.
struct ReplyTail {
  std::unique_ptr<char[]> data;
  size_t size = 0;  // bytes of `data` to send
  std::shared_ptr<const void> file;
  int fd = -1;
  uint64_t file_off = 0;
  size_t file_len = 0;
  bool file_short = false;  // set by the sender: the rest goes as zeros
  size_t total() const { return file_len + size; }
};

struct CallContext {
  const CallHeader& header;
  Peer peer;
  Transport transport;
  // Where a procedure may put bulk data (nullptr: append it to the reply).
  ReplyTail* tail = nullptr;
};

// A handler's answer: an accept_stat to send, or no reply at all (one-way
// procedures such as NLM's _MSG calls).
struct HandlerResult {
  AcceptStat stat = AcceptStat::kSuccess;
  bool reply = true;
  static HandlerResult NoReply() { return {AcceptStat::kSuccess, false}; }
};

class RpcProgram {
 public:
  virtual ~RpcProgram() = default;
  virtual uint32_t program() const = 0;
  virtual uint32_t min_version() const = 0;
  virtual uint32_t max_version() const = 0;
  virtual const char* name() const = 0;
  // Runs `ctx.header.proc` of version `ctx.header.vers` (in range). Appends
  // the results to `out` when it returns kSuccess; `out` is discarded
  // otherwise. Unknown procedures return kProcUnavail, undecodable
  // arguments kGarbageArgs.
  virtual HandlerResult Call(const CallContext& ctx, XdrDecoder& args,
                             std::string* out) = 0;
  // True for procedures that must not be applied twice (their replies are
  // cached for retransmissions).
  virtual bool NonIdempotent(uint32_t vers, uint32_t proc) const {
    (void)vers;
    (void)proc;
    return false;
  }
  // True for procedures that never block (no disk sync, bounded work): the
  // server runs them on the connection's own thread, saving two thread
  // hand-offs per call. Everything else runs on the pool, concurrently.
  virtual bool Quick(uint32_t vers, uint32_t proc) const {
    (void)vers;
    (void)proc;
    return false;
  }
};

struct DispatcherOptions {
  size_t drc_entries = 4096;  // replies kept for retransmissions
  int64_t drc_max_age_ms = 120000;
};

class Dispatcher {
 public:
  explicit Dispatcher(DispatcherOptions opts = {});
  ~Dispatcher();
  void Register(RpcProgram* program);
  RpcProgram* Find(uint32_t prog) const;

  enum class Outcome {
    kReply,  // `reply` holds a reply message (after its headroom)
    kNone,   // send nothing (one-way call, or a retransmission in progress)
    kClose,  // not an RPC call: drop it (close a TCP connection)
  };
  // Handles one record. `reply` must arrive empty or holding only headroom
  // bytes (e.g. 4 for the TCP record mark); the reply is appended.
  // With `tail`, a procedure may return bulk data there (sent after
  // `reply`); it is empty unless the outcome is kReply.
  Outcome Dispatch(std::string_view record, const Peer& peer,
                   Transport transport, std::string* reply,
                   ReplyTail* tail = nullptr);

  // Whether the call in `record` may run inline (see RpcProgram::Quick).
  // Looks at the header only; malformed records are "quick" (they are
  // answered with an error at once).
  bool IsQuick(std::string_view record) const;

  struct Counters {
    uint64_t calls = 0;
    uint64_t drc_hits = 0;
    uint64_t drc_drops = 0;  // retransmissions dropped while in progress
    uint64_t rejected = 0;   // RPC_MISMATCH, AUTH_ERROR, PROG/PROC errors
  };
  Counters counters() const;

 private:
  struct DrcKey {
    uint32_t xid, prog, vers, proc;
    uint8_t addr[16];
    uint64_t args_hash;
    bool operator==(const DrcKey&) const = default;
  };
  struct DrcKeyHash {
    size_t operator()(const DrcKey& k) const;
  };
  struct DrcEntry {
    bool done = false;
    std::string reply;  // without headroom
    int64_t at_ms = 0;
    uint64_t seq = 0;  // which drc_order_ slot owns it
  };

  DispatcherOptions opts_;
  std::map<uint32_t, RpcProgram*> programs_;

  std::atomic<uint64_t> calls_{0}, drc_hits_{0}, drc_drops_{0}, rejected_{0};
  // The cache is consulted only for non-idempotent calls.
  mutable std::mutex mu_;  // guards drc_, drc_order_
  std::unordered_map<DrcKey, DrcEntry, DrcKeyHash> drc_;
  std::deque<std::pair<DrcKey, uint64_t>> drc_order_;  // oldest first
  uint64_t drc_seq_ = 0;
};

}  // namespace concordfs::rpc
