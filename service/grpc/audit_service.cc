#include "service/grpc/audit_service.h"

#include "absl/strings/str_cat.h"
#include "service/audit/audit_codec.h"
#include "service/audit/audit_cursor.h"
#include "service/grpc/request_parser.h"
#include "service/grpc/status_convert.h"

namespace gatehouse {

AuditService::AuditService(const AuditStreamOptions& options)
    : streams_(options) {
  ServeStreamRaw("gatehouse.v1.Audit", "Stream", this,
                 &AuditService::ServeStream);
}

grpc::Status AuditService::ServeStream(
    grpc::ServerContext* context, const grpc::ByteBuffer* body,
    grpc::ServerWriter<v1::AuditEvent>* writer) {
  CallMetrics::Call call(streams_.metrics(), "AuditStream");
  v1::StreamRequest parsed;
  AdmittedStream admitted;
  const grpc::Status status =
      streams_.Admit("AuditStream", *context, *body, &parsed, &admitted);
  if (!status.ok()) return call.Finish(status);
  const v1::StreamRequest* request = &parsed;
  AuditFilter filter;
  filter.policies = admitted.policies;
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
  absl::StatusOr<AuditCursor> cursor = AuditCursor::Open(
      streams_.log(), start, std::move(filter), request->follow());
  if (!cursor.ok()) return call.Finish(ToGrpcStatus(cursor.status()));

  v1::AuditEvent proto;
  uint64_t written = 0;
  return call.Finish(
      streams_.Pump(context, admitted, *cursor, [&](const AuditEvent& event) {
        proto.Clear();
        ToProto(event, &proto);
        if (++written % 64 == 1) {
          streams_.metrics()->ConsumerLag(admitted.caller.client_id,
                                          streams_.log()->HeadSequence(),
                                          event.sequence);
        }
        return writer->Write(proto);
      }));
}

}  // namespace gatehouse
