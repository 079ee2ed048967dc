#include "service/grpc/envoy_rls_service.h"

#include <memory>
#include <optional>

#include "service/grpc/envoy_rls_plan.h"
#include "service/grpc/status_convert.h"

namespace gatehouse {
namespace {

namespace rls = envoy::service::ratelimit::v3;

constexpr char kUnmappedDomain[] = "(unmapped)";

// A call being decided: its plan and what was decided so far.
struct Deciding {
  RlsPlan plan;
  std::optional<Response> peek;
  std::optional<Response> check;
};

// The second step of Decide: the descriptors with hits, checked together
// (only peeked when a 0-hit one is over its limit), then the answer.
void CheckAndAnswer(const CallPipeline& pipeline,
                    std::unique_ptr<Deciding> deciding,
                    rls::RateLimitResponse* out,
                    CallPipeline::Finisher finish) {
  if (deciding->plan.check.subjects.empty()) {
    BuildRateLimitResponse(deciding->plan, nullptr,
                           deciding->peek ? &*deciding->peek : nullptr, out);
    return std::move(finish)(grpc::Status::OK);
  }
  const Operation op = deciding->peek.has_value() && !deciding->peek->allowed
                           ? Operation::kPeek
                           : Operation::kCheck;
  const Request& check = deciding->plan.check;
  pipeline.DecideAsync(
      op, check,
      [deciding = std::move(deciding), out,
       finish = std::move(finish)](absl::StatusOr<Response> checked) mutable {
        if (!checked.ok()) {
          return std::move(finish)(ToGrpcStatus(checked.status()));
        }
        deciding->check = *std::move(checked);
        BuildRateLimitResponse(deciding->plan, &*deciding->check,
                               deciding->peek ? &*deciding->peek : nullptr,
                               out);
        std::move(finish)(grpc::Status::OK);
      });
}

// Decides a call's plan: the 0-hit descriptors first (a Peek); when one of
// them is over its limit the others are only peeked too, so that
// OVER_LIMIT counts nothing; otherwise the rest are checked together.
void Decide(const CallPipeline& pipeline, std::unique_ptr<Deciding> deciding,
            rls::RateLimitResponse* out, CallPipeline::Finisher finish) {
  if (deciding->plan.peek.subjects.empty()) {
    return CheckAndAnswer(pipeline, std::move(deciding), out,
                          std::move(finish));
  }
  const Request& peek = deciding->plan.peek;
  pipeline.DecideAsync(
      Operation::kPeek, peek,
      [&pipeline, deciding = std::move(deciding), out,
       finish = std::move(finish)](absl::StatusOr<Response> peeked) mutable {
        if (!peeked.ok()) {
          return std::move(finish)(ToGrpcStatus(peeked.status()));
        }
        deciding->peek = *std::move(peeked);
        CheckAndAnswer(pipeline, std::move(deciding), out, std::move(finish));
      });
}

// Plans `request` into *plan once its caller is known and permitted:
// an unknown caller learns nothing about the request. Records the
// descriptors no policy maps.
grpc::Status Admit(const CallPipeline& pipeline,
                   const grpc::ServerContextBase& context,
                   const rls::RateLimitRequest& request, RlsPlan* out) {
  const std::shared_ptr<const PolicySet> policies = pipeline.policies();
  absl::StatusOr<RlsPlan> plan = PlanRateLimit(request, *policies);
  const Operation first =
      plan.ok() && !plan->wants_check ? Operation::kPeek : Operation::kCheck;
  Request named;
  named.rpc = kShouldRateLimit;
  const Request& refused = !plan.ok()                   ? named
                           : first == Operation::kCheck ? plan->check
                                                        : plan->peek;
  absl::StatusOr<Caller> caller =
      pipeline.Authenticate(context, first, refused);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  if (!plan.ok()) return ToGrpcStatus(plan.status());
  for (Request* r : {&plan->check, &plan->peek}) {
    r->client_id = caller->client_id;
  }
  if (plan->wants_check) {
    const absl::Status permitted =
        pipeline.Permit(context, *caller, Operation::kCheck, plan->check);
    if (!permitted.ok()) return ToGrpcStatus(permitted);
  }
  if (plan->wants_peek) {
    const absl::Status permitted =
        pipeline.Permit(context, *caller, Operation::kPeek, plan->peek);
    if (!permitted.ok()) return ToGrpcStatus(permitted);
  }
  if (plan->unmatched > 0) {
    // Labelled by domain only for domains the policy file maps: the
    // label's values stay bounded whatever callers send.
    pipeline.metrics().RecordUnmatchedDescriptors(
        policies->envoy().HasDomain(request.domain())
            ? request.domain()
            : std::string(kUnmappedDomain),
        plan->unmatched);
  }
  *out = *std::move(plan);
  return grpc::Status::OK;
}

}  // namespace

grpc::ServerUnaryReactor* EnvoyRateLimitService::ShouldRateLimit(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* body,
    grpc::ByteBuffer* out) {
  const CallPipeline* pipeline = pipeline_;
  return pipeline->ServeAsync<rls::RateLimitRequest, rls::RateLimitResponse>(
      context, kShouldRateLimit, body, out,
      [=](const rls::RateLimitRequest& request,
          rls::RateLimitResponse* response, CallPipeline::Finisher finish) {
        auto deciding = std::make_unique<Deciding>();
        const grpc::Status admitted =
            Admit(*pipeline, *context, request, &deciding->plan);
        if (!admitted.ok()) return std::move(finish)(admitted);
        Decide(*pipeline, std::move(deciding), response, std::move(finish));
      });
}

}  // namespace gatehouse
