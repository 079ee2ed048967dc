#include "service/grpc/admin_service.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "service/audit/proto_time.h"
#include "service/core/counter_state.h"
#include "service/core/verdict.h"
#include "service/grpc/status_convert.h"
#include "service/logging/json_log.h"

namespace gatehouse {
namespace {

// The request of an operator call about `subject`, named as admin.proto
// names it.
Request SubjectCall(const v1::Subject& subject, const char* rpc,
                    const std::string& reason) {
  Request r;
  SubjectRequest s;
  s.policy = subject.policy();
  s.key.insert(subject.key().begin(), subject.key().end());
  s.field = "subject";
  r.subjects.push_back(std::move(s));
  r.rpc = rpc;
  r.operator_reason = reason;
  return r;
}

absl::StatusOr<absl::Duration> BlockDuration(const v1::BlockRequest& request) {
  if (!request.has_duration()) return absl::InfiniteDuration();
  const google::protobuf::Duration& d = request.duration();
  if (d.nanos() <= -1'000'000'000 || d.nanos() >= 1'000'000'000 ||
      (d.seconds() > 0 && d.nanos() < 0) ||
      (d.seconds() < 0 && d.nanos() > 0)) {
    return absl::InvalidArgumentError("duration: not a valid Duration");
  }
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

void ToProto(const LockoutEntry& e, v1::Lockout* out) {
  out->mutable_subject()->set_policy(e.policy);
  for (const auto& [dim, value] : e.key) {
    (*out->mutable_subject()->mutable_key())[dim] = value;
  }
  SetTimestampMillis(ShownLockoutEndMs(e.locked_until_ms),
                     out->mutable_locked_until());
  out->set_permanent(e.locked_until_ms == kLockedUntilUnblockedMs);
  out->set_reason(e.blocked_by.empty() && e.reason.empty()
                      ? absl::StrCat("ceiling hit (offence ", e.offences, ")")
                      : e.reason);
  SetTimestampMillis(e.locked_at_ms, out->mutable_locked_at());
  out->set_blocked_by(e.blocked_by);
  out->set_offences(e.offences);
}

void ToProto(const Limiter::Inspection& in, v1::InspectResponse* out) {
  const CounterState& s = in.state;
  out->set_count(in.count);
  out->set_limit(in.limit);
  SetDuration(in.window, out->mutable_window());
  out->set_offences(s.offences);
  out->set_empty(in.empty);
  out->set_last_audit_sequence(s.last_audit_sequence);
  if (s.lockout_until_ms > 0) {
    SetTimestampMillis(ShownLockoutEndMs(s.lockout_until_ms),
                       out->mutable_locked_until());
    out->set_permanent(s.lockout_until_ms == kLockedUntilUnblockedMs);
  }
  if (s.locked_at_ms > 0) {
    SetTimestampMillis(s.locked_at_ms, out->mutable_locked_at());
  }
  if (s.last_offence_ms > 0 && s.offences > 0) {
    SetTimestampMillis(s.last_offence_ms, out->mutable_last_offence());
  }
  if (s.bucket_ms > 0)
    SetDurationMillis(s.bucket_ms, out->mutable_bucket_width());
  for (const Bucket& b : s.buckets) {
    v1::WindowBucket* bucket = out->add_buckets();
    SetTimestampMillis(b.index * s.bucket_ms, bucket->mutable_start());
    bucket->set_count(b.count);
  }
  for (const auto& [dim, value] : in.stored_key) {
    (*out->mutable_stored_key())[dim] = value;
  }
}

// Records a storage failure the call met (its answer, or only its audit
// event for a read).
void NoteStorage(const CallPipeline& pipeline, const absl::Status& status,
                 const char* rpc) {
  if (!absl::IsUnavailable(status) && !absl::IsDataLoss(status)) return;
  pipeline.metrics().RecordStorageError(status);
  uint64_t suppressed = 0;
  LogRateLimiter* limiter = pipeline.log_limiter();
  if (limiter == nullptr || limiter->Allow("storage_error", &suppressed)) {
    LogJson(spdlog::level::err, "storage failure",
            {{"rpc", rpc},
             {"error", status.ToString()},
             {"suppressed", suppressed}});
  }
}

}  // namespace

grpc::ServerUnaryReactor* AdminService::Block(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* body,
    grpc::ByteBuffer* out) {
  const CallPipeline* pipeline = pipeline_;
  return pipeline->Serve<v1::BlockRequest, v1::BlockResponse>(
      context, "Block", body, out,
      [=](const v1::BlockRequest& request, v1::BlockResponse* response) {
        Request call =
            SubjectCall(request.subject(), "Block", request.reason());
        absl::StatusOr<Caller> caller = pipeline->AuthorizeScope(
            *context, Scope::kAdmin, Operation::kRecord, call);
        if (!caller.ok()) return ToGrpcStatus(caller.status());
        call.client_id = caller->client_id;
        absl::StatusOr<absl::Duration> duration = BlockDuration(request);
        if (!duration.ok()) return ToGrpcStatus(duration.status());
        absl::StatusOr<Limiter::BlockResult> blocked =
            pipeline->limiter().Block(call, *duration);
        if (!blocked.ok()) {
          NoteStorage(*pipeline, blocked.status(), "Block");
          return ToGrpcStatus(blocked.status());
        }
        SetTimestampMillis(ShownLockoutEndMs(blocked->locked_until_ms),
                           response->mutable_locked_until());
        response->set_permanent(blocked->permanent);
        response->set_audit_sequence(blocked->audit_sequence);
        response->set_exempt(blocked->exempt);
        LogJson(spdlog::level::warn, "subject blocked by an operator",
                {{"client", call.client_id},
                 {"policy", request.subject().policy()},
                 {"permanent", blocked->permanent ? "true" : "false"},
                 {"audit_sequence", blocked->audit_sequence}});
        return grpc::Status::OK;
      });
}

grpc::ServerUnaryReactor* AdminService::Unblock(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* body,
    grpc::ByteBuffer* out) {
  const CallPipeline* pipeline = pipeline_;
  return pipeline->Serve<v1::UnblockRequest, v1::UnblockResponse>(
      context, "Unblock", body, out,
      [=](const v1::UnblockRequest& request, v1::UnblockResponse* response) {
        Request call =
            SubjectCall(request.subject(), "Unblock", request.reason());
        absl::StatusOr<Caller> caller = pipeline->AuthorizeScope(
            *context, Scope::kAdmin, Operation::kReset, call);
        if (!caller.ok()) return ToGrpcStatus(caller.status());
        call.client_id = caller->client_id;
        absl::StatusOr<Limiter::UnblockResult> unblocked =
            pipeline->limiter().Unblock(call);
        if (!unblocked.ok()) {
          NoteStorage(*pipeline, unblocked.status(), "Unblock");
          return ToGrpcStatus(unblocked.status());
        }
        response->set_was_locked(unblocked->was_locked);
        response->set_audit_sequence(unblocked->audit_sequence);
        LogJson(spdlog::level::warn, "subject unblocked by an operator",
                {{"client", call.client_id},
                 {"policy", request.subject().policy()},
                 {"was_locked", unblocked->was_locked ? "true" : "false"},
                 {"audit_sequence", unblocked->audit_sequence}});
        return grpc::Status::OK;
      });
}

grpc::ServerUnaryReactor* AdminService::ListLockouts(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* body,
    grpc::ByteBuffer* out) {
  const CallPipeline* pipeline = pipeline_;
  return pipeline->Serve<v1::ListLockoutsRequest, v1::ListLockoutsResponse>(
      context, "ListLockouts", body, out,
      [=](const v1::ListLockoutsRequest& request,
          v1::ListLockoutsResponse* response) {
        // Permission is on the policy listed; every policy when none is.
        Request call;
        call.rpc = "ListLockouts";
        if (!request.policy().empty()) {
          SubjectRequest s;
          s.policy = request.policy();
          call.subjects.push_back(std::move(s));
        } else {
          for (const auto& [name, policy] : pipeline->policies()->all()) {
            SubjectRequest s;
            s.policy = name;
            call.subjects.push_back(std::move(s));
          }
        }
        absl::StatusOr<Caller> caller = pipeline->AuthorizeScope(
            *context, Scope::kAdmin, Operation::kPeek, call);
        if (!caller.ok()) return ToGrpcStatus(caller.status());
        absl::StatusOr<Limiter::LockoutListing> listing =
            pipeline->limiter().ListLockouts(
                request.policy(), request.page_size(), request.page_token(),
                caller->client_id, request.reason());
        if (!listing.ok()) {
          NoteStorage(*pipeline, listing.status(), "ListLockouts");
          return ToGrpcStatus(listing.status());
        }
        NoteStorage(*pipeline, listing->audit_status, "ListLockouts");
        for (const LockoutEntry& e : listing->entries) {
          ToProto(e, response->add_lockouts());
        }
        response->set_next_page_token(listing->next_page_token);
        return grpc::Status::OK;
      });
}

grpc::ServerUnaryReactor* AdminService::Inspect(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* body,
    grpc::ByteBuffer* out) {
  const CallPipeline* pipeline = pipeline_;
  return pipeline->Serve<v1::InspectRequest, v1::InspectResponse>(
      context, "Inspect", body, out,
      [=](const v1::InspectRequest& request, v1::InspectResponse* response) {
        Request call =
            SubjectCall(request.subject(), "Inspect", request.reason());
        absl::StatusOr<Caller> caller = pipeline->AuthorizeScope(
            *context, Scope::kAdmin, Operation::kPeek, call);
        if (!caller.ok()) return ToGrpcStatus(caller.status());
        call.client_id = caller->client_id;
        absl::StatusOr<Limiter::Inspection> seen =
            pipeline->limiter().Inspect(call);
        if (!seen.ok()) {
          NoteStorage(*pipeline, seen.status(), "Inspect");
          return ToGrpcStatus(seen.status());
        }
        NoteStorage(*pipeline, seen->audit_status, "Inspect");
        ToProto(*seen, response);
        return grpc::Status::OK;
      });
}

}  // namespace gatehouse
