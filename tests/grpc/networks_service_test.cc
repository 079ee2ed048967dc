// Exempt and deny networks and permanent lockouts through the in-process
// RateLimiter service: verdict reasons, audit events and metrics.

#include <string>
#include <vector>

#include "gatehouse/v1/audit.pb.h"
#include "service/audit/audit_codec.h"
#include "tests/grpc/service_fixture.h"

namespace gatehouse {
namespace {

constexpr char kNetworkPolicies[] = R"(
exempt: [10.0.0.0/8]
deny: [{cidr: 198.51.100.0/24, reason: "credential stuffing, INC-42"}]
policies:
  - name: login_ip
    dimensions: [ip]
    limit: 3
    window: 1m
  - name: failed_auth_user_ip
    dimensions: [user, ip]
    limit: 2
    window: 15m
    lockout: {duration: 15m, multiplier: 2, max: 24h, permanent_after: 2}
)";

class NetworksServiceTest : public grpc_test::RateLimiterServiceTest {
 protected:
  void SetUp() override {
    RateLimiterServiceTest::SetUp();
    auto policies = ParsePolicyYaml(kNetworkPolicies, "test");
    ASSERT_TRUE(policies.ok()) << policies.status();
    limiter_->SetPolicies(*policies);
  }

  v1::Verdict CheckIp(const std::string& ip, uint64_t hits = 0) {
    v1::CheckRequest request;
    AddSubject(request.mutable_subjects(), "login_ip", {{"ip", ip}}, hits);
    v1::CheckResponse response;
    grpc::Status status =
        stub_->Check(Context(grpc_test::kFullToken).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.verdicts_size() == 1 ? response.verdicts(0) : v1::Verdict{};
  }

  v1::Verdict RecordFailure() {
    v1::RecordRequest request;
    AddSubject(request.mutable_subjects(), "failed_auth_user_ip",
               {{"user", "alice"}, {"ip", "203.0.113.9"}}, 2);
    v1::RecordResponse response;
    grpc::Status status =
        stub_->Record(Context(grpc_test::kFullToken).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.verdicts_size() == 1 ? response.verdicts(0) : v1::Verdict{};
  }

  v1::AuditEvent Event(uint64_t sequence) {
    absl::StatusOr<std::vector<AuditEvent>> events = store_.Read(sequence, 1);
    EXPECT_TRUE(events.ok() && events->size() == 1);
    v1::AuditEvent out;
    if (events.ok() && !events->empty()) ToProto(events->front(), &out);
    return out;
  }
};

TEST_F(NetworksServiceTest, ExemptIsAllowedUncountedAndSaysWhy) {
  for (int i = 0; i < 5; ++i) {
    const v1::Verdict v = CheckIp("::ffff:10.20.30.40", 3);
    EXPECT_EQ(v.decision(), v1::Verdict::ALLOW);
    EXPECT_EQ(v.reason(), v1::Verdict::EXEMPT);
    EXPECT_EQ(v.network(), "10.0.0.0/8");
    EXPECT_EQ(v.count(), 0u);
  }
  const v1::Verdict v = CheckIp("10.20.30.40");
  const v1::AuditEvent e = Event(v.audit_sequence());
  EXPECT_EQ(e.reason(), v1::Verdict::EXEMPT);
  EXPECT_EQ(e.network(), "10.0.0.0/8");
  EXPECT_EQ(Counter(metrics_.exempt_total, {"login_ip"}), 6u);
  EXPECT_EQ(
      Counter(metrics_.decisions_total,
              {"login_ip", "check", metrics::GatehouseMetrics::kDecisionAllow}),
      6u);
  EXPECT_EQ(store_.size(), 0u);
}

TEST_F(NetworksServiceTest, DenylistedIsDeniedUncountedAndSaysWhy) {
  const v1::Verdict v = CheckIp("198.51.100.23");
  EXPECT_EQ(v.decision(), v1::Verdict::DENY);
  EXPECT_EQ(v.reason(), v1::Verdict::DENYLISTED);
  EXPECT_EQ(v.network(), "198.51.100.0/24");
  EXPECT_EQ(v.deny_reason(), "credential stuffing, INC-42");
  EXPECT_EQ(v.retry_after().seconds(), 60);
  EXPECT_FALSE(v.has_locked_until());
  const v1::AuditEvent e = Event(v.audit_sequence());
  EXPECT_EQ(e.decision(), v1::Verdict::DENY);
  EXPECT_EQ(e.reason(), v1::Verdict::DENYLISTED);
  EXPECT_EQ(e.deny_reason(), "credential stuffing, INC-42");
  EXPECT_EQ(Counter(metrics_.denylisted_total, {"login_ip"}), 1u);
  EXPECT_EQ(store_.size(), 0u);
  // Others are counted as before.
  EXPECT_EQ(CheckIp("203.0.113.1").reason(), v1::Verdict::REASON_UNSPECIFIED);
  EXPECT_EQ(CheckIp("203.0.113.1").count(), 2u);
}

TEST_F(NetworksServiceTest, PermanentLockoutIsShownUntilTheLastTimestamp) {
  const v1::Verdict first = RecordFailure();
  ASSERT_TRUE(first.ceiling_hit());
  EXPECT_FALSE(first.permanent());
  clock_.Advance(absl::Minutes(16));
  const v1::Verdict second = RecordFailure();
  ASSERT_TRUE(second.ceiling_hit());
  EXPECT_TRUE(second.permanent());
  EXPECT_EQ(second.decision(), v1::Verdict::DENY);
  EXPECT_EQ(second.locked_until().seconds(), 253'402'300'799);
  const v1::AuditEvent e = Event(second.audit_sequence());
  EXPECT_TRUE(e.permanent());
  EXPECT_EQ(e.locked_until().seconds(), 253'402'300'799);
  EXPECT_EQ(Counter(metrics_.permanent_lockouts_total, {"failed_auth_user_ip"}),
            1u);
  EXPECT_EQ(Counter(metrics_.lockouts_total, {"failed_auth_user_ip"}), 2u);

  clock_.Advance(absl::Hours(24 * 365));
  v1::PeekRequest peek;
  AddSubject(peek.mutable_subjects(), "failed_auth_user_ip",
             {{"user", "alice"}, {"ip", "203.0.113.9"}});
  v1::PeekResponse response;
  ASSERT_TRUE(
      stub_->Peek(Context(grpc_test::kFullToken).get(), peek, &response).ok());
  EXPECT_EQ(response.verdicts(0).decision(), v1::Verdict::DENY);
  EXPECT_TRUE(response.verdicts(0).permanent());
}

}  // namespace
}  // namespace gatehouse
