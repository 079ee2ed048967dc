#include "service/grpc/rate_limiter_service.h"

#include "service/audit/audit_codec.h"
#include "service/grpc/batch_call.h"
#include "service/grpc/proto_convert.h"
#include "service/grpc/status_convert.h"

namespace gatehouse {

RateLimiterService::RateLimiterService(const CallPipeline* pipeline,
                                       const AuditStreamOptions& streams)
    : pipeline_(pipeline), streams_(streams), batch_streams_(pipeline) {
  ServeStreamRaw("gatehouse.v1.RateLimiter", "WatchCeilings", this,
                 &RateLimiterService::ServeWatchCeilings);
}

template <typename RequestProto, typename ResponseProto>
grpc::ServerUnaryReactor* RateLimiterService::ServeOne(
    Operation op, grpc::CallbackServerContext* context,
    const grpc::ByteBuffer* body, grpc::ByteBuffer* out) {
  const CallPipeline* pipeline = pipeline_;
  return pipeline->ServeAsync<RequestProto, ResponseProto>(
      context, OperationName(op), body, out,
      [=](const RequestProto& request, ResponseProto* response,
          CallPipeline::Finisher finish) {
        // Decided asynchronously: the request must live until answered.
        auto domain = std::make_unique<Request>(
            FromProto(request.subjects(), request.context()));
        absl::StatusOr<Caller> caller =
            pipeline->Authorize(*context, op, *domain);
        if (!caller.ok()) {
          std::move(finish)(ToGrpcStatus(caller.status()));
          return;
        }
        domain->client_id = caller->client_id;
        const Request& decided = *domain;
        pipeline->DecideAsync(
            op, decided,
            [domain = std::move(domain), response, finish = std::move(finish)](
                absl::StatusOr<Response> result) mutable {
              domain.reset();
              if (!result.ok()) {
                std::move(finish)(ToGrpcStatus(result.status()));
                return;
              }
              ToProto(*result, response);
              std::move(finish)(grpc::Status::OK);
            });
      });
}

grpc::ServerUnaryReactor* RateLimiterService::Check(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* body,
    grpc::ByteBuffer* out) {
  return ServeOne<v1::CheckRequest, v1::CheckResponse>(Operation::kCheck,
                                                       context, body, out);
}

grpc::ServerUnaryReactor* RateLimiterService::Peek(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* body,
    grpc::ByteBuffer* out) {
  return ServeOne<v1::PeekRequest, v1::PeekResponse>(Operation::kPeek, context,
                                                     body, out);
}

grpc::ServerUnaryReactor* RateLimiterService::Record(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* body,
    grpc::ByteBuffer* out) {
  return ServeOne<v1::RecordRequest, v1::RecordResponse>(Operation::kRecord,
                                                         context, body, out);
}

grpc::ServerUnaryReactor* RateLimiterService::Reset(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* body,
    grpc::ByteBuffer* out) {
  return ServeOne<v1::ResetRequest, v1::ResetResponse>(Operation::kReset,
                                                       context, body, out);
}

grpc::ServerUnaryReactor* RateLimiterService::Batch(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* body,
    grpc::ByteBuffer* out) {
  // One admission for the whole call: its items are decided together.
  const CallPipeline* pipeline = pipeline_;
  return pipeline->ServeAsync<v1::BatchRequest, v1::BatchResponse>(
      context, "Batch", body, out,
      [=](const v1::BatchRequest& request, v1::BatchResponse* response,
          CallPipeline::Finisher finish) {
        HandleBatchAsync(*pipeline, *context, request, response,
                         std::move(finish));
      });
}

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>*
RateLimiterService::BatchStream(grpc::CallbackServerContext* context) {
  return batch_streams_.Open(context);
}

grpc::Status RateLimiterService::ServeWatchCeilings(
    grpc::ServerContext* context, const grpc::ByteBuffer* body,
    grpc::ServerWriter<v1::CeilingEvent>* writer) {
  CallMetrics::Call call(streams_.metrics(), "WatchCeilings");
  v1::WatchCeilingsRequest request;
  AdmittedStream admitted;
  const grpc::Status status =
      streams_.Admit("WatchCeilings", *context, *body, &request, &admitted);
  if (!status.ok()) return call.Finish(status);
  AuditFilter filter;
  filter.policies = admitted.policies;
  filter.ceiling_only = true;
  AuditStart start;
  start.kind = AuditStart::Kind::kNow;
  absl::StatusOr<AuditCursor> cursor = AuditCursor::Open(
      streams_.log(), start, std::move(filter), /*follow=*/true);
  if (!cursor.ok()) return call.Finish(ToGrpcStatus(cursor.status()));
  // Tell the client the watch is established before the first event, so it
  // can tell "watching" from "still connecting".
  writer->SendInitialMetadata();
  v1::CeilingEvent proto;
  return call.Finish(
      streams_.Pump(context, admitted, *cursor, [&](const AuditEvent& e) {
        proto.Clear();
        ToCeilingEvent(e, &proto);
        return writer->Write(proto);
      }));
}

}  // namespace gatehouse
