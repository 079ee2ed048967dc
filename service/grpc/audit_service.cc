#include "service/grpc/audit_service.h"

#include "absl/strings/str_cat.h"
#include "service/audit/audit_codec.h"
#include "service/audit/audit_cursor.h"
#include "service/core/status_macros.h"
#include "service/grpc/audit_streaming.h"
#include "service/grpc/auth_context.h"
#include "service/grpc/request_parser.h"
#include "service/grpc/status_convert.h"

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

AuditService::AuditService(const AuditLog* log,
                           const Authenticator* authenticator,
                           const CallMetrics* metrics, StreamQuota* quota,
                           LogRateLimiter* log_limiter)
    : log_(log),
      authenticator_(authenticator),
      metrics_(metrics != nullptr ? metrics : &no_metrics_),
      quota_(quota != nullptr ? quota : &no_quota_),
      log_limiter_(log_limiter) {
  // Stream (index 0) served raw; an empty method slot is skipped by the
  // server. Still server-streaming on the synchronous API: no thread is
  // taken before the request has arrived.
  MarkMethodGeneric(GeneratedMethodIndex("gatehouse.v1.Audit", "Stream"));
  AddMethod(new grpc::internal::RpcServiceMethod(
      "/gatehouse.v1.Audit/Stream", grpc::internal::RpcMethod::SERVER_STREAMING,
      new grpc::internal::ServerStreamingHandler<AuditService, grpc::ByteBuffer,
                                                 v1::AuditEvent>(
          [](AuditService* service, grpc::ServerContext* context,
             const grpc::ByteBuffer* body,
             grpc::ServerWriter<v1::AuditEvent>* writer) {
            return service->ServeStream(context, body, writer);
          },
          this)));
}

grpc::Status AuditService::ServeStream(
    grpc::ServerContext* context, const grpc::ByteBuffer* body,
    grpc::ServerWriter<v1::AuditEvent>* writer) {
  CallMetrics::Call call(metrics_, "AuditStream");
  v1::StreamRequest parsed;
  const absl::Status valid = ParseRequest(*body, &parsed);
  if (!valid.ok()) {
    return call.Finish(
        RefuseUnparsable(log_limiter_, "AuditStream", valid, *context));
  }
  const v1::StreamRequest* request = &parsed;
  absl::StatusOr<AdmittedStream> admitted =
      AdmitStream(authenticator_, metrics_, quota_, *context,
                  {request->policies().begin(), request->policies().end()});
  if (!admitted.ok()) return call.Finish(ToGrpcStatus(admitted.status()));
  AuditFilter filter;
  filter.policies = admitted->policies;
  for (int d : request->decisions()) {
    if (d == v1::Verdict::ALLOW) {
      filter.decisions.insert(Decision::kAllow);
    } else if (d == v1::Verdict::DENY) {
      filter.decisions.insert(Decision::kDeny);
    } else {
      return call.Finish(
          grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                       "decisions: only ALLOW and DENY can be filtered"));
    }
  }
  filter.ceiling_only = request->ceiling_only();

  AuditStart start;
  switch (request->start_case()) {
    case v1::StreamRequest::kFromSequence:
      start.kind = AuditStart::Kind::kSequence;
      start.sequence = request->from_sequence();
      break;
    case v1::StreamRequest::kFromTime:
      start.kind = AuditStart::Kind::kTime;
      start.time = absl::FromUnixSeconds(request->from_time().seconds()) +
                   absl::Nanoseconds(request->from_time().nanos());
      break;
    case v1::StreamRequest::kFromNow:
      start.kind = AuditStart::Kind::kNow;
      break;
    case v1::StreamRequest::START_NOT_SET:
      start.kind = AuditStart::Kind::kOldest;
      break;
  }
  absl::StatusOr<AuditCursor> cursor =
      AuditCursor::Open(log_, start, std::move(filter), request->follow());
  if (!cursor.ok()) return call.Finish(ToGrpcStatus(cursor.status()));

  ConsumerScope consumer(metrics_);
  v1::AuditEvent proto;
  uint64_t written = 0;
  return call.Finish(PumpAuditCursor(
      context, *cursor,
      [&] { return RecheckStream(authenticator_, *context, *admitted); },
      [&](const AuditEvent& event) {
        proto.Clear();
        ToProto(event, &proto);
        if (++written % 64 == 1) {
          metrics_->ConsumerLag(admitted->caller.client_id,
                                log_->HeadSequence(), event.sequence);
        }
        return writer->Write(proto);
      }));
}

}  // namespace gatehouse
