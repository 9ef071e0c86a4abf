// XDR (RFC 4506) encoding and decoding: the wire format of every ONC RPC
// program concordfs serves.
//
// XdrDecoder reads from a byte view and never reads past its end: after the
// first malformed or truncated item, ok() is false and every further read
// yields zero/empty, so a handler decodes all its arguments and checks ok()
// once (-> GARBAGE_ARGS). XdrEncoder appends to a std::string. Both are pure
// value types (thread-compatible) and take no locks; they are what the
// fuzzers exercise.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "util/coding.h"

namespace concordfs::rpc {

// Bytes of padding after `n` bytes of opaque data.
inline constexpr size_t XdrPad(size_t n) { return (4 - (n & 3)) & 3; }

class XdrDecoder {
 public:
  explicit XdrDecoder(std::string_view in) : d_(in) {}

  uint32_t U32() { return d_.U32(); }
  int32_t I32() { return static_cast<int32_t>(d_.U32()); }
  uint64_t U64() { return d_.U64(); }
  // XDR bool: 0 or 1; anything else is malformed.
  bool Bool() {
    uint32_t v = d_.U32();
    if (v > 1) Fail();
    return v == 1;
  }
  // Fixed-length opaque[n] (with padding).
  std::string_view Fixed(size_t n) {
    std::string_view v = d_.Raw(n);
    SkipPad(n);
    return v;
  }
  // Variable-length opaque<max> / string<max>. A length above `max` fails.
  std::string_view Opaque(uint32_t max = UINT32_MAX) {
    uint32_t n = d_.U32();
    if (n > max) {
      Fail();
      return {};
    }
    std::string_view v = d_.Raw(n);
    SkipPad(n);
    return v;
  }
  std::string_view String(uint32_t max = UINT32_MAX) { return Opaque(max); }
  // The rest of the input, unparsed (e.g. a procedure's arguments).
  std::string_view Rest() { return d_.Rest(); }

  // Marks the input malformed: every further read yields zero/empty.
  void Fail() {
    failed_ = true;
    d_.Raw(d_.remaining() + 1);  // exhausts the underlying decoder
  }
  bool ok() const { return !failed_ && d_.ok(); }
  size_t remaining() const { return d_.remaining(); }

 private:
  void SkipPad(size_t n) {
    std::string_view pad = d_.Raw(XdrPad(n));
    // RFC 4506: the padding bytes are zero. Being lenient costs nothing.
    (void)pad;
  }
  Decoder d_;
  bool failed_ = false;
};

class XdrEncoder {
 public:
  explicit XdrEncoder(std::string* out) : out_(out) {}

  void U32(uint32_t v) { PutU32(out_, v); }
  void I32(int32_t v) { PutU32(out_, static_cast<uint32_t>(v)); }
  void U64(uint64_t v) { PutU64(out_, v); }
  void Bool(bool v) { PutU32(out_, v ? 1 : 0); }
  void Fixed(std::string_view v) {
    out_->append(v);
    out_->append(XdrPad(v.size()), '\0');
  }
  void Opaque(std::string_view v) {
    PutU32(out_, static_cast<uint32_t>(v.size()));
    Fixed(v);
  }
  void String(std::string_view v) { Opaque(v); }
  // Reserves room for `n` bytes of opaque data (length word written now);
  // returns where the data goes. The caller fills exactly `n` bytes, then
  // calls FinishReserved(n_used) which shrinks and pads.
  size_t ReserveOpaque(size_t n) {
    PutU32(out_, static_cast<uint32_t>(n));
    size_t at = out_->size();
    out_->resize(at + n);
    return at;
  }
  void FinishReserved(size_t at, size_t used) {
    // Rewrite the length word and drop unused room.
    char* len = out_->data() + at - 4;
    for (int i = 0; i < 4; ++i) {
      len[i] = static_cast<char>(static_cast<uint32_t>(used) >> (24 - 8 * i));
    }
    out_->resize(at + used);
    out_->append(XdrPad(used), '\0');
  }

  std::string* out() { return out_; }
  size_t size() const { return out_->size(); }

 private:
  std::string* out_;
};

}  // namespace concordfs::rpc
