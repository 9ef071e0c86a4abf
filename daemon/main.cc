// concordfs: the daemon and its maintenance subcommands.
//
//   concordfs [--config FILE] [--data-dir DIR] [--print-config|--check-config]
//   concordfs fsck [--config FILE] [--data-dir DIR] [--repair]
//
// The daemon stops on SIGINT/SIGTERM and re-reads its configuration file on
// SIGHUP (see Reload below and daemon/reload.h).
#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "daemon/admin_server.h"
#include "daemon/backend.h"
#include "daemon/config.h"
#include "daemon/metrics_service.h"
#include "daemon/nfs_service.h"
#include "daemon/reload.h"
#include "daemon/smb_service.h"
#include "fuse/fuse_frontend.h"
#include "metadata/fsck.h"
#include "util/log.h"

namespace concordfs {
namespace {

constexpr const char* kUsage = R"(usage:
  concordfs [options]          run the daemon in the foreground (Ctrl-C stops it)
  concordfs fsck [options]     check the store's consistency (daemon stopped)

options:
  --config FILE      YAML configuration (default: built-in defaults; see
                     daemon/concordfs.yaml for every key)
  --data-dir DIR     override data_dir from the configuration
  --mount-path DIR   override mount.path (the FUSE mount point)
  --no-mount         do not mount (mount.enabled: false)
  --no-nfs           do not serve NFS (nfs.enabled: false)
  --nfs-port PORT    override nfs.port (NFS and MOUNT, TCP and UDP)
  --no-smb           do not serve SMB (smb.enabled: false)
  --smb-port PORT    override smb.port
  --print-config     print the effective configuration and exit
  --check-config     validate the configuration and exit (0 = valid, 2 = not)
  --repair           (fsck) reclaim orphans, remove leaked content and
                     dangling orphan records
  --help             this text
  --version          print the version

Serves the backend (LevelDB metadata + content store) through a local FUSE
mount, over NFSv3 (with MOUNT, NLM, NSM and a portmapper) on nfs.address
and over SMB2/3 on smb.address; every fcntl/flock, NLM and SMB byte-range
lock is in one lock manager. `concordctl` (the admin CLI) talks to the
daemon over its admin socket (admin.socket, default <data_dir>/admin.sock).
With metrics.enabled it serves Prometheus metrics on loopback at
http://metrics.address:metrics.port/metrics (port 0: picked and logged).

Signals: SIGINT or SIGTERM unmounts and stops. SIGHUP re-reads the --config
file and applies, without dropping connections, mounts, sessions or locks:
log_level and log_levels, nfs.exports (a removed export refuses MNT and its
handles become stale; locks under it stay held), smb.shares and smb.users.
Other changed keys are logged as needing a restart and ignored; a file that
does not validate is logged and the running configuration stays in force
(check one first with --check-config). Options given on the command line
keep overriding the file. Logs name their component (daemon, fuse, vfs,
metadata, locking, net, rpc, portmap, mount, nfs, nlm, nsm, smb, admin,
metrics); log_levels sets one's level: {nlm: debug, smb: warn}.
exit status: 0 ok, 1 inconsistent store (fsck), 2 usage/config error,
3 runtime error.
)";

struct Args {
  std::string command;  // "" (run) or "fsck"
  std::string config_path;
  std::string data_dir;
  std::string mount_path;
  bool no_mount = false;
  bool no_nfs = false;
  std::string nfs_port;
  bool no_smb = false;
  std::string smb_port;
  bool print_config = false;
  bool check_config = false;
  bool repair = false;
};

// Returns false (after printing why) on a usage error.
bool ParseArgs(int argc, char** argv, Args* a) {
  std::vector<std::string> args(argv + 1, argv + argc);
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& s = args[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= args.size()) {
        std::fprintf(stderr, "concordfs: %s needs a value\n", s.c_str());
        return false;
      }
      *out = args[++i];
      return true;
    };
    if (s == "--help" || s == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else if (s == "--version") {
      std::puts("concordfs 0.1.0");
      std::exit(0);
    } else if (s == "--config") {
      if (!value(&a->config_path)) return false;
    } else if (s == "--data-dir") {
      if (!value(&a->data_dir)) return false;
    } else if (s == "--mount-path") {
      if (!value(&a->mount_path)) return false;
    } else if (s == "--no-mount") {
      a->no_mount = true;
    } else if (s == "--no-nfs") {
      a->no_nfs = true;
    } else if (s == "--nfs-port") {
      if (!value(&a->nfs_port)) return false;
    } else if (s == "--no-smb") {
      a->no_smb = true;
    } else if (s == "--smb-port") {
      if (!value(&a->smb_port)) return false;
    } else if (s == "--print-config") {
      a->print_config = true;
    } else if (s == "--check-config") {
      a->check_config = true;
    } else if (s == "--repair" && a->command == "fsck") {
      a->repair = true;
    } else if (s == "fsck" && a->command.empty() && i == 0) {
      a->command = "fsck";
    } else {
      std::fprintf(stderr, "concordfs: unknown argument '%s' (see --help)\n",
                   s.c_str());
      return false;
    }
  }
  return true;
}

Result<Config> LoadEffectiveConfig(const Args& a) {
  Config c;
  if (!a.config_path.empty()) {
    CFS_ASSIGN_OR_RETURN(c, LoadConfigFile(a.config_path));
  } else {
    CFS_ASSIGN_OR_RETURN(c, ParseConfig("", "<defaults>", ""));
  }
  if (!a.data_dir.empty()) {
    // Parse a one-line config so the override gets the same validation.
    std::string y = "data_dir: \"" + a.data_dir + "\"\n";
    CFS_ASSIGN_OR_RETURN(Config o, ParseConfig(y, "--data-dir", ""));
    c.data_dir = o.data_dir;
  }
  if (!a.mount_path.empty()) {
    std::string y = "mount: {path: \"" + a.mount_path + "\"}\n";
    CFS_ASSIGN_OR_RETURN(Config o, ParseConfig(y, "--mount-path", ""));
    c.mount_path = o.mount_path;
  }
  if (a.no_mount) c.mount_enabled = false;
  if (!a.nfs_port.empty()) {
    std::string y = "nfs: {port: \"" + a.nfs_port + "\"}\n";
    CFS_ASSIGN_OR_RETURN(Config o, ParseConfig(y, "--nfs-port", ""));
    c.nfs_port = o.nfs_port;
  }
  if (a.no_nfs) c.nfs_enabled = false;
  if (!a.smb_port.empty()) {
    std::string y = "smb: {port: \"" + a.smb_port + "\"}\n";
    CFS_ASSIGN_OR_RETURN(Config o, ParseConfig(y, "--smb-port", ""));
    c.smb.port = o.smb.port;
  }
  if (a.no_smb) c.smb_enabled = false;
  return c;
}

int RunFsck(const Config& config, bool repair) {
  Result<std::unique_ptr<Backend>> b = Backend::Open(config);
  if (!b.ok()) {
    CFS_LOG_ERROR("fsck: {}", b.status().ToString());
    return 3;
  }
  MetadataStore* md = (*b)->metadata();
  Status st =
      md->Initialize(config.root_uid, config.root_gid, config.root_mode);
  if (!st.ok()) {
    CFS_LOG_ERROR("fsck: {}", st.ToString());
    return 3;
  }
  FsckOptions opts;
  opts.repair = repair;
  Result<FsckReport> r = CheckConsistency(md, (*b)->content(), opts);
  if (!r.ok()) {
    CFS_LOG_ERROR("fsck: {}", r.status().ToString());
    return 3;
  }
  std::fputs(r->Summary().c_str(), stdout);
  return r->consistent() ? 0 : 1;
}

void LogRestartKeys(const std::vector<std::string>& keys) {
  for (const std::string& k : keys) {
    CFS_LOG_WARN("reload: '{}' changed: needs a restart; ignored", k);
  }
}

// SIGHUP: re-reads the configuration and applies what can change while
// running (see daemon/reload.h). Everything is validated before anything
// is applied, so a bad file leaves `running` (what is in force) as it was.
void Reload(const Args& args, Config* running, NfsService* nfs,
            SmbService* smb) {
  if (args.config_path.empty()) {
    CFS_LOG_WARN("reload: SIGHUP received, but no --config file to re-read");
    return;
  }
  CFS_LOG_INFO("reload: SIGHUP received, re-reading {}", args.config_path);
  Result<Config> next = LoadEffectiveConfig(args);
  if (!next.ok()) {
    CFS_LOG_ERROR(
        "reload refused: {}; the running configuration stays in "
        "force",
        next.status().message());
    return;
  }
  ReloadPlan plan = PlanReload(*running, *next, smb != nullptr);
  std::optional<rpc::ExportTable> exports;
  if (nfs != nullptr && plan.exports_changed) {
    Result<rpc::ExportTable> t = nfs->BuildExports(next->nfs_exports);
    if (!t.ok()) {
      CFS_LOG_ERROR(
          "reload refused: {}: {}; the running configuration "
          "stays in force",
          args.config_path, t.status().message());
      return;
    }
    exports = std::move(*t);
  }
  // Valid: apply.
  LogRestartKeys(plan.restart_keys);
  if (plan.log_levels_changed) {
    Status st = SetLogLevels(next->log_level, next->log_levels);
    if (st.ok()) {
      CFS_LOG_INFO("reload: log level {}", DescribeLogLevels());
    } else {
      CFS_LOG_ERROR("reload: log levels: {}", st.message());
    }
  }
  if (exports) {
    for (const std::string& line : nfs->ReplaceExports(std::move(*exports))) {
      CFS_LOG_INFO("reload: {}", line);
    }
  }
  if (smb != nullptr) {
    LogRestartKeys(smb->Reload(next->smb));
    for (const std::string& line : plan.smb_changes) {
      CFS_LOG_INFO("reload: smb {}", line);
    }
  }
  *running = std::move(plan.applied);
  CFS_LOG_INFO(
      "reload: done; {} NFS export(s){}, {} SMB share(s){} and {} SMB "
      "user(s) in force",
      running->nfs_exports.size(), nfs ? "" : " (NFS off)",
      running->smb.shares.size(), smb ? "" : " (SMB off)",
      running->smb.users.size());
}

int RunDaemon(const Args& args, const Config& config) {
  const NanoTime started = Clock::Default()->Now();  // for `concordctl status`
  // Block the signals in every thread; the main thread waits for them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  Result<std::unique_ptr<Backend>> b = Backend::Open(config);
  if (!b.ok()) {
    CFS_LOG_ERROR("cannot open the backend: {}", b.status().ToString());
    return 3;
  }
  Backend& backend = **b;
  Status st = backend.Start();
  if (!st.ok()) {
    CFS_LOG_ERROR("cannot start: {}", st.ToString());
    return 3;
  }
  CFS_LOG_INFO("concordfs {} serving {} (sync={}) with content in {}", "0.1.0",
               backend.metadata()->Describe(), SyncPolicyName(config.sync),
               backend.content()->Describe());
  if (!config.log_levels.empty()) {
    CFS_LOG_INFO("log level {}", DescribeLogLevels());
  }
  CFS_LOG_INFO("lock manager: boot epoch {}, {}, lock records {}",
               backend.locks()->epoch(),
               backend.locks()->StrictGrace() ? "in STRICT grace period"
               : backend.locks()->InGrace()   ? "in grace period"
                                              : "no grace needed",
               config.lock_persist);
  std::unique_ptr<FuseFrontend> fuse;
  if (config.mount_enabled) {
    FuseOptions fo;
    fo.mount_point = config.mount_path;
    fo.allow_other = config.mount_allow_other;
    fo.entry_timeout = config.mount_entry_timeout_ms / 1000.0;
    fo.attr_timeout = config.mount_attr_timeout_ms / 1000.0;
    fo.kernel_cache = config.mount_kernel_cache;
    fo.passthrough = config.mount_passthrough;
    fo.enforce_share_modes = config.mount_enforce_share_modes;
    fuse = std::make_unique<FuseFrontend>(backend.vfs(), backend.locks(),
                                          backend.share_modes(), fo);
    fuse->set_cache_breaks(backend.cache_breaks());
    st = fuse->Mount();
    if (!st.ok()) {
      CFS_LOG_ERROR("cannot mount: {}", st.ToString());
      return 3;
    }
  } else {
    CFS_LOG_INFO("FUSE mount disabled (mount.enabled: false)");
  }
  std::unique_ptr<NfsService> nfs;
  if (config.nfs_enabled) {
    nfs = std::make_unique<NfsService>(&backend);
    st = nfs->Start();
    if (!st.ok()) {
      CFS_LOG_ERROR("cannot serve NFS: {}", st.ToString());
      if (fuse) fuse->Stop();
      return 3;
    }
    for (const std::string& line : nfs->Describe()) {
      CFS_LOG_INFO_IN(LogComponent::kNfs, "{}", line);
    }
  } else {
    CFS_LOG_INFO("NFS disabled (nfs.enabled: false)");
  }
  std::unique_ptr<SmbService> smb;
  if (config.smb_enabled) {
    smb = std::make_unique<SmbService>(&backend, config.smb);
    st = smb->Start();
    if (!st.ok()) {
      CFS_LOG_ERROR("cannot serve SMB: {}", st.ToString());
      if (nfs) nfs->Stop();
      if (fuse) fuse->Stop();
      return 3;
    }
    for (const std::string& line : smb->Describe()) {
      CFS_LOG_INFO_IN(LogComponent::kSmb, "{}", line);
    }
  } else {
    CFS_LOG_INFO("SMB disabled (smb.enabled: false)");
  }
  // The admin socket (concordctl): started last, stopped first.
  std::unique_ptr<AdminServer> admin;
  if (config.admin_enabled) {
    admin = std::make_unique<AdminServer>(AdminSources{
        &backend, nfs.get(), smb.get(), fuse ? config.mount_path : "",
        AdminSocketPath(config), started});
    st = admin->Start();
    if (!st.ok()) {
      CFS_LOG_ERROR("cannot serve the admin socket: {}", st.ToString());
      if (smb) smb->Stop();
      if (nfs) nfs->Stop();
      if (fuse) fuse->Stop();
      return 3;
    }
  }
  std::unique_ptr<MetricsService> metrics;
  if (config.metrics_enabled) {
    metrics = std::make_unique<MetricsService>(&backend);
    st = metrics->Start(config.metrics_address,
                        static_cast<uint16_t>(config.metrics_port));
    if (!st.ok()) {
      CFS_LOG_ERROR("cannot serve metrics: {}", st.ToString());
      if (admin) admin->Stop();
      if (smb) smb->Stop();
      if (nfs) nfs->Stop();
      if (fuse) fuse->Stop();
      return 3;
    }
    const std::string& a = config.metrics_address;
    CFS_LOG_INFO("metrics: http://{}:{}/metrics",
                 a.find(':') != std::string::npos ? "[" + a + "]" : a,
                 metrics->port());
  }
  CFS_LOG_INFO(
      "running; Ctrl-C or SIGTERM stops, SIGHUP reloads {}",
      args.config_path.empty() ? "(no config file)" : args.config_path);

  Config running = config;  // with the live settings of the last reload
  int sig = 0;
  for (;;) {
    sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig != SIGHUP) break;
    Reload(args, &running, nfs.get(), smb.get());
  }
  CFS_LOG_INFO("{} received, stopping", strsignal(sig));
  metrics.reset();
  if (admin) admin->Stop();
  if (smb) smb->Stop();
  if (nfs) nfs->Stop();
  if (fuse) fuse->Stop();
  st = backend.Stop();
  if (!st.ok())
    CFS_LOG_WARN("recording the clean stop failed: {}", st.ToString());
  st = backend.metadata()->Sync();
  if (!st.ok()) CFS_LOG_WARN("final sync failed: {}", st.ToString());
  CFS_LOG_INFO("stopped cleanly");
  return 0;
}

}  // namespace
}  // namespace concordfs

int main(int argc, char** argv) {
  using namespace concordfs;
  // I/O buffers (1 MiB NFS and 8 MiB SMB READ/WRITE payloads) come from the
  // heap and stay mapped: without this glibc maps and unmaps each one, and
  // every READ pays for its page faults and the kernel zeroing fresh pages.
  // 32 MiB is glibc's largest mmap threshold on 64-bit.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 128 << 20);
  Args args;
  if (!ParseArgs(argc, argv, &args)) return 2;
  Result<Config> config = LoadEffectiveConfig(args);
  if (!config.ok()) {
    std::fprintf(stderr, "concordfs: %s\n", config.status().message().c_str());
    return 2;
  }
  if (args.check_config) {
    std::printf("configuration OK\n");
    return 0;
  }
  if (args.print_config) {
    std::fputs(DumpConfig(*config).c_str(), stdout);
    return 0;
  }
  // Validated by the parser already.
  Status levels = SetLogLevels(config->log_level, config->log_levels);
  if (!levels.ok()) {
    std::fprintf(stderr, "concordfs: %s\n", levels.message().c_str());
    return 2;
  }
  if (args.command == "fsck") return RunFsck(*config, args.repair);
  return RunDaemon(args, *config);
}
