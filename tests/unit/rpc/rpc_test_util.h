// Helpers shared by the rpc/ unit tests: a hand-written big-endian/XDR
// writer (independent of rpc/xdr.h, so the code under test does not check
// itself), a builder for raw RPC call messages, and a reader that splits a
// reply into 32-bit words for exact layout checks (RFC 5531).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace concordfs::rpc::testing {

// Appends XDR items to a string by hand.
class Wire {
 public:
  Wire& U32(uint32_t v) {
    for (int i = 0; i < 4; ++i)
      s_.push_back(static_cast<char>(v >> (24 - 8 * i)));
    return *this;
  }
  Wire& U64(uint64_t v) {
    U32(static_cast<uint32_t>(v >> 32));
    return U32(static_cast<uint32_t>(v));
  }
  Wire& Raw(std::string_view b) {
    s_.append(b);
    return *this;
  }
  // opaque<> / string<>: length, bytes, zero padding to a multiple of 4.
  Wire& Opaque(std::string_view b) {
    U32(static_cast<uint32_t>(b.size()));
    s_.append(b);
    s_.append((4 - b.size() % 4) % 4, '\0');
    return *this;
  }
  Wire& Fixed(std::string_view b) {
    s_.append(b);
    s_.append((4 - b.size() % 4) % 4, '\0');
    return *this;
  }
  const std::string& str() const { return s_; }
  operator std::string() const { return s_; }  // NOLINT: convenience

 private:
  std::string s_;
};

// An AUTH_SYS credential body (RFC 5531 appendix A).
inline std::string AuthSysBody(uint32_t stamp, std::string_view machine,
                               uint32_t uid, uint32_t gid,
                               const std::vector<uint32_t>& gids) {
  Wire w;
  w.U32(stamp).Opaque(machine).U32(uid).U32(gid);
  w.U32(static_cast<uint32_t>(gids.size()));
  for (uint32_t g : gids) w.U32(g);
  return w;
}

// The fields of a call message, every one settable to a bad value.
struct CallSpec {
  uint32_t xid = 0x01020304;
  uint32_t mtype = 0;  // CALL
  uint32_t rpcvers = 2;
  uint32_t prog = 0;
  uint32_t vers = 0;
  uint32_t proc = 0;
  uint32_t cred_flavor = 0;
  std::string cred;
  uint32_t verf_flavor = 0;
  std::string verf;
  std::string args;
};

inline std::string CallBytes(const CallSpec& c) {
  Wire w;
  w.U32(c.xid).U32(c.mtype).U32(c.rpcvers).U32(c.prog).U32(c.vers).U32(c.proc);
  w.U32(c.cred_flavor).Opaque(c.cred);
  w.U32(c.verf_flavor).Opaque(c.verf);
  w.Raw(c.args);
  return w;
}

inline std::string Call(uint32_t xid, uint32_t prog, uint32_t vers,
                        uint32_t proc, std::string args = {}) {
  CallSpec c;
  c.xid = xid;
  c.prog = prog;
  c.vers = vers;
  c.proc = proc;
  c.args = std::move(args);
  return CallBytes(c);
}

// The message split into big-endian words (the size must be a multiple of
// 4; a trailing partial word is ignored, so compare sizes too).
inline std::vector<uint32_t> Words(std::string_view s) {
  std::vector<uint32_t> w;
  for (size_t i = 0; i + 4 <= s.size(); i += 4) {
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) v = (v << 8) | static_cast<uint8_t>(s[i + k]);
    w.push_back(v);
  }
  return w;
}

// Reads XDR items from a reply by hand (from its own copy of the bytes).
class Reader {
 public:
  explicit Reader(std::string_view s) : buf_(s), s_(buf_) {}
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;
  uint32_t U32() {
    if (s_.size() < 4) {
      bad_ = true;
      s_ = {};
      return 0;
    }
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) v = (v << 8) | static_cast<uint8_t>(s_[k]);
    s_.remove_prefix(4);
    return v;
  }
  uint64_t U64() {
    uint64_t hi = U32();
    return (hi << 32) | U32();
  }
  std::string Opaque() {
    uint32_t n = U32();
    size_t padded = static_cast<size_t>(n) + (4 - n % 4) % 4;
    if (bad_ || s_.size() < padded) {
      bad_ = true;
      s_ = {};
      return {};
    }
    std::string v(s_.substr(0, n));
    s_.remove_prefix(padded);
    return v;
  }
  bool bad() const { return bad_; }
  bool done() const { return !bad_ && s_.empty(); }
  size_t remaining() const { return s_.size(); }

 private:
  std::string buf_;
  std::string_view s_;
  bool bad_ = false;
};

}  // namespace concordfs::rpc::testing
