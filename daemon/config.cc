#include "daemon/config.h"

#include <fcntl.h>
#include <unistd.h>
#include <yaml-cpp/depthguard.h>  // YAML::DeepRecursion, not in yaml.h
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <limits>
#include <span>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

namespace concordfs {
namespace {

// ---- positions and messages ----

std::string Position(std::string_view origin, const YAML::Mark& m) {
  // yaml-cpp marks are 0-based (-1 when unknown); messages are 1-based.
  return std::string(origin) + ":" + std::to_string(std::max(m.line, 0) + 1) +
         ":" + std::to_string(std::max(m.column, 0) + 1);
}

Status ErrorAt(std::string_view origin, const YAML::Mark& m,
               std::string_view msg) {
  return Status::Invalid(Position(origin, m) + ": " + std::string(msg));
}

// "a, b or c"
std::string JoinAlternatives(std::span<const std::string_view> words,
                             std::string_view last_sep) {
  std::string out;
  for (size_t i = 0; i < words.size(); ++i) {
    if (i > 0) out += (i + 1 == words.size()) ? last_sep : ", ";
    out += words[i];
  }
  return out;
}

const char* KindName(const YAML::Node& n) {
  if (n.IsMap()) return "a mapping";
  if (n.IsSequence()) return "a sequence";
  if (n.IsScalar()) return "a scalar";
  return "nothing";
}

// ---- one key's value ----

// The value of one key, with what messages need to point at it.
struct Field {
  std::string_view origin;
  std::string name;  // as shown in messages: "sync", "root.mode"
  const YAML::Node& key;
  const YAML::Node& value;

  // An empty value's own mark is the start of the next token (often the
  // next line), so point at its key instead.
  YAML::Mark mark() const { return value.IsNull() ? key.Mark() : value.Mark(); }
  Status Error(std::string_view msg) const {
    return ErrorAt(origin, mark(), msg);
  }
  Status BadValue(std::string_view text, std::string_view expected) const {
    return Error("bad value '" + std::string(text) + "' for '" + name +
                 "': expected " + std::string(expected));
  }
};

Status RequireScalar(const Field& f, std::string* out) {
  if (f.value.IsNull()) return f.Error("missing value for '" + f.name + "'");
  if (!f.value.IsScalar()) {
    return f.Error("expected a scalar value for '" + f.name + "', got " +
                   KindName(f.value));
  }
  *out = f.value.Scalar();
  return Status::Ok();
}

Status ParseChoice(const Field& f, std::span<const std::string_view> choices,
                   std::string* out) {
  std::string text;
  CFS_RETURN_IF_ERROR(RequireScalar(f, &text));
  if (std::find(choices.begin(), choices.end(), text) == choices.end()) {
    return f.BadValue(text, JoinAlternatives(choices, " or "));
  }
  *out = std::move(text);
  return Status::Ok();
}

// Digits only: no sign, no blanks, no 0x. Base 8 or 10.
bool ParseDigits(std::string_view s, int base, uint64_t* out) {
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(s.data(), end, *out, base);
  return !s.empty() && ec == std::errc() && ptr == end;
}

Status ParseUnsigned(const Field& f, uint64_t min, uint64_t max,
                     uint64_t* out) {
  std::string text;
  CFS_RETURN_IF_ERROR(RequireScalar(f, &text));
  if (!ParseDigits(text, 10, out) || *out < min || *out > max) {
    return f.BadValue(text, "an integer from " + std::to_string(min) + " to " +
                                std::to_string(max));
  }
  return Status::Ok();
}

// Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
// Offset of the first byte that is not valid UTF-8, or npos.
size_t Utf8ErrorAt(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    const size_t len = b < 0x80         ? 1
                       : (b >> 5) == 6  ? 2
                       : (b >> 4) == 14 ? 3
                       : (b >> 3) == 30 ? 4
                                        : 0;
    if (len == 0 || i + len > s.size()) return i;
    uint32_t cp = len == 1 ? b : b & (0x7F >> len);
    for (size_t k = 1; k < len; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      if ((c >> 6) != 2) return i;
      cp = (cp << 6) | (c & 0x3F);
    }
    static constexpr uint32_t kMinForLen[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMinForLen[len] || cp > 0x10FFFF || (cp >> 11) == 0x1B) {
      return i;
    }
    i += len;
  }
  return std::string_view::npos;
}

bool IsUtf8(std::string_view s) {
  return Utf8ErrorAt(s) == std::string_view::npos;
}

// ---- setters, one per kind of value ----

template <std::string Config::*kMember>
Status SetPath(const Field& f, Config* c) {
  std::string text;
  CFS_RETURN_IF_ERROR(RequireScalar(f, &text));
  if (text.empty()) return f.BadValue(text, "a directory path");
  if (text.find('\0') != std::string::npos) {
    return f.Error("bad value for '" + f.name + "': NUL byte in path");
  }
  // DumpConfig must reproduce the path byte for byte; YAML is Unicode text.
  if (!IsUtf8(text)) {
    return f.Error("bad value for '" + f.name + "': path is not valid UTF-8");
  }
  if (text[0] == '~') {
    return f.BadValue(text, "a path without '~' (it is not expanded)");
  }
  c->*kMember = std::move(text);
  return Status::Ok();
}

template <bool Config::*kMember>
Status SetBool(const Field& f, Config* c) {
  std::string text;
  CFS_RETURN_IF_ERROR(RequireScalar(f, &text));
  if (text == "true" || text == "yes" || text == "on") {
    c->*kMember = true;
  } else if (text == "false" || text == "no" || text == "off") {
    c->*kMember = false;
  } else {
    return f.BadValue(text, "true or false");
  }
  return Status::Ok();
}

Status SetSync(const Field& f, Config* c) {
  std::string text;
  CFS_RETURN_IF_ERROR(RequireScalar(f, &text));
  if (!ParseSyncPolicy(text, &c->sync)) {
    const std::string_view names[] = {SyncPolicyName(SyncPolicy::kAlways),
                                      SyncPolicyName(SyncPolicy::kBatch),
                                      SyncPolicyName(SyncPolicy::kNone)};
    return f.BadValue(text, JoinAlternatives(names, " or "));
  }
  return Status::Ok();
}

// Always octal, as with chmod(1).
Status SetMode(const Field& f, Config* c) {
  std::string text;
  CFS_RETURN_IF_ERROR(RequireScalar(f, &text));
  uint64_t mode = 0;
  if (!ParseDigits(text, 8, &mode) || mode > 07777) {
    return f.BadValue(text, "an octal mode from 0 to 07777");
  }
  c->root_mode = static_cast<uint32_t>(mode);
  return Status::Ok();
}

template <std::string Config::*kMember, const auto& kChoices>
Status SetChoice(const Field& f, Config* c) {
  return ParseChoice(f, kChoices, &(c->*kMember));
}

template <auto kMember, uint64_t kMin, uint64_t kMax>
Status SetUnsigned(const Field& f, Config* c) {
  using T = std::remove_reference_t<decltype(c->*kMember)>;
  static_assert(kMax <= std::numeric_limits<T>::max());
  uint64_t v = 0;
  CFS_RETURN_IF_ERROR(ParseUnsigned(f, kMin, kMax, &v));
  c->*kMember = static_cast<T>(v);
  return Status::Ok();
}

// ---- emitters (DumpConfig), one per kind of value ----

template <auto kMember>
void EmitPlain(const Config& c, YAML::Emitter& e) {
  e << c.*kMember;
}

template <std::string Config::*kMember>
void EmitPath(const Config& c, YAML::Emitter& e) {
  e << YAML::DoubleQuoted << c.*kMember;
}

template <bool Config::*kMember>
void EmitBool(const Config& c, YAML::Emitter& e) {
  e << (c.*kMember ? "true" : "false");
}

void EmitSync(const Config& c, YAML::Emitter& e) {
  e << SyncPolicyName(c.sync);
}

void EmitMode(const Config& c, YAML::Emitter& e) {
  char digits[16];
  auto res = std::to_chars(digits, digits + sizeof(digits), c.root_mode, 8);
  std::string octal(digits, res.ptr);
  octal.insert(0, octal.size() < 3 ? 3 - octal.size() : 0, '0');
  e << YAML::DoubleQuoted << ("0" + octal);  // "0755"
}

// ---- the key tables ----

// A known key: how to read it into a Config and how to write it back out.
// A section (a nested mapping such as `root:`) is a key whose setter and
// emitter walk another table; adding `nfs:` etc. is one table plus one row.
struct KeySpec {
  std::string_view name;
  Status (*set)(const Field& f, Config* c);
  void (*emit)(const Config& c, YAML::Emitter& e);
};

Status ParseMap(std::string_view origin, std::string_view section,
                const YAML::Node& map, std::span<const KeySpec> keys,
                Config* c);

void EmitMap(std::span<const KeySpec> keys, const Config& c, YAML::Emitter& e) {
  e << YAML::BeginMap;
  for (const KeySpec& k : keys) {
    e << YAML::Key << std::string(k.name) << YAML::Value;
    k.emit(c, e);
  }
  e << YAML::EndMap;
}

template <const auto& kKeys>
Status SetSection(const Field& f, Config* c) {
  // `root:` with every key commented out is an empty section, not an error.
  if (f.value.IsNull()) return Status::Ok();
  if (!f.value.IsMap()) {
    return f.Error("expected a mapping for '" + f.name + "', got " +
                   KindName(f.value));
  }
  return ParseMap(f.origin, f.name, f.value, kKeys, c);
}

template <const auto& kKeys>
void EmitSection(const Config& c, YAML::Emitter& e) {
  EmitMap(kKeys, c, e);
}

constexpr std::string_view kStores[] = {"leveldb", "memory"};
constexpr std::string_view kLogLevels[] = {"trace", "debug", "info",
                                           "warn",  "error", "off"};
constexpr std::string_view kAtimePolicies[] = {"relatime", "strict", "noatime"};
// (uid_t)-1 means "leave unchanged" to chown(2); it cannot own anything.
constexpr uint64_t kMaxId = std::numeric_limits<uint32_t>::max() - 1;

constexpr KeySpec kRootKeys[] = {
    {"uid", SetUnsigned<&Config::root_uid, 0, kMaxId>,
     EmitPlain<&Config::root_uid>},
    {"gid", SetUnsigned<&Config::root_gid, 0, kMaxId>,
     EmitPlain<&Config::root_gid>},
    {"mode", SetMode, EmitMode},
};

constexpr uint64_t kMaxU64 = std::numeric_limits<uint64_t>::max();
constexpr KeySpec kLockKeys[] = {
    {"grace_period", SetUnsigned<&Config::lock_grace_seconds, 0, 86400>,
     EmitPlain<&Config::lock_grace_seconds>},
    {"max_per_file", SetUnsigned<&Config::lock_max_per_file, 1, kMaxU64>,
     EmitPlain<&Config::lock_max_per_file>},
    {"max_per_client", SetUnsigned<&Config::lock_max_per_client, 1, kMaxU64>,
     EmitPlain<&Config::lock_max_per_client>},
    {"max_total", SetUnsigned<&Config::lock_max_total, 1, kMaxU64>,
     EmitPlain<&Config::lock_max_total>},
};

constexpr KeySpec kMountKeys[] = {
    {"enabled", SetBool<&Config::mount_enabled>,
     EmitBool<&Config::mount_enabled>},
    {"path", SetPath<&Config::mount_path>, EmitPath<&Config::mount_path>},
    {"allow_other", SetBool<&Config::mount_allow_other>,
     EmitBool<&Config::mount_allow_other>},
    {"entry_timeout_ms",
     SetUnsigned<&Config::mount_entry_timeout_ms, 0, 3600000>,
     EmitPlain<&Config::mount_entry_timeout_ms>},
    {"attr_timeout_ms", SetUnsigned<&Config::mount_attr_timeout_ms, 0, 3600000>,
     EmitPlain<&Config::mount_attr_timeout_ms>},
    {"kernel_cache", SetBool<&Config::mount_kernel_cache>,
     EmitBool<&Config::mount_kernel_cache>},
    {"enforce_share_modes", SetBool<&Config::mount_enforce_share_modes>,
     EmitBool<&Config::mount_enforce_share_modes>},
};

Status ParseBoolText(const Field& f, bool* out) {
  std::string text;
  CFS_RETURN_IF_ERROR(RequireScalar(f, &text));
  if (text == "true" || text == "yes" || text == "on") {
    *out = true;
  } else if (text == "false" || text == "no" || text == "off") {
    *out = false;
  } else {
    return f.BadValue(text, "true or false");
  }
  return Status::Ok();
}

Status SetAddress(const Field& f, Config* c) {
  std::string text;
  CFS_RETURN_IF_ERROR(RequireScalar(f, &text));
  rpc::Peer p;
  if (!rpc::Peer::Parse(text, 0, &p)) {
    return f.BadValue(text, "a numeric IPv4 or IPv6 address");
  }
  c->nfs_address = text;
  return Status::Ok();
}

Status SetMaxIo(const Field& f, Config* c) {
  uint64_t v = 0;
  CFS_RETURN_IF_ERROR(ParseUnsigned(f, 4096, 4 << 20, &v));
  if (v % 4096 != 0) {
    return f.BadValue(std::to_string(v), "a multiple of 4096");
  }
  c->nfs_max_io = v;
  return Status::Ok();
}

constexpr std::string_view kPortmappers[] = {"auto", "embedded", "system",
                                             "off"};
constexpr std::string_view kSquashes[] = {"none", "root", "all"};

// One entry of nfs.exports.
Status ParseExport(std::string_view origin, const std::string& section,
                   const YAML::Node& map, rpc::ExportOptions* x) {
  static constexpr std::string_view kKeys[] = {
      "path", "clients", "read_only", "squash", "anonuid", "anongid", "secure"};
  std::vector<std::string> seen;
  for (const auto& kv : map) {
    const YAML::Node& key = kv.first;
    if (!key.IsScalar()) {
      return ErrorAt(origin, key.Mark(),
                     std::string("expected a key name, got ") + KindName(key));
    }
    const std::string& k = key.Scalar();
    if (std::find(std::begin(kKeys), std::end(kKeys), k) == std::end(kKeys)) {
      return ErrorAt(origin, key.Mark(),
                     "unknown key '" + k + "' in '" + section +
                         "' (known keys: " + JoinAlternatives(kKeys, ", ") +
                         ")");
    }
    if (std::find(seen.begin(), seen.end(), k) != seen.end()) {
      return ErrorAt(origin, key.Mark(), "duplicate key '" + k + "'");
    }
    seen.push_back(k);
    Field f{origin, section + "." + k, key, kv.second};
    if (k == "path") {
      std::string text;
      CFS_RETURN_IF_ERROR(RequireScalar(f, &text));
      std::string norm;
      if (text.empty() || text[0] != '/' || !IsUtf8(text) ||
          text.find('\0') != std::string::npos ||
          !rpc::NormalizeExportPath(text, &norm)) {
        return f.BadValue(text,
                          "an absolute path inside the backend without . or "
                          "..");
      }
      x->path = norm;
    } else if (k == "clients") {
      if (!kv.second.IsSequence()) {
        return f.Error("expected a list of addresses for '" + f.name +
                       "', got " + KindName(kv.second));
      }
      x->clients.clear();
      for (const auto& item : kv.second) {
        Field fi{origin, f.name, key, item};
        std::string text, why;
        CFS_RETURN_IF_ERROR(RequireScalar(fi, &text));
        if (!rpc::ValidClientPattern(text, &why)) return fi.Error(why);
        x->clients.push_back(text);
      }
    } else if (k == "read_only") {
      CFS_RETURN_IF_ERROR(ParseBoolText(f, &x->read_only));
    } else if (k == "secure") {
      CFS_RETURN_IF_ERROR(ParseBoolText(f, &x->secure));
    } else if (k == "squash") {
      std::string text;
      CFS_RETURN_IF_ERROR(ParseChoice(f, kSquashes, &text));
      rpc::ParseSquash(text, &x->squash);
    } else {
      uint64_t v = 0;
      CFS_RETURN_IF_ERROR(ParseUnsigned(f, 0, kMaxId, &v));
      (k == "anonuid" ? x->anonuid : x->anongid) = static_cast<uint32_t>(v);
    }
  }
  return Status::Ok();
}

Status SetExports(const Field& f, Config* c) {
  c->nfs_exports.clear();
  if (f.value.IsNull()) return Status::Ok();  // no exports
  if (!f.value.IsSequence()) {
    return f.Error("expected a list of exports for '" + f.name + "', got " +
                   KindName(f.value));
  }
  int i = 0;
  for (const auto& item : f.value) {
    std::string section = f.name + "[" + std::to_string(i++) + "]";
    if (!item.IsMap()) {
      return ErrorAt(
          f.origin, item.Mark(),
          "expected a mapping for '" + section + "', got " + KindName(item));
    }
    rpc::ExportOptions x;
    CFS_RETURN_IF_ERROR(ParseExport(f.origin, section, item, &x));
    for (const rpc::ExportOptions& other : c->nfs_exports) {
      if (other.path == x.path) {
        return ErrorAt(f.origin, item.Mark(),
                       "export '" + x.path + "' is listed twice");
      }
    }
    c->nfs_exports.push_back(std::move(x));
  }
  return Status::Ok();
}

void EmitExports(const Config& c, YAML::Emitter& e) {
  e << YAML::BeginSeq;
  for (const rpc::ExportOptions& x : c.nfs_exports) {
    e << YAML::BeginMap;
    e << YAML::Key << "path" << YAML::Value << YAML::DoubleQuoted << x.path;
    e << YAML::Key << "clients" << YAML::Value << YAML::Flow << YAML::BeginSeq;
    for (const std::string& cl : x.clients) e << YAML::DoubleQuoted << cl;
    e << YAML::EndSeq;
    e << YAML::Key << "read_only" << YAML::Value
      << (x.read_only ? "true" : "false");
    e << YAML::Key << "squash" << YAML::Value << rpc::SquashName(x.squash);
    e << YAML::Key << "anonuid" << YAML::Value << x.anonuid;
    e << YAML::Key << "anongid" << YAML::Value << x.anongid;
    e << YAML::Key << "secure" << YAML::Value << (x.secure ? "true" : "false");
    e << YAML::EndMap;
  }
  e << YAML::EndSeq;
}

void EmitAddress(const Config& c, YAML::Emitter& e) {
  e << YAML::DoubleQuoted << c.nfs_address;
}

constexpr KeySpec kNfsKeys[] = {
    {"enabled", SetBool<&Config::nfs_enabled>, EmitBool<&Config::nfs_enabled>},
    {"address", SetAddress, EmitAddress},
    {"port", SetUnsigned<&Config::nfs_port, 0, 65535>,
     EmitPlain<&Config::nfs_port>},
    {"mount_port", SetUnsigned<&Config::nfs_mount_port, 0, 65535>,
     EmitPlain<&Config::nfs_mount_port>},
    {"udp", SetBool<&Config::nfs_udp>, EmitBool<&Config::nfs_udp>},
    {"portmapper", SetChoice<&Config::nfs_portmapper, kPortmappers>,
     EmitPlain<&Config::nfs_portmapper>},
    {"portmap_port", SetUnsigned<&Config::nfs_portmap_port, 1, 65535>,
     EmitPlain<&Config::nfs_portmap_port>},
    {"threads", SetUnsigned<&Config::nfs_threads, 1, 256>,
     EmitPlain<&Config::nfs_threads>},
    {"max_io", SetMaxIo, EmitPlain<&Config::nfs_max_io>},
    {"grant_timeout_ms",
     SetUnsigned<&Config::nfs_grant_timeout_ms, 100, 600000>,
     EmitPlain<&Config::nfs_grant_timeout_ms>},
    {"exports", SetExports, EmitExports},
};

constexpr KeySpec kTopKeys[] = {
    {"data_dir", SetPath<&Config::data_dir>, EmitPath<&Config::data_dir>},
    {"store", SetChoice<&Config::store, kStores>, EmitPlain<&Config::store>},
    {"sync", SetSync, EmitSync},
    {"log_level", SetChoice<&Config::log_level, kLogLevels>,
     EmitPlain<&Config::log_level>},
    {"atime", SetChoice<&Config::atime, kAtimePolicies>,
     EmitPlain<&Config::atime>},
    {"content_fd_cache",
     SetUnsigned<&Config::max_open_fds, 1,
                 std::numeric_limits<uint64_t>::max()>,
     EmitPlain<&Config::max_open_fds>},
    {"root", SetSection<kRootKeys>, EmitSection<kRootKeys>},
    {"locks", SetSection<kLockKeys>, EmitSection<kLockKeys>},
    {"mount", SetSection<kMountKeys>, EmitSection<kMountKeys>},
    {"nfs", SetSection<kNfsKeys>, EmitSection<kNfsKeys>},
};

// ---- walking mappings ----

Status UnknownKey(std::string_view origin, std::string_view section,
                  const YAML::Node& key, std::span<const KeySpec> keys) {
  std::vector<std::string_view> names;
  for (const KeySpec& k : keys) names.push_back(k.name);
  std::string where =
      section.empty() ? "" : " in '" + std::string(section) + "'";
  return ErrorAt(origin, key.Mark(),
                 "unknown key '" + key.Scalar() + "'" + where +
                     " (known keys: " + JoinAlternatives(names, ", ") + ")");
}

// `section` is the dotted name of the mapping, empty at the top level.
Status ParseMap(std::string_view origin, std::string_view section,
                const YAML::Node& map, std::span<const KeySpec> keys,
                Config* c) {
  std::vector<std::pair<std::string, int>> seen;  // key, 1-based line
  for (const auto& kv : map) {
    const YAML::Node& key = kv.first;
    if (!key.IsScalar()) {
      return ErrorAt(origin, key.Mark(),
                     std::string("expected a key name, got ") + KindName(key));
    }
    auto spec = std::find_if(keys.begin(), keys.end(), [&](const KeySpec& k) {
      return k.name == key.Scalar();
    });
    if (spec == keys.end()) return UnknownKey(origin, section, key, keys);
    for (const auto& [name, line] : seen) {
      if (name == key.Scalar()) {
        return ErrorAt(origin, key.Mark(),
                       "duplicate key '" + name + "' (first given at line " +
                           std::to_string(line) + ")");
      }
    }
    seen.emplace_back(key.Scalar(), key.Mark().line + 1);
    std::string name = section.empty()
                           ? key.Scalar()
                           : std::string(section) + "." + key.Scalar();
    CFS_RETURN_IF_ERROR(spec->set(Field{origin, name, key, kv.second}, c));
  }
  return Status::Ok();
}

// yaml-cpp 0.7 can loop forever on a NUL byte or malformed UTF-8 (found by
// fuzzing); a config file is text, so reject anything else with its
// position before yaml-cpp sees it.
Status RejectNonText(std::string_view text, std::string_view origin) {
  size_t at = Utf8ErrorAt(text);
  const char* why = "not valid UTF-8";
  for (size_t i = 0; i < std::min(at, text.size()); ++i) {
    const auto b = static_cast<unsigned char>(text[i]);
    if ((b < 0x20 && b != '\t' && b != '\n' && b != '\r') || b == 0x7f) {
      at = i;
      why = b == 0 ? "NUL byte" : "control character";
      break;
    }
  }
  if (at == std::string_view::npos) return Status::Ok();
  size_t line = 1, col = 1;
  for (size_t i = 0; i < at; ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return Status::Invalid(std::string(origin) + ":" + std::to_string(line) +
                         ":" + std::to_string(col) + ": " + why +
                         ": not a text file");
}

// May throw YAML::Exception (syntax errors); ParseConfig catches it.
Status ParseDocument(std::string_view text, std::string_view origin,
                     Config* c) {
  CFS_RETURN_IF_ERROR(RejectNonText(text, origin));
  std::vector<YAML::Node> docs = YAML::LoadAll(std::string(text));
  if (docs.empty()) return Status::Ok();  // empty or only comments
  if (docs.size() > 1) {
    return ErrorAt(origin, docs[1].Mark(),
                   "expected one YAML document, found a second one");
  }
  const YAML::Node& top = docs[0];
  if (top.IsNull()) return Status::Ok();
  if (!top.IsMap()) {
    return ErrorAt(origin, top.Mark(),
                   std::string("expected a mapping of keys at the top "
                               "level, got ") +
                       KindName(top));
  }
  return ParseMap(origin, "", top, kTopKeys, c);
}

// Makes a path absolute (against base_dir, or the cwd) and normalized.
Status ResolvePath(std::string_view origin, const std::string& base_dir,
                   std::string* path) {
  namespace fs = std::filesystem;
  fs::path p(*path);
  if (p.is_relative()) {
    std::error_code ec;
    fs::path base =
        base_dir.empty() ? fs::current_path(ec) : fs::absolute(base_dir, ec);
    if (ec) {
      return Status::Error(ec.value(), std::string(origin) +
                                           ": cannot resolve " + *path + ": " +
                                           ec.message());
    }
    p = base / p;
  }
  p = p.lexically_normal();
  if (!p.has_filename() && p.has_relative_path()) p = p.parent_path();
  *path = p.string();
  return Status::Ok();
}

Status ReadError(const std::string& path, int err) {
  return Status::Error(err, path + ": cannot read config file: " +
                                std::generic_category().message(err));
}

Status ReadWholeFile(const std::string& path, std::string* out) {
  constexpr size_t kMaxSize = 16 << 20;  // far beyond any sane config
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ReadError(path, errno);
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || out->size() + n > kMaxSize) {
      int err = n < 0 ? errno : EFBIG;
      ::close(fd);
      return ReadError(path, err);
    }
    if (n == 0) break;
    out->append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return Status::Ok();
}

}  // namespace

Result<Config> ParseConfig(std::string_view yaml_text, std::string_view origin,
                           const std::string& base_dir) {
  Config c;
  try {
    CFS_RETURN_IF_ERROR(ParseDocument(yaml_text, origin, &c));
  } catch (const YAML::DeepRecursion& e) {
    // yaml-cpp 0.7 gives this one the message "bad file".
    return ErrorAt(
        origin, e.mark,
        "nested too deeply (" + std::to_string(e.depth()) + " levels)");
  } catch (const YAML::Exception& e) {
    return ErrorAt(origin, e.mark, e.msg);
  }
  CFS_RETURN_IF_ERROR(ResolvePath(origin, base_dir, &c.data_dir));
  CFS_RETURN_IF_ERROR(ResolvePath(origin, base_dir, &c.mount_path));
  return c;
}

Result<Config> LoadConfigFile(const std::string& path) {
  std::string text;
  CFS_RETURN_IF_ERROR(ReadWholeFile(path, &text));
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::absolute(path, ec);
  if (ec) return ReadError(path, ec.value());
  return ParseConfig(text, path, abs.parent_path().string());
}

std::string DumpConfig(const Config& c) {
  YAML::Emitter e;
  e.SetIndent(2);
  EmitMap(kTopKeys, c, e);
  return std::string(e.c_str()) + "\n";
}

}  // namespace concordfs
