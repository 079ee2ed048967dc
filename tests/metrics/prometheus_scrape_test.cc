// The real Prometheus server scrapes a MetricsServer and answers a query
// with the value the test recorded: the exposition is not only well formed
// but read the way Prometheus reads it.

#include <chrono>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "service/metrics/gatehouse_metrics.h"
#include "service/metrics/metrics_server.h"
#include "tests/metrics/gatehouse_metrics_values.h"
#include "tests/metrics/prometheus_process.h"
#include "tests/metrics/test_support.h"

namespace gatehouse::metrics {
namespace {

using ::gatehouse::metrics::testing::HttpGet;
using ::gatehouse::metrics::testing::HttpResponse;
using ::gatehouse::metrics::testing::PrometheusProcess;
using ::gatehouse::metrics::testing::ReadFile;
using ::gatehouse::metrics::testing::TempDir;
using ::gatehouse::metrics::testing::UrlEncode;
using ::gatehouse::testing::UnusedLoopbackPort;
using Clock = std::chrono::steady_clock;

constexpr auto kOverallTimeout = std::chrono::seconds(60);

TEST(PrometheusScrapeTest, PrometheusQueryReturnsTheDecisionCountWeRecorded) {
  const Clock::time_point deadline = Clock::now() + kOverallTimeout;
  Registry registry;
  GatehouseMetrics metrics(&registry, "0.1.0");
  testing::SetExampleValues(&metrics);
  absl::StatusOr<std::unique_ptr<MetricsServer>> server =
      MetricsServer::Start("127.0.0.1:0", &registry);
  ASSERT_TRUE(server.ok()) << server.status();

  TempDir dir;
  PrometheusProcess prometheus(dir, (*server)->port());
  ASSERT_TRUE(prometheus.Start(deadline))
      << PROMETHEUS_BIN << " did not become ready:\n"
      << prometheus.log();

  EXPECT_EQ(prometheus.WaitFor("gatehouse_decisions_total{policy=\"login_ip\","
                               "rpc=\"check\",decision=\"allow\"}",
                               std::to_string(testing::kLoginIpCheckAllows),
                               deadline),
            std::to_string(testing::kLoginIpCheckAllows))
      << prometheus.log();
  // Histograms arrive whole: the +Inf bucket matches _count.
  EXPECT_EQ(prometheus.Query("gatehouse_grpc_request_duration_seconds_bucket{"
                             "method=\"Check\",le=\"+Inf\"}"),
            "2");
  EXPECT_EQ(prometheus.Query("up{job=\"gatehouse\"}"), "1");

  // A change made now shows in a later scrape.
  metrics.decisions_total.WithLabels({"login_ip", "check", "allow"})
      .Increment(5);
  EXPECT_EQ(prometheus.WaitFor("gatehouse_decisions_total{policy=\"login_ip\","
                               "rpc=\"check\",decision=\"allow\"}",
                               "12", deadline),
            "12");
  EXPECT_EQ(prometheus.Stop(), 0) << prometheus.log();
}

}  // namespace
}  // namespace gatehouse::metrics
