#ifndef GATEHOUSE_SERVICE_GRPC_ADMIN_SERVICE_H_
#define GATEHOUSE_SERVICE_GRPC_ADMIN_SERVICE_H_

#include "gatehouse/v1/admin.grpc.pb.h"
#include "service/grpc/call_pipeline.h"

namespace gatehouse {

using AdminCallbacks = v1::Admin::WithRawCallbackMethod_Block<
    v1::Admin::WithRawCallbackMethod_Unblock<
        v1::Admin::WithRawCallbackMethod_ListLockouts<
            v1::Admin::WithRawCallbackMethod_Inspect<v1::Admin::Service>>>>;

// gatehouse.v1.Admin (admin.proto): an operator's Block, Unblock,
// ListLockouts and Inspect, over the same CallPipeline as the decisions
// (admission, parsing, metrics, refusals audited), each needing the
// `admin` scope on the policy it names and run by the Limiter's operator
// actions (limiter.h), which audit them with the operator's client id and
// reason. Block and Unblock are logged. Thread-safe; the pipeline must
// outlive it.
class AdminService final : public AdminCallbacks {
 public:
  explicit AdminService(const CallPipeline* pipeline) : pipeline_(pipeline) {}

  grpc::ServerUnaryReactor* Block(grpc::CallbackServerContext* context,
                                  const grpc::ByteBuffer* body,
                                  grpc::ByteBuffer* out) override;
  grpc::ServerUnaryReactor* Unblock(grpc::CallbackServerContext* context,
                                    const grpc::ByteBuffer* body,
                                    grpc::ByteBuffer* out) override;
  grpc::ServerUnaryReactor* ListLockouts(grpc::CallbackServerContext* context,
                                         const grpc::ByteBuffer* body,
                                         grpc::ByteBuffer* out) override;
  grpc::ServerUnaryReactor* Inspect(grpc::CallbackServerContext* context,
                                    const grpc::ByteBuffer* body,
                                    grpc::ByteBuffer* out) override;

 private:
  const CallPipeline* const pipeline_;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_GRPC_ADMIN_SERVICE_H_
