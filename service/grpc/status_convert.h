#ifndef GATEHOUSE_SERVICE_GRPC_STATUS_CONVERT_H_
#define GATEHOUSE_SERVICE_GRPC_STATUS_CONVERT_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace gatehouse {

// The one conversion from domain status to gRPC status: same code, same
// message.
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_GRPC_STATUS_CONVERT_H_
