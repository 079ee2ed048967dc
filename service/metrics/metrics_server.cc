#include "service/metrics/metrics_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "civetweb.h"
#include "service/metrics/text_format.h"

namespace gatehouse::metrics {
namespace {

constexpr unsigned kCivetwebIpv6 = 8;  // mg_check_feature bit for USE_IPV6

// civetweb wants mg_init_library once per process before any mg_start.
void InitCivetweb() {
  static std::once_flag once;
  std::call_once(once, [] { mg_init_library(0); });
}

struct ListenAddress {
  std::string host;  // literal; IPv6 without brackets
  bool ipv6 = false;
  std::string port;

  // civetweb's listening_ports syntax.
  std::string ToCivetweb() const {
    return ipv6 ? "[" + host + "]:" + port : host + ":" + port;
  }
};

absl::StatusOr<ListenAddress> ParseListenAddress(std::string_view listen) {
  const auto invalid = [&](std::string_view why) {
    return absl::InvalidArgumentError("metrics listen address \"" +
                                      std::string(listen) +
                                      "\": " + std::string(why));
  };
  const size_t colon = listen.rfind(':');
  if (colon == std::string_view::npos) return invalid("expected HOST:PORT");
  ListenAddress address;
  address.host = std::string(listen.substr(0, colon));
  address.port = std::string(listen.substr(colon + 1));
  if (address.port.empty() || address.port.size() > 5 ||
      address.port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(address.port) > 65535) {
    return invalid("port must be a number from 0 to 65535");
  }
  if (address.host == "localhost") address.host = "127.0.0.1";
  unsigned char scratch[sizeof(in6_addr)];
  if (address.host.size() > 2 && address.host.front() == '[' &&
      address.host.back() == ']') {
    address.host = address.host.substr(1, address.host.size() - 2);
    address.ipv6 = true;
    if (inet_pton(AF_INET6, address.host.c_str(), scratch) != 1) {
      return invalid("not an IPv6 address");
    }
    if (!MetricsServer::SupportsIpv6()) {
      return invalid("this civetweb was built without IPv6");
    }
  } else if (inet_pton(AF_INET, address.host.c_str(), scratch) != 1) {
    return invalid(
        "host must be an IPv4 address, a bracketed IPv6 address or "
        "localhost");
  }
  return address;
}

// Connects to the listener and hangs up at once: enough to end civetweb's
// accept poll so it sees the stop flag.
void PokeListener(const std::string& host, bool ipv6, int port) {
  sockaddr_storage storage{};
  socklen_t length;
  if (ipv6) {
    auto* addr = reinterpret_cast<sockaddr_in6*>(&storage);
    addr->sin6_family = AF_INET6;
    addr->sin6_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET6, host.c_str(), &addr->sin6_addr);
    length = sizeof(*addr);
  } else {
    auto* addr = reinterpret_cast<sockaddr_in*>(&storage);
    addr->sin_family = AF_INET;
    addr->sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, host.c_str(), &addr->sin_addr);
    length = sizeof(*addr);
  }
  const int fd = socket(storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  connect(fd, reinterpret_cast<sockaddr*>(&storage), length);
  close(fd);
}

int HandleMetrics(mg_connection* conn, void* registry) {
  const mg_request_info* request = mg_get_request_info(conn);
  const bool head = std::strcmp(request->request_method, "HEAD") == 0;
  if (!head && std::strcmp(request->request_method, "GET") != 0) {
    mg_send_http_error(conn, 405, "%s", "only GET and HEAD\n");
    return 405;
  }
  const std::string body = static_cast<const Registry*>(registry)->Render();
  mg_send_http_ok(conn, internal::kContentType,
                  static_cast<long long>(body.size()));
  if (!head) mg_write(conn, body.data(), body.size());
  return 200;
}

// Worker threads (see Start).
constexpr char kWorkers[] = "16";

// Serving-time errors are a scraper hanging up; not worth our log.
int DropLogMessage(const mg_connection*, const char*) { return 1; }

}  // namespace

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(
    std::string_view listen, const Registry* registry) {
  absl::StatusOr<ListenAddress> address = ParseListenAddress(listen);
  if (!address.ok()) return address.status();
  InitCivetweb();
  const std::string ports = address->ToCivetweb();

  const char* options[] = {
      "listening_ports", ports.c_str(),  //
      // A worker serves one connection at a time, reading its request for
      // up to request_timeout_ms. Scrapes are rare and cheap, so workers
      // are there for connections that never finish a request (a
      // slowloris): up to kWorkers - 1 of them leave a scrape unaffected,
      // and each is dropped after 2 s (a scraper sends its request at once).
      "num_threads", kWorkers,       //
      "request_timeout_ms", "2000",  //
      "enable_keep_alive", "yes",    //
      nullptr};
  mg_callbacks callbacks;
  std::memset(&callbacks, 0, sizeof(callbacks));
  callbacks.log_message = DropLogMessage;
  mg_init_data init;
  std::memset(&init, 0, sizeof(init));
  init.callbacks = &callbacks;
  init.configuration_options = options;
  char error_text[256] = "";
  unsigned error_code = 0;
  mg_error_data error;
  std::memset(&error, 0, sizeof(error));
  error.code = &error_code;
  error.text = error_text;
  error.text_buffer_size = sizeof(error_text);

  mg_context* context = mg_start2(&init, &error);
  if (context == nullptr) {
    return absl::UnavailableError("metrics server on " + std::string(listen) +
                                  ": " + error_text);
  }
  mg_server_port bound;
  std::memset(&bound, 0, sizeof(bound));
  if (mg_get_server_ports(context, 1, &bound) != 1 || bound.port == 0) {
    mg_stop(context);
    return absl::UnavailableError("metrics server on " + std::string(listen) +
                                  ": could not learn the bound port");
  }
  mg_set_request_handler(context, "/metrics$", HandleMetrics,
                         const_cast<Registry*>(registry));
  std::string wake_host = address->host;
  if (wake_host == "0.0.0.0") wake_host = "127.0.0.1";
  if (wake_host == "::") wake_host = "::1";
  return std::unique_ptr<MetricsServer>(
      new MetricsServer(context, std::move(wake_host), bound.port));
}

bool MetricsServer::SupportsIpv6() {
  return mg_check_feature(kCivetwebIpv6) != 0;
}

MetricsServer::MetricsServer(mg_context* context, std::string wake_host,
                             int port)
    : context_(context), wake_host_(std::move(wake_host)), port_(port) {}

MetricsServer::~MetricsServer() {
  // mg_stop sets a stop flag that civetweb's listener reads only between
  // 2 s polls; poke it until mg_stop has returned so shutdown is prompt.
  std::atomic<bool> stopped{false};
  std::thread stopper([this, &stopped] {
    mg_stop(context_);
    stopped.store(true);
  });
  const bool ipv6 = wake_host_.find(':') != std::string::npos;
  while (!stopped.load()) {
    PokeListener(wake_host_, ipv6, port_);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  stopper.join();
}

}  // namespace gatehouse::metrics
