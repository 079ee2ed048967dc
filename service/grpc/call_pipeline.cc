#include "service/grpc/call_pipeline.h"

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "service/grpc/auth_context.h"
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

std::vector<std::string> PoliciesOf(const Request& request) {
  std::vector<std::string> policies;
  policies.reserve(request.subjects.size());
  for (const SubjectRequest& s : request.subjects) policies.push_back(s.policy);
  return policies;
}

}  // namespace

CallPipeline::CallPipeline(const CallPipelineOptions& options)
    : limiter_(options.limiter),
      authenticator_(options.authenticator),
      log_limiter_(options.log_limiter),
      metrics_(options.metrics != nullptr ? options.metrics : &no_metrics_),
      inflight_(options.inflight != nullptr ? options.inflight : &no_inflight_),
      pool_(options.pool),
      refusals_(options.refusals) {}

grpc::ServerUnaryReactor* CallPipeline::Admitted(
    grpc::CallbackServerContext* context, const char* method,
    Answerer decide) const {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  Run(method, std::move(decide),
      [reactor](const grpc::Status& status) { reactor->Finish(status); });
  return reactor;
}

void CallPipeline::Run(const char* method, Answerer decide,
                       Answered answered) const {
  RunAsync(
      method,
      [this, decide = std::move(decide)](Finisher finish) mutable {
        auto answer = [decide = std::move(decide),
                       finish = std::move(finish)]() mutable {
          std::move(finish)(decide());
        };
        if (pool_ == nullptr) {
          answer();
        } else {
          pool_->Run(std::move(answer));
        }
      },
      std::move(answered));
}

void CallPipeline::RunAsync(const char* method, AsyncAnswerer decide,
                            Answered answered) const {
  auto call = std::make_unique<CallMetrics::Call>(metrics_, method);
  // Shed before any work, authentication included, and before queueing for
  // the pool: a flood must not queue.
  grpc::Status overloaded;
  InflightLimit::Permit permit = Admit(method, &overloaded);
  if (!permit) {
    call->Finish(overloaded);
    call.reset();
    answered(overloaded);
    return;
  }
  // The call is counted and its slot freed before the answer leaves: a
  // caller that has its answer sees both.
  std::move(decide)([answered = std::move(answered), call = std::move(call),
                     permit = std::make_unique<InflightLimit::Permit>(std::move(
                         permit))](const grpc::Status& decided) mutable {
    const grpc::Status status = call->Finish(decided);
    call.reset();
    permit.reset();
    answered(status);
  });
}

CallPipeline::Answerer CallPipeline::WaitFor(AsyncAnswerer decide) {
  return [decide = std::move(decide)]() mutable {
    grpc::Status status;
    absl::Notification finished;
    std::move(decide)([&](const grpc::Status& s) {
      status = s;
      finished.Notify();
    });
    finished.WaitForNotification();
    return status;
  };
}

void CallPipeline::Dispatch(const char* method, AsyncAnswerer decide,
                            Answered answered) const {
  if (decides_inline()) {
    RunAsync(method, std::move(decide), std::move(answered));
  } else {
    Run(method, WaitFor(std::move(decide)), std::move(answered));
  }
}

InflightLimit::Permit CallPipeline::Admit(const char* method,
                                          grpc::Status* refused) const {
  InflightLimit::Permit permit = inflight_->TryAcquire();
  if (!permit) {
    uint64_t suppressed;
    if (ShouldLog(log_limiter_, "overload", &suppressed)) {
      LogJson(spdlog::level::warn, "overloaded; shedding calls",
              {{"rpc", method},
               {"max_inflight_calls", static_cast<int64_t>(inflight_->max())},
               {"suppressed", suppressed}});
    }
    *refused = grpc::Status(
        grpc::StatusCode::RESOURCE_EXHAUSTED,
        absl::StrCat("server overloaded: ", inflight_->max(),
                     " calls in flight (--max_inflight_calls); retry with "
                     "backoff"));
  }
  return permit;
}

absl::StatusOr<Caller> CallPipeline::Authorize(
    const grpc::ServerContextBase& context, Operation op,
    const Request& request) const {
  absl::StatusOr<Caller> caller = Authenticate(context, op, request);
  if (!caller.ok()) return caller;
  const absl::Status permitted = Permit(context, *caller, op, request);
  if (!permitted.ok()) return permitted;
  return caller;
}

absl::StatusOr<Caller> CallPipeline::Authenticate(
    const grpc::ServerContextBase& context, Operation op,
    const Request& first) const {
  AuthFailure failure = AuthFailure::kNone;
  absl::StatusOr<Caller> caller =
      AuthenticateCall(authenticator_, context, &failure);
  if (!caller.ok()) Refuse(op, caller.status(), failure, context, first);
  return caller;
}

absl::StatusOr<Caller> CallPipeline::AuthorizeScope(
    const grpc::ServerContextBase& context, Scope scope, Operation op,
    const Request& request) const {
  absl::StatusOr<Caller> caller = Authenticate(context, op, request);
  if (!caller.ok()) return caller;
  const absl::Status permitted =
      PermitScope(context, *caller, scope, op, request);
  if (!permitted.ok()) return permitted;
  return caller;
}

absl::Status CallPipeline::Permit(const grpc::ServerContextBase& context,
                                  const Caller& caller, Operation op,
                                  const Request& request) const {
  return PermitScope(context, caller, ScopeOf(op), op, request);
}

absl::Status CallPipeline::PermitScope(const grpc::ServerContextBase& context,
                                       const Caller& caller, Scope scope,
                                       Operation op,
                                       const Request& request) const {
  AuthFailure failure = AuthFailure::kNone;
  absl::Status permitted =
      Authenticator::Permit(caller, scope, PoliciesOf(request), &failure);
  if (!permitted.ok()) {
    Request refused = request;
    refused.client_id = caller.client_id;
    Refuse(op, permitted, failure, context, refused);
  }
  return permitted;
}

void CallPipeline::Refuse(Operation op, const absl::Status& status,
                          AuthFailure failure,
                          const grpc::ServerContextBase& context,
                          const Request& refused) const {
  metrics_->RecordAuthFailure(failure);
  uint64_t suppressed;
  if (ShouldLog(log_limiter_, "auth_failure", &suppressed)) {
    LogJson(spdlog::level::warn, "call refused",
            {{"rpc", refused.rpc.empty() ? OperationName(op) : refused.rpc},
             {"code", absl::StatusCodeToString(status.code())},
             {"reason", status.message()},
             {"peer", context.peer()},
             {"suppressed", suppressed}});
  }
  // The refusal is audited too (nothing is counted); a failure to write it
  // does not change the answer.
  const std::string reason = absl::StrCat(
      absl::StatusCodeToString(status.code()), ": ", status.message());
  absl::Status audited =
      refusals_ != nullptr
          ? refusals_->Add(limiter_->RefusalEvent(op, refused, reason),
                           context.peer(),
                           absl::StrCat(absl::StatusCodeToString(status.code()),
                                        ": ", AuthFailureName(failure)))
          : limiter_->AuditRefusal(op, refused, reason).status();
  if (!audited.ok()) metrics_->RecordStorageError(audited);
}

absl::StatusOr<Response> CallPipeline::Decide(Operation op,
                                              const Request& request) const {
  absl::StatusOr<Response> result = limiter_->Run(op, request);
  Observe(op, request.client_id, result);
  return result;
}

void CallPipeline::DecideAsync(Operation op, const Request& request,
                               Limiter::RunDone done) const {
  limiter_->RunAsync(op, request,
                     [this, op, &request, done = std::move(done)](
                         absl::StatusOr<Response> result) mutable {
                       Observe(op, request.client_id, result);
                       std::move(done)(std::move(result));
                     });
}

void CallPipeline::DecideBatchAsync(absl::Span<const BatchItem> items,
                                    const std::string& client_id,
                                    Limiter::BatchDone done) const {
  limiter_->RunBatchAsync(
      items, [this, items, &client_id, done = std::move(done)](
                 std::vector<absl::StatusOr<Response>> results) mutable {
        for (size_t k = 0; k < items.size(); ++k) {
          Observe(items[k].op, client_id, results[k]);
          metrics_->RecordBatchItem(items[k].op, results[k].status().code());
        }
        std::move(done)(std::move(results));
      });
}

std::vector<absl::StatusOr<Response>> CallPipeline::DecideBatch(
    const std::vector<BatchItem>& items, const std::string& client_id) const {
  std::vector<absl::StatusOr<Response>> results = limiter_->RunBatch(items);
  for (size_t k = 0; k < items.size(); ++k) {
    Observe(items[k].op, client_id, results[k]);
    metrics_->RecordBatchItem(items[k].op, results[k].status().code());
  }
  return results;
}

void CallPipeline::Observe(Operation op, const std::string& client_id,
                           const absl::StatusOr<Response>& result) const {
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
    return;
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
           {"client", client_id},
           {"rpc", OperationName(op)},
           {"count", v.count},
           {"limit", v.limit},
           {"audit_sequence", v.audit_sequence},
           {"locked_until_ms",
            v.locked_until ? absl::ToUnixMillis(*v.locked_until) : int64_t{0}},
           {"suppressed", suppressed}});
    }
  }
}

}  // namespace gatehouse
