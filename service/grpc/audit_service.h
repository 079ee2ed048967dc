#ifndef GATEHOUSE_SERVICE_GRPC_AUDIT_SERVICE_H_
#define GATEHOUSE_SERVICE_GRPC_AUDIT_SERVICE_H_

#include "gatehouse/v1/audit.grpc.pb.h"
#include "service/auth/authenticator.h"
#include "service/core/audit_log.h"
#include "service/grpc/call_metrics.h"

namespace gatehouse {

// gatehouse.v1.Audit over an AuditLog. Requires the `audit` scope; a client
// limited to some policies only sees those. Thread-safe; the log and the
// authenticator (null disables authentication) must outlive it.
class AuditService final : public v1::Audit::Service {
 public:
  AuditService(const AuditLog* log, const Authenticator* authenticator,
               const CallMetrics* metrics = nullptr)
      : log_(log),
        authenticator_(authenticator),
        metrics_(metrics != nullptr ? metrics : &no_metrics_) {}

  grpc::Status Stream(grpc::ServerContext* context,
                      const v1::StreamRequest* request,
                      grpc::ServerWriter<v1::AuditEvent>* writer) override;

 private:
  const AuditLog* const log_;
  const Authenticator* const authenticator_;
  const CallMetrics no_metrics_{nullptr};
  const CallMetrics* const metrics_;
};

// The filter a caller gets: the requested policies, narrowed to those the
// caller may see. PERMISSION_DENIED when it asks for one it may not see.
absl::StatusOr<std::set<std::string>> VisiblePolicies(
    const Caller& caller, const std::set<std::string>& requested);

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_GRPC_AUDIT_SERVICE_H_
