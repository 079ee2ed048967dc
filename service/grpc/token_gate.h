#ifndef GATEHOUSE_SERVICE_GRPC_TOKEN_GATE_H_
#define GATEHOUSE_SERVICE_GRPC_TOKEN_GATE_H_

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/support/status.h>

#include <atomic>
#include <memory>

#include "absl/strings/string_view.h"
#include "service/auth/authenticator.h"
#include "service/grpc/call_metrics.h"

namespace gatehouse {

// Refuses a call whose bearer token is missing or unknown as soon as its
// HEADERS arrive, in gRPC's auth filter (an auth metadata processor on the
// server credentials), before gRPC reads its request body or hands it to a
// handler. gRPC 1.51 would otherwise hold a tokenless peer's streams, their
// request bodies (up to the 1 MiB request limit each) and a burst of reset
// streams in memory until a handler refused them. Health checks and server
// reflection pass unchecked, as before. The handlers still authorize every
// call (scopes, policies, the mTLS allowlist); a refusal here is counted in
// the request metrics and gatehouse_auth_failures_total as theirs would be,
// but, having no request to describe, is neither logged nor audited.
//
// Thread-safe; the authenticator and metrics must outlive the server.
class TokenGate {
 public:
  TokenGate(const Authenticator* authenticator, const CallMetrics* metrics)
      : authenticator_(authenticator), metrics_(metrics) {}
  TokenGate(const TokenGate&) = delete;
  TokenGate& operator=(const TokenGate&) = delete;

  // OK, or UNAUTHENTICATED for a call to `path` (the HTTP/2 :path) with the
  // `authorization` metadata value (empty when absent).
  grpc::Status Check(absl::string_view path,
                     absl::string_view authorization) const;

  // `credentials` with this gate in front of every call: TLS credentials get
  // it as their auth metadata processor; for plaintext (`tls` false), which
  // grpc::InsecureServerCredentials cannot take one, gRPC's own insecure
  // credentials with the gate are returned instead.
  std::shared_ptr<grpc::ServerCredentials> Guard(
      std::shared_ptr<grpc::ServerCredentials> credentials, bool tls);

 private:
  const Authenticator* const authenticator_;
  const CallMetrics* const metrics_;
  // Set by Guard(), read by Check(): gRPC hands the gate to its threads
  // through code ThreadSanitizer does not see (Debian's gRPC is not
  // instrumented), so this release/acquire pair makes the hand-off, and so
  // everything built before Guard(), visible to it. Free on x86.
  std::atomic<bool> guarded_{false};
};

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_GRPC_TOKEN_GATE_H_
