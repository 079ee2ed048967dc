#ifndef GATEHOUSE_SERVICE_GRPC_ENVOY_RLS_SERVICE_H_
#define GATEHOUSE_SERVICE_GRPC_ENVOY_RLS_SERVICE_H_

#include "envoy/service/ratelimit/v3/rls.grpc.pb.h"
#include "service/grpc/call_pipeline.h"

namespace gatehouse {

using EnvoyRateLimitCallbacks = envoy::service::ratelimit::v3::
    RateLimitService::WithRawCallbackMethod_ShouldRateLimit<
        envoy::service::ratelimit::v3::RateLimitService::Service>;

// envoy.service.ratelimit.v3.RateLimitService, the API Envoy, Istio and
// Envoy Gateway call, over the same CallPipeline as gatehouse.v1: the
// request's descriptors are matched to policies by their `envoy` mappings
// (envoy_rls_plan.h), decided atomically as one Check (descriptors of 0
// hits as a Peek) and answered in Envoy's terms. The caller needs the
// `check` scope (`peek` for 0-hit descriptors) on the matched policies.
// A storage failure is UNAVAILABLE, never overall_code UNKNOWN (which
// Envoy would let through). Thread-safe; the pipeline must outlive it.
class EnvoyRateLimitService final : public EnvoyRateLimitCallbacks {
 public:
  explicit EnvoyRateLimitService(const CallPipeline* pipeline)
      : pipeline_(pipeline) {}

  grpc::ServerUnaryReactor* ShouldRateLimit(
      grpc::CallbackServerContext* context, const grpc::ByteBuffer* body,
      grpc::ByteBuffer* response) override;

 private:
  const CallPipeline* const pipeline_;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_GRPC_ENVOY_RLS_SERVICE_H_
