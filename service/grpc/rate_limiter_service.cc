#include "service/grpc/rate_limiter_service.h"

#include "absl/strings/str_cat.h"
#include "service/audit/audit_cursor.h"
#include "service/grpc/audit_service.h"
#include "service/grpc/audit_streaming.h"
#include "service/grpc/auth_context.h"
#include "service/grpc/proto_convert.h"
#include "service/grpc/status_convert.h"
#include "service/logging/json_log.h"

namespace gatehouse {
namespace {

Scope ScopeOf(Operation op) {
  switch (op) {
    case Operation::kCheck:
      return Scope::kCheck;
    case Operation::kPeek:
      return Scope::kPeek;
    case Operation::kRecord:
      return Scope::kRecord;
    case Operation::kReset:
      return Scope::kReset;
  }
  return Scope::kAdmin;
}

bool ShouldLog(LogRateLimiter* limiter, const std::string& kind,
               uint64_t* suppressed) {
  *suppressed = 0;
  return limiter == nullptr || limiter->Allow(kind, suppressed);
}

void SetTimestamp(int64_t ms, google::protobuf::Timestamp* out) {
  out->set_seconds(ms / 1000);
  out->set_nanos(static_cast<int32_t>(ms % 1000) * 1000000);
}

}  // namespace

template <typename RequestProto, typename ResponseProto>
grpc::Status RateLimiterService::Handle(Operation op,
                                        grpc::ServerContext* context,
                                        const RequestProto& request,
                                        ResponseProto* response) {
  CallMetrics::Call call(metrics_, OperationName(op));
  // Shed before any work, authentication included: a flood must not queue.
  const InflightLimit::Permit permit = inflight_->TryAcquire();
  if (!permit) {
    uint64_t suppressed;
    if (ShouldLog(log_limiter_, "overload", &suppressed)) {
      LogJson(spdlog::level::warn, "overloaded; shedding calls",
              {{"rpc", OperationName(op)},
               {"max_inflight_calls", static_cast<int64_t>(inflight_->max())},
               {"suppressed", suppressed}});
    }
    return call.Finish(grpc::Status(
        grpc::StatusCode::RESOURCE_EXHAUSTED,
        absl::StrCat("server overloaded: ", inflight_->max(),
                     " calls in flight (--max_inflight_calls); retry with "
                     "backoff")));
  }
  std::vector<std::string> policies;
  policies.reserve(request.subjects_size());
  for (const v1::Subject& s : request.subjects())
    policies.push_back(s.policy());
  AuthFailure failure;
  absl::StatusOr<Caller> caller =
      AuthorizeCall(authenticator_, *context, ScopeOf(op), policies, &failure);
  if (!caller.ok()) {
    metrics_->RecordAuthFailure(failure);
    uint64_t suppressed;
    if (ShouldLog(log_limiter_, "auth_failure", &suppressed)) {
      LogJson(spdlog::level::warn, "call refused",
              {{"rpc", OperationName(op)},
               {"code", absl::StatusCodeToString(caller.status().code())},
               {"reason", caller.status().message()},
               {"peer", context->peer()},
               {"suppressed", suppressed}});
    }
    // The refusal is audited too (nothing is counted); a failure to write it
    // does not change the answer.
    Request refused = FromProto(request.subjects(), request.context());
    absl::StatusOr<uint64_t> audited = limiter_->AuditRefusal(
        op, refused,
        absl::StrCat(absl::StatusCodeToString(caller.status().code()), ": ",
                     caller.status().message()));
    if (!audited.ok()) metrics_->RecordStorageError(audited.status());
    return call.Finish(ToGrpcStatus(caller.status()));
  }
  Request domain = FromProto(request.subjects(), request.context());
  domain.client_id = caller->client_id;
  absl::StatusOr<Response> result = limiter_->Run(op, domain);
  if (!result.ok()) {
    uint64_t suppressed;
    const bool storage = absl::IsUnavailable(result.status()) ||
                         absl::IsDataLoss(result.status());
    if (storage) metrics_->RecordStorageError(result.status());
    if (storage && ShouldLog(log_limiter_, "storage_error", &suppressed)) {
      LogJson(spdlog::level::err, "storage failure",
              {{"rpc", OperationName(op)},
               {"error", result.status().ToString()},
               {"suppressed", suppressed}});
    }
    return call.Finish(ToGrpcStatus(result.status()));
  }
  if (!result->audit_status.ok()) {
    // A Peek answered without its audit events (see Response).
    metrics_->RecordStorageError(result->audit_status);
    uint64_t suppressed;
    if (ShouldLog(log_limiter_, "storage_error", &suppressed)) {
      LogJson(spdlog::level::err, "storage failure; Peek answered unaudited",
              {{"rpc", OperationName(op)},
               {"error", result->audit_status.ToString()},
               {"suppressed", suppressed}});
    }
  }
  metrics_->RecordVerdicts(op, result->verdicts);
  for (const Verdict& v : result->verdicts) {
    uint64_t suppressed;
    if (v.ceiling_hit && ShouldLog(log_limiter_, "ceiling_hit", &suppressed)) {
      // The key is in the audit event; the log names it by sequence only.
      LogJson(
          spdlog::level::info, "ceiling hit",
          {{"policy", v.policy},
           {"client", caller->client_id},
           {"rpc", OperationName(op)},
           {"count", v.count},
           {"limit", v.limit},
           {"audit_sequence", v.audit_sequence},
           {"locked_until_ms",
            v.locked_until ? absl::ToUnixMillis(*v.locked_until) : int64_t{0}},
           {"suppressed", suppressed}});
    }
  }
  ToProto(*result, response);
  return call.Finish(grpc::Status::OK);
}

grpc::Status RateLimiterService::Check(grpc::ServerContext* context,
                                       const v1::CheckRequest* request,
                                       v1::CheckResponse* response) {
  return Handle(Operation::kCheck, context, *request, response);
}

grpc::Status RateLimiterService::Peek(grpc::ServerContext* context,
                                      const v1::PeekRequest* request,
                                      v1::PeekResponse* response) {
  return Handle(Operation::kPeek, context, *request, response);
}

grpc::Status RateLimiterService::Record(grpc::ServerContext* context,
                                        const v1::RecordRequest* request,
                                        v1::RecordResponse* response) {
  return Handle(Operation::kRecord, context, *request, response);
}

grpc::Status RateLimiterService::Reset(grpc::ServerContext* context,
                                       const v1::ResetRequest* request,
                                       v1::ResetResponse* response) {
  return Handle(Operation::kReset, context, *request, response);
}

grpc::Status RateLimiterService::WatchCeilings(
    grpc::ServerContext* context, const v1::WatchCeilingsRequest* request,
    grpc::ServerWriter<v1::CeilingEvent>* writer) {
  CallMetrics::Call call(metrics_, "WatchCeilings");
  absl::StatusOr<AdmittedStream> admitted =
      AdmitStream(authenticator_, metrics_, quota_, *context,
                  {request->policies().begin(), request->policies().end()});
  if (!admitted.ok()) return call.Finish(ToGrpcStatus(admitted.status()));
  AuditFilter filter;
  filter.policies = admitted->policies;
  filter.ceiling_only = true;
  AuditStart start;
  start.kind = AuditStart::Kind::kNow;
  absl::StatusOr<AuditCursor> cursor =
      AuditCursor::Open(audit_log_, start, std::move(filter), /*follow=*/true);
  if (!cursor.ok()) return ToGrpcStatus(cursor.status());
  // Tell the client the watch is established before the first event, so it
  // can tell "watching" from "still connecting".
  writer->SendInitialMetadata();
  v1::CeilingEvent proto;
  ConsumerScope consumer(metrics_);
  return call.Finish(
      PumpAuditCursor(context, *cursor, [&](const AuditEvent& e) {
        proto.Clear();
        proto.set_policy(e.policy);
        for (const auto& [dim, value] : e.key)
          (*proto.mutable_key())[dim] = value;
        proto.set_count(e.count);
        proto.set_limit(e.limit);
        proto.mutable_window()->set_seconds(e.window_ms / 1000);
        proto.mutable_window()->set_nanos(
            static_cast<int32_t>(e.window_ms % 1000) * 1000000);
        if (e.locked_until_ms > 0) {
          SetTimestamp(e.locked_until_ms, proto.mutable_locked_until());
        }
        proto.set_sequence(e.sequence);
        SetTimestamp(e.time_ms, proto.mutable_time());
        proto.set_rpc(OperationName(e.op));
        return writer->Write(proto);
      }));
}

}  // namespace gatehouse
