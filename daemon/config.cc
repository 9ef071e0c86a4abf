#include "daemon/config.h"

#include <fcntl.h>
#include <unistd.h>
#include <yaml-cpp/depthguard.h>  // YAML::DeepRecursion, not in yaml.h
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <limits>
#include <optional>
#include <span>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include "smb/auth/authenticator.h"
#include "smb/auth/ntlm_crypto.h"
#include "smb/wire/unicode.h"
#include "util/log.h"

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

// Always octal, as with chmod(1). `what` names the value in messages.
Status ParseOctal(const Field& f, uint32_t max, std::string_view what,
                  uint32_t* out) {
  std::string text;
  CFS_RETURN_IF_ERROR(RequireScalar(f, &text));
  uint64_t v = 0;
  if (!ParseDigits(text, 8, &v) || v > max) {
    char digits[16];
    auto res = std::to_chars(digits, digits + sizeof(digits), max, 8);
    return f.BadValue(text, "an octal " + std::string(what) + " from 0 to 0" +
                                std::string(digits, res.ptr));
  }
  *out = static_cast<uint32_t>(v);
  return Status::Ok();
}

Status SetMode(const Field& f, Config* c) {
  return ParseOctal(f, 07777, "mode", &c->root_mode);
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

// At least three octal digits: 5 -> "005".
std::string Octal3(uint32_t v) {
  char digits[16];
  auto res = std::to_chars(digits, digits + sizeof(digits), v, 8);
  std::string octal(digits, res.ptr);
  octal.insert(0, octal.size() < 3 ? 3 - octal.size() : 0, '0');
  return octal;
}

void EmitMode(const Config& c, YAML::Emitter& e) {
  e << YAML::DoubleQuoted << ("0" + Octal3(c.root_mode));  // "0755"
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
constexpr std::span<const std::string_view> kLogLevels = kLogLevelNames;

// `log_levels: {nlm: debug, smb: warn}`: component -> level.
Status SetLogLevelsKey(const Field& f, Config* c) {
  if (f.value.IsNull()) return Status::Ok();
  if (!f.value.IsMap()) {
    return f.Error("expected a mapping of log component to level for '" +
                   f.name + "', got " + KindName(f.value));
  }
  for (const auto& kv : f.value) {
    const YAML::Node& key = kv.first;
    if (!key.IsScalar()) {
      return ErrorAt(
          f.origin, key.Mark(),
          std::string("expected a log component name, got ") + KindName(key));
    }
    const std::string& name = key.Scalar();
    if (!LogComponentByName(name)) {
      return ErrorAt(f.origin, key.Mark(),
                     "unknown log component '" + name + "' in '" + f.name +
                         "' (known components: " + LogComponentList() + ")");
    }
    if (c->log_levels.contains(name)) {
      return ErrorAt(
          f.origin, key.Mark(),
          "log component '" + name + "' is listed twice in '" + f.name + "'");
    }
    std::string level;
    CFS_RETURN_IF_ERROR(
        ParseChoice(Field{f.origin, f.name + "." + name, key, kv.second},
                    kLogLevels, &level));
    c->log_levels[name] = std::move(level);
  }
  return Status::Ok();
}

void EmitLogLevels(const Config& c, YAML::Emitter& e) {
  e << YAML::Flow << YAML::BeginMap;
  for (const auto& [name, level] : c.log_levels) {
    e << YAML::Key << name << YAML::Value << level;
  }
  e << YAML::EndMap;
}
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
constexpr std::string_view kLockPersistModes[] = {"written", "synced",
                                                  "behind"};
constexpr KeySpec kLockKeys[] = {
    {"grace_period", SetUnsigned<&Config::lock_grace_seconds, 0, 86400>,
     EmitPlain<&Config::lock_grace_seconds>},
    {"max_per_file", SetUnsigned<&Config::lock_max_per_file, 1, kMaxU64>,
     EmitPlain<&Config::lock_max_per_file>},
    {"max_per_client", SetUnsigned<&Config::lock_max_per_client, 1, kMaxU64>,
     EmitPlain<&Config::lock_max_per_client>},
    {"max_total", SetUnsigned<&Config::lock_max_total, 1, kMaxU64>,
     EmitPlain<&Config::lock_max_total>},
    {"persist", SetChoice<&Config::lock_persist, kLockPersistModes>,
     EmitPlain<&Config::lock_persist>},
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
    {"passthrough", SetBool<&Config::mount_passthrough>,
     EmitBool<&Config::mount_passthrough>},
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

Status ParseAddress(const Field& f, std::string* out) {
  std::string text;
  CFS_RETURN_IF_ERROR(RequireScalar(f, &text));
  rpc::Peer p;
  if (!rpc::Peer::Parse(text, 0, &p)) {
    return f.BadValue(text, "a numeric IPv4 or IPv6 address");
  }
  *out = std::move(text);
  return Status::Ok();
}

Status SetAddress(const Field& f, Config* c) {
  return ParseAddress(f, &c->nfs_address);
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

// A key of one entry of a list of mappings (nfs.exports[i], smb.users[i],
// ...): a name from `keys`, not given before in the entry (`seen`).
Status CheckEntryKey(std::string_view origin, const std::string& section,
                     const YAML::Node& key,
                     std::span<const std::string_view> keys,
                     std::vector<std::string>* seen) {
  if (!key.IsScalar()) {
    return ErrorAt(origin, key.Mark(),
                   std::string("expected a key name, got ") + KindName(key));
  }
  const std::string& k = key.Scalar();
  if (std::find(keys.begin(), keys.end(), k) == keys.end()) {
    return ErrorAt(origin, key.Mark(),
                   "unknown key '" + k + "' in '" + section +
                       "' (known keys: " + JoinAlternatives(keys, ", ") + ")");
  }
  if (std::find(seen->begin(), seen->end(), k) != seen->end()) {
    return ErrorAt(origin, key.Mark(), "duplicate key '" + k + "'");
  }
  seen->push_back(k);
  return Status::Ok();
}

// A list of mappings: `parse(section, item)` for each entry, section being
// "<name>[<index>]". A missing value is an empty list.
template <typename ParseEntry>
Status ForEachEntry(const Field& f, std::string_view what, ParseEntry&& parse) {
  if (f.value.IsNull()) return Status::Ok();
  if (!f.value.IsSequence()) {
    return f.Error("expected a list of " + std::string(what) + " for '" +
                   f.name + "', got " + KindName(f.value));
  }
  int i = 0;
  for (const auto& item : f.value) {
    std::string section = f.name + "[" + std::to_string(i++) + "]";
    if (!item.IsMap()) {
      return ErrorAt(
          f.origin, item.Mark(),
          "expected a mapping for '" + section + "', got " + KindName(item));
    }
    CFS_RETURN_IF_ERROR(parse(section, item));
  }
  return Status::Ok();
}

// A directory inside the backend (an export's or a share's path):
// absolute, normalized, no . or .. components.
Status ParseBackendPath(const Field& f, std::string* out) {
  std::string text;
  CFS_RETURN_IF_ERROR(RequireScalar(f, &text));
  std::string norm;
  if (text.empty() || text[0] != '/' || !IsUtf8(text) ||
      text.find('\0') != std::string::npos ||
      !rpc::NormalizeExportPath(text, &norm)) {
    return f.BadValue(text,
                      "an absolute path inside the backend without . or ..");
  }
  *out = std::move(norm);
  return Status::Ok();
}

// One entry of nfs.exports.
Status ParseExport(std::string_view origin, const std::string& section,
                   const YAML::Node& map, rpc::ExportOptions* x) {
  static constexpr std::string_view kKeys[] = {
      "path", "clients", "read_only", "squash", "anonuid", "anongid", "secure"};
  std::vector<std::string> seen;
  for (const auto& kv : map) {
    const YAML::Node& key = kv.first;
    CFS_RETURN_IF_ERROR(CheckEntryKey(origin, section, key, kKeys, &seen));
    const std::string& k = key.Scalar();
    Field f{origin, section + "." + k, key, kv.second};
    if (k == "path") {
      CFS_RETURN_IF_ERROR(ParseBackendPath(f, &x->path));
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
  c->nfs_exports.clear();  // a missing value: no exports
  return ForEachEntry(
      f, "exports", [&](const std::string& section, const YAML::Node& item) {
        rpc::ExportOptions x;
        CFS_RETURN_IF_ERROR(ParseExport(f.origin, section, item, &x));
        for (const rpc::ExportOptions& other : c->nfs_exports) {
          if (other.path == x.path) {
            return ErrorAt(f.origin, item.Mark(),
                           "export '" + x.path + "' is listed twice");
          }
        }
        c->nfs_exports.push_back(std::move(x));
        return Status::Ok();
      });
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

// ---- smb: ----

// Setters and emitters for the members of c->smb (SmbOptions).
template <auto kMember>
Status SetSmbBool(const Field& f, Config* c) {
  return ParseBoolText(f, &(c->smb.*kMember));
}

template <auto kMember, uint64_t kMin, uint64_t kMax>
Status SetSmbUnsigned(const Field& f, Config* c) {
  using T = std::remove_reference_t<decltype(c->smb.*kMember)>;
  static_assert(kMax <= std::numeric_limits<T>::max());
  uint64_t v = 0;
  CFS_RETURN_IF_ERROR(ParseUnsigned(f, kMin, kMax, &v));
  c->smb.*kMember = static_cast<T>(v);
  return Status::Ok();
}

template <auto kMember>
void EmitSmbPlain(const Config& c, YAML::Emitter& e) {
  e << c.smb.*kMember;
}

template <auto kMember>
void EmitSmbBool(const Config& c, YAML::Emitter& e) {
  e << (c.smb.*kMember ? "true" : "false");
}

template <auto kMember>
void EmitSmbQuoted(const Config& c, YAML::Emitter& e) {
  e << YAML::DoubleQuoted << c.smb.*kMember;
}

bool HasControlChar(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char ch) {
    const auto b = static_cast<unsigned char>(ch);
    return b < 0x20 || b == 0x7f;
  });
}

// Valid UTF-8, no control characters and none of `forbidden`.
bool IsNameText(std::string_view s, std::string_view forbidden) {
  return IsUtf8(s) && !HasControlChar(s) &&
         s.find_first_of(forbidden) == std::string_view::npos;
}

size_t CodePoints(std::string_view utf8) {
  return static_cast<size_t>(std::count_if(
      utf8.begin(), utf8.end(),
      [](char ch) { return (static_cast<unsigned char>(ch) & 0xC0) != 0x80; }));
}

Status SetSmbAddress(const Field& f, Config* c) {
  return ParseAddress(f, &c->smb.address);
}

// A NetBIOS name (server_name, domain): 1-15 ASCII letters, digits, - or _.
template <std::string smb::SmbOptions::*kMember>
Status SetNetbiosName(const Field& f, Config* c) {
  std::string text;
  CFS_RETURN_IF_ERROR(RequireScalar(f, &text));
  const bool ok = !text.empty() && text.size() <= 15 &&
                  std::all_of(text.begin(), text.end(), [](char ch) {
                    return (ch >= 'A' && ch <= 'Z') ||
                           (ch >= 'a' && ch <= 'z') ||
                           (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
                  });
  if (!ok) {
    return f.BadValue(text,
                      "a NetBIOS name: 1 to 15 letters, digits, '-' or '_'");
  }
  c->smb.*kMember = std::move(text);
  return Status::Ok();
}

constexpr std::string_view kSmbSignings[] = {"enabled", "required"};
constexpr std::string_view kSmbEncryptions[] = {"off", "desired", "required"};

Status SetSmbSigning(const Field& f, Config* c) {
  std::string text;
  CFS_RETURN_IF_ERROR(ParseChoice(f, kSmbSignings, &text));
  c->smb.signing_required = text == "required";
  return Status::Ok();
}

void EmitSmbSigning(const Config& c, YAML::Emitter& e) {
  e << (c.smb.signing_required ? "required" : "enabled");
}

Status SetSmbEncryption(const Field& f, Config* c) {
  std::string text;
  CFS_RETURN_IF_ERROR(ParseChoice(f, kSmbEncryptions, &text));
  c->smb.encryption = text == "off"       ? smb::SmbEncryption::kOff
                      : text == "desired" ? smb::SmbEncryption::kDesired
                                          : smb::SmbEncryption::kRequired;
  return Status::Ok();
}

void EmitSmbEncryption(const Config& c, YAML::Emitter& e) {
  switch (c.smb.encryption) {
    case smb::SmbEncryption::kOff:
      e << "off";
      return;
    case smb::SmbEncryption::kDesired:
      e << "desired";
      return;
    case smb::SmbEncryption::kRequired:
      e << "required";
      return;
  }
  e << "off";
}

Status SetSmbUmask(const Field& f, Config* c) {
  return ParseOctal(f, 0777, "umask", &c->smb.umask);
}

void EmitSmbUmask(const Config& c, YAML::Emitter& e) {
  e << YAML::DoubleQuoted << Octal3(c.smb.umask);  // "022"
}

// A list of scalars (groups, a share's users); a missing value is empty.
template <typename ParseItem>
Status ForEachScalar(const Field& f, std::string_view what, ParseItem&& parse) {
  if (f.value.IsNull()) return Status::Ok();
  if (!f.value.IsSequence()) {
    return f.Error("expected a list of " + std::string(what) + " for '" +
                   f.name + "', got " + KindName(f.value));
  }
  for (const auto& item : f.value) {
    CFS_RETURN_IF_ERROR(parse(Field{f.origin, f.name, f.key, item}));
  }
  return Status::Ok();
}

// Characters Windows refuses in account names (and '@', which would make
// the name a UPN).
constexpr std::string_view kBadUserNameChars = "\\/:*?\"<>|@";
constexpr char kUserNameRule[] =
    "a user name without \\ / : * ? \" < > | @ or control characters";
// ... and in share names.
constexpr std::string_view kBadShareNameChars = "\\/:*?\"<>|";

Status ParseSmbUserName(const Field& f, std::string* out) {
  std::string text;
  CFS_RETURN_IF_ERROR(RequireScalar(f, &text));
  if (text.empty() || !IsNameText(text, kBadUserNameChars)) {
    return f.BadValue(text, kUserNameRule);
  }
  *out = std::move(text);
  return Status::Ok();
}

int HexDigit(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

std::string ToHex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (char ch : bytes) {
    const auto b = static_cast<unsigned char>(ch);
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

// One entry of smb.users. name, uid, gid and one of password/nt_hash are
// required: a user without a uid would otherwise be root.
Status ParseSmbUser(std::string_view origin, const std::string& section,
                    const YAML::Node& map, smb::SmbUser* u) {
  static constexpr std::string_view kKeys[] = {"name", "password", "nt_hash",
                                               "uid",  "gid",      "groups"};
  std::vector<std::string> seen;
  bool has_secret = false;  // password or nt_hash given
  for (const auto& kv : map) {
    const YAML::Node& key = kv.first;
    CFS_RETURN_IF_ERROR(CheckEntryKey(origin, section, key, kKeys, &seen));
    const std::string& k = key.Scalar();
    Field f{origin, section + "." + k, key, kv.second};
    if (k == "password" || k == "nt_hash") {
      if (has_secret) {
        return ErrorAt(
            origin, key.Mark(),
            "'" + section + "' has both 'password' and 'nt_hash': give one");
      }
      has_secret = true;
    }
    if (k == "name") {
      CFS_RETURN_IF_ERROR(ParseSmbUserName(f, &u->name));
    } else if (k == "password") {
      std::string text;
      CFS_RETURN_IF_ERROR(RequireScalar(f, &text));
      if (text.empty() || !IsUtf8(text)) {
        // Never echo a password.
        return f.Error("bad value for '" + f.name +
                       "': expected a non-empty UTF-8 password");
      }
      u->nt_hash = smb::NtHashOfPassword(text);
      if (u->nt_hash.size() != 16) {
        return f.Error("cannot compute the NT hash for '" + f.name + "' (" +
                       smb::NtlmCryptoStatus().message() +
                       "); give 'nt_hash' instead");
      }
    } else if (k == "nt_hash") {
      std::string text;
      CFS_RETURN_IF_ERROR(RequireScalar(f, &text));
      std::string bytes;
      for (size_t i = 0; text.size() == 32 && i < 32; i += 2) {
        const int hi = HexDigit(text[i]), lo = HexDigit(text[i + 1]);
        if (hi < 0 || lo < 0) break;
        bytes += static_cast<char>(hi * 16 + lo);
      }
      if (bytes.size() != 16) {
        return f.BadValue(text, "32 hexadecimal digits");
      }
      u->nt_hash = std::move(bytes);
    } else if (k == "uid" || k == "gid") {
      uint64_t v = 0;
      CFS_RETURN_IF_ERROR(ParseUnsigned(f, 0, kMaxId, &v));
      (k == "uid" ? u->uid : u->gid) = static_cast<uint32_t>(v);
    } else {  // groups
      u->groups.clear();
      CFS_RETURN_IF_ERROR(ForEachScalar(f, "gids", [&](const Field& fi) {
        uint64_t v = 0;
        CFS_RETURN_IF_ERROR(ParseUnsigned(fi, 0, kMaxId, &v));
        u->groups.push_back(static_cast<uint32_t>(v));
        return Status::Ok();
      }));
    }
  }
  for (std::string_view required : {"name", "uid", "gid"}) {
    if (std::find(seen.begin(), seen.end(), required) == seen.end()) {
      return ErrorAt(
          origin, map.Mark(),
          "'" + section + "' has no '" + std::string(required) + "'");
    }
  }
  if (!has_secret) {
    return ErrorAt(
        origin, map.Mark(),
        "'" + section + "' has neither 'password' nor 'nt_hash': give one");
  }
  return Status::Ok();
}

// "user 'B' is listed twice<where>", followed by " (as 'b'; names are
// case-insensitive)" when the first spelling differs.
std::string ListedTwice(std::string_view what, const std::string& name,
                        const std::string& first, std::string_view where = "") {
  std::string msg = std::string(what) + " '" + name + "' is listed twice" +
                    std::string(where);
  if (name != first) {
    msg += " (as '" + first + "'; names are case-insensitive)";
  }
  return msg;
}

Status SetSmbUsers(const Field& f, Config* c) {
  c->smb.users.clear();
  return ForEachEntry(
      f, "users", [&](const std::string& section, const YAML::Node& item) {
        smb::SmbUser u;
        CFS_RETURN_IF_ERROR(ParseSmbUser(f.origin, section, item, &u));
        for (const smb::SmbUser& other : c->smb.users) {
          if (smb::Utf8EqualsIgnoreCase(other.name, u.name)) {
            return ErrorAt(f.origin, item.Mark(),
                           ListedTwice("user", u.name, other.name));
          }
        }
        c->smb.users.push_back(std::move(u));
        return Status::Ok();
      });
}

void EmitSmbUsers(const Config& c, YAML::Emitter& e) {
  // "[]" rather than a block sequence's "\n    []" when empty.
  if (c.smb.users.empty()) e << YAML::Flow;
  e << YAML::BeginSeq;
  for (const smb::SmbUser& u : c.smb.users) {
    e << YAML::BeginMap;
    e << YAML::Key << "name" << YAML::Value << YAML::DoubleQuoted << u.name;
    e << YAML::Key << "nt_hash" << YAML::Value << YAML::DoubleQuoted
      << ToHex(u.nt_hash);
    e << YAML::Key << "uid" << YAML::Value << u.uid;
    e << YAML::Key << "gid" << YAML::Value << u.gid;
    e << YAML::Key << "groups" << YAML::Value << YAML::Flow << YAML::BeginSeq;
    for (uint32_t g : u.groups) e << g;
    e << YAML::EndSeq;
    e << YAML::EndMap;
  }
  e << YAML::EndSeq;
}

// One entry of smb.shares. Its users are checked against smb.users once the
// whole section is read (CheckSmbShareUsers).
Status ParseSmbShare(std::string_view origin, const std::string& section,
                     const YAML::Node& map, smb::SmbShare* s) {
  static constexpr std::string_view kKeys[] = {"name",      "path",  "comment",
                                               "read_only", "users", "encrypt"};
  std::vector<std::string> seen;
  for (const auto& kv : map) {
    const YAML::Node& key = kv.first;
    CFS_RETURN_IF_ERROR(CheckEntryKey(origin, section, key, kKeys, &seen));
    const std::string& k = key.Scalar();
    Field f{origin, section + "." + k, key, kv.second};
    if (k == "name") {
      std::string text;
      CFS_RETURN_IF_ERROR(RequireScalar(f, &text));
      if (text.empty() || CodePoints(text) > 80 ||
          !IsNameText(text, kBadShareNameChars)) {
        return f.BadValue(text,
                          "a share name of 1 to 80 characters without \\ / : "
                          "* ? \" < > | or control characters");
      }
      if (smb::Utf8EqualsIgnoreCase(text, "IPC$")) {
        return f.Error("bad value '" + text + "' for '" + f.name +
                       "': IPC$ is reserved (the server provides it)");
      }
      s->name = std::move(text);
    } else if (k == "path") {
      CFS_RETURN_IF_ERROR(ParseBackendPath(f, &s->path));
    } else if (k == "comment") {
      std::string text;
      CFS_RETURN_IF_ERROR(RequireScalar(f, &text));
      if (!IsNameText(text, "")) {
        return f.Error("bad value for '" + f.name +
                       "': expected UTF-8 text without control characters");
      }
      s->comment = std::move(text);
    } else if (k == "read_only") {
      CFS_RETURN_IF_ERROR(ParseBoolText(f, &s->read_only));
    } else if (k == "encrypt") {
      CFS_RETURN_IF_ERROR(ParseBoolText(f, &s->encrypt));
    } else {  // users
      s->users.clear();
      CFS_RETURN_IF_ERROR(ForEachScalar(f, "user names", [&](const Field& fi) {
        std::string name;
        CFS_RETURN_IF_ERROR(ParseSmbUserName(fi, &name));
        for (const std::string& other : s->users) {
          if (smb::Utf8EqualsIgnoreCase(other, name)) {
            return fi.Error(
                ListedTwice("user", name, other, " in '" + f.name + "'"));
          }
        }
        s->users.push_back(std::move(name));
        return Status::Ok();
      }));
    }
  }
  if (std::find(seen.begin(), seen.end(), "name") == seen.end()) {
    return ErrorAt(origin, map.Mark(), "'" + section + "' has no 'name'");
  }
  return Status::Ok();
}

Status SetSmbShares(const Field& f, Config* c) {
  c->smb.shares.clear();
  return ForEachEntry(
      f, "shares", [&](const std::string& section, const YAML::Node& item) {
        smb::SmbShare s;
        CFS_RETURN_IF_ERROR(ParseSmbShare(f.origin, section, item, &s));
        for (const smb::SmbShare& other : c->smb.shares) {
          if (smb::Utf8EqualsIgnoreCase(other.name, s.name)) {
            return ErrorAt(f.origin, item.Mark(),
                           ListedTwice("share", s.name, other.name));
          }
        }
        c->smb.shares.push_back(std::move(s));
        return Status::Ok();
      });
}

void EmitSmbShares(const Config& c, YAML::Emitter& e) {
  // "[]" rather than a block sequence's "\n    []" when empty.
  if (c.smb.shares.empty()) e << YAML::Flow;
  e << YAML::BeginSeq;
  for (const smb::SmbShare& s : c.smb.shares) {
    e << YAML::BeginMap;
    e << YAML::Key << "name" << YAML::Value << YAML::DoubleQuoted << s.name;
    e << YAML::Key << "path" << YAML::Value << YAML::DoubleQuoted << s.path;
    e << YAML::Key << "comment" << YAML::Value << YAML::DoubleQuoted
      << s.comment;
    e << YAML::Key << "read_only" << YAML::Value
      << (s.read_only ? "true" : "false");
    e << YAML::Key << "users" << YAML::Value << YAML::Flow << YAML::BeginSeq;
    for (const std::string& u : s.users) e << YAML::DoubleQuoted << u;
    e << YAML::EndSeq;
    e << YAML::Key << "encrypt" << YAML::Value
      << (s.encrypt ? "true" : "false");
    e << YAML::EndMap;
  }
  e << YAML::EndSeq;
}

// The value of `key` in the mapping `map` (a handle sharing its data).
std::optional<YAML::Node> FindValue(const YAML::Node& map,
                                    std::string_view key) {
  for (const auto& kv : map) {
    if (kv.first.IsScalar() && kv.first.Scalar() == key) return kv.second;
  }
  return std::nullopt;
}

// Every name in a share's `users` must be in smb.users (which may come
// after `shares:` in the file). `section` is the parsed `smb:` mapping.
Status CheckSmbShareUsers(const Field& section, const Config& c) {
  const std::optional<YAML::Node> shares = FindValue(section.value, "shares");
  if (!shares || !shares->IsSequence()) return Status::Ok();
  for (size_t i = 0; i < c.smb.shares.size() && i < shares->size(); ++i) {
    const std::optional<YAML::Node> users = FindValue((*shares)[i], "users");
    if (!users || !users->IsSequence()) continue;
    const std::vector<std::string>& names = c.smb.shares[i].users;
    for (size_t j = 0; j < names.size() && j < users->size(); ++j) {
      const bool known = std::any_of(
          c.smb.users.begin(), c.smb.users.end(), [&](const smb::SmbUser& u) {
            return smb::Utf8EqualsIgnoreCase(u.name, names[j]);
          });
      if (!known) {
        return ErrorAt(section.origin, (*users)[j].Mark(),
                       "user '" + names[j] + "' in '" + section.name +
                           ".shares[" + std::to_string(i) +
                           "].users' is not in '" + section.name + ".users'");
      }
    }
  }
  return Status::Ok();
}

constexpr KeySpec kSmbKeys[] = {
    {"enabled", SetBool<&Config::smb_enabled>, EmitBool<&Config::smb_enabled>},
    {"address", SetSmbAddress, EmitSmbQuoted<&smb::SmbOptions::address>},
    {"port", SetSmbUnsigned<&smb::SmbOptions::port, 0, 65535>,
     EmitSmbPlain<&smb::SmbOptions::port>},
    {"server_name", SetNetbiosName<&smb::SmbOptions::server_name>,
     EmitSmbPlain<&smb::SmbOptions::server_name>},
    {"domain", SetNetbiosName<&smb::SmbOptions::domain>,
     EmitSmbPlain<&smb::SmbOptions::domain>},
    {"signing", SetSmbSigning, EmitSmbSigning},
    {"encryption", SetSmbEncryption, EmitSmbEncryption},
    {"guest", SetSmbBool<&smb::SmbOptions::guest>,
     EmitSmbBool<&smb::SmbOptions::guest>},
    {"guest_uid", SetSmbUnsigned<&smb::SmbOptions::guest_uid, 0, kMaxId>,
     EmitSmbPlain<&smb::SmbOptions::guest_uid>},
    {"guest_gid", SetSmbUnsigned<&smb::SmbOptions::guest_gid, 0, kMaxId>,
     EmitSmbPlain<&smb::SmbOptions::guest_gid>},
    {"max_io", SetSmbUnsigned<&smb::SmbOptions::max_io, 64 << 10, 8 << 20>,
     EmitSmbPlain<&smb::SmbOptions::max_io>},
    {"umask", SetSmbUmask, EmitSmbUmask},
    {"oplocks", SetSmbBool<&smb::SmbOptions::oplocks>,
     EmitSmbBool<&smb::SmbOptions::oplocks>},
    {"oplock_break_timeout_ms",
     SetSmbUnsigned<&smb::SmbOptions::oplock_break_timeout_ms, 100, 600000>,
     EmitSmbPlain<&smb::SmbOptions::oplock_break_timeout_ms>},
    {"multichannel", SetSmbBool<&smb::SmbOptions::multichannel>,
     EmitSmbBool<&smb::SmbOptions::multichannel>},
    {"durable_handles", SetSmbBool<&smb::SmbOptions::durable_handles>,
     EmitSmbBool<&smb::SmbOptions::durable_handles>},
    {"durable_timeout_ms",
     SetSmbUnsigned<&smb::SmbOptions::durable_timeout_ms, 1000, 3600000>,
     EmitSmbPlain<&smb::SmbOptions::durable_timeout_ms>},
    {"max_durable_timeout_ms",
     SetSmbUnsigned<&smb::SmbOptions::max_durable_timeout_ms, 1000, 3600000>,
     EmitSmbPlain<&smb::SmbOptions::max_durable_timeout_ms>},
    {"resilient_timeout_ms",
     SetSmbUnsigned<&smb::SmbOptions::resilient_timeout_ms, 1000, 3600000>,
     EmitSmbPlain<&smb::SmbOptions::resilient_timeout_ms>},
    {"max_resilient_timeout_ms",
     SetSmbUnsigned<&smb::SmbOptions::max_resilient_timeout_ms, 1000, 3600000>,
     EmitSmbPlain<&smb::SmbOptions::max_resilient_timeout_ms>},
    {"users", SetSmbUsers, EmitSmbUsers},
    {"shares", SetSmbShares, EmitSmbShares},
};

// A Unix socket path fits in sockaddr_un::sun_path (108 bytes with its NUL;
// the daemon also binds "<path>.new" before renaming it into place).
constexpr size_t kMaxSocketPath = 107 - 4;

Status SetSocketPath(const Field& f, Config* c) {
  std::string text;
  CFS_RETURN_IF_ERROR(RequireScalar(f, &text));
  if (text.empty()) {  // the default: under data_dir
    c->admin_socket.clear();
    return Status::Ok();
  }
  CFS_RETURN_IF_ERROR(SetPath<&Config::admin_socket>(f, c));
  if (c->admin_socket.size() > kMaxSocketPath) {
    return f.BadValue(text, "a socket path of at most " +
                                std::to_string(kMaxSocketPath) + " bytes");
  }
  return Status::Ok();
}

constexpr KeySpec kAdminKeys[] = {
    {"enabled", SetBool<&Config::admin_enabled>,
     EmitBool<&Config::admin_enabled>},
    {"socket", SetSocketPath, EmitPath<&Config::admin_socket>},
};

// ---- metrics: ----

// The endpoint has no authentication: it is served on loopback only (a
// scraper elsewhere reaches it through a proxy or tunnel).
Status SetMetricsAddress(const Field& f, Config* c) {
  std::string text;
  CFS_RETURN_IF_ERROR(RequireScalar(f, &text));
  rpc::Peer p;
  if (!rpc::Peer::Parse(text, 0, &p) || !p.IsLoopback()) {
    return f.BadValue(text, "a loopback address (127.0.0.0/8 or ::1)");
  }
  c->metrics_address = std::move(text);
  return Status::Ok();
}

void EmitMetricsAddress(const Config& c, YAML::Emitter& e) {
  e << YAML::DoubleQuoted << c.metrics_address;
}

constexpr KeySpec kMetricsKeys[] = {
    {"enabled", SetBool<&Config::metrics_enabled>,
     EmitBool<&Config::metrics_enabled>},
    {"address", SetMetricsAddress, EmitMetricsAddress},
    {"port", SetUnsigned<&Config::metrics_port, 0, 65535>,
     EmitPlain<&Config::metrics_port>},
};

Status SetSmbSection(const Field& f, Config* c) {
  CFS_RETURN_IF_ERROR(SetSection<kSmbKeys>(f, c));
  if (f.value.IsMap()) CFS_RETURN_IF_ERROR(CheckSmbShareUsers(f, *c));
  return Status::Ok();
}

constexpr KeySpec kTopKeys[] = {
    {"data_dir", SetPath<&Config::data_dir>, EmitPath<&Config::data_dir>},
    {"store", SetChoice<&Config::store, kStores>, EmitPlain<&Config::store>},
    {"sync", SetSync, EmitSync},
    {"log_level", SetChoice<&Config::log_level, kLogLevelNames>,
     EmitPlain<&Config::log_level>},
    {"log_levels", SetLogLevelsKey, EmitLogLevels},
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
    {"smb", SetSmbSection, EmitSection<kSmbKeys>},
    {"admin", SetSection<kAdminKeys>, EmitSection<kAdminKeys>},
    {"metrics", SetSection<kMetricsKeys>, EmitSection<kMetricsKeys>},
};

// The key table of each section, for ChangedKeys.
struct Section {
  std::string_view name;
  std::span<const KeySpec> keys;
};
constexpr Section kSections[] = {
    {"root", kRootKeys},       {"locks", kLockKeys}, {"mount", kMountKeys},
    {"nfs", kNfsKeys},         {"smb", kSmbKeys},    {"admin", kAdminKeys},
    {"metrics", kMetricsKeys},
};

// One key's value as DumpConfig writes it.
std::string Emitted(const KeySpec& k, const Config& c) {
  YAML::Emitter e;
  k.emit(c, e);
  return e.c_str();
}

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
  if (!c.admin_socket.empty()) {
    CFS_RETURN_IF_ERROR(ResolvePath(origin, base_dir, &c.admin_socket));
  }
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

std::vector<std::string> ChangedKeys(const Config& a, const Config& b) {
  std::vector<std::string> out;
  for (const KeySpec& k : kTopKeys) {
    if (Emitted(k, a) == Emitted(k, b)) continue;
    auto section =
        std::find_if(std::begin(kSections), std::end(kSections),
                     [&](const Section& s) { return s.name == k.name; });
    if (section == std::end(kSections)) {
      out.emplace_back(k.name);
      continue;
    }
    for (const KeySpec& sub : section->keys) {
      if (Emitted(sub, a) != Emitted(sub, b)) {
        out.push_back(std::string(k.name) + "." + std::string(sub.name));
      }
    }
  }
  return out;
}

std::string DumpConfig(const Config& c) {
  YAML::Emitter e;
  e.SetIndent(2);
  EmitMap(kTopKeys, c, e);
  return std::string(e.c_str()) + "\n";
}

}  // namespace concordfs
