#include "service/grpc/rate_limiter_service.h"

#include "absl/strings/str_cat.h"
#include "service/audit/audit_cursor.h"
#include "service/grpc/audit_service.h"
#include "service/grpc/audit_streaming.h"
#include "service/grpc/auth_context.h"
#include "service/grpc/proto_convert.h"
#include "service/grpc/request_parser.h"
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

std::vector<std::string> PoliciesOf(
    const google::protobuf::RepeatedPtrField<v1::Subject>& subjects) {
  std::vector<std::string> policies;
  policies.reserve(subjects.size());
  for (const v1::Subject& s : subjects) policies.push_back(s.policy());
  return policies;
}

// The request inside a BatchItem, whichever of the four it is.
struct ItemView {
  bool present = false;
  Operation op = Operation::kCheck;
  const google::protobuf::RepeatedPtrField<v1::Subject>* subjects = nullptr;
  const google::protobuf::Map<std::string, std::string>* context = nullptr;
};

template <typename RequestProto>
ItemView ViewOf(Operation op, const RequestProto& request) {
  return ItemView{true, op, &request.subjects(), &request.context()};
}

ItemView ViewOf(const v1::BatchItem& item) {
  switch (item.request_case()) {
    case v1::BatchItem::kCheck:
      return ViewOf(Operation::kCheck, item.check());
    case v1::BatchItem::kPeek:
      return ViewOf(Operation::kPeek, item.peek());
    case v1::BatchItem::kRecord:
      return ViewOf(Operation::kRecord, item.record());
    case v1::BatchItem::kReset:
      return ViewOf(Operation::kReset, item.reset());
    case v1::BatchItem::REQUEST_NOT_SET:
      break;
  }
  return ItemView{};
}

// The whole call's limits: INVALID_ARGUMENT naming `items`.
absl::Status CheckBatchLimits(const v1::BatchRequest& request) {
  if (request.items().empty()) {
    return absl::InvalidArgumentError("items: at least one item is required");
  }
  if (static_cast<size_t>(request.items_size()) > kMaxBatchItems) {
    return absl::InvalidArgumentError(absl::StrCat(
        "items: ", request.items_size(), " items, at most ", kMaxBatchItems));
  }
  size_t subjects = 0;
  for (const v1::BatchItem& item : request.items()) {
    const ItemView view = ViewOf(item);
    if (view.present) subjects += view.subjects->size();
  }
  if (subjects > kMaxBatchSubjects) {
    return absl::InvalidArgumentError(absl::StrCat(
        "items: ", subjects, " subjects in all, at most ", kMaxBatchSubjects));
  }
  return absl::OkStatus();
}

void SetStatus(const absl::Status& status, v1::ItemStatus* out) {
  out->set_code(static_cast<int32_t>(status.code()));
  out->set_message(std::string(status.message()));
}

// Fills `result` with the response of `op`'s kind.
void SetResponse(Operation op, const Response& response,
                 v1::BatchResult* result) {
  switch (op) {
    case Operation::kCheck:
      return ToProto(response, result->mutable_check());
    case Operation::kPeek:
      return ToProto(response, result->mutable_peek());
    case Operation::kRecord:
      return ToProto(response, result->mutable_record());
    case Operation::kReset:
      return ToProto(response, result->mutable_reset());
  }
}

void SetTimestamp(int64_t ms, google::protobuf::Timestamp* out) {
  out->set_seconds(ms / 1000);
  out->set_nanos(static_cast<int32_t>(ms % 1000) * 1000000);
}

}  // namespace

InflightLimit::Permit RateLimiterService::Admit(const char* method,
                                                grpc::Status* refused) {
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

void RateLimiterService::Refuse(Operation op, const absl::Status& status,
                                AuthFailure failure,
                                const grpc::ServerContextBase& context,
                                const Request& refused) {
  metrics_->RecordAuthFailure(failure);
  uint64_t suppressed;
  if (ShouldLog(log_limiter_, "auth_failure", &suppressed)) {
    LogJson(spdlog::level::warn, "call refused",
            {{"rpc", OperationName(op)},
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

void RateLimiterService::Observe(Operation op, const std::string& client_id,
                                 const absl::StatusOr<Response>& result) {
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

template <typename Decide>
grpc::ServerUnaryReactor* RateLimiterService::Serve(
    grpc::CallbackServerContext* context, const char* method, Decide decide) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto call = std::make_unique<CallMetrics::Call>(metrics_, method);
  // Shed before any work, authentication included, and before queueing for
  // the pool: a flood must not queue.
  grpc::Status overloaded;
  InflightLimit::Permit permit = Admit(method, &overloaded);
  if (!permit) {
    call->Finish(overloaded);
    call.reset();
    reactor->Finish(overloaded);
    return reactor;
  }
  // The call is counted and its slot freed before the answer leaves: a
  // caller that has its answer sees both.
  auto answer = [reactor, decide, call = std::move(call),
                 permit = std::make_unique<InflightLimit::Permit>(
                     std::move(permit))]() mutable {
    const grpc::Status status = call->Finish(decide());
    call.reset();
    permit.reset();
    reactor->Finish(status);
  };
  if (pool_ == nullptr) {
    answer();
  } else {
    pool_->Run(std::move(answer));
  }
  return reactor;
}

template <typename RequestProto, typename ResponseProto>
grpc::Status RateLimiterService::Handle(Operation op,
                                        const grpc::ServerContextBase& context,
                                        const RequestProto& request,
                                        ResponseProto* response) {
  AuthFailure failure = AuthFailure::kNone;
  absl::StatusOr<Caller> caller =
      AuthenticateCall(authenticator_, context, &failure);
  absl::Status permitted =
      caller.ok()
          ? Authenticator::Permit(*caller, ScopeOf(op),
                                  PoliciesOf(request.subjects()), &failure)
          : caller.status();
  if (!permitted.ok()) {
    Request refused = FromProto(request.subjects(), request.context());
    if (caller.ok()) refused.client_id = caller->client_id;
    Refuse(op, permitted, failure, context, refused);
    return ToGrpcStatus(permitted);
  }
  Request domain = FromProto(request.subjects(), request.context());
  domain.client_id = caller->client_id;
  absl::StatusOr<Response> result = limiter_->Run(op, domain);
  Observe(op, caller->client_id, result);
  if (!result.ok()) return ToGrpcStatus(result.status());
  ToProto(*result, response);
  return grpc::Status::OK;
}

template <typename RequestProto, typename ResponseProto, typename HandleFn>
grpc::ServerUnaryReactor* RateLimiterService::ServeRaw(
    grpc::CallbackServerContext* context, const char* method,
    const grpc::ByteBuffer* body, grpc::ByteBuffer* out, HandleFn handle) {
  // Parsed once admitted: a flood is shed before any work.
  return Serve(context, method, [=] {
    RequestProto request;
    const absl::Status parsed = ParseRequest(*body, &request);
    if (!parsed.ok()) {
      return RefuseUnparsable(log_limiter_, method, parsed, *context);
    }
    ResponseProto response;
    grpc::Status status = handle(request, &response);
    bool own_buffer;
    if (status.ok()) {
      status = grpc::SerializationTraits<ResponseProto>::Serialize(
          response, out, &own_buffer);
    }
    return status;
  });
}

grpc::ServerUnaryReactor* RateLimiterService::Check(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* body,
    grpc::ByteBuffer* out) {
  return ServeRaw<v1::CheckRequest, v1::CheckResponse>(
      context, OperationName(Operation::kCheck), body, out,
      [=](const v1::CheckRequest& request, v1::CheckResponse* response) {
        return Handle(Operation::kCheck, *context, request, response);
      });
}

grpc::ServerUnaryReactor* RateLimiterService::Peek(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* body,
    grpc::ByteBuffer* out) {
  return ServeRaw<v1::PeekRequest, v1::PeekResponse>(
      context, OperationName(Operation::kPeek), body, out,
      [=](const v1::PeekRequest& request, v1::PeekResponse* response) {
        return Handle(Operation::kPeek, *context, request, response);
      });
}

grpc::ServerUnaryReactor* RateLimiterService::Record(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* body,
    grpc::ByteBuffer* out) {
  return ServeRaw<v1::RecordRequest, v1::RecordResponse>(
      context, OperationName(Operation::kRecord), body, out,
      [=](const v1::RecordRequest& request, v1::RecordResponse* response) {
        return Handle(Operation::kRecord, *context, request, response);
      });
}

grpc::ServerUnaryReactor* RateLimiterService::Reset(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* body,
    grpc::ByteBuffer* out) {
  return ServeRaw<v1::ResetRequest, v1::ResetResponse>(
      context, OperationName(Operation::kReset), body, out,
      [=](const v1::ResetRequest& request, v1::ResetResponse* response) {
        return Handle(Operation::kReset, *context, request, response);
      });
}

grpc::ServerUnaryReactor* RateLimiterService::Batch(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* body,
    grpc::ByteBuffer* out) {
  // One slot for the whole call: its items are decided together.
  return ServeRaw<v1::BatchRequest, v1::BatchResponse>(
      context, "Batch", body, out,
      [=](const v1::BatchRequest& request, v1::BatchResponse* response) {
        return HandleBatch(*context, request, response);
      });
}

grpc::Status RateLimiterService::HandleBatch(
    const grpc::ServerContextBase& context, const v1::BatchRequest& request,
    v1::BatchResponse* response) {
  AuthFailure failure = AuthFailure::kNone;
  absl::StatusOr<Caller> caller =
      AuthenticateCall(authenticator_, context, &failure);
  if (!caller.ok()) {
    // Audited once for the whole call, as its first item: an unknown caller
    // must not turn one call into hundreds of audit writes.
    const ItemView first =
        request.items().empty() ? ItemView{} : ViewOf(request.items(0));
    Refuse(
        first.op, caller.status(), failure, context,
        first.present ? FromProto(*first.subjects, *first.context) : Request{});
    return ToGrpcStatus(caller.status());
  }
  const absl::Status limits = CheckBatchLimits(request);
  if (!limits.ok()) return ToGrpcStatus(limits);

  const int n = request.items_size();
  std::vector<absl::Status> refused(n);
  // Reserved up front: `run` points into `domain`.
  std::vector<Request> domain;
  domain.reserve(n);
  std::vector<BatchItem> run;
  std::vector<int> run_index;
  run.reserve(n);
  run_index.reserve(n);
  for (int i = 0; i < n; ++i) {
    const ItemView item = ViewOf(request.items(i));
    if (!item.present) {
      refused[i] = absl::InvalidArgumentError(absl::StrCat(
          "items[", i, "]: one of check, peek, record or reset is required"));
      continue;
    }
    Request r = FromProto(*item.subjects, *item.context);
    r.client_id = caller->client_id;
    refused[i] = Authenticator::Permit(*caller, ScopeOf(item.op),
                                       PoliciesOf(*item.subjects), &failure);
    if (!refused[i].ok()) {
      Refuse(item.op, refused[i], failure, context, r);
      continue;
    }
    domain.push_back(std::move(r));
    run.push_back(BatchItem{item.op, &domain.back()});
    run_index.push_back(i);
  }
  std::vector<absl::StatusOr<Response>> results = limiter_->RunBatch(run);

  response->mutable_results()->Reserve(n);
  for (int i = 0; i < n; ++i) {
    SetStatus(refused[i], response->add_results()->mutable_status());
    if (!refused[i].ok()) {
      const ItemView item = ViewOf(request.items(i));
      metrics_->RecordBatchItem(item.op, refused[i].code());
    }
  }
  for (size_t k = 0; k < run.size(); ++k) {
    Observe(run[k].op, caller->client_id, results[k]);
    metrics_->RecordBatchItem(run[k].op, results[k].status().code());
    v1::BatchResult* result = response->mutable_results(run_index[k]);
    if (!results[k].ok()) {
      SetStatus(results[k].status(), result->mutable_status());
    } else {
      SetResponse(run[k].op, *results[k], result);
    }
  }
  return grpc::Status::OK;
}

void RateLimiterService::RegisterRawWatchCeilings() {
  // The generated slot is emptied (see request_parser.h) and ours added.
  MarkMethodGeneric(
      GeneratedMethodIndex("gatehouse.v1.RateLimiter", "WatchCeilings"));
  AddMethod(new grpc::internal::RpcServiceMethod(
      "/gatehouse.v1.RateLimiter/WatchCeilings",
      grpc::internal::RpcMethod::SERVER_STREAMING,
      new grpc::internal::ServerStreamingHandler<
          RateLimiterService, grpc::ByteBuffer, v1::CeilingEvent>(
          [](RateLimiterService* service, grpc::ServerContext* context,
             const grpc::ByteBuffer* body,
             grpc::ServerWriter<v1::CeilingEvent>* writer) {
            return service->ServeWatchCeilings(context, body, writer);
          },
          this)));
}

grpc::Status RateLimiterService::ServeWatchCeilings(
    grpc::ServerContext* context, const grpc::ByteBuffer* body,
    grpc::ServerWriter<v1::CeilingEvent>* writer) {
  CallMetrics::Call call(metrics_, "WatchCeilings");
  v1::WatchCeilingsRequest parsed;
  const absl::Status valid = ParseRequest(*body, &parsed);
  if (!valid.ok()) {
    return call.Finish(
        RefuseUnparsable(log_limiter_, "WatchCeilings", valid, *context));
  }
  const v1::WatchCeilingsRequest* request = &parsed;
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
  return call.Finish(PumpAuditCursor(
      context, *cursor,
      [&] { return RecheckStream(authenticator_, *context, *admitted); },
      [&](const AuditEvent& e) {
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
