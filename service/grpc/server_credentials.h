#ifndef GATEHOUSE_SERVICE_GRPC_SERVER_CREDENTIALS_H_
#define GATEHOUSE_SERVICE_GRPC_SERVER_CREDENTIALS_H_

#include <grpcpp/security/server_credentials.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace gatehouse {

struct TransportSettings {
  std::string listen;
  // PEM files; TLS is on when both are set. Re-read every
  // `reload_interval_sec`, so renewed certificates apply without a restart.
  std::string cert_file;
  std::string key_file;
  // mTLS: client certificates must chain to this CA.
  std::string client_ca_file;
  bool allow_plaintext = false;
  unsigned int reload_interval_sec = 10;
};

// True for 127.0.0.0/8, [::1] and localhost listen addresses.
bool IsLoopbackListen(const std::string& listen);

// Server credentials for `settings`: TLS (optionally requiring and
// verifying client certificates), or plaintext, which is only accepted on a
// loopback address unless allow_plaintext is set. INVALID_ARGUMENT naming
// the flag when the combination is refused or a file cannot be read.
// `*plaintext_warning` is set when plaintext is served off loopback.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const TransportSettings& settings, bool* plaintext_warning);

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_GRPC_SERVER_CREDENTIALS_H_
