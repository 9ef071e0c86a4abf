#include "rpc/program.h"

#include <arpa/inet.h>

#include <chrono>
#include <cstring>
#include <optional>

#include "metrics/metrics.h"
#include "util/coding.h"

namespace concordfs::rpc {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// FNV-1a over the arguments: a retransmission carries the same bytes; a
// new call that happens to reuse an xid almost never does.
uint64_t HashBytes(std::string_view s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

}  // namespace

Peer Peer::V4(uint32_t a, uint16_t port) {
  Peer p;
  p.family = AF_INET;
  p.addr[0] = static_cast<uint8_t>(a >> 24);
  p.addr[1] = static_cast<uint8_t>(a >> 16);
  p.addr[2] = static_cast<uint8_t>(a >> 8);
  p.addr[3] = static_cast<uint8_t>(a);
  p.port = port;
  return p;
}

bool Peer::Parse(std::string_view text, uint16_t port, Peer* out) {
  std::string t(text);
  Peer p;
  p.port = port;
  if (inet_pton(AF_INET, t.c_str(), p.addr) == 1) {
    p.family = AF_INET;
  } else if (inet_pton(AF_INET6, t.c_str(), p.addr) == 1) {
    p.family = AF_INET6;
  } else {
    return false;
  }
  *out = p.Unmapped();
  return true;
}

Peer Peer::Unmapped() const {
  static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (family != AF_INET6 || std::memcmp(addr, kMapped, 12) != 0) return *this;
  Peer p;
  p.family = AF_INET;
  std::memcpy(p.addr, addr + 12, 4);
  p.port = port;
  return p;
}

bool Peer::IsLoopback() const {
  Peer u = Unmapped();
  if (u.family == AF_INET) return u.addr[0] == 127;
  static const uint8_t kV6Loopback[16] = {0, 0, 0, 0, 0, 0, 0, 0,
                                          0, 0, 0, 0, 0, 0, 0, 1};
  return std::memcmp(u.addr, kV6Loopback, 16) == 0;
}

bool Peer::SameAddress(const Peer& o) const {
  Peer a = Unmapped(), b = o.Unmapped();
  if (a.family != b.family) return false;
  return std::memcmp(a.addr, b.addr, a.family == AF_INET ? 4 : 16) == 0;
}

std::string Peer::AddressString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(family, addr, buf, sizeof(buf));
  return buf;
}

std::string Peer::ToString() const {
  if (family == AF_INET6) {
    return "[" + AddressString() + "]:" + std::to_string(port);
  }
  return AddressString() + ":" + std::to_string(port);
}

size_t Dispatcher::DrcKeyHash::operator()(const DrcKey& k) const {
  uint64_t h = k.args_hash ^ (static_cast<uint64_t>(k.xid) << 32);
  h ^= (static_cast<uint64_t>(k.prog) << 20) ^ (k.vers << 8) ^ k.proc;
  h ^= HashBytes(std::string_view(reinterpret_cast<const char*>(k.addr), 16));
  return static_cast<size_t>(h);
}

namespace {
// The programs whose calls are counted and timed (not portmap/rpcbind,
// whose procedure numbers mean different things per version).
std::optional<metrics::Protocol> MetricsProtocol(uint32_t prog) {
  switch (prog) {
    case 100003:
      return metrics::Protocol::kNfs;
    case 100005:
      return metrics::Protocol::kMount;
    case 100021:
      return metrics::Protocol::kNlm;
    case 100024:
      return metrics::Protocol::kNsm;
    default:
      return std::nullopt;
  }
}
}  // namespace

Dispatcher::Dispatcher(DispatcherOptions opts) : opts_(opts) {}
Dispatcher::~Dispatcher() = default;

void Dispatcher::Register(RpcProgram* program) {
  programs_[program->program()] = program;
}

RpcProgram* Dispatcher::Find(uint32_t prog) const {
  auto it = programs_.find(prog);
  return it == programs_.end() ? nullptr : it->second;
}

bool Dispatcher::IsQuick(std::string_view record) const {
  // xid, mtype, rpcvers, prog, vers, proc: the first six words.
  if (record.size() < 24) return true;
  RpcProgram* prog = Find(LoadU32(record.data() + 12));
  if (prog == nullptr) return true;
  return prog->Quick(LoadU32(record.data() + 16), LoadU32(record.data() + 20));
}

Dispatcher::Counters Dispatcher::counters() const {
  Counters c;
  c.calls = calls_.load(std::memory_order_relaxed);
  c.drc_hits = drc_hits_.load(std::memory_order_relaxed);
  c.drc_drops = drc_drops_.load(std::memory_order_relaxed);
  c.rejected = rejected_.load(std::memory_order_relaxed);
  return c;
}

Dispatcher::Outcome Dispatcher::Dispatch(std::string_view record,
                                         const Peer& peer, Transport transport,
                                         std::string* reply, ReplyTail* tail) {
  calls_.fetch_add(1, std::memory_order_relaxed);
  ParsedCall pc = ParseCall(record);
  const CallHeader& h = pc.header;
  switch (pc.kind) {
    case ParsedCall::Kind::kDrop:
      rejected_.fetch_add(1, std::memory_order_relaxed);
      return Outcome::kClose;
    case ParsedCall::Kind::kRpcMismatch:
      rejected_.fetch_add(1, std::memory_order_relaxed);
      AppendRpcMismatch(reply, h.xid);
      return Outcome::kReply;
    case ParsedCall::Kind::kAuthError:
      rejected_.fetch_add(1, std::memory_order_relaxed);
      AppendAuthError(reply, h.xid, pc.auth);
      return Outcome::kReply;
    case ParsedCall::Kind::kGarbage:
      rejected_.fetch_add(1, std::memory_order_relaxed);
      AppendAcceptedHeader(reply, h.xid, AcceptStat::kGarbageArgs);
      return Outcome::kReply;
    case ParsedCall::Kind::kCall:
      break;
  }
  RpcProgram* prog = Find(h.prog);
  if (prog == nullptr) {
    rejected_.fetch_add(1, std::memory_order_relaxed);
    AppendAcceptedHeader(reply, h.xid, AcceptStat::kProgUnavail);
    return Outcome::kReply;
  }
  if (h.vers < prog->min_version() || h.vers > prog->max_version()) {
    rejected_.fetch_add(1, std::memory_order_relaxed);
    AppendProgMismatch(reply, h.xid, prog->min_version(), prog->max_version());
    return Outcome::kReply;
  }

  const size_t headroom = reply->size();
  bool cached = prog->NonIdempotent(h.vers, h.proc);
  DrcKey key{};
  DrcEntry* mine = nullptr;  // this call's cache entry
  if (cached) {
    key.xid = h.xid;
    key.prog = h.prog;
    key.vers = h.vers;
    key.proc = h.proc;
    Peer p = peer.Unmapped();
    std::memcpy(key.addr, p.addr, 16);
    key.args_hash = HashBytes(h.args);
    std::lock_guard<std::mutex> lk(mu_);
    auto it = drc_.find(key);
    if (it != drc_.end()) {
      if (!it->second.done) {
        drc_drops_.fetch_add(1, std::memory_order_relaxed);
        return Outcome::kNone;
      }
      drc_hits_.fetch_add(1, std::memory_order_relaxed);
      reply->append(it->second.reply);
      return Outcome::kReply;
    }
    // Evict the oldest finished entries beyond the size or age limit. An
    // order slot whose entry is gone or was replaced since is dropped; a
    // call still running is never evicted (the table may then exceed its
    // size until it finishes).
    int64_t now = NowMs();
    while (!drc_order_.empty()) {
      const auto& [okey, oseq] = drc_order_.front();
      auto old = drc_.find(okey);
      if (old == drc_.end() || old->second.seq != oseq) {
        drc_order_.pop_front();
        continue;
      }
      if (!old->second.done) break;
      bool expire = drc_.size() >= opts_.drc_entries ||
                    now - old->second.at_ms > opts_.drc_max_age_ms;
      if (!expire) break;
      drc_.erase(old);
      drc_order_.pop_front();
    }
    uint64_t seq = ++drc_seq_;
    // Elements of an unordered_map keep their address until erased, and an
    // entry still running is erased by no one else (eviction skips it, a
    // retransmission finds it and is dropped): no second lookup at the end.
    mine = &drc_.emplace(key, DrcEntry{false, {}, now, seq}).first->second;
    drc_order_.emplace_back(key, seq);
  }

  // Cached replies must be self-contained: no tail for those calls.
  CallContext ctx{h, peer, transport, cached ? nullptr : tail};
  XdrDecoder args(h.args);
  AppendAcceptedHeader(reply, h.xid, AcceptStat::kSuccess);
  std::optional<metrics::OpTimer> timer;
  if (std::optional<metrics::Protocol> mp = MetricsProtocol(h.prog)) {
    timer.emplace(*mp, h.proc);
  }
  HandlerResult r = prog->Call(ctx, args, reply);
  timer.reset();
  if (r.reply && r.stat != AcceptStat::kSuccess) {
    rejected_.fetch_add(1, std::memory_order_relaxed);
    if (tail != nullptr) *tail = ReplyTail{};
    reply->resize(headroom);
    AppendAcceptedHeader(reply, h.xid, r.stat);
  }
  if (cached) {
    std::lock_guard<std::mutex> lk(mu_);
    if (r.reply) {
      mine->done = true;
      mine->reply.assign(*reply, headroom);
      mine->at_ms = NowMs();
    } else {
      drc_.erase(key);
    }
  }
  if (!r.reply) {
    if (tail != nullptr) *tail = ReplyTail{};
    reply->resize(headroom);
    return Outcome::kNone;
  }
  return Outcome::kReply;
}

}  // namespace concordfs::rpc
