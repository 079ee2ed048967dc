#include "service/grpc/audit_streams.h"

#include "absl/strings/str_cat.h"
#include "service/core/status_macros.h"
#include "service/grpc/audit_streaming.h"
#include "service/grpc/auth_context.h"

namespace gatehouse {

absl::StatusOr<AdmittedStream> AdmitStream(
    const Authenticator* authenticator, const CallMetrics* metrics,
    StreamQuota* quota, const grpc::ServerContext& context,
    const std::set<std::string>& requested_policies) {
  AdmittedStream out;
  // Read before authorizing: a reload in between is then seen as one.
  if (authenticator != nullptr) {
    out.credentials_generation = authenticator->generation();
  }
  AuthFailure failure;
  absl::StatusOr<Caller> caller =
      AuthorizeCall(authenticator, context, Scope::kAudit, {}, &failure);
  if (!caller.ok()) {
    metrics->RecordAuthFailure(failure);
    return caller.status();
  }
  out.caller = *std::move(caller);
  out.lease = quota->Acquire(out.caller.client_id);
  if (out.lease == nullptr) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "client ", out.caller.client_id,
        " holds the most streams allowed (--max_streams_per_client)"));
  }
  GH_ASSIGN_OR_RETURN(out.policies,
                      VisiblePolicies(out.caller, requested_policies));
  return out;
}

absl::Status RecheckStream(const Authenticator* authenticator,
                           const grpc::ServerContext& context,
                           AdmittedStream& admitted) {
  if (authenticator == nullptr) return absl::OkStatus();
  const uint64_t generation = authenticator->generation();
  if (generation == admitted.credentials_generation) return absl::OkStatus();
  absl::StatusOr<Caller> caller =
      AuthorizeCall(authenticator, context, Scope::kAudit,
                    {admitted.policies.begin(), admitted.policies.end()});
  if (!caller.ok()) return caller.status();
  if (caller->client_id != admitted.caller.client_id) {
    return absl::UnauthenticatedError(
        absl::StrCat("authorization: the token no longer names client ",
                     admitted.caller.client_id));
  }
  // A stream of every policy, for a caller now limited to some.
  if (admitted.policies.empty() && caller->policies.has_value()) {
    return absl::PermissionDeniedError(
        absl::StrCat("client ", caller->client_id,
                     " may no longer see every policy; stream again"));
  }
  admitted.caller = *std::move(caller);
  admitted.credentials_generation = generation;
  return absl::OkStatus();
}

absl::StatusOr<std::set<std::string>> VisiblePolicies(
    const Caller& caller, const std::set<std::string>& requested) {
  if (!caller.policies.has_value()) return requested;
  if (requested.empty()) {
    if (caller.policies->empty()) {
      return absl::PermissionDeniedError(
          absl::StrCat("client ", caller.client_id, " may not see any policy"));
    }
    return *caller.policies;
  }
  for (const std::string& p : requested) {
    if (caller.policies->count(p) == 0) {
      return absl::PermissionDeniedError(
          absl::StrCat("client ", caller.client_id, " may not see policy ", p));
    }
  }
  return requested;
}

AuditStreams::AuditStreams(const AuditStreamOptions& options)
    : log_(options.log),
      authenticator_(options.authenticator),
      metrics_(options.metrics != nullptr ? options.metrics : &no_metrics_),
      quota_(options.quota != nullptr ? options.quota : &no_quota_),
      log_limiter_(options.log_limiter) {}

grpc::Status AuditStreams::Pump(
    grpc::ServerContext* context, AdmittedStream& admitted, AuditCursor& cursor,
    const std::function<bool(const AuditEvent&)>& sent) const {
  ConsumerScope consumer(metrics_);
  return PumpAuditCursor(
      context, cursor,
      [&] { return RecheckStream(authenticator_, *context, admitted); }, sent);
}

}  // namespace gatehouse
