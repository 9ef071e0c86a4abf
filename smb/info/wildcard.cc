#include "smb/info/wildcard.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "smb/wire/unicode.h"

namespace concordfs::smb {
namespace {

// Code points of a UTF-8 string produced by Utf8ToUpper (always valid:
// it replaces malformed bytes by U+FFFD).
std::vector<uint32_t> CodePoints(std::string_view s) {
  std::vector<uint32_t> cps;
  cps.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    uint8_t c = static_cast<uint8_t>(s[i]);
    size_t n = c < 0x80 ? 0 : c < 0xE0 ? 1 : c < 0xF0 ? 2 : 3;
    uint32_t cp = n == 0 ? c : (c & (0x3F >> n));
    size_t k = 1;
    for (; k <= n && i + k < s.size(); ++k) {
      cp = (cp << 6) | (static_cast<uint8_t>(s[i + k]) & 0x3F);
    }
    cps.push_back(cp);
    i += k;
  }
  return cps;
}

// Longer patterns cannot name a (<= 255 character) file usefully and would
// make every per-entry match slow.
constexpr size_t kMaxPatternCodePoints = 2048;

constexpr uint32_t kDosStar = '<';
constexpr uint32_t kDosQm = '>';
constexpr uint32_t kDosDot = '"';

// Does `p` match `n`? Dynamic programming over suffixes: row[ni] says
// whether p[pi..] matches n[ni..]; rows are built from the end of the
// pattern backwards, so only two rows are alive (O(|n|) memory, O(|p|*|n|)
// time, no recursion).
bool Match(const std::vector<uint32_t>& p, const std::vector<uint32_t>& n) {
  size_t len = n.size();
  size_t last_dot = len;
  for (size_t i = len; i-- > 0;) {
    if (n[i] == '.') {
      last_dot = i;
      break;
    }
  }
  // next[ni]: p[pi+1..] vs n[ni..]; cur[ni]: p[pi..] vs n[ni..].
  std::vector<uint8_t> next(len + 1, 0), cur(len + 1, 0);
  next[len] = 1;  // empty pattern matches only the empty rest
  for (size_t pi = p.size(); pi-- > 0;) {
    uint32_t c = p[pi];
    for (size_t ni = len + 1; ni-- > 0;) {
      bool end = ni == len;
      bool m = false;
      switch (c) {
        case '*':
          m = next[ni] || (!end && cur[ni + 1]);
          break;
        case '?':
          m = !end && next[ni + 1];
          break;
        case kDosStar:
          m = next[ni] || (!end && ni != last_dot && cur[ni + 1]);
          break;
        case kDosQm:
          m = (end || n[ni] == '.') ? next[ni] : next[ni + 1];
          break;
        case kDosDot:
          m = end ? next[ni] : (n[ni] == '.' && next[ni + 1]);
          break;
        default:
          m = !end && n[ni] == c && next[ni + 1];
          break;
      }
      cur[ni] = m ? 1 : 0;
    }
    std::swap(cur, next);
  }
  return next[0] != 0;
}

}  // namespace

bool HasWildcards(std::string_view p) {
  return p.find_first_of("*?<>\"") != std::string_view::npos;
}

bool WildcardMatch(std::string_view pattern, std::string_view name) {
  if (pattern.empty() || name.empty()) return pattern.empty() && name.empty();
  if (pattern == "*" || pattern == "*.*") return true;
  std::string up = Utf8ToUpper(pattern);
  std::string un = Utf8ToUpper(name);
  if (!HasWildcards(up)) return up == un;
  std::vector<uint32_t> p = CodePoints(up);
  if (p.size() > kMaxPatternCodePoints) return false;
  return Match(p, CodePoints(un));
}

}  // namespace concordfs::smb
