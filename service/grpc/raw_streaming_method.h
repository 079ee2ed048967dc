#ifndef GATEHOUSE_SERVICE_GRPC_RAW_STREAMING_METHOD_H_
#define GATEHOUSE_SERVICE_GRPC_RAW_STREAMING_METHOD_H_

#include <grpcpp/impl/codegen/method_handler.h>
#include <grpcpp/impl/codegen/rpc_service_method.h>
#include <grpcpp/server_context.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/sync_stream.h>

#include <deque>
#include <string>

#include "service/grpc/request_parser.h"

namespace gatehouse {

// A generated service (`GeneratedService`, e.g. v1::Audit::Service) with
// the means to serve one of its server-streaming methods with the request
// taken raw (see request_parser.h): the generated slot is emptied and a
// method of the same name added, still server-streaming on the synchronous
// API, so no thread is taken before the request has arrived.
template <typename GeneratedService>
class WithRawServerStreaming : public GeneratedService {
 protected:
  // Serves `service`/`method` (full service name, method name) by
  // `self->*serve`. Call from the constructor of `Self`, the final class.
  template <typename Self, typename Response>
  void ServeStreamRaw(
      const char* service, const char* method, Self* self,
      grpc::Status (Self::*serve)(grpc::ServerContext*, const grpc::ByteBuffer*,
                                  grpc::ServerWriter<Response>*)) {
    this->MarkMethodGeneric(GeneratedMethodIndex(service, method));
    // gRPC keeps the name's pointer, not a copy.
    const std::string& path =
        paths_.emplace_back(std::string("/") + service + "/" + method);
    this->AddMethod(new grpc::internal::RpcServiceMethod(
        path.c_str(), grpc::internal::RpcMethod::SERVER_STREAMING,
        new grpc::internal::ServerStreamingHandler<Self, grpc::ByteBuffer,
                                                   Response>(
            [serve](Self* s, grpc::ServerContext* context,
                    const grpc::ByteBuffer* body,
                    grpc::ServerWriter<Response>* writer) {
              return (s->*serve)(context, body, writer);
            },
            self)));
  }

 private:
  // The full names of the methods added (stable addresses).
  std::deque<std::string> paths_;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_GRPC_RAW_STREAMING_METHOD_H_
