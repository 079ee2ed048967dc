#include "service/grpc/server_credentials.h"

#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>

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
  return absl::StartsWith(listen, "127.") ||
         absl::StartsWith(listen, "localhost:") ||
         absl::StartsWith(listen, "[::1]:");
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
