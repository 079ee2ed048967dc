#ifndef GATEHOUSE_SERVICE_GRPC_ENVOY_RLS_PLAN_H_
#define GATEHOUSE_SERVICE_GRPC_ENVOY_RLS_PLAN_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "envoy/service/ratelimit/v3/rls.pb.h"
#include "service/core/policy.h"
#include "service/core/request.h"
#include "service/core/verdict.h"

namespace gatehouse {

// The RPC name ShouldRateLimit's decisions carry in the audit log.
inline constexpr char kShouldRateLimit[] = "ShouldRateLimit";

// What one envoy.service.ratelimit.v3 ShouldRateLimit request asks of the
// Limiter, once its descriptors are matched to policies (the `envoy`
// mappings of the policy file).
struct RlsPlan {
  // Descriptors that add hits, decided together as one Check, and those
  // that add none (an explicit hits_addend of 0), as one Peek. Both carry
  // rpc "ShouldRateLimit" and the domain in their context.
  Request check;
  Request peek;
  // Per request descriptor, in order: which subject of `check` or `peek`
  // it became; unset when no policy matched it (answered OK, no limit).
  struct Slot {
    Operation op = Operation::kCheck;
    size_t subject = 0;
  };
  std::vector<std::optional<Slot>> slots;
  size_t unmatched = 0;
  // Whether any descriptor (matched or not) adds hits, or adds none: the
  // scopes the caller needs (check, peek).
  bool wants_check = false;
  bool wants_peek = false;
};

// Validates `request` (INVALID_ARGUMENT naming the field: domain,
// descriptors[i].entries[j].key, descriptors[i].hits_addend, ...) and
// matches its descriptors against `policies`. Counts nothing. Each subject
// is named as the request names it (SubjectRequest::field, value_fields),
// so the Limiter's errors say `descriptors[1].entries[0].value`.
absl::StatusOr<RlsPlan> PlanRateLimit(
    const envoy::service::ratelimit::v3::RateLimitRequest& request,
    const PolicySet& policies);

// The answer: a status per descriptor (code, current_limit, remaining,
// duration_until_reset), overall_code, and the RateLimit-Policy, RateLimit
// and (when over the limit) Retry-After response headers. `check` / `peek`
// are the Limiter's responses to plan.check / plan.peek (null when that
// request has no subject).
void BuildRateLimitResponse(
    const RlsPlan& plan, const Response* check, const Response* peek,
    envoy::service::ratelimit::v3::RateLimitResponse* out);

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_GRPC_ENVOY_RLS_PLAN_H_
