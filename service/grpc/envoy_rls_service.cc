#include "service/grpc/envoy_rls_service.h"

#include "service/grpc/envoy_rls_plan.h"
#include "service/grpc/status_convert.h"

namespace gatehouse {
namespace {

namespace rls = envoy::service::ratelimit::v3;

constexpr char kUnmappedDomain[] = "(unmapped)";

// Decides `plan`: the 0-hit descriptors first (a Peek); when one of them is
// over its limit the others are only peeked too, so that OVER_LIMIT counts
// nothing; otherwise the rest are checked together.
grpc::Status Decide(const CallPipeline& pipeline, const RlsPlan& plan,
                    rls::RateLimitResponse* out) {
  std::optional<Response> peek;
  if (!plan.peek.subjects.empty()) {
    absl::StatusOr<Response> peeked =
        pipeline.Decide(Operation::kPeek, plan.peek);
    if (!peeked.ok()) return ToGrpcStatus(peeked.status());
    peek = *std::move(peeked);
  }
  std::optional<Response> check;
  if (!plan.check.subjects.empty()) {
    const Operation op = peek.has_value() && !peek->allowed ? Operation::kPeek
                                                            : Operation::kCheck;
    absl::StatusOr<Response> checked = pipeline.Decide(op, plan.check);
    if (!checked.ok()) return ToGrpcStatus(checked.status());
    check = *std::move(checked);
  }
  BuildRateLimitResponse(plan, check ? &*check : nullptr,
                         peek ? &*peek : nullptr, out);
  return grpc::Status::OK;
}

}  // namespace

grpc::ServerUnaryReactor* EnvoyRateLimitService::ShouldRateLimit(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* body,
    grpc::ByteBuffer* out) {
  const CallPipeline* pipeline = pipeline_;
  return pipeline->Serve<rls::RateLimitRequest, rls::RateLimitResponse>(
      context, kShouldRateLimit, body, out,
      [=](const rls::RateLimitRequest& request,
          rls::RateLimitResponse* response) {
        const std::shared_ptr<const PolicySet> policies = pipeline->policies();
        absl::StatusOr<RlsPlan> plan = PlanRateLimit(request, *policies);
        // Who asks is known before the request is judged: an unknown
        // caller learns nothing about it.
        const Operation first = plan.ok() && !plan->wants_check
                                    ? Operation::kPeek
                                    : Operation::kCheck;
        Request named;
        named.rpc = kShouldRateLimit;
        const Request& refused = !plan.ok()                   ? named
                                 : first == Operation::kCheck ? plan->check
                                                              : plan->peek;
        absl::StatusOr<Caller> caller =
            pipeline->Authenticate(*context, first, refused);
        if (!caller.ok()) return ToGrpcStatus(caller.status());
        if (!plan.ok()) return ToGrpcStatus(plan.status());
        for (Request* r : {&plan->check, &plan->peek}) {
          r->client_id = caller->client_id;
        }
        if (plan->wants_check) {
          const absl::Status permitted = pipeline->Permit(
              *context, *caller, Operation::kCheck, plan->check);
          if (!permitted.ok()) return ToGrpcStatus(permitted);
        }
        if (plan->wants_peek) {
          const absl::Status permitted =
              pipeline->Permit(*context, *caller, Operation::kPeek, plan->peek);
          if (!permitted.ok()) return ToGrpcStatus(permitted);
        }
        if (plan->unmatched > 0) {
          // Labelled by domain only for domains the policy file maps: the
          // label's values stay bounded whatever callers send.
          pipeline->metrics().RecordUnmatchedDescriptors(
              policies->envoy().HasDomain(request.domain())
                  ? request.domain()
                  : std::string(kUnmappedDomain),
              plan->unmatched);
        }
        return Decide(*pipeline, *plan, response);
      });
}

}  // namespace gatehouse
