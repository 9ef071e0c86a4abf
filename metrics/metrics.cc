#include "metrics/metrics.h"

#include <algorithm>

namespace concordfs::metrics {

namespace internal {
std::atomic<bool> enabled{false};
}

void SetEnabled(bool on) {
  internal::enabled.store(on, std::memory_order_relaxed);
}

namespace {

constexpr uint64_t kUs = 1000, kMs = 1000 * kUs, kS = 1000 * kMs;
constexpr uint64_t kOpBounds[] = {10 * kUs,   25 * kUs,  50 * kUs,  100 * kUs,
                                  250 * kUs,  500 * kUs, 1 * kMs,   2500 * kUs,
                                  5 * kMs,    10 * kMs,  25 * kMs,  50 * kMs,
                                  100 * kMs,  250 * kMs, 500 * kMs, 1 * kS,
                                  2500 * kMs, 5 * kS,    10 * kS};
constexpr uint64_t kWaitBounds[] = {
    1 * kMs, 5 * kMs, 10 * kMs, 50 * kMs, 100 * kMs, 500 * kMs, 1 * kS,
    5 * kS,  10 * kS, 30 * kS,  60 * kS,  300 * kS,  600 * kS};
static_assert(std::size(kOpBounds) <= Histogram::kMaxBounds);
static_assert(std::size(kWaitBounds) <= Histogram::kMaxBounds);

// Names by operation number; nullptr: unnamed.
constexpr const char* kNfsNames[] = {
    "null",   "getattr", "setattr",  "lookup", "access",  "readlink",
    "read",   "write",   "create",   "mkdir",  "symlink", "mknod",
    "remove", "rmdir",   "rename",   "link",   "readdir", "readdirplus",
    "fsstat", "fsinfo",  "pathconf", "commit"};
constexpr const char* kMountNames[] = {"null", "mnt",     "dump",
                                       "umnt", "umntall", "export"};
constexpr const char* kNlmNames[] = {
    "null",        "test",      "lock",     "cancel",     "unlock",
    "granted",     "test_msg",  "lock_msg", "cancel_msg", "unlock_msg",
    "granted_msg", "test_res",  "lock_res", "cancel_res", "unlock_res",
    "granted_res", "sm_notify", nullptr,    nullptr,      nullptr,
    "share",       "unshare",   "nm_lock",  "free_all"};
constexpr const char* kNsmNames[] = {
    "null", "stat", "mon", "unmon", "unmon_all", "simu_crash", "notify"};
constexpr const char* kSmbNames[] = {"negotiate",
                                     "session_setup",
                                     "logoff",
                                     "tree_connect",
                                     "tree_disconnect",
                                     "create",
                                     "close",
                                     "flush",
                                     "read",
                                     "write",
                                     "lock",
                                     "ioctl",
                                     "cancel",
                                     "echo",
                                     "query_directory",
                                     "change_notify",
                                     "query_info",
                                     "set_info",
                                     "oplock_break"};
constexpr const char* kFuseNames[] = {
    "lookup",          "forget",      "getattr",     "setattr",   "readlink",
    "mknod",           "mkdir",       "unlink",      "rmdir",     "symlink",
    "rename",          "link",        "open",        "read",      "write",
    "flush",           "release",     "fsync",       "opendir",   "readdir",
    "readdirplus",     "releasedir",  "fsyncdir",    "statfs",    "setxattr",
    "getxattr",        "listxattr",   "removexattr", "access",    "create",
    "getlk",           "setlk",       "flock",       "fallocate", "lseek",
    "copy_file_range", "forget_multi"};
static_assert(std::size(kFuseNames) == kFuseOpCount);

std::span<const char* const> NamesOf(Protocol p) {
  switch (p) {
    case Protocol::kFuse:
      return kFuseNames;
    case Protocol::kNfs:
      return kNfsNames;
    case Protocol::kMount:
      return kMountNames;
    case Protocol::kNlm:
      return kNlmNames;
    case Protocol::kNsm:
      return kNsmNames;
    case Protocol::kSmb:
      return kSmbNames;
  }
  return {};
}

}  // namespace

std::span<const uint64_t> OpBounds() { return kOpBounds; }
std::span<const uint64_t> WaitBounds() { return kWaitBounds; }

const char* ProtocolName(Protocol p) {
  switch (p) {
    case Protocol::kFuse:
      return "fuse";
    case Protocol::kNfs:
      return "nfs";
    case Protocol::kMount:
      return "mount";
    case Protocol::kNlm:
      return "nlm";
    case Protocol::kNsm:
      return "nsm";
    case Protocol::kSmb:
      return "smb";
  }
  return "?";
}

std::string OpName(Protocol p, uint32_t op) {
  if (op >= kMaxOps - 1) return "other";
  std::span<const char* const> names = NamesOf(p);
  if (op < names.size() && names[op] != nullptr) return names[op];
  return "proc_" + std::to_string(op);
}

void Histogram::Observe(uint64_t ns) {
  size_t i = static_cast<size_t>(
      std::lower_bound(bounds_.begin(), bounds_.end(), ns) - bounds_.begin());
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(ns, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot s;
  s.bounds_ns = bounds_;
  uint64_t total = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    total += buckets_[i].load(std::memory_order_relaxed);
    s.buckets[i] = total;
  }
  // Concurrent observers may have bumped a bucket but not yet the count:
  // the count is the +Inf bucket, so the exposition stays consistent.
  s.count = total;
  s.sum_ns = sum_ns_.load(std::memory_order_relaxed);
  return s;
}

Registry::Registry() : lock_wait_(WaitBounds()), store_sync_(OpBounds()) {
  for (auto& proto : ops_) {
    for (auto& h : proto) h = std::make_unique<Histogram>(OpBounds());
  }
}

Registry& Global() {
  static Registry* r = new Registry();  // never destroyed: used at exit
  return *r;
}

}  // namespace concordfs::metrics
