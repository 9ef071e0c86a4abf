#include "smb/auth/der.h"

namespace concordfs::smb {

std::optional<DerElement> DerReader::Next() {
  if (!ok_ || at_end()) return std::nullopt;
  size_t start = pos_;
  size_t left = in_.size() - pos_;
  auto byte = [&](size_t i) { return static_cast<uint8_t>(in_[pos_ + i]); };
  if (left < 2 || (byte(0) & 0x1f) == 0x1f) {
    ok_ = false;
    return std::nullopt;
  }
  uint8_t tag = byte(0);
  size_t len = byte(1);
  size_t header = 2;
  if (len & 0x80) {
    size_t n = len & 0x7f;
    // 0x80 is BER's indefinite length; more than 4 length bytes is absurd for
    // a security blob.
    if (n == 0 || n > 4 || left < 2 + n) {
      ok_ = false;
      return std::nullopt;
    }
    len = 0;
    for (size_t i = 0; i < n; ++i) len = (len << 8) | byte(2 + i);
    header += n;
  }
  if (len > left - header) {
    ok_ = false;
    return std::nullopt;
  }
  DerElement e;
  e.tag = tag;
  e.content = in_.substr(pos_ + header, len);
  e.whole = in_.substr(start, header + len);
  pos_ += header + len;
  return e;
}

std::optional<DerElement> DerReader::Expect(uint8_t tag) {
  std::optional<DerElement> e = Next();
  if (!e || e->tag != tag) {
    ok_ = false;
    return std::nullopt;
  }
  return e;
}

std::string DerEncode(uint8_t tag, std::string_view content) {
  std::string out;
  out.push_back(static_cast<char>(tag));
  size_t len = content.size();
  if (len < 0x80) {
    out.push_back(static_cast<char>(len));
  } else {
    char bytes[sizeof(size_t)];
    int n = 0;
    for (size_t v = len; v != 0; v >>= 8) bytes[n++] = static_cast<char>(v);
    out.push_back(static_cast<char>(0x80 | n));
    while (n > 0) out.push_back(bytes[--n]);
  }
  out.append(content);
  return out;
}

}  // namespace concordfs::smb
