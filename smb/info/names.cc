#include "smb/info/names.h"

#include <cstdint>
#include <optional>

#include "metadata/records.h"
#include "smb/wire/unicode.h"

namespace concordfs::smb {
namespace {

constexpr size_t kMaxComponentUnits = 255;

bool IsInvalidChar(unsigned char c) {
  if (c < 0x20) return true;
  switch (c) {
    case '"':
    case '*':
    case '/':
    case ':':
    case '<':
    case '>':
    case '?':
    case '|':
    case '\\':
      return true;
    default:
      return false;
  }
}

// UTF-16 code units of a valid UTF-8 string.
size_t Utf16Units(std::string_view s) {
  size_t units = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) == 0x80) continue;  // continuation byte
    units += (c >= 0xF0) ? 2 : 1;
  }
  return units;
}

bool LengthOk(std::string_view s) {
  return s.size() <= kMaxNameLength && Utf16Units(s) <= kMaxComponentUnits;
}

bool CharsOk(std::string_view s) {
  for (unsigned char c : s) {
    if (IsInvalidChar(c)) return false;
  }
  return true;
}

bool EqualsIgnoreAsciiCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'a' && x <= 'z') x -= 32;
    if (y >= 'a' && y <= 'z') y -= 32;
    if (x != y) return false;
  }
  return true;
}

// Splits "base:stream[:type]" (the last component) into base and stream.
NtStatus SplitStream(std::string_view last, std::string_view* base,
                     std::string* stream) {
  size_t colon = last.find(':');
  stream->clear();
  if (colon == std::string_view::npos) {
    *base = last;
    return kStatusSuccess;
  }
  *base = last.substr(0, colon);
  std::string_view rest = last.substr(colon + 1);
  std::string_view name = rest;
  std::string_view type;
  size_t colon2 = rest.find(':');
  if (colon2 != std::string_view::npos) {
    name = rest.substr(0, colon2);
    type = rest.substr(colon2 + 1);
    if (!EqualsIgnoreAsciiCase(type, "$DATA")) {
      return kStatusObjectNameInvalid;
    }
  } else if (EqualsIgnoreAsciiCase(name, "$DATA")) {
    return kStatusSuccess;  // "file:$DATA": the default stream
  } else if (name.empty()) {
    return kStatusObjectNameInvalid;  // "file:"
  }
  for (unsigned char c : name) {
    if (c < 0x20 || c == '/' || c == '\\') return kStatusObjectNameInvalid;
  }
  if (!LengthOk(name)) return kStatusObjectNameInvalid;
  stream->assign(name);
  return kStatusSuccess;
}

NtStatus ParseInto(std::string_view name, SmbPath* out) {
  *out = SmbPath{};
  if (name.empty()) return kStatusSuccess;
  if (name.front() == '\\') return kStatusInvalidParameter;
  if (name.back() == '\\') {
    out->trailing_separator = true;
    name.remove_suffix(1);
    if (name.empty() || name.back() == '\\') return kStatusObjectNameInvalid;
  }
  // Stream syntax only in the last component.
  size_t last_sep = name.rfind('\\');
  std::string_view dirs =
      last_sep == std::string_view::npos ? "" : name.substr(0, last_sep);
  std::string_view last =
      last_sep == std::string_view::npos ? name : name.substr(last_sep + 1);
  std::string_view base;
  NtStatus st = SplitStream(last, &base, &out->stream);
  if (st != kStatusSuccess) return st;
  bool stream_syntax = base.size() != last.size();
  if (stream_syntax && out->trailing_separator) return kStatusObjectNameInvalid;

  std::vector<std::string_view> parts;
  if (last_sep != std::string_view::npos) {
    size_t pos = 0;
    while (true) {
      size_t sep = dirs.find('\\', pos);
      if (sep == std::string_view::npos) {
        parts.push_back(dirs.substr(pos));
        break;
      }
      parts.push_back(dirs.substr(pos, sep - pos));
      pos = sep + 1;
    }
  }
  if (base.empty()) {
    // ":stream" alone names a stream of the root; "dir\:s" is invalid.
    if (last_sep != std::string_view::npos || !stream_syntax) {
      return kStatusObjectNameInvalid;
    }
  } else {
    parts.push_back(base);
  }
  for (size_t i = 0; i < parts.size(); ++i) {
    std::string_view p = parts[i];
    if (p.empty() || !CharsOk(p) || !LengthOk(p)) {
      return kStatusObjectNameInvalid;
    }
    bool is_last = i + 1 == parts.size();
    if (p == "." || p == "..") {
      if (is_last && stream_syntax) return kStatusObjectNameInvalid;
      if (p == "..") {
        if (out->components.empty()) return kStatusObjectPathSyntaxBad;
        out->components.pop_back();
      }
      continue;
    }
    out->components.emplace_back(p);
  }
  return kStatusSuccess;
}

}  // namespace

bool IsValidSmbComponent(std::string_view name) {
  return !name.empty() && name != "." && name != ".." && CharsOk(name) &&
         LengthOk(name);
}

NtStatus ParseSmbPath(std::string_view utf16le, SmbPath* out) {
  if (utf16le.size() % 2) return kStatusInvalidParameter;
  if (utf16le.size() >= 2 && utf16le[0] == '\\' && utf16le[1] == 0) {
    return kStatusInvalidParameter;
  }
  std::optional<std::string> utf8 = Utf16ToUtf8(utf16le);
  if (!utf8) return kStatusObjectNameInvalid;
  return ParseSmbPathUtf8(*utf8, out);
}

NtStatus ParseSmbPathUtf8(std::string_view name, SmbPath* out) {
  NtStatus st = ParseInto(name, out);
  if (st != kStatusSuccess) *out = SmbPath{};
  return st;
}

std::string JoinSmbPath(const SmbPath& path) {
  std::string s;
  for (const std::string& c : path.components) {
    if (!s.empty()) s.push_back('\\');
    s.append(c);
  }
  return s;
}

namespace {

bool ShortNameChar(char c) {
  if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'()-@^_`{}~").find(c) != std::string_view::npos;
}

std::string ShortPart(std::string_view s, size_t max) {
  std::string out;
  for (char c : s) {
    char u = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c;
    if (ShortNameChar(u)) out.push_back(u);
    if (out.size() == max) break;
  }
  return out;
}

}  // namespace

std::string ShortName(std::string_view name) {
  size_t dot = name.rfind('.');
  bool has_ext = dot != std::string_view::npos && dot > 0;
  std::string_view base = has_ext ? name.substr(0, dot) : name;
  std::string_view ext = has_ext ? name.substr(dot + 1) : std::string_view();
  std::string b = ShortPart(base, 8), e = ShortPart(ext, 3);
  bool valid = !base.empty() && base.size() <= 8 && ext.size() <= 3 &&
               b.size() == base.size() && e.size() == ext.size() &&
               (!has_ext || !ext.empty());
  if (valid) return has_ext ? b + "." + e : b;
  uint32_t h = 2166136261u;  // FNV-1a over the whole name
  for (char c : name) h = (h ^ static_cast<uint8_t>(c)) * 16777619u;
  static constexpr char kDigits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  std::string out = ShortPart(base, 5);
  if (out.empty()) out = "_";
  out += '~';
  out += kDigits[h % 36];
  out += kDigits[(h / 36) % 36];
  if (!e.empty()) out += "." + e;
  return out;
}

}  // namespace concordfs::smb
