#include "service/grpc/envoy_rls_plan.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "service/config/policy_file.h"

namespace gatehouse {
namespace {

namespace rls = envoy::service::ratelimit::v3;
using Unit = rls::RateLimitResponse::RateLimit;

rls::RateLimitRequest OneDescriptor(const std::string& domain,
                                    const std::string& key,
                                    const std::string& value) {
  rls::RateLimitRequest request;
  request.set_domain(domain);
  auto* e = request.add_descriptors()->add_entries();
  e->set_key(key);
  e->set_value(value);
  return request;
}

Verdict Allowed(const std::string& policy, uint64_t limit, uint64_t remaining,
                absl::Duration window, absl::Duration reset_after) {
  Verdict v;
  v.policy = policy;
  v.limit = limit;
  v.remaining = remaining;
  v.window = window;
  v.reset_after = reset_after;
  return v;
}

std::string Header(const rls::RateLimitResponse& r, const std::string& key) {
  for (const auto& h : r.response_headers_to_add()) {
    if (h.key() == key) return h.value();
  }
  return "";
}

TEST(EnvoyRlsPlanTest, UnitIsTheWindowsOnlyWhenItIsExactlyOneUnit) {
  const struct {
    absl::Duration window;
    Unit::Unit unit;
  } cases[] = {
      {absl::Seconds(1), Unit::SECOND},      {absl::Minutes(1), Unit::MINUTE},
      {absl::Hours(1), Unit::HOUR},          {absl::Hours(24), Unit::DAY},
      {absl::Hours(24 * 7), Unit::WEEK},     {absl::Minutes(15), Unit::UNKNOWN},
      {absl::Hours(24 * 30), Unit::UNKNOWN}, {absl::Seconds(2), Unit::UNKNOWN},
  };
  for (const auto& c : cases) {
    RlsPlan plan;
    plan.slots.push_back(RlsPlan::Slot{Operation::kCheck, 0});
    Response check;
    check.verdicts.push_back(Allowed("p", 10, 9, c.window, absl::Seconds(1)));
    rls::RateLimitResponse out;
    BuildRateLimitResponse(plan, &check, nullptr, &out);
    EXPECT_EQ(out.statuses(0).current_limit().unit(), c.unit)
        << absl::FormatDuration(c.window);
  }
}

TEST(EnvoyRlsPlanTest, HeadersNameEachPolicyOnceAndRetryAfterRoundsUp) {
  RlsPlan plan;
  for (size_t i = 0; i < 3; ++i) {
    plan.slots.push_back(RlsPlan::Slot{Operation::kCheck, i});
  }
  plan.slots.push_back(std::nullopt);
  Response check;
  check.allowed = false;
  check.verdicts.push_back(
      Allowed("login_ip", 5, 2, absl::Minutes(1), absl::Seconds(41)));
  Verdict denied =
      Allowed("login_user", 3, 0, absl::Minutes(15), absl::Minutes(15));
  denied.decision = Decision::kDeny;
  denied.retry_after = absl::Milliseconds(12'300);
  check.verdicts.push_back(denied);
  check.verdicts.push_back(
      Allowed("login_ip", 5, 1, absl::Minutes(1), absl::Seconds(50)));
  rls::RateLimitResponse out;
  BuildRateLimitResponse(plan, &check, nullptr, &out);
  EXPECT_EQ(out.overall_code(), rls::RateLimitResponse::OVER_LIMIT);
  ASSERT_EQ(out.statuses_size(), 4);
  EXPECT_EQ(out.statuses(1).code(), rls::RateLimitResponse::OVER_LIMIT);
  EXPECT_EQ(out.statuses(1).duration_until_reset().seconds(), 12);
  EXPECT_EQ(out.statuses(1).duration_until_reset().nanos(), 300'000'000);
  EXPECT_EQ(out.statuses(3).code(), rls::RateLimitResponse::OK);
  EXPECT_FALSE(out.statuses(3).has_current_limit());
  EXPECT_EQ(Header(out, "RateLimit-Policy"),
            "\"login_ip\";q=5;w=60, \"login_user\";q=3;w=900");
  EXPECT_EQ(Header(out, "RateLimit"),
            "\"login_ip\";r=2;t=41, \"login_user\";r=0;t=13");
  EXPECT_EQ(Header(out, "Retry-After"), "13");
}

TEST(EnvoyRlsPlanTest, NothingMatchedMeansOkAndNoHeaders) {
  RlsPlan plan;
  plan.slots.push_back(std::nullopt);
  rls::RateLimitResponse out;
  BuildRateLimitResponse(plan, nullptr, nullptr, &out);
  EXPECT_EQ(out.overall_code(), rls::RateLimitResponse::OK);
  EXPECT_EQ(out.response_headers_to_add_size(), 0);
}

TEST(EnvoyRlsPlanTest, PlanSplitsCountingAndPeekingDescriptors) {
  auto policies = ParsePolicyYaml(R"(
policies:
  - name: by_ip
    dimensions: [ip]
    limit: 5
    window: 1m
    envoy: {domain: edge, descriptor: [{key: remote_address, dimension: ip}]}
)",
                                  "test");
  ASSERT_TRUE(policies.ok()) << policies.status();
  rls::RateLimitRequest request =
      OneDescriptor("edge", "remote_address", "192.0.2.1");
  request.set_hits_addend(3);
  *request.add_descriptors() = request.descriptors(0);
  request.mutable_descriptors(1)->mutable_hits_addend()->set_value(0);
  *request.add_descriptors() = request.descriptors(0);
  request.mutable_descriptors(2)->mutable_entries(0)->set_key("other");
  absl::StatusOr<RlsPlan> plan = PlanRateLimit(request, **policies);
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_EQ(plan->check.subjects.size(), 1u);
  EXPECT_EQ(plan->check.subjects[0].hits, 3u);
  EXPECT_EQ(plan->check.rpc, "ShouldRateLimit");
  ASSERT_EQ(plan->peek.subjects.size(), 1u);
  EXPECT_EQ(plan->unmatched, 1u);
  EXPECT_TRUE(plan->wants_check);
  EXPECT_TRUE(plan->wants_peek);
  EXPECT_FALSE(plan->slots[2].has_value());
  EXPECT_EQ(plan->slots[1]->op, Operation::kPeek);

  // Subjects are named as the request names them, for the Limiter's errors.
  EXPECT_EQ(plan->peek.subjects[0].field, "descriptors[1]");
  EXPECT_EQ(plan->peek.subjects[0].value_fields.at("ip"),
            "descriptors[1].entries[0].value");
}

}  // namespace
}  // namespace gatehouse
