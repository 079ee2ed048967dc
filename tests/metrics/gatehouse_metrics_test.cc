#include "service/metrics/gatehouse_metrics.h"

#include <ctime>
#include <set>
#include <sstream>
#include <string>

#include "gtest/gtest.h"
#include "service/metrics/process_metrics.h"
#include "tests/metrics/gatehouse_metrics_values.h"

namespace gatehouse::metrics {
namespace {

// The sample names of every non-comment line of an exposition.
std::set<std::string> RenderedNames(const std::string& text) {
  std::set<std::string> names;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    names.insert(line.substr(0, line.find_first_of("{ ")));
  }
  return names;
}

TEST(GatehouseMetricsTest, NamesAreTheContractWithTheChart) {
  EXPECT_EQ(GatehouseMetrics::Names(),
            (std::vector<std::string>{
                "gatehouse_audit_consumer_lag_events",
                "gatehouse_audit_head_sequence",
                "gatehouse_audit_refusals_aggregated_total",
                "gatehouse_audit_stream_consumers",
                "gatehouse_auth_failures_total",
                "gatehouse_batch_items_total",
                "gatehouse_build_info",
                "gatehouse_ceiling_hits_total",
                "gatehouse_config_last_reload_success_timestamp_seconds",
                "gatehouse_config_reloads_total",
                "gatehouse_decisions_total",
                "gatehouse_denylisted_total",
                "gatehouse_envoy_unmatched_descriptors_total",
                "gatehouse_exempt_total",
                "gatehouse_grpc_request_duration_seconds_bucket",
                "gatehouse_grpc_request_duration_seconds_count",
                "gatehouse_grpc_request_duration_seconds_sum",
                "gatehouse_grpc_requests_total",
                "gatehouse_inflight_requests",
                "gatehouse_lockouts_total",
                "gatehouse_permanent_lockouts_total",
                "gatehouse_state_cache_bytes",
                "gatehouse_state_cache_entries",
                "gatehouse_state_cache_reads_total",
                "gatehouse_state_checkpoints_total",
                "gatehouse_state_dirty_keys",
                "gatehouse_storage_commit_groups_total",
                "gatehouse_storage_dependent_failures_total",
                "gatehouse_storage_errors_total",
                "gatehouse_storage_estimated_keys",
                "gatehouse_storage_grouped_commits_total",
                "gatehouse_storage_size_bytes",
                "gatehouse_storage_writable",
                "process_open_fds",
                "process_resident_memory_bytes",
                "process_start_time_seconds",
            }));
}

TEST(GatehouseMetricsTest, EveryNameAppearsInAScrapeOnceValuesAreSet) {
  Registry registry;
  GatehouseMetrics metrics(&registry, "1.2.3");
  testing::SetExampleValues(&metrics);

  const std::vector<std::string> names = GatehouseMetrics::Names();
  EXPECT_EQ(RenderedNames(registry.Render()),
            std::set<std::string>(names.begin(), names.end()));
}

TEST(GatehouseMetricsTest, BuildInfoCarriesTheVersion) {
  Registry registry;
  GatehouseMetrics metrics(&registry, "1.2.3");
  EXPECT_NE(
      registry.Render().find("gatehouse_build_info{version=\"1.2.3\"} 1\n"),
      std::string::npos);
}

TEST(GatehouseMetricsTest, DecisionSeriesRenderWithTheirLabels) {
  Registry registry;
  GatehouseMetrics metrics(&registry, "dev");
  metrics.decisions_total
      .WithLabels({"login_ip", GatehouseMetrics::kRpcCheck,
                   GatehouseMetrics::kDecisionShadowDeny})
      .Increment(2);
  EXPECT_NE(registry.Render().find(
                "gatehouse_decisions_total{policy=\"login_ip\",rpc=\"check\","
                "decision=\"shadow_deny\"} 2\n"),
            std::string::npos);
}

TEST(GatehouseMetricsTest, LatencyBucketsSpan50MicrosecondsTo5Seconds) {
  const std::vector<double>& buckets = GatehouseMetrics::LatencyBuckets();
  ASSERT_EQ(buckets.size(), 16u);
  EXPECT_EQ(buckets.front(), 0.00005);
  EXPECT_EQ(buckets.back(), 5);
}

TEST(ProcessMetricsTest, ReadsPlausibleFiguresFromProc) {
  const std::optional<double> rss = ReadResidentMemoryBytes();
  ASSERT_TRUE(rss.has_value());
  EXPECT_GT(*rss, 100 * 1024);  // a gtest binary is well over 100 KiB

  const std::optional<double> fds = ReadOpenFds();
  ASSERT_TRUE(fds.has_value());
  EXPECT_GE(*fds, 3);  // stdin, stdout, stderr

  const std::optional<double> start = ReadStartTimeSeconds();
  ASSERT_TRUE(start.has_value());
  const double now = static_cast<double>(std::time(nullptr));
  // This process started before now, and not long ago.
  EXPECT_LE(*start, now + 1);
  EXPECT_GT(*start, now - 3600);
}

TEST(ProcessMetricsTest, OpenFdsCountsADescriptorWeOpen) {
  const double before = ReadOpenFds().value();
  FILE* file = std::fopen("/proc/self/stat", "r");
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(ReadOpenFds().value(), before + 1);
  std::fclose(file);
}

}  // namespace
}  // namespace gatehouse::metrics
