#include "client/audit_tail.h"

#include <google/protobuf/util/json_util.h>
#include <grpcpp/client_context.h>

#include "gatehouse/v1/audit.grpc.pb.h"

namespace gatehouse {

grpc::Status TailAudit(const std::shared_ptr<grpc::Channel>& channel,
                       const AuditTailOptions& options,
                       const std::function<bool(const v1::AuditEvent&)>& sink) {
  std::unique_ptr<v1::Audit::Stub> stub = v1::Audit::NewStub(channel);
  grpc::ClientContext context;
  if (!options.token.empty()) {
    context.AddMetadata("authorization", "Bearer " + options.token);
  }
  v1::StreamRequest request;
  if (options.from_sequence > 0)
    request.set_from_sequence(options.from_sequence);
  request.set_follow(options.follow);
  for (const std::string& p : options.policies) request.add_policies(p);
  request.set_ceiling_only(options.ceiling_only);
  std::unique_ptr<grpc::ClientReader<v1::AuditEvent>> reader =
      stub->Stream(&context, request);
  v1::AuditEvent event;
  while (reader->Read(&event)) {
    if (!sink(event)) {
      context.TryCancel();
      reader->Finish().ok();  // Cancelled by us: not an error.
      return grpc::Status::OK;
    }
  }
  return reader->Finish();
}

std::string AuditEventToJsonLine(const v1::AuditEvent& event) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(event, &json, options)
           .ok()) {
    return "{}";
  }
  return json;
}

}  // namespace gatehouse
