// NDR (the DCE 1.1 transfer syntax, little-endian data representation): the
// small subset the srvsvc stubs need. Integers are aligned to their size from
// the start of the stub; unique pointers are a 4-byte referent id (0 = null)
// whose pointee follows later (the caller writes pointees in NDR's deferred
// order); `[string] wchar_t*` is a conformant varying string (max count,
// offset, actual count, then UTF-16LE code units including the NUL).
//
// The reader never reads past its input, never allocates from a count it has
// not checked against the bytes actually present, and records the first error
// (callers check ok() once, as with LeReader).
//
// NdrWriter appends to a caller-owned std::string; NdrReader borrows its
// input. Both are thread-compatible value types.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "smb/wire/le.h"

namespace concordfs::smb::dcerpc {

class NdrWriter {
 public:
  // `out` must be empty or hold stub bytes written by an earlier NdrWriter,
  // since alignment is measured from its start.
  explicit NdrWriter(std::string* out) : w_(out) {}

  void U16(uint16_t v) {
    w_.Align(2);
    w_.U16(v);
  }
  void U32(uint32_t v) {
    w_.Align(4);
    w_.U32(v);
  }
  // A unique pointer: a fresh non-zero referent id, or 0 when absent.
  void Pointer(bool present);
  // The pointee of a `[string] wchar_t*`: conformant varying UTF-16 string
  // with its terminating NUL.
  void String(std::string_view utf8);
  size_t size() const { return w_.size(); }

 private:
  LeWriter w_;
  uint32_t next_referent_ = 0x00020000;
};

class NdrReader {
 public:
  // Longest string (in UTF-16 code units, NUL included) String() accepts;
  // server and share names are far shorter.
  static constexpr uint32_t kMaxStringUnits = 4096;

  explicit NdrReader(std::string_view stub) : r_(stub) {}

  uint16_t U16() {
    r_.Align(2);
    return r_.U16();
  }
  uint32_t U32() {
    r_.Align(4);
    return r_.U32();
  }
  // A unique pointer's referent id; true when non-null.
  bool Pointer() { return U32() != 0; }
  // A conformant varying UTF-16 string as UTF-8, without the terminating
  // NUL. Fails on a non-zero offset, actual > max, more than
  // kMaxStringUnits, too few bytes, or invalid UTF-16.
  std::string String();

  bool ok() const { return r_.ok(); }
  void Fail() { r_.Fail(); }
  size_t remaining() const { return r_.remaining(); }

 private:
  LeReader r_;
};

}  // namespace concordfs::smb::dcerpc
