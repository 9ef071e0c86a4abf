#include "metrics/metrics.h"

#include <gtest/gtest.h>

#include <string>

#include "metrics/exporter.h"

namespace concordfs::metrics {
namespace {

TEST(HistogramTest, BucketsAreCumulativeWithPrometheusBounds) {
  static constexpr uint64_t kBounds[] = {10, 100, 1000};
  Histogram h(kBounds);
  h.Observe(5);
  h.Observe(10);  // le="10" includes the bound
  h.Observe(11);
  h.Observe(5000);
  Histogram::Snapshot s = h.Read();
  EXPECT_EQ(s.count, 4u);
  EXPECT_EQ(s.sum_ns, 5026u);
  EXPECT_EQ(s.buckets[0], 2u);
  EXPECT_EQ(s.buckets[1], 3u);
  EXPECT_EQ(s.buckets[2], 3u);
  EXPECT_EQ(s.buckets[3], 4u);  // +Inf
}

TEST(MetricsTest, NamesOfOperations) {
  EXPECT_EQ(OpName(Protocol::kNfs, 6), "read");
  EXPECT_EQ(OpName(Protocol::kNlm, 2), "lock");
  EXPECT_EQ(OpName(Protocol::kNlm, 18), "proc_18");
  EXPECT_EQ(OpName(Protocol::kSmb, 9), "write");
  EXPECT_EQ(OpName(Protocol::kFuse, kFuseSetlk), "setlk");
  EXPECT_EQ(OpName(Protocol::kNfs, 1000), "other");
  EXPECT_STREQ(ProtocolName(Protocol::kMount), "mount");
}

TEST(MetricsTest, DisabledRecordsNothing) {
  SetEnabled(false);
  uint64_t before = Global().Op(Protocol::kMount, 5).count();
  { OpTimer t(Protocol::kMount, 5); }
  AddBytesRead(Protocol::kSmb, 100);
  EXPECT_EQ(Global().Op(Protocol::kMount, 5).count(), before);
  EXPECT_EQ(Global().bytes_read(Protocol::kSmb).load(), 0u);
}

TEST(MetricsTest, CountersMoveAndAppearInTheText) {
  SetEnabled(true);
  for (int i = 0; i < 3; ++i) OpTimer t(Protocol::kNfs, 7);
  { OpTimer t(Protocol::kNfs, 5000); }  // out of range: "other"
  AddBytesWritten(Protocol::kNfs, 4096);
  AddBytesRead(Protocol::kFuse, 10);
  ObserveLockWait(2'000'000);  // 2 ms
  ObserveStoreSync(300'000);
  {
    GaugeHold c(Gauge::kSmbConnections);
    GaugeHold s(Gauge::kSmbSessions);
    EXPECT_EQ(Global().gauge(Gauge::kSmbConnections).load(), 1);
  }
  EXPECT_EQ(Global().gauge(Gauge::kSmbConnections).load(), 0);
  GaugeHold nfs(Gauge::kNfsConnections);

  std::string text = RenderText(CollectAll({[](Families* f) {
    prometheus::MetricFamily g = GaugeFamily("extra_gauge", "from a source");
    AddSample(&g, {{"flavour", "posix"}}, 2);
    f->push_back(std::move(g));
  }}));
  auto has = [&](const std::string& line) {
    return text.find(line + "\n") != std::string::npos;
  };
  EXPECT_TRUE(has("# TYPE concordfs_ops_total counter")) << text;
  EXPECT_TRUE(has("concordfs_ops_total{protocol=\"nfs\",op=\"write\"} 3"))
      << text;
  EXPECT_TRUE(has("concordfs_ops_total{protocol=\"nfs\",op=\"other\"} 1"));
  EXPECT_TRUE(has("# TYPE concordfs_op_seconds histogram"));
  EXPECT_TRUE(
      has("concordfs_op_seconds_count{protocol=\"nfs\",op=\"write\"} 3"));
  EXPECT_TRUE(has(
      "concordfs_op_seconds_bucket{protocol=\"nfs\",op=\"write\",le=\"+Inf\"}"
      " 3"));
  EXPECT_TRUE(has("concordfs_bytes_written_total{protocol=\"nfs\"} 4096"));
  EXPECT_TRUE(has("concordfs_bytes_read_total{protocol=\"fuse\"} 10"));
  EXPECT_TRUE(has("concordfs_connections{protocol=\"nfs\"} 1"));
  EXPECT_TRUE(has("concordfs_connections{protocol=\"smb\"} 0"));
  EXPECT_TRUE(has("concordfs_smb_sessions 0"));
  EXPECT_TRUE(has("concordfs_lock_wait_seconds_count 1"));
  EXPECT_TRUE(has("concordfs_lock_wait_seconds_bucket{le=\"0.001\"} 0"));
  EXPECT_TRUE(has("concordfs_lock_wait_seconds_bucket{le=\"0.005\"} 1"));
  EXPECT_TRUE(has("concordfs_store_sync_seconds_count 1"));
  EXPECT_TRUE(has("extra_gauge{flavour=\"posix\"} 2"));
  // Operations that never ran are not listed.
  EXPECT_EQ(text.find("op=\"commit\""), std::string::npos);
}

TEST(MetricsTest, ExporterServesOnAnEphemeralLoopbackPort) {
  MetricsExporter e;
  ASSERT_TRUE(e.Start("127.0.0.1", 0).ok());
  EXPECT_NE(e.port(), 0);
  MetricsExporter bad;
  EXPECT_FALSE(bad.Start("127.0.0.1", e.port()).ok());  // in use
}

}  // namespace
}  // namespace concordfs::metrics
