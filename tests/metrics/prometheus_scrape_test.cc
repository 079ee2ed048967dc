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
#include "tests/metrics/test_support.h"

namespace gatehouse::metrics {
namespace {

using ::gatehouse::metrics::testing::ChildProcess;
using ::gatehouse::metrics::testing::HttpGet;
using ::gatehouse::metrics::testing::HttpResponse;
using ::gatehouse::metrics::testing::PickFreePort;
using ::gatehouse::metrics::testing::ReadFile;
using ::gatehouse::metrics::testing::TempDir;
using ::gatehouse::metrics::testing::UrlEncode;
using Clock = std::chrono::steady_clock;

constexpr auto kOverallTimeout = std::chrono::seconds(60);

// The sample value of the first series of an instant-vector query result
// (`"value":[<time>,"<value>"]`), or "" when the result is empty.
std::string FirstSampleValue(const std::string& json) {
  const std::string marker = "\"value\":[";
  const size_t at = json.find(marker);
  if (at == std::string::npos) return "";
  const size_t open = json.find('"', json.find(',', at) + 1);
  const size_t close = json.find('"', open + 1);
  if (open == std::string::npos || close == std::string::npos) return "";
  return json.substr(open + 1, close - open - 1);
}

// Prometheus on a loopback port with its own storage, scraping one target
// every second. Prometheus cannot report a port it picked, so a free port is
// chosen first and the start retried should another process take it.
class PrometheusProcess {
 public:
  PrometheusProcess(const TempDir& dir, int target_port) {
    config_ = dir.WriteFile("prometheus.yml",
                            "global:\n"
                            "  scrape_interval: 1s\n"
                            "  evaluation_interval: 1s\n"
                            "scrape_configs:\n"
                            "  - job_name: gatehouse\n"
                            "    scrape_interval: 1s\n"
                            "    scrape_timeout: 1s\n"
                            "    static_configs:\n"
                            "      - targets: ['127.0.0.1:" +
                                std::to_string(target_port) + "']\n");
    storage_ = dir.path() + "/tsdb";
    log_ = dir.path() + "/prometheus.log";
  }

  // Starts Prometheus and waits until /-/ready answers 200.
  bool Start(Clock::time_point deadline) {
    for (int attempt = 0; attempt < 3 && Clock::now() < deadline; ++attempt) {
      port_ = PickFreePort();
      process_ = std::make_unique<ChildProcess>(
          std::vector<std::string>{
              PROMETHEUS_BIN, "--config.file=" + config_,
              "--storage.tsdb.path=" + storage_,
              "--web.listen-address=127.0.0.1:" + std::to_string(port_),
              "--log.level=warn"},
          log_);
      while (process_->Running() && Clock::now() < deadline) {
        if (HttpGet(port_, "/-/ready").status == 200) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
    return false;
  }

  // The value of `query` now, or "" while it has no result.
  std::string Query(const std::string& query) const {
    const HttpResponse response =
        HttpGet(port_, "/api/v1/query?query=" + UrlEncode(query));
    return response.status == 200 ? FirstSampleValue(response.body) : "";
  }

  // Waits until `query` has a result equal to `want` (or the deadline);
  // returns the last value seen.
  std::string WaitFor(const std::string& query, const std::string& want,
                      Clock::time_point deadline) const {
    std::string value;
    while (Clock::now() < deadline) {
      value = Query(query);
      if (value == want) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    return value;
  }

  int Stop() { return process_ == nullptr ? -1 : process_->Stop(); }
  std::string log() const { return ReadFile(log_); }

 private:
  std::string config_;
  std::string storage_;
  std::string log_;
  int port_ = 0;
  std::unique_ptr<ChildProcess> process_;
};

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
