#ifndef GATEHOUSE_SERVICE_GRPC_AUDIT_SERVICE_H_
#define GATEHOUSE_SERVICE_GRPC_AUDIT_SERVICE_H_

#include "gatehouse/v1/audit.grpc.pb.h"
#include "service/grpc/audit_streams.h"
#include "service/grpc/raw_streaming_method.h"

namespace gatehouse {

// gatehouse.v1.Audit over an AuditLog. Requires the `audit` scope; a client
// limited to some policies only sees those. Thread-safe; what `options`
// points to must outlive it.
class AuditService final : public WithRawServerStreaming<v1::Audit::Service> {
 public:
  explicit AuditService(const AuditStreamOptions& options);

 private:
  // Stream, with the request taken raw and parsed here (request_parser.h):
  // an unparsable body is INVALID_ARGUMENT, counted and logged.
  grpc::Status ServeStream(grpc::ServerContext* context,
                           const grpc::ByteBuffer* body,
                           grpc::ServerWriter<v1::AuditEvent>* writer);

  const AuditStreams streams_;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_GRPC_AUDIT_SERVICE_H_
