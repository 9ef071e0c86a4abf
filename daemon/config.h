// Config: the daemon's settings, loaded from one YAML file.
//
// ParseConfig turns YAML text into a Config, LoadConfigFile does the same for
// a file, DumpConfig writes the effective settings back as YAML (what
// `--print-config` prints; parsing it again yields an equal Config). Parsing
// is strict: unknown keys, wrong types and out-of-range values are errors,
// each reported as `<file>:<line>:<column>: <message>` in a
// Status::Invalid. A missing key keeps its default; an empty file is all
// defaults. Passwords are never kept: an SMB user's password is turned into
// its NT hash while parsing, and DumpConfig prints the hash (`nt_hash`).
// ChangedKeys names what differs between two Configs (for SIGHUP reloads).
// Config is a plain value (copyable, no shared state); the
// functions are pure apart from reading the file and the cwd, and are safe to
// call from any thread. yaml-cpp stays inside config.cc: its exceptions are
// caught there and never cross this interface.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "metadata/metadata_store.h"
#include "rpc/exports.h"
#include "smb/core/options.h"
#include "util/status.h"

namespace concordfs {

struct Config {
  // Where the metadata store and file contents live. A relative path in the
  // file resolves against the file's directory (or the cwd when there is no
  // file); after parsing this is always absolute and lexically normalized.
  std::string data_dir = "concordfs-data";
  std::string store = "leveldb";         // "leveldb" | "memory"
  SyncPolicy sync = SyncPolicy::kBatch;  // "always" | "batch" | "none"
  std::string log_level = "info";        // trace|debug|info|warn|error|off
  // `log_levels:` a mapping of log component (daemon, fuse, vfs, metadata,
  // locking, net, rpc, portmap, mount, nfs, nlm, nsm, smb, admin, metrics)
  // to its own level, overriding log_level: {nlm: debug, smb: warn}.
  std::map<std::string, std::string> log_levels;
  std::string atime = "relatime";  // "relatime" | "strict" | "noatime"
  // Section `root:` (keys uid, gid, mode): owner and permission bits of the
  // root directory when the store is created; ignored afterwards. `mode` is
  // always read as octal digits, like chmod: 755, 0755 and "0755" are equal.
  uint32_t root_uid = 0;
  uint32_t root_gid = 0;
  uint32_t root_mode = 0755;
  // Top-level key `content_fd_cache`: how many content files the content
  // store keeps open at once (>= 1).
  uint64_t max_open_fds = 1024;
  // Section `locks:` (keys grace_period, max_per_file, max_per_client,
  // max_total, persist): the lock manager's grace period after a restart
  // (seconds) and its limits (a request beyond one gets "no resources").
  uint64_t lock_grace_seconds = 90;
  uint64_t lock_max_per_file = 1 << 20;
  uint64_t lock_max_per_client = 1 << 20;
  uint64_t lock_max_total = 1 << 24;
  // `locks.persist`: how an NLM lock record change is made durable before
  // the reply (daemon/lock_store.h): "written" (in the store before the
  // reply, synced within ~10 ms; survives a daemon crash, a host crash makes
  // the next grace strict), "synced" (fsynced before the reply) or "behind"
  // (committed within ~10 ms after the reply; any crash makes the next
  // grace strict).
  std::string lock_persist = "written";
  // Section `mount:` (keys enabled, path, allow_other, entry_timeout_ms,
  // attr_timeout_ms, kernel_cache, passthrough, enforce_share_modes): the
  // local FUSE mount. `path` resolves like data_dir and is absolute after
  // parsing.
  bool mount_enabled = true;
  std::string mount_path = "concordfs-mnt";
  bool mount_allow_other = false;
  // Long by default: every change made outside the mount (NFS, SMB)
  // invalidates the kernel's caches explicitly.
  uint64_t mount_entry_timeout_ms = 10000;
  uint64_t mount_attr_timeout_ms = 10000;
  bool mount_kernel_cache = true;
  bool mount_passthrough = true;
  bool mount_enforce_share_modes = false;
  // Section `nfs:` (keys enabled, address, port, mount_port, udp,
  // portmapper, portmap_port, threads, max_io, exports): the NFSv3 server.
  // NFS and MOUNT share `port` unless mount_port is set (TCP and UDP).
  // portmapper: "embedded" serves portmap/rpcbind on portmap_port itself,
  // "system" registers with an rpcbind already running on 127.0.0.1:111,
  // "auto" registers when one answers and embeds otherwise, "off" neither.
  bool nfs_enabled = true;
  std::string nfs_address = "127.0.0.1";
  uint64_t nfs_port = 2049;
  uint64_t nfs_mount_port = 0;
  bool nfs_udp = true;
  std::string nfs_portmapper = "auto";
  uint64_t nfs_portmap_port = 111;
  uint64_t nfs_threads = 8;
  uint64_t nfs_max_io = 1 << 20;  // rtmax/wtmax over TCP
  // How long an NFS client has to accept a blocked lock's GRANTED callback
  // before the lock is taken back (and the next waiter gets it).
  uint64_t nfs_grant_timeout_ms = 10000;
  // `exports:` is a list of mappings with keys path, clients, read_only,
  // squash (none|root|all), anonuid, anongid, secure.
  std::vector<rpc::ExportOptions> nfs_exports = {rpc::ExportOptions{}};
  // Section `smb:` (keys enabled, address, port, server_name, domain,
  // signing, encryption, guest, guest_uid, guest_gid, max_io, umask, users,
  // shares): the SMB2/3 server; every key but `enabled` fills `smb`, whose
  // defaults are SmbOptions' own (127.0.0.1:4450, no users, no shares).
  // signing: "enabled" | "required" (signing_required); encryption: "off" |
  // "desired" | "required"; umask is octal like root.mode.
  // `users:` is a list of mappings with keys name, password or nt_hash
  // (exactly one; a password is stored as its NT hash), uid, gid (both
  // required) and groups; names are unique case-insensitively.
  // `shares:` is a list of mappings with keys name (unique
  // case-insensitively, not IPC$), path (normalized like an export's),
  // comment, read_only, users (names from `users:`; empty: all) and encrypt.
  bool smb_enabled = true;
  smb::SmbOptions smb;
  // Section `admin:` (keys enabled, socket): the admin socket concordctl
  // talks to (a Unix-domain socket, mode 0600). An empty socket means
  // <data_dir>/admin.sock (decided at start, so --data-dir moves it too);
  // a relative one resolves like data_dir and is absolute after parsing.
  bool admin_enabled = true;
  std::string admin_socket;
  // Section `metrics:` (keys enabled, address, port): the Prometheus text
  // endpoint, http://address:port/metrics. Off by default; the address must
  // be loopback (no authentication); port 0 picks a free one (logged).
  bool metrics_enabled = false;
  std::string metrics_address = "127.0.0.1";
  uint64_t metrics_port = 9464;

  bool operator==(const Config&) const = default;
};

// Parses YAML text. `origin` names the source in messages (usually the file
// name); `base_dir` is the directory relative paths resolve against, the cwd
// when empty. Errors: EINVAL with a `origin:line:col: ...` message.
Result<Config> ParseConfig(std::string_view yaml_text, std::string_view origin,
                           const std::string& base_dir);

// Reads and parses `path`; relative paths inside resolve against the file's
// directory. A file that cannot be read returns its errno (ENOENT, EACCES,
// EISDIR, ...) with a message naming the path.
Result<Config> LoadConfigFile(const std::string& path);

// The effective configuration as YAML, every key present, data_dir absolute.
std::string DumpConfig(const Config& c);

// The keys whose values differ between `a` and `b`, in DumpConfig's order,
// dotted inside sections: {"log_level", "nfs.port", "nfs.exports", ...}.
std::vector<std::string> ChangedKeys(const Config& a, const Config& b);

}  // namespace concordfs
