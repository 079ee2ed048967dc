#include "service/metrics/metrics_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "service/metrics/registry.h"
#include "tests/metrics/test_support.h"

namespace gatehouse::metrics {
namespace {

using ::gatehouse::metrics::testing::HttpGet;
using ::gatehouse::metrics::testing::HttpRequest;
using ::gatehouse::metrics::testing::HttpResponse;

class MetricsServerTest : public ::testing::Test {
 protected:
  MetricsServerTest() {
    registry_.AddCounter("requests_total", "Requests.", {"method"})
        .WithLabels({"Check"})
        .Increment(5);
  }

  std::unique_ptr<MetricsServer> StartOnLoopback() {
    absl::StatusOr<std::unique_ptr<MetricsServer>> server =
        MetricsServer::Start("127.0.0.1:0", &registry_);
    EXPECT_TRUE(server.ok()) << server.status();
    return server.ok() ? std::move(*server) : nullptr;
  }

  Registry registry_;
};

TEST_F(MetricsServerTest, PortZeroBindsAFreePortAndReportsIt) {
  std::unique_ptr<MetricsServer> server = StartOnLoopback();
  ASSERT_NE(server, nullptr);
  EXPECT_GT(server->port(), 0);
  EXPECT_EQ(HttpGet(server->port(), "/metrics").status, 200);
}

TEST_F(MetricsServerTest, ServesTheRegistryAsPrometheusText) {
  std::unique_ptr<MetricsServer> server = StartOnLoopback();
  ASSERT_NE(server, nullptr);

  const HttpResponse response = HttpGet(server->port(), "/metrics");
  ASSERT_EQ(response.status, 200) << response.error;
  EXPECT_NE(response.headers.find(
                "Content-Type: text/plain; version=0.0.4; charset=utf-8"),
            std::string::npos)
      << response.headers;
  EXPECT_EQ(response.body,
            "# HELP requests_total Requests.\n"
            "# TYPE requests_total counter\n"
            "requests_total{method=\"Check\"} 5\n");
}

TEST_F(MetricsServerTest, EachScrapeSeesCurrentValues) {
  std::unique_ptr<MetricsServer> server = StartOnLoopback();
  ASSERT_NE(server, nullptr);
  registry_.AddGauge("later", "Registered after start.").WithLabels({}).Set(2);
  EXPECT_NE(HttpGet(server->port(), "/metrics").body.find("later 2\n"),
            std::string::npos);
}

TEST_F(MetricsServerTest, HeadHasNoBodyOtherMethodsAndPathsAreRefused) {
  std::unique_ptr<MetricsServer> server = StartOnLoopback();
  ASSERT_NE(server, nullptr);

  const HttpResponse head = HttpRequest(server->port(), "HEAD", "/metrics");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.body, "");
  EXPECT_EQ(HttpRequest(server->port(), "POST", "/metrics").status, 405);
  EXPECT_EQ(HttpGet(server->port(), "/").status, 404);
  EXPECT_EQ(HttpGet(server->port(), "/metrics/extra").status, 404);
  EXPECT_EQ(HttpGet(server->port(), "/etc/passwd").status, 404);
  // A query string does not change the path.
  EXPECT_EQ(HttpGet(server->port(), "/metrics?x=1").status, 200);
}

TEST_F(MetricsServerTest, MalformedAddressesAreInvalidArgument) {
  for (const char* listen :
       {"", "9090", "127.0.0.1", "127.0.0.1:", "127.0.0.1:http",
        "127.0.0.1:65536", "example.com:9090", "[::1:9090", "1.2.3:9090"}) {
    absl::StatusOr<std::unique_ptr<MetricsServer>> server =
        MetricsServer::Start(listen, &registry_);
    EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument)
        << listen;
  }
}

TEST_F(MetricsServerTest, PortInUseIsUnavailable) {
  // Hold a listening socket on a free port, then ask for that port.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const int port = ntohs(addr.sin_port);

  absl::StatusOr<std::unique_ptr<MetricsServer>> server =
      MetricsServer::Start("127.0.0.1:" + std::to_string(port), &registry_);
  close(fd);
  EXPECT_EQ(server.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(server.status().message().find(std::to_string(port)),
            std::string::npos)
      << server.status();
}

TEST_F(MetricsServerTest, LocalhostMeansIpv4Loopback) {
  absl::StatusOr<std::unique_ptr<MetricsServer>> server =
      MetricsServer::Start("localhost:0", &registry_);
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_EQ(HttpGet((*server)->port(), "/metrics").status, 200);
}

TEST_F(MetricsServerTest, Ipv6WorksOrIsRefusedClearly) {
  absl::StatusOr<std::unique_ptr<MetricsServer>> server =
      MetricsServer::Start("[::1]:0", &registry_);
  if (MetricsServer::SupportsIpv6()) {
    ASSERT_TRUE(server.ok()) << server.status();
    EXPECT_GT((*server)->port(), 0);
  } else {
    EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(server.status().message().find("without IPv6"), std::string::npos)
        << server.status();
  }
}

// A slowloris: connections that send the start of a request and never finish
// it, each re-opened as soon as the server drops it.
class SlowConnections {
 public:
  SlowConnections(int port, int count) : port_(port), fds_(count, -1) {
    for (int& fd : fds_) fd = Open();
    thread_ = std::thread([this] { ReopenWhenDropped(); });
  }
  ~SlowConnections() {
    stop_ = true;
    thread_.join();
    for (int fd : fds_) {
      if (fd >= 0) close(fd);
    }
  }
  int reopened() const { return reopened_; }

 private:
  int Open() const {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port_);
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      close(fd);
      return -1;
    }
    const char kStart[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n";
    (void)!write(fd, kStart, sizeof(kStart) - 1);
    return fd;
  }

  // Bounded by the test: runs until the destructor.
  void ReopenWhenDropped() {
    while (!stop_) {
      std::vector<pollfd> polled;
      for (int fd : fds_) polled.push_back({fd, POLLIN, 0});
      if (poll(polled.data(), polled.size(), 20) <= 0) continue;
      for (size_t i = 0; i < fds_.size(); ++i) {
        if (polled[i].revents == 0) continue;
        close(fds_[i]);
        fds_[i] = Open();
        ++reopened_;
      }
    }
  }

  const int port_;
  std::vector<int> fds_;
  std::atomic<bool> stop_{false};
  std::atomic<int> reopened_{0};
  std::thread thread_;
};

TEST_F(MetricsServerTest, TenSlowConnectionsDoNotDelayScrapes) {
  std::unique_ptr<MetricsServer> server = StartOnLoopback();
  ASSERT_NE(server, nullptr);
  SlowConnections attacker(server->port(), 10);
  // Spans several of the server's request timeouts, so dropped slow
  // connections are re-opened while scrapes go on.
  for (int scrape = 0; scrape < 12; ++scrape) {
    const HttpResponse response =
        HttpRequest(server->port(), "GET", "/metrics", /*timeout_ms=*/2000);
    EXPECT_EQ(response.status, 200)
        << "scrape " << scrape << ": " << response.error;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  EXPECT_GT(attacker.reopened(), 0) << "the server never dropped a slow "
                                       "connection: the test saw no re-open";
}

TEST_F(MetricsServerTest, StopsListeningWhenDestroyed) {
  std::unique_ptr<MetricsServer> server = StartOnLoopback();
  ASSERT_NE(server, nullptr);
  const int port = server->port();
  server.reset();
  EXPECT_EQ(HttpGet(port, "/metrics").status, 0);
}

}  // namespace
}  // namespace gatehouse::metrics
