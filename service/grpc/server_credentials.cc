#include "service/grpc/server_credentials.h"

#include <arpa/inet.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <netinet/in.h>

#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace gatehouse {
namespace {

absl::Status Readable(const std::string& path, absl::string_view flag) {
  std::ifstream in(path);
  std::string first;
  if (!in || !std::getline(in, first)) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": cannot read ", path));
  }
  return absl::OkStatus();
}

}  // namespace

bool IsLoopbackListen(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return false;
  const std::string host = listen.substr(0, colon);
  if (host == "localhost") return true;
  // A literal address only: a name such as "127.example.com" resolves
  // anywhere.
  in_addr v4;
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6;
  return host.size() > 2 && host.front() == '[' && host.back() == ']' &&
         inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), &v6) ==
             1 &&
         IN6_IS_ADDR_LOOPBACK(&v6);
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const TransportSettings& s, bool* plaintext_warning) {
  *plaintext_warning = false;
  const bool tls = !s.cert_file.empty() || !s.key_file.empty();
  if (!tls) {
    if (!s.client_ca_file.empty()) {
      return absl::InvalidArgumentError(
          "--tls_client_ca_file: needs --tls_cert_file and --tls_key_file");
    }
    if (!IsLoopbackListen(s.listen)) {
      if (!s.allow_plaintext) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--listen: ", s.listen,
            " is not a loopback address; serve TLS (--tls_cert_file, "
            "--tls_key_file) or pass --allow_plaintext"));
      }
      *plaintext_warning = true;
    }
    return grpc::InsecureServerCredentials();
  }
  if (s.cert_file.empty() || s.key_file.empty()) {
    return absl::InvalidArgumentError(
        "--tls_cert_file and --tls_key_file: both are required for TLS");
  }
  if (absl::Status r = Readable(s.cert_file, "--tls_cert_file"); !r.ok())
    return r;
  if (absl::Status r = Readable(s.key_file, "--tls_key_file"); !r.ok())
    return r;
  const bool mtls = !s.client_ca_file.empty();
  if (mtls) {
    if (absl::Status r = Readable(s.client_ca_file, "--tls_client_ca_file");
        !r.ok()) {
      return r;
    }
  }
  auto provider =
      std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
          s.key_file, s.cert_file, mtls ? s.client_ca_file : "",
          s.reload_interval_sec);
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  if (mtls) {
    options.watch_root_certs();
    options.set_cert_request_type(
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  } else {
    options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  }
  return grpc::experimental::TlsServerCredentials(options);
}

}  // namespace gatehouse
