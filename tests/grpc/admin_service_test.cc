// gatehouse.v1.Admin in process on port 0, over an in-memory store: the
// admin scope, field names in errors, and what each call answers and
// audits.

#include "service/grpc/admin_service.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "gatehouse/v1/admin.grpc.pb.h"
#include "gatehouse/v1/ratelimit.grpc.pb.h"
#include "service/auth/authenticator.h"
#include "service/clock/simulated_clock.h"
#include "service/config/policy_file.h"
#include "service/core/in_memory_counter_store.h"
#include "service/core/limiter.h"
#include "service/core/pseudonymizer.h"
#include "service/grpc/call_pipeline.h"
#include "service/grpc/rate_limiter_service.h"
#include "tests/testing/fault_injecting_counter_store.h"
#include "tests/testing/in_process_server.h"

namespace gatehouse {
namespace {

constexpr char kPolicies[] = R"(
policies:
  - name: login_user
    dimensions: [user]
    limit: 2
    window: 15m
    lockout: {duration: 30m}
  - name: login_ip
    dimensions: [ip]
    limit: 100
    window: 1m
    exempt: [10.0.0.0/8]
)";

constexpr char kAdminToken[] = "admin-token-00112233445566778899aabbccddeeff";
constexpr char kAppToken[] = "app-token-ffeeddccbbaa99887766554433221100";
constexpr char kScopedToken[] = "scoped-token-0123456789abcdef0123456789abcd";

std::string CredentialsYaml() {
  return "clients:\n"
         "  - id: oncall\n"
         "    token_sha256: [" +
         HexEncode(Sha256(kAdminToken)) +
         "]\n"
         "    scopes: [admin]\n"
         "  - id: app\n"
         "    token_sha256: [" +
         HexEncode(Sha256(kAppToken)) +
         "]\n"
         "    scopes: [check, peek, record, reset, audit]\n"
         "  - id: ip_oncall\n"
         "    token_sha256: [" +
         HexEncode(Sha256(kScopedToken)) +
         "]\n"
         "    scopes: [admin]\n"
         "    policies: [login_ip]\n";
}

class AdminServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto policies = ParsePolicyYaml(kPolicies, "test");
    ASSERT_TRUE(policies.ok()) << policies.status();
    limiter_ = std::make_unique<Limiter>(&clock_, &faults_, *policies,
                                         &pseudonymizer_);
    auto credentials = Credentials::Parse(CredentialsYaml(), "test");
    ASSERT_TRUE(credentials.ok()) << credentials.status();
    authenticator_ = std::make_unique<Authenticator>(*credentials);
    CallPipelineOptions options;
    options.limiter = limiter_.get();
    options.authenticator = authenticator_.get();
    pipeline_ = std::make_unique<CallPipeline>(options);
    admin_ = std::make_unique<AdminService>(pipeline_.get());
    streams_.log = &memory_;
    streams_.authenticator = authenticator_.get();
    decisions_ =
        std::make_unique<RateLimiterService>(pipeline_.get(), streams_);
    server_ = testing::InProcessServer::Start({admin_.get(), decisions_.get()});
    ASSERT_NE(server_, nullptr);
    stub_ = v1::Admin::NewStub(server_->channel());
    decide_ = v1::RateLimiter::NewStub(server_->channel());
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
  }

  static void Authorize(grpc::ClientContext& ctx, const char* token) {
    ctx.AddMetadata("authorization", std::string("Bearer ") + token);
  }
  static v1::Subject User(const std::string& user) {
    v1::Subject s;
    s.set_policy("login_user");
    (*s.mutable_key())["user"] = user;
    return s;
  }
  static v1::Subject Ip(const std::string& ip) {
    v1::Subject s;
    s.set_policy("login_ip");
    (*s.mutable_key())["ip"] = ip;
    return s;
  }

  grpc::Status Block(const v1::Subject& subject, const std::string& reason,
                     int64_t seconds, v1::BlockResponse* out,
                     const char* token = kAdminToken) {
    grpc::ClientContext ctx;
    Authorize(ctx, token);
    v1::BlockRequest request;
    *request.mutable_subject() = subject;
    request.set_reason(reason);
    if (seconds > 0) request.mutable_duration()->set_seconds(seconds);
    return stub_->Block(&ctx, request, out);
  }
  grpc::Status List(const std::string& policy, uint32_t page_size,
                    const std::string& token, v1::ListLockoutsResponse* out,
                    const char* bearer = kAdminToken) {
    grpc::ClientContext ctx;
    Authorize(ctx, bearer);
    v1::ListLockoutsRequest request;
    request.set_policy(policy);
    request.set_page_size(page_size);
    request.set_page_token(token);
    return stub_->ListLockouts(&ctx, request, out);
  }
  v1::Verdict Check(const v1::Subject& subject) {
    grpc::ClientContext ctx;
    Authorize(ctx, kAppToken);
    v1::CheckRequest request;
    *request.add_subjects() = subject;
    v1::CheckResponse response;
    const grpc::Status status = decide_->Check(&ctx, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.verdicts_size() == 1 ? response.verdicts(0) : v1::Verdict{};
  }
  AuditEvent Event(uint64_t sequence) {
    auto events = memory_.Read(sequence, 1);
    EXPECT_TRUE(events.ok() && events->size() == 1);
    return events.ok() && !events->empty() ? events->front() : AuditEvent{};
  }

  SimulatedClock clock_{absl::FromUnixSeconds(1'700'000'000)};
  InMemoryCounterStore memory_;
  testing::FaultInjectingCounterStore faults_{&memory_};
  Pseudonymizer pseudonymizer_{"0123456789abcdef0123456789abcdef"};
  std::unique_ptr<Limiter> limiter_;
  std::unique_ptr<Authenticator> authenticator_;
  std::unique_ptr<CallPipeline> pipeline_;
  AuditStreamOptions streams_;
  std::unique_ptr<AdminService> admin_;
  std::unique_ptr<RateLimiterService> decisions_;
  std::unique_ptr<testing::InProcessServer> server_;
  std::unique_ptr<v1::Admin::Stub> stub_;
  std::unique_ptr<v1::RateLimiter::Stub> decide_;
};

TEST_F(AdminServiceTest, BlockDeniesListsAndAuditsTheOperator) {
  v1::BlockResponse blocked;
  const grpc::Status status =
      Block(Ip("203.0.113.7"), "stuffing, INC-9", 3600, &blocked);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_FALSE(blocked.permanent());
  EXPECT_EQ(blocked.locked_until().seconds(), 1'700'000'000 + 3600);
  EXPECT_EQ(Check(Ip("203.0.113.7")).decision(), v1::Verdict::DENY);

  v1::ListLockoutsResponse listed;
  ASSERT_TRUE(List("", 0, "", &listed).ok());
  ASSERT_EQ(listed.lockouts_size(), 1);
  const v1::Lockout& l = listed.lockouts(0);
  EXPECT_EQ(l.subject().policy(), "login_ip");
  EXPECT_EQ(l.subject().key().at("ip"), "203.0.113.7");
  EXPECT_EQ(l.reason(), "stuffing, INC-9");
  EXPECT_EQ(l.blocked_by(), "oncall");
  EXPECT_EQ(l.locked_at().seconds(), 1'700'000'000);
  EXPECT_TRUE(listed.next_page_token().empty());

  const AuditEvent e = Event(blocked.audit_sequence());
  EXPECT_EQ(RpcOf(e), "Block");
  EXPECT_EQ(e.client_id, "oncall");
  EXPECT_EQ(e.operator_reason, "stuffing, INC-9");
}

TEST_F(AdminServiceTest, ListedPersonalDimensionsArePseudonyms) {
  for (int i = 0; i < 2; ++i) Check(User("alice@example.com"));
  v1::ListLockoutsResponse listed;
  ASSERT_TRUE(List("login_user", 10, "", &listed).ok());
  ASSERT_EQ(listed.lockouts_size(), 1);
  const std::string shown = listed.lockouts(0).subject().key().at("user");
  EXPECT_NE(shown, "alice@example.com");
  EXPECT_FALSE(absl::StrContains(shown, "alice"));
  EXPECT_EQ(listed.lockouts(0).reason(), "ceiling hit (offence 1)");
  EXPECT_EQ(listed.lockouts(0).blocked_by(), "");
}

TEST_F(AdminServiceTest, UnblockAndInspectAnswerForARealUser) {
  for (int i = 0; i < 2; ++i) Check(User("bob@example.com"));
  grpc::ClientContext ctx;
  Authorize(ctx, kAdminToken);
  v1::InspectRequest inspect;
  *inspect.mutable_subject() = User("bob@example.com");
  v1::InspectResponse seen;
  ASSERT_TRUE(stub_->Inspect(&ctx, inspect, &seen).ok());
  EXPECT_EQ(seen.count(), 2u);
  EXPECT_EQ(seen.limit(), 2u);
  EXPECT_EQ(seen.offences(), 1u);
  EXPECT_EQ(seen.locked_until().seconds(), 1'700'000'000 + 1800);
  EXPECT_FALSE(seen.permanent());
  EXPECT_FALSE(seen.empty());
  EXPECT_EQ(seen.buckets_size(), 1);
  EXPECT_GT(seen.last_audit_sequence(), 0u);
  EXPECT_EQ(seen.window().seconds(), 900);

  grpc::ClientContext ctx2;
  Authorize(ctx2, kAdminToken);
  v1::UnblockRequest unblock;
  *unblock.mutable_subject() = User("bob@example.com");
  unblock.set_reason("identity verified, ticket 77");
  v1::UnblockResponse unblocked;
  ASSERT_TRUE(stub_->Unblock(&ctx2, unblock, &unblocked).ok());
  EXPECT_TRUE(unblocked.was_locked());
  EXPECT_EQ(Check(User("bob@example.com")).decision(), v1::Verdict::ALLOW);
  EXPECT_EQ(Event(unblocked.audit_sequence()).operator_reason,
            "identity verified, ticket 77");
}

TEST_F(AdminServiceTest, OnlyTheAdminScopeOnThePolicyMayCall) {
  const uint64_t head = memory_.HeadSequence();
  v1::BlockResponse blocked;
  grpc::Status status = Block(Ip("203.0.113.7"), "x", 60, &blocked, kAppToken);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  status = Block(User("alice"), "x", 60, &blocked, kScopedToken);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  status = Block(Ip("203.0.113.7"), "x", 60, &blocked, "not-a-token");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  v1::ListLockoutsResponse listed;
  EXPECT_EQ(List("", 0, "", &listed, kScopedToken).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(List("login_ip", 0, "", &listed, kScopedToken).ok());
  EXPECT_EQ(Check(Ip("203.0.113.7")).decision(), v1::Verdict::ALLOW);
  // The refusals are audited, as the Block they were.
  const AuditEvent refused = Event(head + 1);
  EXPECT_EQ(RpcOf(refused), "Block");
  EXPECT_FALSE(refused.refusal.empty());
}

TEST_F(AdminServiceTest, BadRequestsNameTheField) {
  v1::BlockResponse blocked;
  grpc::Status status = Block(Ip("203.0.113.7"), "", 60, &blocked);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StartsWith(status.error_message(), "reason:"))
      << status.error_message();
  status = Block(Ip("not-an-ip"), "x", 60, &blocked);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StartsWith(status.error_message(), "subject.key"))
      << status.error_message();
  v1::Subject unknown = Ip("203.0.113.7");
  unknown.set_policy("nope");
  status = Block(unknown, "x", 60, &blocked);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(absl::StartsWith(status.error_message(), "subject.policy"))
      << status.error_message();
  v1::ListLockoutsResponse listed;
  status = List("", 5000, "", &listed);
  EXPECT_TRUE(absl::StartsWith(status.error_message(), "page_size"));
  status = List("", 5, "bm90IGEgdG9rZW4", &listed);
  EXPECT_TRUE(absl::StartsWith(status.error_message(), "page_token"));
}

TEST_F(AdminServiceTest, PagesFollowTheirTokens) {
  for (int i = 0; i < 5; ++i) {
    v1::BlockResponse blocked;
    ASSERT_TRUE(
        Block(Ip("198.51.100." + std::to_string(i)), "scan", 600, &blocked)
            .ok());
    clock_.Advance(absl::Seconds(1));
  }
  std::vector<std::string> seen;
  std::string token;
  do {
    v1::ListLockoutsResponse page;
    ASSERT_TRUE(List("login_ip", 2, token, &page).ok());
    for (const v1::Lockout& l : page.lockouts()) {
      seen.push_back(l.subject().key().at("ip"));
    }
    token = page.next_page_token();
  } while (!token.empty() && seen.size() < 10);
  EXPECT_EQ(seen, (std::vector<std::string>{"198.51.100.4", "198.51.100.3",
                                            "198.51.100.2", "198.51.100.1",
                                            "198.51.100.0"}));
}

TEST_F(AdminServiceTest, ABlockedExemptAddressIsStillAllowedAndSaysSo) {
  v1::BlockResponse blocked;
  ASSERT_TRUE(Block(Ip("10.1.2.3"), "test", 0, &blocked).ok());
  EXPECT_TRUE(blocked.exempt());
  EXPECT_TRUE(blocked.permanent());
  EXPECT_EQ(Check(Ip("10.1.2.3")).decision(), v1::Verdict::ALLOW);
}

}  // namespace
}  // namespace gatehouse
