// Little-endian encoding for SMB2, NTLMSSP and DCE/RPC (NDR) messages: an
// appending writer with back-patching, and a bounds-checked reader that
// records the first out-of-range access instead of reading past the end (so
// a truncated frame never crashes a decoder; callers check ok() once).
//
// Value types over borrowed bytes (the reader) or an owned std::string (the
// writer); thread-compatible.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace concordfs::smb {

class LeWriter {
 public:
  LeWriter() = default;
  explicit LeWriter(std::string* out) : out_(out) {}

  void U8(uint8_t v) { out_->push_back(static_cast<char>(v)); }
  void U16(uint16_t v) { Le(v, 2); }
  void U32(uint32_t v) { Le(v, 4); }
  void U64(uint64_t v) { Le(v, 8); }
  void Bytes(std::string_view b) { out_->append(b); }
  void Zeros(size_t n) { out_->append(n, '\0'); }
  // Pads with zeros to a multiple of `align` (measured from the buffer start).
  void Align(size_t align) {
    size_t r = out_->size() % align;
    if (r) Zeros(align - r);
  }
  size_t size() const { return out_->size(); }
  // Overwrites bytes already written (offsets and lengths filled in later).
  void PatchU16(size_t at, uint16_t v) { Patch(at, v, 2); }
  void PatchU32(size_t at, uint32_t v) { Patch(at, v, 4); }
  void PatchU64(size_t at, uint64_t v) { Patch(at, v, 8); }
  std::string* str() { return out_; }

 private:
  void Le(uint64_t v, int n) {
    char b[8];
    for (int i = 0; i < n; ++i) b[i] = static_cast<char>(v >> (8 * i));
    out_->append(b, n);
  }
  void Patch(size_t at, uint64_t v, int n) {
    if (at + n > out_->size()) return;
    for (int i = 0; i < n; ++i)
      (*out_)[at + i] = static_cast<char>(v >> (8 * i));
  }
  std::string own_;
  std::string* out_ = &own_;
};

class LeReader {
 public:
  LeReader() = default;
  explicit LeReader(std::string_view in) : in_(in) {}

  uint8_t U8() { return static_cast<uint8_t>(Le(1)); }
  uint16_t U16() { return static_cast<uint16_t>(Le(2)); }
  uint32_t U32() { return static_cast<uint32_t>(Le(4)); }
  uint64_t U64() { return Le(8); }
  std::string_view Bytes(size_t n) {
    if (!Need(n)) return {};
    std::string_view v = in_.substr(pos_, n);
    pos_ += n;
    return v;
  }
  void Skip(size_t n) {
    if (Need(n)) pos_ += n;
  }
  // Moves to an absolute offset (<= size).
  void Seek(size_t at) {
    if (at > in_.size()) {
      ok_ = false;
      pos_ = in_.size();
    } else {
      pos_ = at;
    }
  }
  // Aligns the position to `align` (from the start of the input).
  void Align(size_t align) {
    size_t r = pos_ % align;
    if (r) Skip(align - r);
  }
  // The `len` bytes at absolute `offset`, or failure if out of range.
  std::string_view At(size_t offset, size_t len) {
    if (offset > in_.size() || len > in_.size() - offset) {
      ok_ = false;
      return {};
    }
    return in_.substr(offset, len);
  }
  bool ok() const { return ok_; }
  void Fail() { ok_ = false; }
  size_t pos() const { return pos_; }
  size_t remaining() const { return in_.size() - pos_; }
  std::string_view data() const { return in_; }

 private:
  bool Need(size_t n) {
    if (!ok_ || n > in_.size() - pos_) {
      ok_ = false;
      return false;
    }
    return true;
  }
  uint64_t Le(int n) {
    if (!Need(n)) return 0;
    uint64_t v = 0;
    for (int i = 0; i < n; ++i)
      v |= static_cast<uint64_t>(static_cast<uint8_t>(in_[pos_ + i]))
           << (8 * i);
    pos_ += n;
    return v;
  }
  std::string_view in_;
  size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace concordfs::smb
