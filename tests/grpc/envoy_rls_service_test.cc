#include "service/grpc/envoy_rls_service.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "envoy/service/ratelimit/v3/rls.grpc.pb.h"
#include "service/auth/authenticator.h"
#include "service/clock/simulated_clock.h"
#include "service/config/policy_file.h"
#include "service/core/in_memory_counter_store.h"
#include "service/core/limiter.h"
#include "service/grpc/call_metrics.h"
#include "service/grpc/call_pipeline.h"
#include "service/metrics/gatehouse_metrics.h"
#include "service/metrics/registry.h"
#include "tests/testing/fault_injecting_counter_store.h"
#include "tests/testing/in_process_server.h"

namespace gatehouse {
namespace {

namespace rls = envoy::service::ratelimit::v3;

constexpr char kPolicies[] = R"(
policies:
  - name: login_ip
    dimensions: [ip]
    limit: 3
    window: 1m
    envoy:
      domain: edge
      descriptor:
        - {key: generic_key, value: login}
        - {key: remote_address, dimension: ip}
  - name: login_user
    dimensions: [user]
    limit: 2
    window: 15m
    lockout: {duration: 30m}
    envoy:
      domain: edge
      descriptor:
        - {key: generic_key, value: login}
        - {key: user, dimension: user}
  - name: signup_ip
    dimensions: [ip]
    limit: 1
    window: 1h
    mode: shadow
    envoy:
      domain: edge
      descriptor:
        - {key: generic_key, value: signup}
        - {key: remote_address, dimension: ip}
  - name: not_for_envoy
    dimensions: [ip]
    limit: 1
    window: 1h
)";

constexpr char kEnvoyToken[] = "envoy-token-00112233445566778899aabbccddeeff";
constexpr char kPeekToken[] = "peek-token-ffeeddccbbaa99887766554433221100";

std::string CredentialsYaml() {
  return "clients:\n"
         "  - id: envoy\n"
         "    token_sha256: [" +
         HexEncode(Sha256(kEnvoyToken)) +
         "]\n"
         "    scopes: [check, peek]\n"
         "  - id: watcher\n"
         "    token_sha256: [" +
         HexEncode(Sha256(kPeekToken)) +
         "]\n"
         "    scopes: [peek]\n";
}

class EnvoyRateLimitServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto policies = ParsePolicyYaml(kPolicies, "test");
    ASSERT_TRUE(policies.ok()) << policies.status();
    limiter_ = std::make_unique<Limiter>(&clock_, &faults_, *policies);
    auto credentials = Credentials::Parse(CredentialsYaml(), "test");
    ASSERT_TRUE(credentials.ok()) << credentials.status();
    authenticator_ = std::make_unique<Authenticator>(*credentials);
    CallPipelineOptions options;
    options.limiter = limiter_.get();
    options.authenticator = authenticator_.get();
    options.metrics = &call_metrics_;
    pipeline_ = std::make_unique<CallPipeline>(options);
    service_ = std::make_unique<EnvoyRateLimitService>(pipeline_.get());
    server_ = testing::InProcessServer::Start({service_.get()});
    ASSERT_NE(server_, nullptr);
    stub_ = rls::RateLimitService::NewStub(server_->channel());
  }

  void TearDown() override {
    if (server_) server_->Shutdown();
  }

  // A descriptor of `entries`, with its own hits_addend when >= 0.
  static void Add(rls::RateLimitRequest* request,
                  std::vector<std::pair<std::string, std::string>> entries,
                  int64_t hits = -1) {
    auto* d = request->add_descriptors();
    for (const auto& [k, v] : entries) {
      auto* e = d->add_entries();
      e->set_key(k);
      e->set_value(v);
    }
    if (hits >= 0) d->mutable_hits_addend()->set_value(hits);
  }

  static rls::RateLimitRequest Login(const std::string& ip,
                                     const std::string& user = "") {
    rls::RateLimitRequest request;
    request.set_domain("edge");
    Add(&request, {{"generic_key", "login"}, {"remote_address", ip}});
    if (!user.empty()) {
      Add(&request, {{"generic_key", "login"}, {"user", user}});
    }
    return request;
  }

  grpc::Status Call(const rls::RateLimitRequest& request,
                    rls::RateLimitResponse* response,
                    const std::string& token = kEnvoyToken) {
    grpc::ClientContext context;
    if (!token.empty()) {
      context.AddMetadata("authorization", "Bearer " + token);
    }
    return stub_->ShouldRateLimit(&context, request, response);
  }

  // The response header `key`, or "" when absent.
  static std::string Header(const rls::RateLimitResponse& response,
                            const std::string& key) {
    for (const auto& h : response.response_headers_to_add()) {
      if (h.key() == key) return h.value();
    }
    return "";
  }

  SimulatedClock clock_;
  InMemoryCounterStore store_;
  testing::FaultInjectingCounterStore faults_{&store_};
  metrics::Registry registry_;
  metrics::GatehouseMetrics metrics_{&registry_, "test"};
  CallMetrics call_metrics_{&metrics_};
  std::unique_ptr<Limiter> limiter_;
  std::unique_ptr<Authenticator> authenticator_;
  std::unique_ptr<CallPipeline> pipeline_;
  std::unique_ptr<EnvoyRateLimitService> service_;
  std::unique_ptr<testing::InProcessServer> server_;
  std::unique_ptr<rls::RateLimitService::Stub> stub_;
};

TEST_F(EnvoyRateLimitServiceTest, SlidingWindowAnswersInEnvoysTerms) {
  rls::RateLimitResponse response;
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(Call(Login("203.0.113.7"), &response).ok());
    EXPECT_EQ(response.overall_code(), rls::RateLimitResponse::OK);
    ASSERT_EQ(response.statuses_size(), 1);
    const auto& s = response.statuses(0);
    EXPECT_EQ(s.code(), rls::RateLimitResponse::OK);
    EXPECT_EQ(s.current_limit().name(), "login_ip");
    EXPECT_EQ(s.current_limit().requests_per_unit(), 3u);
    EXPECT_EQ(s.current_limit().unit(),
              rls::RateLimitResponse::RateLimit::MINUTE);
    EXPECT_EQ(s.limit_remaining(), static_cast<uint32_t>(3 - i));
  }
  EXPECT_EQ(Header(response, "RateLimit-Policy"), "\"login_ip\";q=3;w=60");
  EXPECT_EQ(Header(response, "Retry-After"), "");

  clock_.Advance(absl::Seconds(20));
  ASSERT_TRUE(Call(Login("203.0.113.7"), &response).ok());
  EXPECT_EQ(response.overall_code(), rls::RateLimitResponse::OVER_LIMIT);
  const auto& s = response.statuses(0);
  EXPECT_EQ(s.code(), rls::RateLimitResponse::OVER_LIMIT);
  EXPECT_EQ(s.limit_remaining(), 0u);
  // Sliding, not fixed: the first hits leave the window 40s from now.
  EXPECT_GT(s.duration_until_reset().seconds(), 0);
  EXPECT_LE(s.duration_until_reset().seconds(), 41);
  EXPECT_FALSE(Header(response, "Retry-After").empty());
  EXPECT_EQ(Header(response, "Retry-After"),
            std::to_string(s.duration_until_reset().seconds() +
                           (s.duration_until_reset().nanos() > 0 ? 1 : 0)));
  EXPECT_TRUE(
      absl::StartsWith(Header(response, "RateLimit"), "\"login_ip\";r=0;t="));
}

TEST_F(EnvoyRateLimitServiceTest, OverLimitCountsNothingForAnyDescriptor) {
  rls::RateLimitResponse response;
  // Two attempts for ann from two addresses: her limit (2) is reached.
  ASSERT_TRUE(Call(Login("198.51.100.1", "ann"), &response).ok());
  ASSERT_TRUE(Call(Login("198.51.100.2", "ann"), &response).ok());
  ASSERT_EQ(response.overall_code(), rls::RateLimitResponse::OK);
  ASSERT_TRUE(Call(Login("198.51.100.1", "ann"), &response).ok());
  EXPECT_EQ(response.overall_code(), rls::RateLimitResponse::OVER_LIMIT);
  EXPECT_EQ(response.statuses(0).code(), rls::RateLimitResponse::OK);
  EXPECT_EQ(response.statuses(1).code(), rls::RateLimitResponse::OVER_LIMIT);
  // The address's count did not move: it had one hit, this is its second.
  rls::RateLimitRequest ip_only = Login("198.51.100.1");
  ASSERT_TRUE(Call(ip_only, &response).ok());
  EXPECT_EQ(response.statuses(0).limit_remaining(), 1u);
}

TEST_F(EnvoyRateLimitServiceTest, HitsAddendOfZeroPeeksAndDescriptorsOverride) {
  rls::RateLimitRequest request;
  request.set_domain("edge");
  request.set_hits_addend(2);
  Add(&request, {{"generic_key", "login"}, {"remote_address", "192.0.2.9"}});
  rls::RateLimitResponse response;
  ASSERT_TRUE(Call(request, &response).ok());
  EXPECT_EQ(response.statuses(0).limit_remaining(), 1u);

  // A 0-hit descriptor counts nothing, even many times.
  rls::RateLimitRequest peek;
  peek.set_domain("edge");
  peek.set_hits_addend(2);
  Add(&peek, {{"generic_key", "login"}, {"remote_address", "192.0.2.9"}}, 0);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(Call(peek, &response).ok());
    EXPECT_EQ(response.overall_code(), rls::RateLimitResponse::OK);
    EXPECT_EQ(response.statuses(0).limit_remaining(), 1u);
  }
  // The peek-only client may peek, not count.
  ASSERT_TRUE(Call(peek, &response, kPeekToken).ok());
  EXPECT_EQ(Call(request, &response, kPeekToken).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(EnvoyRateLimitServiceTest,
       UnmatchedDescriptorsAreOkWithNoLimitAndCounted) {
  rls::RateLimitRequest request = Login("192.0.2.1");
  Add(&request, {{"generic_key", "checkout"}});
  Add(&request, {{"remote_address", "192.0.2.1"}});
  rls::RateLimitResponse response;
  ASSERT_TRUE(Call(request, &response).ok());
  ASSERT_EQ(response.statuses_size(), 3);
  EXPECT_EQ(response.statuses(1).code(), rls::RateLimitResponse::OK);
  EXPECT_FALSE(response.statuses(1).has_current_limit());
  EXPECT_EQ(
      metrics_.envoy_unmatched_descriptors_total.WithLabels({"edge"}).Value(),
      2u);

  request.set_domain("elsewhere");
  ASSERT_TRUE(Call(request, &response).ok());
  EXPECT_EQ(response.overall_code(), rls::RateLimitResponse::OK);
  EXPECT_EQ(
      metrics_.envoy_unmatched_descriptors_total.WithLabels({"(unmapped)"})
          .Value(),
      3u);
}

TEST_F(EnvoyRateLimitServiceTest, BadInputNamesTheFieldAndCountsNothing) {
  struct Case {
    rls::RateLimitRequest request;
    std::string message;
  };
  std::vector<Case> cases;
  {
    Case c{Login("192.0.2.1"), "domain: required"};
    c.request.clear_domain();
    cases.push_back(c);
  }
  {
    Case c{Login("192.0.2.1"),
           "descriptors[1].entries: at least one entry is required"};
    c.request.add_descriptors();
    cases.push_back(c);
  }
  {
    Case c{Login("192.0.2.1", "ann"),
           "descriptors[1].entries[1].value: empty value"};
    c.request.mutable_descriptors(1)->mutable_entries(1)->clear_value();
    cases.push_back(c);
  }
  {
    Case c{Login("not-an-address"),
           "descriptors[0].entries[1].value: not an IP address"};
    cases.push_back(c);
  }
  {
    Case c{Login("192.0.2.1"),
           "descriptors[0].hits_addend: 2000000 is more than the maximum "
           "1000000"};
    c.request.mutable_descriptors(0)->mutable_hits_addend()->set_value(
        2'000'000);
    cases.push_back(c);
  }
  for (const Case& c : cases) {
    rls::RateLimitResponse response;
    const grpc::Status status = Call(c.request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << c.message;
    EXPECT_EQ(status.error_message(), c.message);
  }
  EXPECT_EQ(faults_.counter_commits(), 0);
}

TEST_F(EnvoyRateLimitServiceTest, UnknownCallerIsRefusedBeforeAnythingElse) {
  rls::RateLimitResponse response;
  EXPECT_EQ(Call(Login("192.0.2.1"), &response, "").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Call(Login("192.0.2.1"), &response, "wrong-token").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(faults_.counter_commits(), 0);
}

TEST_F(EnvoyRateLimitServiceTest, StorageFailureIsUnavailableNeverUnknown) {
  faults_.FailCommits(absl::UnavailableError("disk full"));
  rls::RateLimitResponse response;
  const grpc::Status status = Call(Login("192.0.2.1"), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(response.overall_code(), rls::RateLimitResponse::UNKNOWN);
  faults_.ClearFaults();
  ASSERT_TRUE(Call(Login("192.0.2.1"), &response).ok());
  EXPECT_EQ(response.statuses(0).limit_remaining(), 2u);
}

TEST_F(EnvoyRateLimitServiceTest, DecisionsAreAuditedAsShouldRateLimit) {
  rls::RateLimitResponse response;
  ASSERT_TRUE(Call(Login("192.0.2.1", "ann"), &response).ok());
  absl::StatusOr<std::vector<AuditEvent>> events = store_.Read(1, 10);
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 2u);
  for (const AuditEvent& e : *events) {
    EXPECT_EQ(RpcOf(e), "ShouldRateLimit");
    EXPECT_EQ(e.op, Operation::kCheck);
    EXPECT_EQ(e.client_id, "envoy");
    EXPECT_EQ(e.context.at("domain"), "edge");
  }
  // Refusals too.
  EXPECT_FALSE(Call(Login("192.0.2.1"), &response, kPeekToken).ok());
  events = store_.Read(3, 10);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ(RpcOf((*events)[0]), "ShouldRateLimit");
  EXPECT_FALSE((*events)[0].refusal.empty());
  EXPECT_EQ(metrics_.grpc_requests_total
                .WithLabels({"ShouldRateLimit", "PERMISSION_DENIED"})
                .Value(),
            1u);
}

TEST_F(EnvoyRateLimitServiceTest, ShadowPolicyNeverAnswersOverLimit) {
  rls::RateLimitRequest request;
  request.set_domain("edge");
  Add(&request, {{"generic_key", "signup"}, {"remote_address", "192.0.2.5"}});
  rls::RateLimitResponse response;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(Call(request, &response).ok());
    EXPECT_EQ(response.overall_code(), rls::RateLimitResponse::OK);
  }
  // What enforce mode would have said is in the metrics.
  EXPECT_EQ(
      metrics_.decisions_total.WithLabels({"signup_ip", "check", "shadow_deny"})
          .Value(),
      2u);
}

TEST_F(EnvoyRateLimitServiceTest, LockoutsApplyAsForCheck) {
  rls::RateLimitResponse response;
  rls::RateLimitRequest user = Login("192.0.2.1");
  user.clear_descriptors();
  Add(&user, {{"generic_key", "login"}, {"user", "bob"}});
  ASSERT_TRUE(Call(user, &response).ok());
  ASSERT_TRUE(Call(user, &response).ok());
  ASSERT_TRUE(Call(user, &response).ok());
  ASSERT_EQ(response.overall_code(), rls::RateLimitResponse::OVER_LIMIT);
  // Past the 15-minute window, the 30-minute lockout still holds.
  clock_.Advance(absl::Minutes(16));
  ASSERT_TRUE(Call(user, &response).ok());
  EXPECT_EQ(response.overall_code(), rls::RateLimitResponse::OVER_LIMIT);
  EXPECT_GE(response.statuses(0).duration_until_reset().seconds(), 13 * 60);
}

}  // namespace
}  // namespace gatehouse
