// The Prometheus endpoint: turns the counters of metrics/metrics.h, plus
// families computed at scrape time by the daemon (locks held, waiters,
// grace), into the Prometheus text format, served over HTTP by
// prometheus-cpp's pull Exposer (civetweb) at /metrics.
//
// Ownership: the daemon owns one MetricsExporter; Start() binds the
// listening socket and serves until the exporter is destroyed. Sources are
// borrowed callbacks that must stay valid until then.
//
// Thread safety: Collect() runs on the Exposer's HTTP threads, once per
// scrape, concurrently with every recorder; it only loads atomics and calls
// the sources (which take their own locks). AddSource() must be called
// before Start().
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "prometheus/metric_family.h"
#include "util/status.h"

namespace prometheus {
class Exposer;
}

namespace concordfs::metrics {

using Families = std::vector<prometheus::MetricFamily>;
// Appends families computed at scrape time.
using Source = std::function<void(Families*)>;

// Helpers for sources: a family, and one sample in it.
prometheus::MetricFamily CounterFamily(std::string name, std::string help);
prometheus::MetricFamily GaugeFamily(std::string name, std::string help);
void AddSample(prometheus::MetricFamily* f,
               std::vector<std::pair<std::string, std::string>> labels,
               double value);

// Every family of the built-in registry (Global()) and of `sources`.
Families CollectAll(const std::vector<Source>& sources);
// The Prometheus text exposition of `families`.
std::string RenderText(const Families& families);

class MetricsExporter {
 public:
  MetricsExporter();
  ~MetricsExporter();
  MetricsExporter(const MetricsExporter&) = delete;
  MetricsExporter& operator=(const MetricsExporter&) = delete;

  void AddSource(Source s);
  // Serves /metrics on address:port (port 0: the kernel picks one; see
  // port()). Also turns recording on (SetEnabled(true)).
  Status Start(const std::string& address, uint16_t port);
  uint16_t port() const { return port_; }

 private:
  class Collector;
  std::shared_ptr<Collector> collector_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  uint16_t port_ = 0;
};

}  // namespace concordfs::metrics
