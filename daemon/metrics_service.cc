#include "daemon/metrics_service.h"

#include <vector>

#include "locking/lock_manager.h"

namespace concordfs {

namespace {

using locking::Flavor;
using locking::Protocol;

constexpr Protocol kProtocols[] = {Protocol::kLocal, Protocol::kNlm,
                                   Protocol::kSmb, Protocol::kAdmin};
constexpr Flavor kFlavors[] = {Flavor::kPosix, Flavor::kFlock,
                               Flavor::kWindows};

}  // namespace

Status MetricsService::Start(const std::string& address, uint16_t port) {
  exporter_.AddSource([this](metrics::Families* out) { CollectLocks(out); });
  return exporter_.Start(address, port);
}

void MetricsService::CollectLocks(metrics::Families* out) {
  locking::LockManager* lm = backend_->locks();
  locking::LockCounters c = lm->Counters();
  // Waiters by protocol and flavour: the counters only have a total.
  std::vector<locking::WaiterInfo> waiters;
  lm->List(nullptr, &waiters);
  uint64_t waiting[4][3] = {};
  for (const locking::WaiterInfo& w : waiters) {
    size_t p = static_cast<size_t>(w.wanted.owner.protocol) - 1;
    size_t f = static_cast<size_t>(w.wanted.flavor) - 1;
    if (p < 4 && f < 3) waiting[p][f]++;
  }
  auto held = metrics::GaugeFamily(
      "concordfs_locks_held", "Byte-range locks held, by protocol and flavour");
  auto wait = metrics::GaugeFamily(
      "concordfs_lock_waiters",
      "Blocking lock requests waiting, by protocol and flavour");
  for (Protocol p : kProtocols) {
    for (Flavor f : kFlavors) {
      size_t pi = static_cast<size_t>(p) - 1, fi = static_cast<size_t>(f) - 1;
      std::vector<std::pair<std::string, std::string>> labels = {
          {"protocol", locking::ProtocolName(p)},
          {"flavour", locking::FlavorName(f)}};
      metrics::AddSample(&held, labels, static_cast<double>(c.held[pi][fi]));
      metrics::AddSample(&wait, labels, static_cast<double>(waiting[pi][fi]));
    }
  }
  out->push_back(std::move(held));
  out->push_back(std::move(wait));
  auto counter = [&](const char* name, const char* help, uint64_t v) {
    auto f = metrics::CounterFamily(name, help);
    metrics::AddSample(&f, {}, static_cast<double>(v));
    out->push_back(std::move(f));
  };
  counter("concordfs_lock_grants_total",
          "Lock requests granted (at once or after waiting)", c.grants);
  counter("concordfs_lock_denials_total",
          "Lock requests refused because of a conflict", c.denials);
  counter("concordfs_lock_deadlocks_total",
          "Blocking lock requests refused because they would deadlock",
          c.deadlocks);
  counter("concordfs_lock_grace_denials_total",
          "Lock requests refused during the grace period", c.grace_denials);
  counter("concordfs_lock_cancels_total", "Waiting lock requests cancelled",
          c.cancels);
  auto grace = metrics::GaugeFamily("concordfs_grace_active",
                                    "1 while the lock grace period is active");
  metrics::AddSample(&grace, {}, c.in_grace ? 1 : 0);
  out->push_back(std::move(grace));
  auto unreclaimed = metrics::GaugeFamily(
      "concordfs_grace_unreclaimed_locks",
      "Restored locks not yet reclaimed in the grace period");
  metrics::AddSample(&unreclaimed, {}, static_cast<double>(c.unreclaimed));
  out->push_back(std::move(unreclaimed));
}

}  // namespace concordfs
