#ifndef GATEHOUSE_SERVICE_GRPC_AUDIT_STREAMS_H_
#define GATEHOUSE_SERVICE_GRPC_AUDIT_STREAMS_H_

#include <grpcpp/server_context.h>
#include <grpcpp/support/byte_buffer.h>

#include <functional>
#include <memory>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "service/audit/audit_cursor.h"
#include "service/auth/authenticator.h"
#include "service/core/audit_log.h"
#include "service/grpc/call_metrics.h"
#include "service/grpc/request_parser.h"
#include "service/grpc/status_convert.h"
#include "service/grpc/stream_quota.h"
#include "service/logging/log_rate_limiter.h"

namespace gatehouse {

// What the streams that read the audit log (Audit.Stream and
// RateLimiter.WatchCeilings) share. Everything pointed to must outlive the
// services.
struct AuditStreamOptions {
  // Required.
  const AuditLog* log = nullptr;
  // Null disables authentication (--allow_unauthenticated on loopback, and
  // tests): every caller is anonymous with every scope and policy.
  const Authenticator* authenticator = nullptr;
  // Null: record nothing.
  const CallMetrics* metrics = nullptr;
  // Null: no cap on the streams one client holds.
  StreamQuota* quota = nullptr;
  // Null: log every refusal of an unparsable body.
  LogRateLimiter* log_limiter = nullptr;
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

// The admission and pacing every audit-reading stream shares, with defaults
// in place of AuditStreamOptions' null pointers. Thread-safe.
class AuditStreams {
 public:
  explicit AuditStreams(const AuditStreamOptions& options);
  AuditStreams(const AuditStreams&) = delete;
  AuditStreams& operator=(const AuditStreams&) = delete;

  // The first steps of a stream whose request (with a `policies` field)
  // came raw: parses `body` into `request` (an unparsable one is refused as
  // RefuseUnparsable does) and admits the stream for the requested
  // policies. Returns the status to end the call with when either fails.
  template <typename RequestProto>
  grpc::Status Admit(const char* method, const grpc::ServerContext& context,
                     const grpc::ByteBuffer& body, RequestProto* request,
                     AdmittedStream* admitted) const {
    const absl::Status parsed = ParseRequest(body, request);
    if (!parsed.ok()) {
      return RefuseUnparsable(log_limiter_, method, parsed, context);
    }
    absl::StatusOr<AdmittedStream> out =
        AdmitStream(authenticator_, metrics_, quota_, context,
                    {request->policies().begin(), request->policies().end()});
    if (!out.ok()) return ToGrpcStatus(out.status());
    *admitted = *std::move(out);
    return grpc::Status::OK;
  }

  // Drives `cursor` (PumpAuditCursor) until the stream ends, rechecking
  // the caller's credentials as it goes; `sent(event)` writes one event and
  // returns false when the client is gone. The stream counts as a consumer
  // while it runs.
  grpc::Status Pump(grpc::ServerContext* context, AdmittedStream& admitted,
                    AuditCursor& cursor,
                    const std::function<bool(const AuditEvent&)>& sent) const;

  const AuditLog* log() const { return log_; }
  const CallMetrics* metrics() const { return metrics_; }

 private:
  const CallMetrics no_metrics_{nullptr};
  mutable StreamQuota no_quota_{0};
  const AuditLog* const log_;
  const Authenticator* const authenticator_;
  const CallMetrics* const metrics_;
  StreamQuota* const quota_;
  LogRateLimiter* const log_limiter_;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_GRPC_AUDIT_STREAMS_H_
