// The small part of DER (X.690) that SPNEGO needs: reading tag-length-value
// elements with single-byte tags and definite lengths, and writing them.
//
// DerReader borrows its input and never reads past it; any malformation
// (truncation, indefinite or oversized length, multi-byte tag) makes ok()
// false and Next() return nullopt. Non-minimal length encodings, which some
// BER-speaking clients send, are accepted. Thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace concordfs::smb {

inline constexpr uint8_t kDerInteger = 0x02;
inline constexpr uint8_t kDerBitString = 0x03;
inline constexpr uint8_t kDerOctetString = 0x04;
inline constexpr uint8_t kDerOid = 0x06;
inline constexpr uint8_t kDerEnumerated = 0x0a;
inline constexpr uint8_t kDerGeneralString = 0x1b;
inline constexpr uint8_t kDerSequence = 0x30;
// [APPLICATION 0], constructed: the GSS-API InitialContextToken.
inline constexpr uint8_t kDerApplication0 = 0x60;
// [n], context-specific, constructed.
constexpr uint8_t DerContext(int n) { return static_cast<uint8_t>(0xa0 + n); }

struct DerElement {
  uint8_t tag = 0;
  std::string_view content;
  std::string_view whole;  // tag, length and content as they appeared
};

class DerReader {
 public:
  explicit DerReader(std::string_view in) : in_(in) {}
  // Borrowing from a temporary would dangle.
  explicit DerReader(std::string&&) = delete;

  // The next element, or nullopt at the end or on malformed input.
  std::optional<DerElement> Next();
  // The next element if it has `tag`; otherwise nullopt and !ok().
  std::optional<DerElement> Expect(uint8_t tag);
  bool at_end() const { return pos_ == in_.size(); }
  bool ok() const { return ok_; }

 private:
  std::string_view in_;
  size_t pos_ = 0;
  bool ok_ = true;
};

// tag || length || content.
std::string DerEncode(uint8_t tag, std::string_view content);

}  // namespace concordfs::smb
