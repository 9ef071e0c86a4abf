// Big-endian fixed-width encoding and a bounds-checked reader.
//
// Big-endian so that LevelDB's bytewise key order is numeric order, and the
// same helpers serve XDR (which is big-endian) later. Encoders append to a
// std::string; Decoder consumes a byte view and records the first underflow
// instead of reading past the end, so a truncated record never crashes.
// Pure functions and value types; thread-compatible.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace concordfs {

inline void PutU8(std::string* dst, uint8_t v) {
  dst->push_back(static_cast<char>(v));
}
inline void PutU16(std::string* dst, uint16_t v) {
  char b[2] = {static_cast<char>(v >> 8), static_cast<char>(v)};
  dst->append(b, 2);
}
inline void PutU32(std::string* dst, uint32_t v) {
  char b[4];
  for (int i = 0; i < 4; ++i) b[i] = static_cast<char>(v >> (24 - 8 * i));
  dst->append(b, 4);
}
inline void PutU64(std::string* dst, uint64_t v) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>(v >> (56 - 8 * i));
  dst->append(b, 8);
}
inline void PutI64(std::string* dst, int64_t v) {
  PutU64(dst, static_cast<uint64_t>(v));
}
// A 32-bit length followed by the bytes.
inline void PutBytes(std::string* dst, std::string_view v) {
  PutU32(dst, static_cast<uint32_t>(v.size()));
  dst->append(v);
}

inline uint64_t LoadU64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}
inline uint32_t LoadU32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

// Reads big-endian values from a byte view. After any read past the end,
// ok() is false and every further read returns zero / empty.
class Decoder {
 public:
  explicit Decoder(std::string_view in) : in_(in) {}

  uint8_t U8() {
    if (!Need(1)) return 0;
    uint8_t v = static_cast<uint8_t>(in_[0]);
    in_.remove_prefix(1);
    return v;
  }
  uint16_t U16() {
    if (!Need(2)) return 0;
    uint16_t v = static_cast<uint16_t>((static_cast<uint8_t>(in_[0]) << 8) |
                                       static_cast<uint8_t>(in_[1]));
    in_.remove_prefix(2);
    return v;
  }
  uint32_t U32() {
    if (!Need(4)) return 0;
    uint32_t v = LoadU32(in_.data());
    in_.remove_prefix(4);
    return v;
  }
  uint64_t U64() {
    if (!Need(8)) return 0;
    uint64_t v = LoadU64(in_.data());
    in_.remove_prefix(8);
    return v;
  }
  int64_t I64() { return static_cast<int64_t>(U64()); }
  std::string_view Raw(size_t n) {
    if (!Need(n)) return {};
    std::string_view v = in_.substr(0, n);
    in_.remove_prefix(n);
    return v;
  }
  // A 32-bit length followed by that many bytes.
  std::string_view Bytes() {
    uint32_t n = U32();
    return Raw(n);
  }
  std::string_view Rest() {
    std::string_view v = in_;
    in_ = {};
    return v;
  }

  bool ok() const { return ok_; }
  bool done() const { return ok_ && in_.empty(); }
  size_t remaining() const { return in_.size(); }

 private:
  bool Need(size_t n) {
    if (!ok_ || in_.size() < n) {
      ok_ = false;
      in_ = {};
      return false;
    }
    return true;
  }
  std::string_view in_;
  bool ok_ = true;
};

}  // namespace concordfs
