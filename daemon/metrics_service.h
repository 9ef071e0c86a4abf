// MetricsService: the daemon's Prometheus endpoint. Wraps a MetricsExporter
// (metrics/exporter.h) and adds the families read from the lock manager at
// scrape time: locks held and waiters by protocol and flavour, grants,
// denials, deadlocks, cancels, grace state.
//
// Ownership: owned by main(); borrows the Backend, which must outlive it.
// Thread safety: Start() once from main; scrapes run on the exporter's HTTP
// threads and take only the lock manager's own mutexes (List/Counters), never
// anything on an operation's path.
#pragma once

#include <cstdint>
#include <string>

#include "daemon/backend.h"
#include "metrics/exporter.h"
#include "util/status.h"

namespace concordfs {

class MetricsService {
 public:
  explicit MetricsService(Backend* backend) : backend_(backend) {}
  Status Start(const std::string& address, uint16_t port);
  uint16_t port() const { return exporter_.port(); }

 private:
  void CollectLocks(metrics::Families* out);

  Backend* backend_;
  metrics::MetricsExporter exporter_;
};

}  // namespace concordfs
