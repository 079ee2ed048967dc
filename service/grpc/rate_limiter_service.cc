#include "service/grpc/rate_limiter_service.h"

#include "service/audit/audit_codec.h"
#include "service/grpc/batch_call.h"
#include "service/grpc/proto_convert.h"
#include "service/grpc/request_parser.h"
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
  if (!pipeline->decides_inline()) {
    // On the pool, whose threads wait for their commits (--sync_writes).
    return pipeline->Serve<RequestProto, ResponseProto>(
        context, OperationName(op), body, out,
        [=](const RequestProto& request, ResponseProto* response) {
          Request domain = FromProto(request.subjects(), request.context());
          absl::StatusOr<Caller> caller =
              pipeline->Authorize(*context, op, domain);
          if (!caller.ok()) return ToGrpcStatus(caller.status());
          domain.client_id = caller->client_id;
          absl::StatusOr<Response> result = pipeline->Decide(op, domain);
          if (!result.ok()) return ToGrpcStatus(result.status());
          ToProto(*result, response);
          return grpc::Status::OK;
        });
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const char* method = OperationName(op);
  pipeline->RunAsync(
      method,
      [=](CallPipeline::Finisher finish) {
        // What the call needs until it is answered.
        struct Call {
          RequestProto request;
          Request domain;
        };
        auto call = std::make_unique<Call>();
        const absl::Status parsed = ParseRequest(*body, &call->request);
        if (!parsed.ok()) {
          std::move(finish)(RefuseUnparsable(pipeline->log_limiter(), method,
                                             parsed, *context));
          return;
        }
        call->domain =
            FromProto(call->request.subjects(), call->request.context());
        absl::StatusOr<Caller> caller =
            pipeline->Authorize(*context, op, call->domain);
        if (!caller.ok()) {
          std::move(finish)(ToGrpcStatus(caller.status()));
          return;
        }
        call->domain.client_id = caller->client_id;
        const Request& domain = call->domain;
        pipeline->DecideAsync(
            op, domain,
            [call = std::move(call), finish = std::move(finish),
             out](absl::StatusOr<Response> result) mutable {
              call.reset();
              if (!result.ok()) {
                std::move(finish)(ToGrpcStatus(result.status()));
                return;
              }
              ResponseProto response;
              ToProto(*result, &response);
              bool own_buffer;
              std::move(finish)(
                  grpc::SerializationTraits<ResponseProto>::Serialize(
                      response, out, &own_buffer));
            });
      },
      [reactor](const grpc::Status& status) { reactor->Finish(status); });
  return reactor;
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
  return pipeline->Serve<v1::BatchRequest, v1::BatchResponse>(
      context, "Batch", body, out,
      [=](const v1::BatchRequest& request, v1::BatchResponse* response) {
        return HandleBatch(*pipeline, *context, request, response);
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
