// Logging: per-component loggers over spdlog, so that only this header and
// log.cc name it.
//
// CFS_LOG_INFO("opened store at {}", dir) etc., fmt-style formatting. Every
// call site belongs to a component (daemon, fuse, nfs, nlm, smb, ...),
// decided at compile time from its source file's folder (ComponentOfPath:
// rpc/nlm/ is nlm, smb/ is smb, daemon/admin_* is admin, ...); a file
// that serves two components names one explicitly with CFS_LOG_INFO_IN(
// LogComponent::kNsm, ...). Each component has its own level (config
// `log_level` for all of them, `log_levels` per component) and a log line
// shows it: `2024-05-01 12:00:00.123 info [nlm] ...`.
//
// Cost: a call whose level is disabled is one relaxed atomic load and one
// comparison (no static guard, no formatting, no call). Never log per
// operation on hot paths; log state changes, errors and start/stop.
//
// Thread safety: log and change levels from any thread (the levels are
// atomics; the loggers share spdlog's thread-safe sinks). The loggers are
// created on first use and live until exit.
#pragma once

#include <spdlog/spdlog.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "util/status.h"

namespace concordfs {

// One per front end or layer; keep LogComponentName in step.
enum class LogComponent : uint8_t {
  kDaemon,    // start/stop, config, reload, wiring (and anything unmatched)
  kFuse,      // the FUSE mount
  kVfs,       // protocol-neutral file operations
  kMetadata,  // metadata and content stores, fsck
  kLocking,   // the lock manager, grace, durable locks
  kNet,       // the shared I/O thread pool
  kRpc,       // ONC RPC runtime: listeners, record marking, dispatch
  kPortmap,   // portmap / rpcbind
  kMount,     // MOUNT v3 and the export table
  kNfs,       // NFSv3
  kNlm,       // NLM (NFS byte-range locks)
  kNsm,       // NSM (status monitor: client reboots)
  kSmb,       // SMB2/3
  kAdmin,     // the admin socket
  kMetrics,   // the metrics endpoint
};
inline constexpr size_t kLogComponentCount =
    static_cast<size_t>(LogComponent::kMetrics) + 1;

// "daemon", "fuse", ... as configured in `log_levels` and shown in lines.
std::string_view LogComponentName(LogComponent c);
std::optional<LogComponent> LogComponentByName(std::string_view name);
// Every component name, comma-separated, for messages.
std::string LogComponentList();

// The level names config accepts: trace, debug, info, warn, error, off.
inline constexpr std::string_view kLogLevelNames[] = {"trace", "debug", "info",
                                                      "warn",  "error", "off"};
std::optional<spdlog::level::level_enum> ParseLogLevel(std::string_view name);

// The component of a source file, from the last top-level project folder
// in its path (rpc/ is looked into: rpc/nlm/ -> nlm, rpc/nfs3/ -> nfs, ...).
// Files outside every known folder belong to kDaemon.
constexpr LogComponent ComponentOfPath(std::string_view path);

// Sets every component's level (trace, debug, info, warn, error, off).
// Returns false for an unknown name (nothing changes).
bool SetLogLevel(std::string_view level);
// Sets every component to `level`, then the named ones to their own levels.
// Validates everything first: an unknown level or component changes nothing
// and returns EINVAL naming it.
Status SetLogLevels(std::string_view level,
                    const std::map<std::string, std::string>& per_component);
spdlog::level::level_enum LogLevelOf(LogComponent c);
// "info" or "info (nlm: trace, smb: debug)": the components that differ.
std::string DescribeLogLevels();

namespace log_internal {

// The level of each component (spdlog::level values); read by every call
// site, written only by the setters above.
extern std::atomic<int> g_level[kLogComponentCount];
// The component's logger (created on first use; never null).
spdlog::logger* Logger(LogComponent c);

struct PathRule {
  std::string_view dir;  // "rpc/nlm/": a folder, or a file-name prefix
  LogComponent component;
};
inline constexpr PathRule kPathRules[] = {
    {"util/", LogComponent::kDaemon},
    {"daemon/", LogComponent::kDaemon},
    {"daemon/admin_", LogComponent::kAdmin},
    {"daemon/metrics_", LogComponent::kMetrics},
    {"daemon/nfs_service", LogComponent::kNfs},
    {"daemon/smb_service", LogComponent::kSmb},
    {"daemon/lock_store", LogComponent::kLocking},
    {"fuse/", LogComponent::kFuse},
    {"vfs/", LogComponent::kVfs},
    {"metadata/", LogComponent::kMetadata},
    {"locking/", LogComponent::kLocking},
    {"net/", LogComponent::kNet},
    {"rpc/", LogComponent::kRpc},
    {"rpc/portmap/", LogComponent::kPortmap},
    {"rpc/mount/", LogComponent::kMount},
    {"rpc/exports", LogComponent::kMount},
    {"rpc/nfs3/", LogComponent::kNfs},
    {"rpc/nlm/", LogComponent::kNlm},
    {"smb/", LogComponent::kSmb},
    {"admin/", LogComponent::kAdmin},
    {"metrics/", LogComponent::kMetrics},
    {"tools/", LogComponent::kAdmin},
    {"tests/", LogComponent::kDaemon},
    {"bench/", LogComponent::kDaemon},
};

}  // namespace log_internal

constexpr LogComponent ComponentOfPath(std::string_view path) {
  // The rule matching furthest to the right wins (the project's own folders
  // come after whatever directories hold the checkout), then the longest.
  size_t best_pos = 0;
  size_t best_len = 0;
  LogComponent best = LogComponent::kDaemon;
  for (const log_internal::PathRule& r : log_internal::kPathRules) {
    for (size_t pos = path.find(r.dir); pos != std::string_view::npos;
         pos = path.find(r.dir, pos + 1)) {
      if (pos != 0 && path[pos - 1] != '/') continue;  // "xrpc/" is not rpc
      if (best_len == 0 || pos > best_pos ||
          (pos == best_pos && r.dir.size() > best_len)) {
        best_pos = pos;
        best_len = r.dir.size();
        best = r.component;
      }
    }
  }
  return best;
}

}  // namespace concordfs

// The component is a constant of the call site; the check is one load.
#define CFS_LOG_AT_(component, lvl, ...)                                    \
  do {                                                                      \
    constexpr ::concordfs::LogComponent cfs_log_c_ = (component);           \
    if (static_cast<int>(lvl) >=                                            \
        ::concordfs::log_internal::g_level[static_cast<size_t>(cfs_log_c_)] \
            .load(std::memory_order_relaxed)) {                             \
      ::concordfs::log_internal::Logger(cfs_log_c_)->log(lvl, __VA_ARGS__); \
    }                                                                       \
  } while (0)

#define CFS_LOG_FILE_COMPONENT_ ::concordfs::ComponentOfPath(__FILE__)

#define CFS_LOG_TRACE(...) \
  CFS_LOG_AT_(CFS_LOG_FILE_COMPONENT_, ::spdlog::level::trace, __VA_ARGS__)
#define CFS_LOG_DEBUG(...) \
  CFS_LOG_AT_(CFS_LOG_FILE_COMPONENT_, ::spdlog::level::debug, __VA_ARGS__)
#define CFS_LOG_INFO(...) \
  CFS_LOG_AT_(CFS_LOG_FILE_COMPONENT_, ::spdlog::level::info, __VA_ARGS__)
#define CFS_LOG_WARN(...) \
  CFS_LOG_AT_(CFS_LOG_FILE_COMPONENT_, ::spdlog::level::warn, __VA_ARGS__)
#define CFS_LOG_ERROR(...) \
  CFS_LOG_AT_(CFS_LOG_FILE_COMPONENT_, ::spdlog::level::err, __VA_ARGS__)

// With an explicit component: CFS_LOG_INFO_IN(LogComponent::kNsm, ...).
#define CFS_LOG_DEBUG_IN(c, ...) \
  CFS_LOG_AT_(c, ::spdlog::level::debug, __VA_ARGS__)
#define CFS_LOG_INFO_IN(c, ...) \
  CFS_LOG_AT_(c, ::spdlog::level::info, __VA_ARGS__)
#define CFS_LOG_WARN_IN(c, ...) \
  CFS_LOG_AT_(c, ::spdlog::level::warn, __VA_ARGS__)
#define CFS_LOG_ERROR_IN(c, ...) \
  CFS_LOG_AT_(c, ::spdlog::level::err, __VA_ARGS__)
