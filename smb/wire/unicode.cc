#include "smb/wire/unicode.h"

#include <cstdint>
#include <vector>

namespace concordfs::smb {
namespace {

void AppendUtf8(std::string* out, uint32_t cp) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

void AppendUnit(std::string* out, uint16_t u) {
  out->push_back(static_cast<char>(u & 0xFF));
  out->push_back(static_cast<char>(u >> 8));
}

// Decodes one code point at s[*i]; invalid sequences yield U+FFFD.
uint32_t NextCodePoint(std::string_view s, size_t* i) {
  auto b = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  uint8_t c = b(*i);
  int n = 0;
  uint32_t cp = 0;
  if (c < 0x80) {
    ++*i;
    return c;
  } else if ((c & 0xE0) == 0xC0) {
    n = 1;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 2;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 3;
    cp = c & 0x07;
  } else {
    ++*i;
    return 0xFFFD;
  }
  for (int k = 1; k <= n; ++k) {
    if (*i + k >= s.size() || (b(*i + k) & 0xC0) != 0x80) {
      ++*i;
      return 0xFFFD;
    }
    cp = (cp << 6) | (b(*i + k) & 0x3F);
  }
  *i += n + 1;
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0xFFFD;
  return cp;
}

uint32_t UpperCodePoint(uint32_t cp) {
  if (cp >= 'a' && cp <= 'z') return cp - 32;
  if (cp < 0x80) return cp;
  if ((cp >= 0xE0 && cp <= 0xFE && cp != 0xF7)) return cp - 32;
  if (cp == 0xFF) return 0x178;
  if (cp >= 0x100 && cp <= 0x17F) {
    // Latin Extended-A: mostly pairs (upper even, lower odd), with runs
    // where the pairing is shifted by one.
    bool shifted = (cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17E);
    if (cp == 0x131 || cp == 0x138 || cp == 0x149 || cp == 0x17F) return cp;
    if (shifted) return (cp % 2 == 0) ? cp - 1 : cp;
    return (cp % 2 == 1) ? cp - 1 : cp;
  }
  if (cp >= 0x3B1 && cp <= 0x3C9 && cp != 0x3C2) return cp - 32;
  if (cp >= 0x430 && cp <= 0x44F) return cp - 32;
  if (cp >= 0x450 && cp <= 0x45F) return cp - 80;
  return cp;
}

}  // namespace

std::optional<std::string> Utf16ToUtf8(std::string_view in) {
  if (in.size() % 2) return std::nullopt;
  std::string out;
  out.reserve(in.size());
  auto unit = [&](size_t i) {
    return static_cast<uint16_t>(static_cast<uint8_t>(in[i]) |
                                 (static_cast<uint8_t>(in[i + 1]) << 8));
  };
  for (size_t i = 0; i < in.size(); i += 2) {
    uint16_t u = unit(i);
    if (u >= 0xD800 && u <= 0xDBFF) {
      if (i + 3 >= in.size()) return std::nullopt;
      uint16_t lo = unit(i + 2);
      if (lo < 0xDC00 || lo > 0xDFFF) return std::nullopt;
      AppendUtf8(&out, 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00));
      i += 2;
    } else if (u >= 0xDC00 && u <= 0xDFFF) {
      return std::nullopt;
    } else {
      AppendUtf8(&out, u);
    }
  }
  return out;
}

std::string Utf8ToUtf16(std::string_view in) {
  std::string out;
  out.reserve(in.size() * 2);
  size_t i = 0;
  while (i < in.size()) {
    uint32_t cp = NextCodePoint(in, &i);
    if (cp >= 0x10000) {
      cp -= 0x10000;
      AppendUnit(&out, static_cast<uint16_t>(0xD800 + (cp >> 10)));
      AppendUnit(&out, static_cast<uint16_t>(0xDC00 + (cp & 0x3FF)));
    } else {
      AppendUnit(&out, static_cast<uint16_t>(cp));
    }
  }
  return out;
}

std::string Utf8ToUpper(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  size_t i = 0;
  while (i < in.size()) AppendUtf8(&out, UpperCodePoint(NextCodePoint(in, &i)));
  return out;
}

bool Utf8EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return Utf8ToUpper(a) == Utf8ToUpper(b);
}

}  // namespace concordfs::smb
