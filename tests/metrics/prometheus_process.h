#ifndef GATEHOUSE_TESTS_METRICS_PROMETHEUS_PROCESS_H_
#define GATEHOUSE_TESTS_METRICS_PROMETHEUS_PROCESS_H_

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/metrics/test_support.h"
#include "tests/testing/loopback_port.h"

// The real Prometheus server (Debian's `prometheus`, PROMETHEUS_BIN) for
// tests: shared by the metrics module's scrape test and the integration
// test against the real gatehouse binary.
namespace gatehouse::metrics::testing {

// The sample value of the first series of an instant-vector query result
// (`"value":[<time>,"<value>"]`), or "" when the result is empty.
inline std::string FirstSampleValue(const std::string& json) {
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
  bool Start(std::chrono::steady_clock::time_point deadline) {
    for (int attempt = 0;
         attempt < 3 && std::chrono::steady_clock::now() < deadline;
         ++attempt) {
      port_ = ::gatehouse::testing::UnusedLoopbackPort();
      process_ = std::make_unique<ChildProcess>(
          std::vector<std::string>{
              PROMETHEUS_BIN, "--config.file=" + config_,
              "--storage.tsdb.path=" + storage_,
              "--web.listen-address=127.0.0.1:" + std::to_string(port_),
              "--log.level=warn"},
          log_);
      while (process_->Running() &&
             std::chrono::steady_clock::now() < deadline) {
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
                      std::chrono::steady_clock::time_point deadline) const {
    std::string value;
    while (std::chrono::steady_clock::now() < deadline) {
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

}  // namespace gatehouse::metrics::testing

#endif  // GATEHOUSE_TESTS_METRICS_PROMETHEUS_PROCESS_H_
