#include "metrics/exporter.h"

#include <cerrno>
#include <exception>
#include <limits>
#include <sstream>

#include "metrics/metrics.h"
#include "prometheus/collectable.h"
#include "prometheus/exposer.h"
#include "prometheus/text_serializer.h"

namespace concordfs::metrics {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

MetricFamily Family(std::string name, std::string help, MetricType type) {
  MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

std::vector<ClientMetric::Label> Labels(
    std::vector<std::pair<std::string, std::string>> labels) {
  std::vector<ClientMetric::Label> out;
  for (auto& [k, v] : labels) out.push_back({std::move(k), std::move(v)});
  return out;
}

void AddHistogram(MetricFamily* f,
                  std::vector<std::pair<std::string, std::string>> labels,
                  const Histogram::Snapshot& s) {
  ClientMetric m;
  m.label = Labels(std::move(labels));
  m.histogram.sample_count = s.count;
  m.histogram.sample_sum = static_cast<double>(s.sum_ns) / 1e9;
  for (size_t i = 0; i < s.bounds_ns.size(); ++i) {
    m.histogram.bucket.push_back(
        {s.buckets[i], static_cast<double>(s.bounds_ns[i]) / 1e9});
  }
  m.histogram.bucket.push_back(
      {s.count, std::numeric_limits<double>::infinity()});
  f->metric.push_back(std::move(m));
}

constexpr Protocol kAll[] = {Protocol::kFuse, Protocol::kNfs, Protocol::kMount,
                             Protocol::kNlm,  Protocol::kNsm, Protocol::kSmb};
constexpr Protocol kData[] = {Protocol::kFuse, Protocol::kNfs, Protocol::kSmb};

void CollectBuiltin(Families* out) {
  Registry& r = Global();
  MetricFamily ops = CounterFamily(
      "concordfs_ops_total", "Operations handled, by protocol and operation");
  MetricFamily lat = Family("concordfs_op_seconds",
                            "Time to handle an operation, by protocol and "
                            "operation (until the reply is sent or queued)",
                            MetricType::Histogram);
  for (Protocol p : kAll) {
    for (uint32_t op = 0; op < kMaxOps; ++op) {
      const Histogram& h = r.Op(p, op);
      if (h.count() == 0) continue;  // only operations that happened
      Histogram::Snapshot s = h.Read();
      std::string name = OpName(p, op);
      AddSample(&ops, {{"protocol", ProtocolName(p)}, {"op", name}},
                static_cast<double>(s.count));
      AddHistogram(&lat, {{"protocol", ProtocolName(p)}, {"op", name}}, s);
    }
  }
  out->push_back(std::move(ops));
  out->push_back(std::move(lat));

  MetricFamily rd = CounterFamily("concordfs_bytes_read_total",
                                  "File data bytes read, by protocol");
  MetricFamily wr = CounterFamily("concordfs_bytes_written_total",
                                  "File data bytes written, by protocol");
  for (Protocol p : kData) {
    AddSample(&rd, {{"protocol", ProtocolName(p)}},
              static_cast<double>(r.bytes_read(p).load()));
    AddSample(&wr, {{"protocol", ProtocolName(p)}},
              static_cast<double>(r.bytes_written(p).load()));
  }
  out->push_back(std::move(rd));
  out->push_back(std::move(wr));

  MetricFamily conns = GaugeFamily(
      "concordfs_connections",
      "Open TCP connections, by protocol (nfs: every ONC RPC program)");
  AddSample(&conns, {{"protocol", "nfs"}},
            static_cast<double>(r.gauge(Gauge::kNfsConnections).load()));
  AddSample(&conns, {{"protocol", "smb"}},
            static_cast<double>(r.gauge(Gauge::kSmbConnections).load()));
  out->push_back(std::move(conns));
  MetricFamily sessions = GaugeFamily(
      "concordfs_smb_sessions", "SMB sessions (being set up or established)");
  AddSample(&sessions, {},
            static_cast<double>(r.gauge(Gauge::kSmbSessions).load()));
  out->push_back(std::move(sessions));

  MetricFamily wait = Family("concordfs_lock_wait_seconds",
                             "Time a blocking lock request waited from "
                             "being queued to being granted",
                             MetricType::Histogram);
  AddHistogram(&wait, {}, r.lock_wait().Read());
  out->push_back(std::move(wait));
  MetricFamily sync = Family("concordfs_store_sync_seconds",
                             "Duration of synced metadata store writes "
                             "(group commit: one log fsync)",
                             MetricType::Histogram);
  AddHistogram(&sync, {}, r.store_sync().Read());
  out->push_back(std::move(sync));
}

}  // namespace

MetricFamily CounterFamily(std::string name, std::string help) {
  return Family(std::move(name), std::move(help), MetricType::Counter);
}
MetricFamily GaugeFamily(std::string name, std::string help) {
  return Family(std::move(name), std::move(help), MetricType::Gauge);
}

void AddSample(MetricFamily* f,
               std::vector<std::pair<std::string, std::string>> labels,
               double value) {
  ClientMetric m;
  m.label = Labels(std::move(labels));
  if (f->type == MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  f->metric.push_back(std::move(m));
}

Families CollectAll(const std::vector<Source>& sources) {
  Families out;
  CollectBuiltin(&out);
  for (const Source& s : sources) s(&out);
  return out;
}

std::string RenderText(const Families& families) {
  std::ostringstream os;
  prometheus::TextSerializer().Serialize(os, families);
  return os.str();
}

class MetricsExporter::Collector : public prometheus::Collectable {
 public:
  std::vector<Source> sources;
  std::vector<MetricFamily> Collect() const override {
    return CollectAll(sources);
  }
};

MetricsExporter::MetricsExporter()
    : collector_(std::make_shared<Collector>()) {}

MetricsExporter::~MetricsExporter() {
  exposer_.reset();  // stops the HTTP threads before the sources go
}

void MetricsExporter::AddSource(Source s) {
  collector_->sources.push_back(std::move(s));
}

Status MetricsExporter::Start(const std::string& address, uint16_t port) {
  std::string host =
      address.find(':') != std::string::npos ? "[" + address + "]" : address;
  std::string bind = host + ":" + std::to_string(port);
  try {
    exposer_ = std::make_unique<prometheus::Exposer>(bind, 2);
  } catch (const std::exception& e) {
    return Status::Error(EADDRNOTAVAIL,
                         "cannot serve metrics on " + bind + ": " + e.what());
  }
  std::vector<int> ports = exposer_->GetListeningPorts();
  port_ = ports.empty() ? port : static_cast<uint16_t>(ports.front());
  exposer_->RegisterCollectable(collector_);
  SetEnabled(true);
  return Status::Ok();
}

}  // namespace concordfs::metrics
