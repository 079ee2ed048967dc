#ifndef GATEHOUSE_SERVICE_GRPC_RATE_LIMITER_SERVICE_H_
#define GATEHOUSE_SERVICE_GRPC_RATE_LIMITER_SERVICE_H_

#include "gatehouse/v1/ratelimit.grpc.pb.h"
#include "service/auth/authenticator.h"
#include "service/core/limiter.h"

namespace gatehouse {

// gatehouse.v1.RateLimiter over a Limiter: authorize, convert, decide,
// convert back. Thread-safe. Does not own the limiter or the authenticator,
// which must outlive it. A null authenticator disables authentication (only
// main.cc's --allow_unauthenticated on loopback, and tests).
class RateLimiterService final : public v1::RateLimiter::Service {
 public:
  RateLimiterService(Limiter* limiter, const Authenticator* authenticator)
      : limiter_(limiter), authenticator_(authenticator) {}

  grpc::Status Check(grpc::ServerContext* context,
                     const v1::CheckRequest* request,
                     v1::CheckResponse* response) override;
  grpc::Status Peek(grpc::ServerContext* context,
                    const v1::PeekRequest* request,
                    v1::PeekResponse* response) override;
  grpc::Status Record(grpc::ServerContext* context,
                      const v1::RecordRequest* request,
                      v1::RecordResponse* response) override;
  grpc::Status Reset(grpc::ServerContext* context,
                     const v1::ResetRequest* request,
                     v1::ResetResponse* response) override;

 private:
  template <typename RequestProto, typename ResponseProto>
  grpc::Status Handle(Operation op, grpc::ServerContext* context,
                      const RequestProto& request, ResponseProto* response);

  Limiter* const limiter_;
  const Authenticator* const authenticator_;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_GRPC_RATE_LIMITER_SERVICE_H_
