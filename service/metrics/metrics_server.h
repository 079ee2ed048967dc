#ifndef GATEHOUSE_SERVICE_METRICS_METRICS_SERVER_H_
#define GATEHOUSE_SERVICE_METRICS_METRICS_SERVER_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "service/metrics/registry.h"

struct mg_context;

namespace gatehouse::metrics {

// An HTTP server (civetweb) answering GET /metrics with a Registry's
// exposition; every other path is 404, and no file is ever served.
//
// Thread-safe. Serves on its own thread pool (16 workers, a connection
// dropped when its request is not complete after 2 s) from Start until
// destruction; the destructor stops it and waits for in-flight scrapes
// (promptly: it wakes civetweb's listener rather than wait out its 2 s poll).
// Does not own the Registry, which must outlive the server.
class MetricsServer {
 public:
  // Listens on `listen`, HOST:PORT with a literal IPv4 or bracketed IPv6
  // host ("127.0.0.1:9090", "0.0.0.0:9090", "[::]:9090") or "localhost";
  // port 0 picks a free port, which port() then reports.
  // Errors: INVALID_ARGUMENT for a malformed address, or an IPv6 one when
  // !SupportsIpv6(); UNAVAILABLE when the address cannot be bound (the
  // message says why).
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(
      std::string_view listen, const Registry* registry);

  // Whether the civetweb library was built with IPv6 (Debian 12's is not).
  static bool SupportsIpv6();

  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // The bound port (never 0).
  int port() const { return port_; }

 private:
  MetricsServer(mg_context* context, std::string wake_host, int port);

  // Constant after construction.
  mg_context* const context_;
  // A literal address that reaches the listener (loopback for a wildcard).
  const std::string wake_host_;
  const int port_;
};

}  // namespace gatehouse::metrics

#endif  // GATEHOUSE_SERVICE_METRICS_METRICS_SERVER_H_
