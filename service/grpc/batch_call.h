#ifndef GATEHOUSE_SERVICE_GRPC_BATCH_CALL_H_
#define GATEHOUSE_SERVICE_GRPC_BATCH_CALL_H_

#include <grpcpp/server_context.h>
#include <grpcpp/support/status.h>

#include "gatehouse/v1/ratelimit.pb.h"
#include "service/grpc/call_pipeline.h"

namespace gatehouse {

// The handler of gatehouse.v1.RateLimiter/Batch, run by
// CallPipeline::ServeAsync: authenticates the call once, checks its limits
// (INVALID_ARGUMENT naming `items`), permits each item on its own (a refused
// item gets its status, the others still run) and decides the permitted
// items together (Limiter::RunBatchAsync); `finish` gets the call's status
// once `response` holds the results, in request order. `request` and
// `response` must live until then.
void HandleBatchAsync(const CallPipeline& pipeline,
                      const grpc::ServerContextBase& context,
                      const v1::BatchRequest& request,
                      v1::BatchResponse* response,
                      CallPipeline::Finisher finish);

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_GRPC_BATCH_CALL_H_
