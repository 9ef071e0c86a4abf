#include "daemon/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace concordfs {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::StartsWith;

constexpr char kTopKeys[] =
    "(known keys: data_dir, store, sync, log_level, atime, content_fd_cache, "
    "root, locks, mount, nfs)";

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
  c.atime = "strict";
  c.root_uid = 4294967294u;
  c.root_gid = 7;
  c.root_mode = 01777;
  c.max_open_fds = 18446744073709551615u;
  c.mount_path = "/mnt/concord";
  c.mount_enabled = false;
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
            "mount:\n"
            "  enabled: true\n"
            "  path: \"/var/lib/concordfs-mnt\"\n"
            "  allow_other: false\n"
            "  entry_timeout_ms: 10000\n"
            "  attr_timeout_ms: 10000\n"
            "  kernel_cache: true\n"
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
            "      secure: false\n");
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
  EXPECT_EQ(*r, want);
}

}  // namespace
}  // namespace concordfs
