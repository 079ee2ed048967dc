#ifndef GATEHOUSE_SERVICE_GRPC_AUDIT_SERVICE_H_
#define GATEHOUSE_SERVICE_GRPC_AUDIT_SERVICE_H_

#include "gatehouse/v1/audit.grpc.pb.h"
#include "service/auth/authenticator.h"
#include "service/core/audit_log.h"
#include "service/grpc/call_metrics.h"
#include "service/grpc/stream_quota.h"
#include "service/logging/log_rate_limiter.h"

namespace gatehouse {

// gatehouse.v1.Audit over an AuditLog. Requires the `audit` scope; a client
// limited to some policies only sees those. Thread-safe; the log and the
// authenticator (null disables authentication) must outlive it.
class AuditService final : public v1::Audit::Service {
 public:
  // `quota` (may be null: no cap) limits the streams one client holds;
  // `log_limiter` (may be null: log every one) paces the log lines of
  // request bodies that cannot be parsed.
  AuditService(const AuditLog* log, const Authenticator* authenticator,
               const CallMetrics* metrics = nullptr,
               StreamQuota* quota = nullptr,
               LogRateLimiter* log_limiter = nullptr);

 private:
  // Stream, with the request taken raw and parsed here (request_parser.h):
  // an unparsable body is INVALID_ARGUMENT, counted and logged.
  grpc::Status ServeStream(grpc::ServerContext* context,
                           const grpc::ByteBuffer* body,
                           grpc::ServerWriter<v1::AuditEvent>* writer);

  const AuditLog* const log_;
  const Authenticator* const authenticator_;
  const CallMetrics no_metrics_{nullptr};
  const CallMetrics* const metrics_;
  StreamQuota no_quota_{0};
  StreamQuota* const quota_;
  LogRateLimiter* const log_limiter_;
};

// A stream admitted by AdmitStream: who it is for, its quota slot, the
// policies it may see (empty: all), and the credentials generation it was
// last authorized under.
struct AdmittedStream {
  Caller caller;
  std::unique_ptr<StreamQuota::Lease> lease;
  std::set<std::string> policies;
  uint64_t credentials_generation = 0;
};

// The checks every audit-reading stream passes first: the `audit` scope
// (refusals counted in `metrics`), the per-client stream quota
// (RESOURCE_EXHAUSTED) and the policies the caller may see (PERMISSION_DENIED
// for one it may not).
absl::StatusOr<AdmittedStream> AdmitStream(
    const Authenticator* authenticator, const CallMetrics* metrics,
    StreamQuota* quota, const grpc::ServerContext& context,
    const std::set<std::string>& requested_policies);

// Whether an admitted stream may go on after the credentials were reloaded:
// OK while they are those it was authorized under (a cheap check, made
// before every batch of events), or while its token still names the same
// client with the `audit` scope and every policy it streams (re-authorized
// once per reload). UNAUTHENTICATED when the token no longer does,
// PERMISSION_DENIED when the scope or a policy was taken away.
absl::Status RecheckStream(const Authenticator* authenticator,
                           const grpc::ServerContext& context,
                           AdmittedStream& admitted);

// The filter a caller gets: the requested policies, narrowed to those the
// caller may see. PERMISSION_DENIED when it asks for one it may not see.
absl::StatusOr<std::set<std::string>> VisiblePolicies(
    const Caller& caller, const std::set<std::string>& requested);

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_GRPC_AUDIT_SERVICE_H_
