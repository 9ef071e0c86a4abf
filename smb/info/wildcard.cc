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
// make the match table large.
constexpr size_t kMaxPatternCodePoints = 2048;

constexpr uint32_t kDosStar = '<';
constexpr uint32_t kDosQm = '>';
constexpr uint32_t kDosDot = '"';

class Matcher {
 public:
  Matcher(std::vector<uint32_t> pat, std::vector<uint32_t> name)
      : p_(std::move(pat)), n_(std::move(name)) {
    last_dot_ = n_.size();
    for (size_t i = n_.size(); i-- > 0;) {
      if (n_[i] == '.') {
        last_dot_ = i;
        break;
      }
    }
    memo_.assign((p_.size() + 1) * (n_.size() + 1), kUnknown);
  }

  bool Match() { return At(0, 0); }

 private:
  static constexpr uint8_t kUnknown = 2;

  // Does p_[pi..] match n_[ni..]? Memoized, so O(|p| * |n|) calls, each
  // doing O(1) work apart from the recursion it causes.
  bool At(size_t pi, size_t ni) {
    uint8_t& m = memo_[pi * (n_.size() + 1) + ni];
    if (m == kUnknown) m = Compute(pi, ni) ? 1 : 0;
    return m == 1;
  }

  bool Compute(size_t pi, size_t ni) {
    bool end = ni == n_.size();
    if (pi == p_.size()) return end;
    uint32_t c = p_[pi];
    switch (c) {
      case '*':
        return At(pi + 1, ni) || (!end && At(pi, ni + 1));
      case '?':
        return !end && At(pi + 1, ni + 1);
      case kDosStar:
        return At(pi + 1, ni) || (!end && ni != last_dot_ && At(pi, ni + 1));
      case kDosQm:
        if (end || n_[ni] == '.') return At(pi + 1, ni);
        return At(pi + 1, ni + 1);
      case kDosDot:
        if (end) return At(pi + 1, ni);
        return n_[ni] == '.' && At(pi + 1, ni + 1);
      default:
        return !end && n_[ni] == c && At(pi + 1, ni + 1);
    }
  }

  std::vector<uint32_t> p_;
  std::vector<uint32_t> n_;
  size_t last_dot_;
  std::vector<uint8_t> memo_;
};

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
  return Matcher(std::move(p), CodePoints(un)).Match();
}

}  // namespace concordfs::smb
