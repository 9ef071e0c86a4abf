#include "daemon/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace concordfs {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;
using ::testing::StartsWith;

constexpr char kTopKeys[] =
    "(known keys: data_dir, store, sync, log_level, log_levels, atime, "
    "content_fd_cache, root, locks, mount, nfs, smb, admin, metrics)";

Result<Config> Parse(std::string_view text) {
  return ParseConfig(text, "c.yaml", "/base");
}

// The message of a parse that must fail with EINVAL.
std::string Error(std::string_view text) {
  Result<Config> r = Parse(text);
  EXPECT_FALSE(r.ok()) << "parsed: " << text;
  if (r.ok()) return "";
  EXPECT_EQ(r.code(), EINVAL);
  return r.status().message();
}

// 32 hex digits -> 16 bytes.
std::string Unhex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out += static_cast<char>(
        std::stoi(std::string(hex.substr(i, 2)), nullptr, 16));
  }
  return out;
}

std::string ToHexForTest(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

// Defaults as parsed with the base directory of `data_dir`: relative
// defaults (data_dir, mount.path) resolve against it.
Config DefaultsAt(const std::string& data_dir) {
  Config c;
  c.data_dir = data_dir;
  c.mount_path = data_dir.substr(0, data_dir.rfind('/')) + "/concordfs-mnt";
  return c;
}

TEST(ConfigTest, EmptyTextIsAllDefaults) {
  for (const char* text : {"", "\n", "# only a comment\n", "---\n", "~\n"}) {
    Result<Config> r = Parse(text);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(*r, DefaultsAt("/base/concordfs-data")) << text;
  }
  Config c;
  EXPECT_EQ(c.store, "leveldb");
  EXPECT_EQ(c.sync, SyncPolicy::kBatch);
  EXPECT_EQ(c.log_level, "info");
  EXPECT_EQ(c.atime, "relatime");
  EXPECT_EQ(c.root_uid, 0u);
  EXPECT_EQ(c.root_gid, 0u);
  EXPECT_EQ(c.root_mode, 0755u);
  EXPECT_EQ(c.max_open_fds, 1024u);
}

TEST(ConfigTest, EveryKeyParsed) {
  Result<Config> r = Parse(
      "data_dir: /srv/cfs\n"
      "store: memory\n"
      "sync: none\n"
      "log_level: debug\n"
      "atime: noatime\n"
      "content_fd_cache: 77\n"
      "root:\n"
      "  uid: 1000\n"
      "  gid: 4294967294\n"
      "  mode: \"1777\"\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->data_dir, "/srv/cfs");
  EXPECT_EQ(r->store, "memory");
  EXPECT_EQ(r->sync, SyncPolicy::kNone);
  EXPECT_EQ(r->log_level, "debug");
  EXPECT_EQ(r->atime, "noatime");
  EXPECT_EQ(r->max_open_fds, 77u);
  EXPECT_EQ(r->root_uid, 1000u);
  EXPECT_EQ(r->root_gid, 4294967294u);
  EXPECT_EQ(r->root_mode, 01777u);
}

TEST(ConfigTest, EveryChoiceAccepted) {
  const std::pair<const char*, SyncPolicy> syncs[] = {
      {"always", SyncPolicy::kAlways},
      {"batch", SyncPolicy::kBatch},
      {"none", SyncPolicy::kNone}};
  for (const auto& [name, policy] : syncs) {
    Result<Config> r = Parse(std::string("sync: ") + name);
    ASSERT_TRUE(r.ok()) << name;
    EXPECT_EQ(r->sync, policy);
  }
  for (const char* level : {"trace", "debug", "info", "warn", "error", "off"}) {
    Result<Config> r = Parse(std::string("log_level: ") + level);
    ASSERT_TRUE(r.ok()) << level;
    EXPECT_EQ(r->log_level, level);
  }
  for (const char* atime : {"relatime", "strict", "noatime"}) {
    Result<Config> r = Parse(std::string("atime: '") + atime + "'");
    ASSERT_TRUE(r.ok()) << atime;
    EXPECT_EQ(r->atime, atime);
  }
  for (const char* store : {"leveldb", "memory"}) {
    Result<Config> r = Parse(std::string("store: \"") + store + "\"");
    ASSERT_TRUE(r.ok()) << store;
    EXPECT_EQ(r->store, store);
  }
}

TEST(ConfigTest, ModeIsAlwaysOctal) {
  const std::pair<const char*, uint32_t> cases[] = {
      {"755", 0755}, {"0755", 0755},   {"\"0755\"", 0755}, {"'700'", 0700},
      {"0", 0},      {"07777", 07777}, {"00644", 0644}};
  for (const auto& [text, mode] : cases) {
    Result<Config> r = Parse(std::string("root:\n  mode: ") + text);
    ASSERT_TRUE(r.ok()) << text << ": " << r.status().ToString();
    EXPECT_EQ(r->root_mode, mode) << text;
  }
  Result<Config> r = Parse("root: {mode: 1777, gid: 5}");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->root_mode, 01777u);
  EXPECT_EQ(r->root_gid, 5u);
}

TEST(ConfigTest, EmptySectionKeepsDefaults) {
  for (const char* text : {"root:\n", "root: {}\n", "root:\n  # uid: 5\n"}) {
    Result<Config> r = Parse(text);
    ASSERT_TRUE(r.ok()) << text;
    EXPECT_EQ(*r, DefaultsAt("/base/concordfs-data"));
  }
}

TEST(ConfigTest, DataDirResolution) {
  const std::pair<const char*, const char*> cases[] = {
      {"data", "/base/data"},
      {"./a/b/", "/base/a/b"},
      {"../up", "/up"},
      {"a/../b", "/base/b"},
      {"/srv//cfs/", "/srv/cfs"},
      {"/", "/"},
      {"'with space'", "/base/with space"},
  };
  for (const auto& [text, want] : cases) {
    Result<Config> r = Parse(std::string("data_dir: ") + text);
    ASSERT_TRUE(r.ok()) << text;
    EXPECT_EQ(r->data_dir, want) << text;
  }
  // Without a base directory the cwd is the base; a relative base is taken
  // relative to the cwd.
  const fs::path cwd = fs::current_path();
  Result<Config> r = ParseConfig("data_dir: d", "c.yaml", "");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->data_dir, (cwd / "d").string());
  r = ParseConfig("", "c.yaml", "");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->data_dir, (cwd / "concordfs-data").string());
  r = ParseConfig("data_dir: d", "c.yaml", "rel/dir");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->data_dir, (cwd / "rel/dir/d").string());
}

TEST(ConfigTest, UnknownKeys) {
  EXPECT_EQ(Error("store: memory\nsync: none\nsync_polcy: always\n"),
            std::string("c.yaml:3:1: unknown key 'sync_polcy' ") + kTopKeys);
  EXPECT_EQ(Error("root:\n  uid: 1\n  gidd: 5\n"),
            "c.yaml:3:3: unknown key 'gidd' in 'root' "
            "(known keys: uid, gid, mode)");
  EXPECT_EQ(Error("root: {uid: 1, Mode: 5}"),
            "c.yaml:1:16: unknown key 'Mode' in 'root' "
            "(known keys: uid, gid, mode)");
  EXPECT_EQ(Error("? [a, b]\n: 1\n"),
            "c.yaml:1:3: expected a key name, got a sequence");
}

TEST(ConfigTest, BadChoices) {
  EXPECT_EQ(Error("store: memory\nsync: sometimes\n"),
            "c.yaml:2:7: bad value 'sometimes' for 'sync': "
            "expected always, batch or none");
  EXPECT_EQ(Error("store: rocksdb"),
            "c.yaml:1:8: bad value 'rocksdb' for 'store': "
            "expected leveldb or memory");
  EXPECT_EQ(Error("log_level: verbose"),
            "c.yaml:1:12: bad value 'verbose' for 'log_level': "
            "expected trace, debug, info, warn, error or off");
  EXPECT_EQ(Error("atime: Relatime"),
            "c.yaml:1:8: bad value 'Relatime' for 'atime': "
            "expected relatime, strict or noatime");
}

TEST(ConfigTest, LogLevelsPerComponent) {
  Result<Config> r =
      Parse("log_level: warn\nlog_levels: {smb: debug, nlm: trace}\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->log_level, "warn");
  EXPECT_EQ(r->log_levels, (std::map<std::string, std::string>{
                               {"nlm", "trace"}, {"smb", "debug"}}));
  r = Parse("log_levels:\n  mount: error\n  nsm: 'off'\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->log_levels.at("mount"), "error");
  EXPECT_EQ(r->log_levels.at("nsm"), "off");
  for (const char* empty : {"log_levels:\n", "log_levels: {}\n"}) {
    r = Parse(empty);
    ASSERT_TRUE(r.ok()) << empty;
    EXPECT_TRUE(r->log_levels.empty());
  }
  EXPECT_EQ(Error("log_levels: {smb: debug, smbd: info}\n"),
            "c.yaml:1:26: unknown log component 'smbd' in 'log_levels' "
            "(known components: daemon, fuse, vfs, metadata, locking, net, "
            "rpc, portmap, mount, nfs, nlm, nsm, smb, admin, metrics)");
  EXPECT_EQ(Error("log_levels:\n  nlm: loud\n"),
            "c.yaml:2:8: bad value 'loud' for 'log_levels.nlm': "
            "expected trace, debug, info, warn, error or off");
  EXPECT_EQ(Error("log_levels:\n  nlm: debug\n  nlm: info\n"),
            "c.yaml:3:3: log component 'nlm' is listed twice in 'log_levels'");
  EXPECT_EQ(Error("log_levels: debug\n"),
            "c.yaml:1:13: expected a mapping of log component to level for "
            "'log_levels', got a scalar");
  EXPECT_EQ(Error("log_levels: {nlm: [debug]}\n"),
            "c.yaml:1:19: expected a scalar value for 'log_levels.nlm', got a "
            "sequence");
}

TEST(ConfigTest, ChangedKeys) {
  Config a = DefaultsAt("/d");
  EXPECT_TRUE(ChangedKeys(a, a).empty());
  Config b = a;
  b.log_levels["smb"] = "debug";
  b.nfs_port = 2050;
  b.nfs_exports.push_back(rpc::ExportOptions{});
  b.nfs_exports.back().path = "/c";
  b.smb.shares.push_back({"docs", "/docs", "", true, {}, false});
  b.smb.signing_required = true;
  b.mount_path = "/elsewhere";
  b.metrics_enabled = true;
  EXPECT_EQ(ChangedKeys(a, b),
            (std::vector<std::string>{"log_levels", "mount.path", "nfs.port",
                                      "nfs.exports", "smb.signing",
                                      "smb.shares", "metrics.enabled"}));
  EXPECT_EQ(ChangedKeys(b, a), ChangedKeys(a, b));
}

TEST(ConfigTest, WrongTypes) {
  EXPECT_EQ(Error("sync:\n  always: true\n"),
            "c.yaml:2:3: expected a scalar value for 'sync', got a mapping");
  EXPECT_EQ(Error("store: [leveldb]"),
            "c.yaml:1:8: expected a scalar value for 'store', got a sequence");
  EXPECT_EQ(Error("root:\n  mode: {a: 1}\n"),
            "c.yaml:2:9: expected a scalar value for 'root.mode', "
            "got a mapping");
  EXPECT_EQ(Error("root: 0755"),
            "c.yaml:1:7: expected a mapping for 'root', got a scalar");
  EXPECT_EQ(Error("root: [1]"),
            "c.yaml:1:7: expected a mapping for 'root', got a sequence");
  EXPECT_EQ(Error("- sync\n- none\n"),
            "c.yaml:1:1: expected a mapping of keys at the top level, "
            "got a sequence");
  EXPECT_EQ(Error("just text"),
            "c.yaml:1:1: expected a mapping of keys at the top level, "
            "got a scalar");
}

TEST(ConfigTest, MissingValues) {
  EXPECT_EQ(Error("sync:\nstore: memory\n"),
            "c.yaml:1:1: missing value for 'sync'");
  EXPECT_EQ(Error("store: ~"), "c.yaml:1:1: missing value for 'store'");
  EXPECT_EQ(Error("root:\n  uid:\n"),
            "c.yaml:2:3: missing value for 'root.uid'");
}

TEST(ConfigTest, BadNumbers) {
  const std::string fds =
      "': expected an integer from 1 to 18446744073709551615";
  for (const char* text : {"abc", "-1", "0", "+5", "0x10", "1e3", "5.0", "' 5'",
                           "''", "18446744073709551616"}) {
    std::string value = text;
    if (value.starts_with("'")) value = value.substr(1, value.size() - 2);
    EXPECT_EQ(
        Error(std::string("content_fd_cache: ") + text),
        "c.yaml:1:19: bad value '" + value + "' for 'content_fd_cache" + fds);
  }
  EXPECT_EQ(Error("root:\n  uid: -1\n"),
            "c.yaml:2:8: bad value '-1' for 'root.uid': "
            "expected an integer from 0 to 4294967294");
  EXPECT_EQ(Error("root: {gid: 4294967295}"),
            "c.yaml:1:13: bad value '4294967295' for 'root.gid': "
            "expected an integer from 0 to 4294967294");
  EXPECT_EQ(Error("root:\n  uid: abc\n"),
            "c.yaml:2:8: bad value 'abc' for 'root.uid': "
            "expected an integer from 0 to 4294967294");
}

TEST(ConfigTest, BadModes) {
  for (const char* mode : {"0758", "8", "010000", "-1", "rwx", "0x1ed", ""}) {
    EXPECT_EQ(Error(std::string("root:\n  mode: \"") + mode + "\""),
              std::string("c.yaml:2:9: bad value '") + mode +
                  "' for 'root.mode': expected an octal mode from 0 to 07777");
  }
}

TEST(ConfigTest, BadDataDir) {
  EXPECT_EQ(Error("data_dir: ''"),
            "c.yaml:1:11: bad value '' for 'data_dir': "
            "expected a directory path");
  EXPECT_EQ(Error("data_dir: ~/cfs"),
            "c.yaml:1:11: bad value '~/cfs' for 'data_dir': "
            "expected a path without '~' (it is not expanded)");
  EXPECT_EQ(Error("data_dir: \"a\\0b\""),
            "c.yaml:1:11: bad value for 'data_dir': NUL byte in path");
  for (const char* bad : {"/a\xFF", "/a\xC3", "/\xC0\xAF", "/\xED\xA0\x80",
                          "/\xF4\x90\x80\x80"}) {
    // Caught before YAML parsing, at the first bad byte.
    EXPECT_THAT(
        Error(std::string("data_dir: ") + bad),
        MatchesRegex("c\\.yaml:1:1[23]: not valid UTF-8: not a text file"))
        << bad;
  }
  Result<Config> ok =
      Parse("data_dir: /\xC3\xA9/\xE2\x82\xAC/\xF0\x9F\x98\x80");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->data_dir, "/\xC3\xA9/\xE2\x82\xAC/\xF0\x9F\x98\x80");
}

TEST(ConfigTest, DuplicateKeys) {
  EXPECT_EQ(Error("sync: none\nstore: memory\nsync: always\n"),
            "c.yaml:3:1: duplicate key 'sync' (first given at line 1)");
  EXPECT_EQ(Error("root:\n  uid: 1\n  uid: 2\n"),
            "c.yaml:3:3: duplicate key 'uid' (first given at line 2)");
}

TEST(ConfigTest, SyntaxErrorsHavePositions) {
  EXPECT_THAT(Error("store: memory\nsync: [none\n"),
              StartsWith("c.yaml:3:1: "));
  EXPECT_THAT(Error("store: memory\n  sync: none\n"),
              StartsWith("c.yaml:2:7: "));
  EXPECT_THAT(Error("store: memory\n\tsync: none\n"),
              StartsWith("c.yaml:2:1: "));
  EXPECT_THAT(Error("sync: *nowhere\n"), StartsWith("c.yaml:1:7: "));
  EXPECT_EQ(Error("sync: none\n---\nstore: memory\n"),
            "c.yaml:3:1: expected one YAML document, found a second one");
  // Pathological nesting is refused by yaml-cpp's depth guard, not a crash.
  EXPECT_THAT(Error("sync: " + std::string(5000, '[')), StartsWith("c.yaml:"));
}

TEST(ConfigTest, DumpRoundTrips) {
  Config c;
  c.data_dir = "/srv/odd: dir #1/\"quoted\" 'x' \xC3\xA9t\xC3\xA9";
  c.store = "memory";
  c.sync = SyncPolicy::kAlways;
  c.log_level = "off";
  c.log_levels = {{"nlm", "trace"}, {"smb", "off"}, {"daemon", "info"}};
  c.atime = "strict";
  c.root_uid = 4294967294u;
  c.root_gid = 7;
  c.root_mode = 01777;
  c.max_open_fds = 18446744073709551615u;
  c.mount_path = "/mnt/concord";
  c.mount_enabled = false;
  c.smb_enabled = false;
  c.smb.address = "::";
  c.smb.port = 445;
  c.smb.server_name = "LAB-1";
  c.smb.domain = "CORP_X";
  c.smb.signing_required = true;
  c.smb.encryption = smb::SmbEncryption::kDesired;
  c.smb.guest = true;
  c.smb.guest_uid = 4294967294u;
  c.smb.guest_gid = 0;
  c.smb.max_io = 65536;
  c.smb.umask = 0;
  c.smb.users = {{"- al #1 'x' &y !z %\xC3\xA9 ",
                  std::string("\0\xff\x01 abcdefghijkl", 16),
                  0,
                  4294967294u,
                  {}},
                 {"true", std::string(16, '\0'), 7, 8, {1, 2, 4294967294u}}};
  c.smb.shares = {{"- Odd #share 'x' @\xC3\xA9$ ",
                   "/a/b",
                   "a \"comment\": #x",
                   true,
                   {"TRUE", "- AL #1 'X' &Y !Z %\xC3\x89 "},
                   true},
                  {"yes", "/", "", false, {}, false}};
  for (const Config& want : {DefaultsAt("/var/lib/concordfs"), c}) {
    std::string text = DumpConfig(want);
    Result<Config> got = ParseConfig(text, "dump", "/elsewhere");
    ASSERT_TRUE(got.ok()) << got.status().ToString() << "\n" << text;
    EXPECT_EQ(*got, want) << text;
  }
  for (uint32_t mode : {0u, 01u, 0644u, 04755u, 07777u}) {
    Config m = DefaultsAt("/d");
    m.root_mode = mode;
    Result<Config> got = ParseConfig(DumpConfig(m), "dump", "/");
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(got->root_mode, mode);
  }
}

TEST(ConfigTest, DumpText) {
  EXPECT_EQ(DumpConfig(DefaultsAt("/var/lib/concordfs")),
            "data_dir: \"/var/lib/concordfs\"\n"
            "store: leveldb\n"
            "sync: batch\n"
            "log_level: info\n"
            "log_levels: {}\n"
            "atime: relatime\n"
            "content_fd_cache: 1024\n"
            "root:\n"
            "  uid: 0\n"
            "  gid: 0\n"
            "  mode: \"0755\"\n"
            "locks:\n"
            "  grace_period: 90\n"
            "  max_per_file: 1048576\n"
            "  max_per_client: 1048576\n"
            "  max_total: 16777216\n"
            "  persist: written\n"
            "mount:\n"
            "  enabled: true\n"
            "  path: \"/var/lib/concordfs-mnt\"\n"
            "  allow_other: false\n"
            "  entry_timeout_ms: 10000\n"
            "  attr_timeout_ms: 10000\n"
            "  kernel_cache: true\n"
            "  passthrough: true\n"
            "  enforce_share_modes: false\n"
            "nfs:\n"
            "  enabled: true\n"
            "  address: \"127.0.0.1\"\n"
            "  port: 2049\n"
            "  mount_port: 0\n"
            "  udp: true\n"
            "  portmapper: auto\n"
            "  portmap_port: 111\n"
            "  threads: 8\n"
            "  max_io: 1048576\n"
            "  grant_timeout_ms: 10000\n"
            "  exports:\n"
            "    - path: \"/\"\n"
            "      clients: [\"127.0.0.0/8\", \"::1\"]\n"
            "      read_only: false\n"
            "      squash: root\n"
            "      anonuid: 65534\n"
            "      anongid: 65534\n"
            "      secure: false\n"
            "smb:\n"
            "  enabled: true\n"
            "  address: \"127.0.0.1\"\n"
            "  port: 4450\n"
            "  server_name: CONCORDFS\n"
            "  domain: WORKGROUP\n"
            "  signing: enabled\n"
            "  encryption: off\n"
            "  guest: false\n"
            "  guest_uid: 65534\n"
            "  guest_gid: 65534\n"
            "  max_io: 8388608\n"
            "  umask: \"022\"\n"
            "  oplocks: true\n"
            "  oplock_break_timeout_ms: 35000\n"
            "  multichannel: true\n"
            "  durable_handles: true\n"
            "  durable_timeout_ms: 60000\n"
            "  max_durable_timeout_ms: 300000\n"
            "  resilient_timeout_ms: 120000\n"
            "  max_resilient_timeout_ms: 300000\n"
            "  users: []\n"
            "  shares: []\n"
            "admin:\n"
            "  enabled: true\n"
            "  socket: \"\"\n"
            "metrics:\n"
            "  enabled: false\n"
            "  address: \"127.0.0.1\"\n"
            "  port: 9464\n");
}

TEST(ConfigTest, NfsSection) {
  Result<Config> c = ParseConfig(
      "nfs:\n"
      "  address: '::1'\n"
      "  port: 20490\n"
      "  portmapper: off\n"
      "  exports:\n"
      "    - {path: /srv//a/, clients: ['10.0.0.0/8', '*'], read_only: yes,\n"
      "       squash: all, anonuid: 7, anongid: 8, secure: true}\n"
      "    - {path: /b}\n",
      "c.yaml", "/base");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->nfs_address, "::1");
  EXPECT_EQ(c->nfs_port, 20490u);
  EXPECT_EQ(c->nfs_portmapper, "off");
  ASSERT_EQ(c->nfs_exports.size(), 2u);
  const rpc::ExportOptions& a = c->nfs_exports[0];
  EXPECT_EQ(a.path, "/srv/a");
  EXPECT_EQ(a.clients, (std::vector<std::string>{"10.0.0.0/8", "*"}));
  EXPECT_TRUE(a.read_only);
  EXPECT_EQ(a.squash, rpc::Squash::kAll);
  EXPECT_EQ(a.anonuid, 7u);
  EXPECT_EQ(a.anongid, 8u);
  EXPECT_TRUE(a.secure);
  // Unlisted keys keep the defaults: loopback only, root squash.
  EXPECT_EQ(c->nfs_exports[1].clients,
            (std::vector<std::string>{"127.0.0.0/8", "::1"}));
  EXPECT_EQ(c->nfs_exports[1].squash, rpc::Squash::kRoot);
  // The dump parses back to the same settings.
  Result<Config> again = ParseConfig(DumpConfig(*c), "dump", "/base");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*again, *c);

  Result<Config> none = ParseConfig("nfs: {exports: []}", "c.yaml", "");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->nfs_exports.empty());

  EXPECT_EQ(Error("nfs: {address: localhost}"),
            "c.yaml:1:16: bad value 'localhost' for 'nfs.address': expected "
            "a numeric IPv4 or IPv6 address");
  EXPECT_EQ(Error("nfs: {max_io: 5000}"),
            "c.yaml:1:15: bad value '5000' for 'nfs.max_io': expected a "
            "multiple of 4096");
  EXPECT_EQ(Error("nfs: {portmapper: maybe}"),
            "c.yaml:1:19: bad value 'maybe' for 'nfs.portmapper': expected "
            "auto, embedded, system or off");
  EXPECT_EQ(
      Error("nfs:\n  exports:\n    - {path: /a, clients: [10.0.0.0/33]}\n"),
      "c.yaml:3:28: '10.0.0.0/33' is not \"*\", a numeric address or "
      "address/prefix");
  EXPECT_EQ(Error("nfs:\n  exports:\n    - {path: a}\n"),
            "c.yaml:3:14: bad value 'a' for 'nfs.exports[0].path': expected an "
            "absolute path inside the backend without . or ..");
  EXPECT_EQ(Error("nfs:\n  exports:\n    - {path: /a/../b}\n"),
            "c.yaml:3:14: bad value '/a/../b' for 'nfs.exports[0].path': "
            "expected an absolute path inside the backend without . or ..");
  EXPECT_EQ(Error("nfs:\n  exports:\n    - {path: /a, squash: some}\n"),
            "c.yaml:3:26: bad value 'some' for 'nfs.exports[0].squash': "
            "expected none, root or all");
  EXPECT_EQ(Error("nfs:\n  exports:\n    - {path: /a}\n    - {path: /a/}\n"),
            "c.yaml:4:7: export '/a' is listed twice");
  EXPECT_EQ(Error("nfs:\n  exports:\n    - {path: /a, root: 1}\n"),
            "c.yaml:3:18: unknown key 'root' in 'nfs.exports[0]' (known keys: "
            "path, clients, read_only, squash, anonuid, anongid, secure)");
}

TEST(ConfigTest, MountSection) {
  Result<Config> c = ParseConfig(
      "mount: {enabled: false, path: m, allow_other: yes, attr_timeout_ms: 5}",
      "c.yaml", "/base");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_FALSE(c->mount_enabled);
  EXPECT_EQ(c->mount_path, "/base/m");
  EXPECT_TRUE(c->mount_allow_other);
  EXPECT_EQ(c->mount_attr_timeout_ms, 5u);
  EXPECT_EQ(Error("mount: {kernel_cache: maybe}"),
            "c.yaml:1:23: bad value 'maybe' for 'mount.kernel_cache': "
            "expected true or false");
}

TEST(ConfigTest, NulByteIsRejectedNotHung) {
  // This input made yaml-cpp 0.7 loop forever (found by config_fuzz).
  const std::string hang(",.\0okcl\0\0\0v\0\0\0od\xbb: 2}\n", 22);
  EXPECT_EQ(Error(hang), "c.yaml:1:3: NUL byte: not a text file");
  EXPECT_EQ(Error(std::string("sync: batch\nlog_level: in\0fo\n", 28)),
            "c.yaml:2:14: NUL byte: not a text file");
  // And this one (malformed UTF-8 and a form feed).
  EXPECT_EQ(Error("&ata,data_dir:\xf4\xf4\xf4\xf4\xf4\xf4\xf4\x0c: 3}\n"),
            "c.yaml:1:15: not valid UTF-8: not a text file");
  EXPECT_EQ(Error("sync: batch\x0c\n"),
            "c.yaml:1:12: control character: not a text file");
}

TEST(ConfigTest, LockSection) {
  Result<Config> c = Parse("locks: {grace_period: 5, max_per_file: 10}");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->lock_grace_seconds, 5u);
  EXPECT_EQ(c->lock_max_per_file, 10u);
  EXPECT_EQ(c->lock_max_total, 1u << 24);
  EXPECT_EQ(Error("locks: {max_total: 0}"),
            "c.yaml:1:20: bad value '0' for 'locks.max_total': expected an "
            "integer from 1 to 18446744073709551615");
  // How lock records are persisted: written before the reply by default.
  EXPECT_EQ(c->lock_persist, "written");
  for (const char* mode : {"written", "synced", "behind"}) {
    Result<Config> m = Parse(std::string("locks: {persist: ") + mode + "}");
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    EXPECT_EQ(m->lock_persist, mode);
    EXPECT_NE(DumpConfig(*m).find(std::string("  persist: ") + mode + "\n"),
              std::string::npos);
  }
  EXPECT_EQ(Error("locks: {persist: sync}"),
            "c.yaml:1:18: bad value 'sync' for 'locks.persist': expected "
            "written, synced or behind");
  // The boolean it replaced is gone.
  EXPECT_NE(Error("locks: {write_behind: true}").find("unknown key"),
            std::string::npos);
}

TEST(ConfigTest, AdminSection) {
  Config d;
  EXPECT_TRUE(d.admin_enabled);
  EXPECT_EQ(d.admin_socket, "");  // <data_dir>/admin.sock
  Result<Config> c =
      ParseConfig("admin: {enabled: no, socket: run/a.sock}", "c.yaml", "/b");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_FALSE(c->admin_enabled);
  EXPECT_EQ(c->admin_socket, "/b/run/a.sock");
  c = Parse("admin: {socket: \"\"}");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->admin_socket, "");
  EXPECT_EQ(Error("admin: {socket: [a]}"),
            "c.yaml:1:17: expected a scalar value for 'admin.socket', got a "
            "sequence");
  EXPECT_EQ(Error("admin: {socket: /" + std::string(110, 'x') + "}"),
            "c.yaml:1:17: bad value '/" + std::string(110, 'x') +
                "' for 'admin.socket': expected a socket path of at most 103 "
                "bytes");
  EXPECT_EQ(Error("admin: {port: 1}"),
            "c.yaml:1:9: unknown key 'port' in 'admin' (known keys: enabled, "
            "socket)");
  // Dumped and read back.
  Config x = DefaultsAt("/d");
  x.admin_enabled = false;
  x.admin_socket = "/run/concordfs/admin.sock";
  Result<Config> back = ParseConfig(DumpConfig(x), "dump", "/");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, x);
}

TEST(ConfigTest, MetricsSection) {
  Config d;
  EXPECT_FALSE(d.metrics_enabled);
  EXPECT_EQ(d.metrics_address, "127.0.0.1");
  EXPECT_EQ(d.metrics_port, 9464u);
  Result<Config> c = Parse("metrics: {enabled: yes, address: '::1', port: 0}");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_TRUE(c->metrics_enabled);
  EXPECT_EQ(c->metrics_address, "::1");
  EXPECT_EQ(c->metrics_port, 0u);
  EXPECT_TRUE(Parse("metrics: {address: 127.0.0.2}").ok());
  EXPECT_EQ(Error("metrics: {address: 0.0.0.0}"),
            "c.yaml:1:20: bad value '0.0.0.0' for 'metrics.address': "
            "expected a loopback address (127.0.0.0/8 or ::1)");
  EXPECT_EQ(Error("metrics: {address: localhost}"),
            "c.yaml:1:20: bad value 'localhost' for 'metrics.address': "
            "expected a loopback address (127.0.0.0/8 or ::1)");
  EXPECT_EQ(Error("metrics: {port: 65536}"),
            "c.yaml:1:17: bad value '65536' for 'metrics.port': "
            "expected an integer from 0 to 65535");
  EXPECT_EQ(Error("metrics: {path: /m}"),
            "c.yaml:1:11: unknown key 'path' in 'metrics' (known keys: "
            "enabled, address, port)");
  Config x = DefaultsAt("/d");
  x.metrics_enabled = true;
  x.metrics_address = "::1";
  x.metrics_port = 0;
  Result<Config> back = ParseConfig(DumpConfig(x), "dump", "/");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, x);
}

TEST(ConfigTest, SmbDefaults) {
  Config c;
  EXPECT_TRUE(c.smb_enabled);
  EXPECT_EQ(c.smb.address, "127.0.0.1");
  EXPECT_EQ(c.smb.port, 4450u);
  EXPECT_EQ(c.smb.server_name, "CONCORDFS");
  EXPECT_EQ(c.smb.domain, "WORKGROUP");
  EXPECT_FALSE(c.smb.signing_required);
  EXPECT_EQ(c.smb.encryption, smb::SmbEncryption::kOff);
  EXPECT_FALSE(c.smb.guest);
  EXPECT_EQ(c.smb.guest_uid, 65534u);
  EXPECT_EQ(c.smb.guest_gid, 65534u);
  EXPECT_EQ(c.smb.max_io, 8u << 20);
  EXPECT_EQ(c.smb.umask, 022u);
  EXPECT_TRUE(c.smb.users.empty());
  EXPECT_TRUE(c.smb.shares.empty());
  // An empty section keeps them.
  for (const char* text :
       {"smb:\n", "smb: {}\n", "smb: {users: [], shares: []}"}) {
    Result<Config> r = Parse(text);
    ASSERT_TRUE(r.ok()) << text << ": " << r.status().ToString();
    EXPECT_EQ(*r, DefaultsAt("/base/concordfs-data")) << text;
  }
}

TEST(ConfigTest, SmbSection) {
  Result<Config> r = Parse(
      "smb:\n"
      "  enabled: false\n"
      "  address: '::'\n"
      "  port: 445\n"
      "  server_name: lab-srv_1\n"
      "  domain: CORP\n"
      "  signing: required\n"
      "  encryption: desired\n"
      "  guest: yes\n"
      "  guest_uid: 99\n"
      "  guest_gid: 98\n"
      "  max_io: 65536\n"
      "  umask: 0027\n"
      "  shares:\n"  // before the users they name
      "    - name: Data\n"
      "      path: /srv//data/\n"
      "      comment: 'team data: #1'\n"
      "      read_only: true\n"
      "      users: [ALICE, bob]\n"
      "      encrypt: true\n"
      "    - {name: pub}\n"
      "  users:\n"
      "    - name: alice\n"
      "      password: Password\n"
      "      uid: 1000\n"
      "      gid: 100\n"
      "      groups: [10, 4294967294]\n"
      "    - {name: Bob, nt_hash: A4F49C406510BDCAB6824EE7C30FD852, uid: 0,"
      " gid: 0}\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const smb::SmbOptions& o = r->smb;
  EXPECT_FALSE(r->smb_enabled);
  EXPECT_EQ(o.address, "::");
  EXPECT_EQ(o.port, 445u);
  EXPECT_EQ(o.server_name, "lab-srv_1");
  EXPECT_EQ(o.domain, "CORP");
  EXPECT_TRUE(o.signing_required);
  EXPECT_EQ(o.encryption, smb::SmbEncryption::kDesired);
  EXPECT_TRUE(o.guest);
  EXPECT_EQ(o.guest_uid, 99u);
  EXPECT_EQ(o.guest_gid, 98u);
  EXPECT_EQ(o.max_io, 65536u);
  EXPECT_EQ(o.umask, 027u);
  ASSERT_EQ(o.users.size(), 2u);
  EXPECT_EQ(o.users[0].name, "alice");
  EXPECT_EQ(o.users[0].nt_hash, Unhex("a4f49c406510bdcab6824ee7c30fd852"));
  EXPECT_EQ(o.users[0].uid, 1000u);
  EXPECT_EQ(o.users[0].gid, 100u);
  EXPECT_EQ(o.users[0].groups, (std::vector<uint32_t>{10, 4294967294u}));
  EXPECT_EQ(o.users[1].name, "Bob");
  EXPECT_EQ(o.users[1].nt_hash, o.users[0].nt_hash);  // same password
  EXPECT_TRUE(o.users[1].groups.empty());
  ASSERT_EQ(o.shares.size(), 2u);
  const smb::SmbShare& d = o.shares[0];
  EXPECT_EQ(d.name, "Data");
  EXPECT_EQ(d.path, "/srv/data");
  EXPECT_EQ(d.comment, "team data: #1");
  EXPECT_TRUE(d.read_only);
  EXPECT_EQ(d.users, (std::vector<std::string>{"ALICE", "bob"}));
  EXPECT_TRUE(d.encrypt);
  // Unlisted keys keep SmbShare's defaults.
  const smb::SmbShare& p = o.shares[1];
  EXPECT_EQ(p.name, "pub");
  EXPECT_EQ(p.path, "/");
  EXPECT_EQ(p.comment, "");
  EXPECT_FALSE(p.read_only);
  EXPECT_TRUE(p.users.empty());
  EXPECT_FALSE(p.encrypt);

  for (const auto& [text, want] :
       {std::pair{"off", smb::SmbEncryption::kOff},
        std::pair{"desired", smb::SmbEncryption::kDesired},
        std::pair{"required", smb::SmbEncryption::kRequired}}) {
    Result<Config> e = Parse(std::string("smb: {encryption: ") + text + "}");
    ASSERT_TRUE(e.ok()) << text;
    EXPECT_EQ(e->smb.encryption, want);
  }
  Result<Config> s = Parse("smb: {signing: enabled, port: 0}");
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(s->smb.signing_required);
  EXPECT_EQ(s->smb.port, 0u);
}

TEST(ConfigTest, SmbPasswordBecomesNtHash) {
  // Reference values: MD4(UTF-16LE(password)) computed with PyCryptodome;
  // "Password" is also MS-NLMP's sample (4.2.1).
  const std::pair<const char*, const char*> cases[] = {
      {"Password", "a4f49c406510bdcab6824ee7c30fd852"},
      {"concordfs", "6cf5f661d9d07e5d8721541157b32fe9"},
      {"p\xC3\xA4ss\xF0\x9F\x98\x80", "6595470c5638e22b494e1ab0029899ad"},
  };
  for (const auto& [password, hex] : cases) {
    Result<Config> r =
        Parse(std::string("smb:\n  users:\n    - {name: u, password: '") +
              password + "', uid: 1, gid: 1}\n");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->smb.users.size(), 1u);
    EXPECT_EQ(r->smb.users[0].nt_hash, Unhex(hex)) << password;
  }
  // A password YAML would read as a number or a bool is still text.
  Result<Config> a = Parse(
      "smb: {users: [{name: a, password: 0123, uid: 1, gid: 1}, "
      "{name: b, password: yes, uid: 1, gid: 1}]}");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->smb.users[0].nt_hash, Unhex("6247cc78af538aa47024a547039bdf72"));
  EXPECT_EQ(a->smb.users[1].nt_hash, Unhex("9544b55d2641105f41b23b66aea89f20"));
}

TEST(ConfigTest, SmbErrors) {
  EXPECT_EQ(Error("smb: {prot: 445}"),
            "c.yaml:1:7: unknown key 'prot' in 'smb' (known keys: enabled, "
            "address, port, server_name, domain, signing, encryption, guest, "
            "guest_uid, guest_gid, max_io, umask, oplocks, "
            "oplock_break_timeout_ms, multichannel, durable_handles, "
            "durable_timeout_ms, "
            "max_durable_timeout_ms, resilient_timeout_ms, "
            "max_resilient_timeout_ms, users, shares)");
  EXPECT_EQ(Error("smb:\n  port: 65536\n"),
            "c.yaml:2:9: bad value '65536' for 'smb.port': expected an "
            "integer from 0 to 65535");
  EXPECT_EQ(Error("smb: {port: http}"),
            "c.yaml:1:13: bad value 'http' for 'smb.port': expected an "
            "integer from 0 to 65535");
  EXPECT_EQ(Error("smb: {address: localhost}"),
            "c.yaml:1:16: bad value 'localhost' for 'smb.address': expected "
            "a numeric IPv4 or IPv6 address");
  EXPECT_EQ(Error("smb: {signing: disabled}"),
            "c.yaml:1:16: bad value 'disabled' for 'smb.signing': expected "
            "enabled or required");
  EXPECT_EQ(Error("smb: {encryption: on}"),
            "c.yaml:1:19: bad value 'on' for 'smb.encryption': expected off, "
            "desired or required");
  EXPECT_EQ(Error("smb: {max_io: 65535}"),
            "c.yaml:1:15: bad value '65535' for 'smb.max_io': expected an "
            "integer from 65536 to 8388608");
  EXPECT_EQ(Error("smb: {max_io: 8388609}"),
            "c.yaml:1:15: bad value '8388609' for 'smb.max_io': expected an "
            "integer from 65536 to 8388608");
  EXPECT_EQ(Error("smb: {umask: 0778}"),
            "c.yaml:1:14: bad value '0778' for 'smb.umask': expected an octal "
            "umask from 0 to 0777");
  EXPECT_EQ(Error("smb: {umask: 1000}"),
            "c.yaml:1:14: bad value '1000' for 'smb.umask': expected an octal "
            "umask from 0 to 0777");
  EXPECT_EQ(Error("smb: {guest_uid: 4294967295}"),
            "c.yaml:1:18: bad value '4294967295' for 'smb.guest_uid': "
            "expected an integer from 0 to 4294967294");
  for (const char* name :
       {"", "SIXTEEN-CHARS-XX", "has space", "a.b", "caf\xC3\xA9"}) {
    EXPECT_EQ(Error(std::string("smb: {server_name: '") + name + "'}"),
              std::string("c.yaml:1:20: bad value '") + name +
                  "' for 'smb.server_name': expected a NetBIOS name: 1 to 15 "
                  "letters, digits, '-' or '_'");
  }
  EXPECT_EQ(Error("smb: {domain: my.lab}"),
            "c.yaml:1:15: bad value 'my.lab' for 'smb.domain': expected a "
            "NetBIOS name: 1 to 15 letters, digits, '-' or '_'");
  EXPECT_EQ(Error("smb: {users: {name: a}}"),
            "c.yaml:1:14: expected a list of users for 'smb.users', got a "
            "mapping");
  EXPECT_EQ(Error("smb: {shares: [pub]}"),
            "c.yaml:1:16: expected a mapping for 'smb.shares[0]', got a "
            "scalar");
}

// `smb:\n  users:\n` followed by the given entries, one per line.
std::string UsersError(std::initializer_list<std::string_view> entries) {
  std::string text = "smb:\n  users:\n";
  for (std::string_view e : entries) text += "    - " + std::string(e) + "\n";
  return Error(text);
}

TEST(ConfigTest, SmbUserErrors) {
  EXPECT_EQ(UsersError({"{name: a, password: x, uid: 1, gid: 1, home: /}"}),
            "c.yaml:3:46: unknown key 'home' in 'smb.users[0]' (known keys: "
            "name, password, nt_hash, uid, gid, groups)");
  EXPECT_EQ(UsersError({"{name: a, password: x, uid: 1, gid: 1, uid: 2}"}),
            "c.yaml:3:46: duplicate key 'uid'");
  EXPECT_EQ(UsersError({"{name: a, password: x, uid: 1, gid: 1}",
                        "{name: b, password: y, uid: 2, gid: 2}",
                        "{name: A, password: z, uid: 3, gid: 3}"}),
            "c.yaml:5:7: user 'A' is listed twice (as 'a'; names are "
            "case-insensitive)");
  EXPECT_EQ(UsersError({"{name: a, password: x, uid: 1, gid: 1}",
                        "{name: a, password: x, uid: 1, gid: 1}"}),
            "c.yaml:4:7: user 'a' is listed twice");
  EXPECT_EQ(UsersError({"{name: a, password: x, nt_hash: "
                        "a4f49c406510bdcab6824ee7c30fd852, uid: 1, gid: 1}"}),
            "c.yaml:3:30: 'smb.users[0]' has both 'password' and 'nt_hash': "
            "give one");
  EXPECT_EQ(UsersError({"{name: a, uid: 1, gid: 1}"}),
            "c.yaml:3:7: 'smb.users[0]' has neither 'password' nor 'nt_hash': "
            "give one");
  EXPECT_EQ(UsersError({"{password: x, uid: 1, gid: 1}"}),
            "c.yaml:3:7: 'smb.users[0]' has no 'name'");
  EXPECT_EQ(UsersError({"{name: a, password: x, gid: 1}"}),
            "c.yaml:3:7: 'smb.users[0]' has no 'uid'");
  EXPECT_EQ(UsersError({"{name: a, password: x, uid: 1}"}),
            "c.yaml:3:7: 'smb.users[0]' has no 'gid'");
  EXPECT_EQ(UsersError({"{name: a, password: '', uid: 1, gid: 1}"}),
            "c.yaml:3:27: bad value for 'smb.users[0].password': expected a "
            "non-empty UTF-8 password");
  EXPECT_EQ(UsersError({"{name: a, password: , uid: 1, gid: 1}"}),
            "c.yaml:3:17: missing value for 'smb.users[0].password'");
  for (const char* hex :
       {"a4f49c406510bdcab6824ee7c30fd85", "a4f49c406510bdcab6824ee7c30fd8522",
        "g4f49c406510bdcab6824ee7c30fd852", "a4f49c406510bdcab6824ee7c30fd8 2",
        ""}) {
    EXPECT_EQ(
        UsersError(
            {"{name: a, nt_hash: '" + std::string(hex) + "', uid: 1, gid: 1}"}),
        std::string("c.yaml:3:26: bad value '") + hex +
            "' for 'smb.users[0].nt_hash': expected 32 hexadecimal digits");
  }
  const std::string rule =
      "expected a user name without \\ / : * ? \" < > | @ or control "
      "characters";
  for (const char* name : {"", "dom\\\\user", "a/b", "a:b", "a*", "a?", "a<",
                           "a>", "a|b", "user@realm", "tab\\tname"}) {
    std::string shown = name;  // as YAML reads the double-quoted scalar
    if (shown == "dom\\\\user") shown = "dom\\user";
    if (shown == "tab\\tname") shown = "tab\tname";
    EXPECT_EQ(UsersError({"{name: \"" + std::string(name) +
                          "\", password: x, uid: 1, gid: 1}"}),
              "c.yaml:3:14: bad value '" + shown +
                  "' for 'smb.users[0].name': " + rule)
        << name;
  }
  EXPECT_EQ(UsersError({"{name: 'a\"b', password: x, uid: 1, gid: 1}"}),
            "c.yaml:3:14: bad value 'a\"b' for 'smb.users[0].name': " + rule);
  EXPECT_EQ(UsersError({"{name: a, password: x, uid: -1, gid: 1}"}),
            "c.yaml:3:35: bad value '-1' for 'smb.users[0].uid': expected an "
            "integer from 0 to 4294967294");
  EXPECT_EQ(UsersError({"{name: a, password: x, uid: 1, gid: 4294967295}"}),
            "c.yaml:3:43: bad value '4294967295' for 'smb.users[0].gid': "
            "expected an integer from 0 to 4294967294");
  EXPECT_EQ(
      UsersError({"{name: a, password: x, uid: 1, gid: 1, groups: [1, x]}"}),
      "c.yaml:3:58: bad value 'x' for 'smb.users[0].groups': expected an "
      "integer from 0 to 4294967294");
  EXPECT_EQ(
      UsersError({"{name: a, password: x, uid: 1, gid: 1, groups: 5}"}),
      "c.yaml:3:54: expected a list of gids for 'smb.users[0].groups', got "
      "a scalar");
}

// `smb:` with users alice and bob and `shares:` followed by the entries.
std::string SharesError(std::initializer_list<std::string_view> entries) {
  std::string text =
      "smb:\n"
      "  users:\n"
      "    - {name: alice, password: x, uid: 1, gid: 1}\n"
      "    - {name: bob, password: y, uid: 2, gid: 2}\n"
      "  shares:\n";
  for (std::string_view e : entries) text += "    - " + std::string(e) + "\n";
  return Error(text);
}

TEST(ConfigTest, SmbShareErrors) {
  EXPECT_EQ(SharesError({"{name: a, users: [alice, carol]}"}),
            "c.yaml:6:32: user 'carol' in 'smb.shares[0].users' is not in "
            "'smb.users'");
  // Also when the shares come first.
  EXPECT_EQ(Error("smb:\n"
                  "  shares:\n"
                  "    - {name: a, users: [BOB, eve]}\n"
                  "  users:\n"
                  "    - {name: bob, password: y, uid: 2, gid: 2}\n"),
            "c.yaml:3:30: user 'eve' in 'smb.shares[0].users' is not in "
            "'smb.users'");
  EXPECT_EQ(Error("smb: {shares: [{name: a, users: [x]}]}"),
            "c.yaml:1:34: user 'x' in 'smb.shares[0].users' is not in "
            "'smb.users'");
  EXPECT_EQ(SharesError({"{name: a, users: [alice, Alice]}"}),
            "c.yaml:6:32: user 'Alice' is listed twice in "
            "'smb.shares[0].users' (as 'alice'; names are case-insensitive)");
  for (const char* name : {"IPC$", "ipc$", "Ipc$"}) {
    EXPECT_EQ(SharesError({"{name: " + std::string(name) + "}"}),
              std::string("c.yaml:6:14: bad value '") + name +
                  "' for 'smb.shares[0].name': IPC$ is reserved (the server "
                  "provides it)");
  }
  EXPECT_EQ(SharesError({"{name: data}", "{name: pub}", "{name: DATA}"}),
            "c.yaml:8:7: share 'DATA' is listed twice (as 'data'; names are "
            "case-insensitive)");
  EXPECT_EQ(SharesError({"{name: data}", "{name: data, path: /x}"}),
            "c.yaml:7:7: share 'data' is listed twice");
  const std::string rule =
      "expected a share name of 1 to 80 characters without \\ / : * ? \" < > "
      "| or control characters";
  for (const std::string& name :
       {std::string(""), std::string(81, 's'), std::string("a/b"),
        std::string("a:b"), std::string("a*"), std::string("a?"),
        std::string("a<b>"), std::string("a|b"), std::string("a\\b")}) {
    EXPECT_EQ(SharesError({"{name: '" + name + "'}"}),
              "c.yaml:6:14: bad value '" + name +
                  "' for 'smb.shares[0].name': " + rule)
        << name;
  }
  // 80 characters is fine, counted as characters, not bytes; so are $, @,
  // spaces and non-ASCII letters.
  std::string eighty;
  for (int i = 0; i < 80; ++i) eighty += "\xC3\xA9";
  for (const std::string& name :
       {std::string(80, 's'), eighty, std::string("hidden$"),
        std::string("a b @c #d")}) {
    Result<Config> ok = Parse("smb: {shares: [{name: '" + name + "'}]}");
    ASSERT_TRUE(ok.ok()) << name << ": " << ok.status().ToString();
    EXPECT_EQ(ok->smb.shares[0].name, name);
  }
  for (const char* path : {"a", "/a/../b", "/./a", "''"}) {
    std::string shown = path;
    if (shown == "''") shown = "";
    EXPECT_EQ(SharesError({"{name: a, path: " + std::string(path) + "}"}),
              "c.yaml:6:23: bad value '" + shown +
                  "' for 'smb.shares[0].path': expected an absolute path "
                  "inside the backend without . or ..");
  }
  EXPECT_EQ(SharesError({"{name: a, read_only: maybe}"}),
            "c.yaml:6:28: bad value 'maybe' for 'smb.shares[0].read_only': "
            "expected true or false");
  EXPECT_EQ(SharesError({"{name: a, comment: \"a\\x01b\"}"}),
            "c.yaml:6:26: bad value for 'smb.shares[0].comment': expected "
            "UTF-8 text without control characters");
  EXPECT_EQ(SharesError({"{path: /a}"}),
            "c.yaml:6:7: 'smb.shares[0]' has no 'name'");
  EXPECT_EQ(SharesError({"{name: a, acl: none}"}),
            "c.yaml:6:17: unknown key 'acl' in 'smb.shares[0]' (known keys: "
            "name, path, comment, read_only, users, encrypt)");
  EXPECT_EQ(SharesError({"{name: a, users: alice}"}),
            "c.yaml:6:24: expected a list of user names for "
            "'smb.shares[0].users', got a scalar");
}

TEST(ConfigTest, SmbDumpHasNoPassword) {
  Result<Config> c = Parse(
      "smb:\n"
      "  umask: 7\n"
      "  users:\n"
      "    - {name: alice, password: 'S3cret pass#1', uid: 1000, gid: 100,"
      " groups: [5]}\n"
      "  shares:\n"
      "    - {name: Data, path: /d, comment: 'x: y', users: [ALICE]}\n");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const std::string text = DumpConfig(*c);
  EXPECT_THAT(text, Not(HasSubstr("S3cret"))) << text;
  EXPECT_THAT(text, Not(HasSubstr("password"))) << text;
  EXPECT_THAT(text, HasSubstr("smb:\n"
                              "  enabled: true\n"
                              "  address: \"127.0.0.1\"\n"
                              "  port: 4450\n"
                              "  server_name: CONCORDFS\n"
                              "  domain: WORKGROUP\n"
                              "  signing: enabled\n"
                              "  encryption: off\n"
                              "  guest: false\n"
                              "  guest_uid: 65534\n"
                              "  guest_gid: 65534\n"
                              "  max_io: 8388608\n"
                              "  umask: \"007\"\n"
                              "  oplocks: true\n"
                              "  oplock_break_timeout_ms: 35000\n"
                              "  multichannel: true\n"
                              "  durable_handles: true\n"
                              "  durable_timeout_ms: 60000\n"
                              "  max_durable_timeout_ms: 300000\n"
                              "  resilient_timeout_ms: 120000\n"
                              "  max_resilient_timeout_ms: 300000\n"
                              "  users:\n"
                              "    - name: \"alice\"\n"
                              "      nt_hash: \"" +
                              ToHexForTest(c->smb.users[0].nt_hash) +
                              "\"\n"
                              "      uid: 1000\n"
                              "      gid: 100\n"
                              "      groups: [5]\n"
                              "  shares:\n"
                              "    - name: \"Data\"\n"
                              "      path: \"/d\"\n"
                              "      comment: \"x: y\"\n"
                              "      read_only: false\n"
                              "      users: [\"ALICE\"]\n"
                              "      encrypt: false\n"))
      << text;
  Result<Config> again = ParseConfig(text, "dump", "/base");
  ASSERT_TRUE(again.ok()) << again.status().ToString() << "\n" << text;
  EXPECT_EQ(*again, *c);
}

class ConfigFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "cfs-config-XXXXXX");
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& text) {
    std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }

  fs::path dir_;
};

TEST_F(ConfigFileTest, LoadsAndResolvesAgainstFileDirectory) {
  std::string path = Write("c.yaml", "data_dir: data\nsync: none\n");
  Result<Config> r = LoadConfigFile(path);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->data_dir, (dir_ / "data").string());
  EXPECT_EQ(r->sync, SyncPolicy::kNone);

  r = LoadConfigFile(Write("empty.yaml", ""));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, DefaultsAt((dir_ / "concordfs-data").string()));
}

TEST_F(ConfigFileTest, ErrorsNameTheFile) {
  std::string path = Write("bad.yaml", "store: memory\nsync: sometimes\n");
  Result<Config> r = LoadConfigFile(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.code(), EINVAL);
  EXPECT_EQ(r.status().message(), path +
                                      ":2:7: bad value 'sometimes' for 'sync': "
                                      "expected always, batch or none");
}

TEST_F(ConfigFileTest, UnreadableFiles) {
  std::string missing = (dir_ / "missing.yaml").string();
  Result<Config> r = LoadConfigFile(missing);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.code(), ENOENT);
  EXPECT_EQ(r.status().message(),
            missing + ": cannot read config file: No such file or directory");

  r = LoadConfigFile(dir_.string());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.code(), EISDIR);
  EXPECT_THAT(r.status().message(), HasSubstr("cannot read config file"));
}

TEST(ShippedConfigTest, LoadsWithDefaults) {
  const fs::path path = fs::absolute(fs::path(__FILE__).parent_path() /
                                     "../../../daemon/concordfs.yaml")
                            .lexically_normal();
  Result<Config> r = LoadConfigFile(path.string());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  // data_dir lands at the repository's top level; everything else is the
  // documented default.
  // The shipped file opens the mount to other users (a lab server).
  const fs::path repo = path.parent_path().parent_path();
  Config want = DefaultsAt((repo / "concordfs-data").string());
  want.mount_allow_other = true;
  // Loopback NFS: root on this machine is root on the export too.
  want.nfs_exports[0].squash = rpc::Squash::kNone;
  // One example user (password "concordfs") and one share of everything.
  want.smb.users = {
      {"concord", Unhex("6cf5f661d9d07e5d8721541157b32fe9"), 1000, 1000, {}}};
  want.smb.shares = {{"share", "/", "", false, {}, false}};
  EXPECT_EQ(*r, want);
  // --print-config shows the hash, never the password, and reads back.
  const std::string text = DumpConfig(*r);
  EXPECT_THAT(text, Not(HasSubstr("password"))) << text;
  EXPECT_THAT(text, HasSubstr("nt_hash: \"6cf5f661d9d07e5d8721541157b32fe9\""))
      << text;
  Result<Config> again = ParseConfig(text, "dump", "/");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*again, *r);
}

}  // namespace
}  // namespace concordfs
