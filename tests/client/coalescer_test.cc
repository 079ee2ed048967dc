// Client coalescing against the real RateLimiter service in-process: many
// threads' calls go out as Batch RPCs, and every caller gets exactly the
// Result a unary call would give, within its own deadline. (Unlike the other
// client tests this links the service: "the same as unary" is a property of
// the pair.)

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "client/client.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "service/auth/authenticator.h"
#include "service/clock/simulated_clock.h"
#include "service/config/policy_file.h"
#include "service/core/in_memory_counter_store.h"
#include "service/core/limiter.h"
#include "service/grpc/call_metrics.h"
#include "service/grpc/rate_limiter_service.h"
#include "service/metrics/gatehouse_metrics.h"
#include "service/metrics/registry.h"
#include "tests/client/fake_rate_limiter.h"
#include "tests/testing/fault_injecting_counter_store.h"
#include "tests/testing/in_process_server.h"
#include "tests/testing/loopback_port.h"

namespace gatehouse {
namespace {

constexpr char kPolicies[] = R"(
policies:
  - name: login_ip
    dimensions: [ip]
    limit: 200
    window: 1m
  - name: failed_auth_user_ip
    dimensions: [user, ip]
    limit: 1000
    window: 15m
)";
constexpr char kToken[] = "coalesce-token-7c6b5a49382716f5e4d3c2b1a0f9e8d7";
constexpr char kReaderToken[] =
    "coalesce-reader-0f1e2d3c4b5a69788796a5b4c3d2e1f0";

// Long enough to never be hit on a loaded machine; the tests that are
// about deadlines set short ones explicitly.
constexpr absl::Duration kLongDeadline = absl::Seconds(30);

class CoalescerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto policies = ParsePolicyYaml(kPolicies, "test");
    ASSERT_TRUE(policies.ok()) << policies.status();
    limiter_ = std::make_unique<Limiter>(&clock_, &store_, *policies);
    auto credentials = Credentials::Parse(
        absl::StrCat("clients:\n  - id: api\n    token_sha256: [",
                     HexEncode(Sha256(kToken)),
                     "]\n    scopes: [check, peek, record, reset]\n"
                     "  - id: reader\n    token_sha256: [",
                     HexEncode(Sha256(kReaderToken)),
                     "]\n    scopes: [peek]\n"),
        "test");
    ASSERT_TRUE(credentials.ok()) << credentials.status();
    authenticator_ = std::make_unique<Authenticator>(*credentials);
    CallPipelineOptions pipeline;
    pipeline.limiter = limiter_.get();
    pipeline.authenticator = authenticator_.get();
    pipeline.metrics = &call_metrics_;
    pipeline_ = std::make_unique<CallPipeline>(pipeline);
    AuditStreamOptions streams;
    streams.log = &memory_;
    streams.authenticator = authenticator_.get();
    streams.metrics = &call_metrics_;
    service_ = std::make_unique<RateLimiterService>(pipeline_.get(), streams);
    server_ = testing::InProcessServer::Start({service_.get()});
    ASSERT_NE(server_, nullptr);
  }

  void TearDown() override {
    store_.SetCommitGateOpen(true);
    if (server_) server_->Shutdown();
  }

  std::unique_ptr<Client> MakeClient(absl::Duration linger,
                                     size_t max_batch = 64,
                                     std::string token = kToken,
                                     FailureMode mode = FailureMode::kFailOpen,
                                     std::string target = "") {
    ClientOptions options;
    options.target = target.empty() ? server_->address() : target;
    options.token = std::move(token);
    options.deadline = kLongDeadline;
    options.failure_mode = mode;
    options.coalesce_linger = linger;
    options.max_batch = max_batch;
    return Client::Create(std::move(options));
  }

  uint64_t Rpcs(const char* method, const char* code = "OK") {
    return metrics_.grpc_requests_total.WithLabels({method, code}).Value();
  }

  static v1::Subject Ip(const std::string& ip) {
    return Client::MakeSubject("login_ip", {{"ip", ip}});
  }
  static v1::Subject UserIp(const std::string& user) {
    return Client::MakeSubject("failed_auth_user_ip",
                               {{"user", user}, {"ip", "198.51.100.7"}});
  }

  SimulatedClock clock_;
  InMemoryCounterStore memory_;
  // Commits wait at its gate while closed, to hold a batch in flight.
  testing::FaultInjectingCounterStore store_{&memory_};
  std::unique_ptr<Limiter> limiter_;
  std::unique_ptr<Authenticator> authenticator_;
  metrics::Registry registry_;
  metrics::GatehouseMetrics metrics_{&registry_, "test"};
  CallMetrics call_metrics_{&metrics_};
  std::unique_ptr<CallPipeline> pipeline_;
  std::unique_ptr<RateLimiterService> service_;
  std::unique_ptr<testing::InProcessServer> server_;
};

TEST_F(CoalescerTest, SixtyFourThreadsGetUnaryAnswersFromFewerRpcs) {
  constexpr int kThreads = 64;
  constexpr int kRounds = 10;
  const auto client = MakeClient(absl::Milliseconds(5));

  absl::Mutex mu;
  std::vector<uint64_t> allowed_counts;  // Counts of allowed shared Checks.
  int denied = 0, failures = 0;
  std::vector<std::string> errors;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string user = absl::StrCat("user", t);
      for (int i = 1; i <= kRounds; ++i) {
        // Everyone competes for one IP's 200 admissions ...
        v1::CheckRequest check;
        *check.add_subjects() = Ip("203.0.113.7");
        const Client::Result checked = client->Check(check);
        // ... and counts its own failures, which only it touches.
        v1::RecordRequest record;
        *record.add_subjects() = UserIp(user);
        const Client::Result recorded = client->Record(record);
        v1::PeekRequest peek;
        *peek.add_subjects() = UserIp(user);
        const Client::Result peeked = client->Peek(peek);

        absl::MutexLock lock(&mu);
        for (const Client::Result* r : {&checked, &recorded, &peeked}) {
          if (!r->status.ok() || r->degraded || r->verdicts.size() != 1) {
            ++failures;
            errors.push_back(r->status.error_message());
          }
        }
        if (failures > 0) return;
        if (checked.allowed) {
          allowed_counts.push_back(checked.verdicts[0].count());
        } else {
          ++denied;
          EXPECT_EQ(checked.verdicts[0].count(), 200u);
        }
        EXPECT_EQ(recorded.verdicts[0].count(), static_cast<uint64_t>(i));
        EXPECT_EQ(peeked.verdicts[0].count(), static_cast<uint64_t>(i));
        EXPECT_NE(recorded.verdicts[0].audit_sequence(), 0u);
      }
    });
  }
  for (auto& thread : threads) thread.join();

  ASSERT_EQ(failures, 0) << errors.front();
  // Exactly the limit was admitted, each admission seeing its own count.
  ASSERT_EQ(allowed_counts.size(), 200u);
  EXPECT_EQ(
      std::set<uint64_t>(allowed_counts.begin(), allowed_counts.end()).size(),
      200u);
  EXPECT_EQ(denied, kThreads * kRounds - 200);
  EXPECT_EQ(Rpcs("Check") + Rpcs("Record") + Rpcs("Peek"), 0u);
  constexpr uint64_t kCalls = 3 * kThreads * kRounds;
  EXPECT_GT(Rpcs("Batch"), 0u);
  EXPECT_LT(Rpcs("Batch"), kCalls);
  // Every call was decided once: one decision per call.
  uint64_t decisions = 0;
  for (const char* rpc : {"check", "record", "peek"}) {
    for (const char* d : {"allow", "deny"}) {
      for (const char* p : {"login_ip", "failed_auth_user_ip"}) {
        decisions += metrics_.decisions_total.WithLabels({p, rpc, d}).Value();
      }
    }
  }
  EXPECT_EQ(decisions, kCalls);
}

TEST_F(CoalescerTest, ZeroLingerSendsOneUnaryRpcPerCall) {
  const auto client = MakeClient(absl::ZeroDuration());
  v1::CheckRequest check;
  *check.add_subjects() = Ip("203.0.113.7");
  v1::ResetRequest reset;
  *reset.add_subjects() = UserIp("alice");
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(client->Check(check).status.ok());
    ASSERT_TRUE(client->Reset(reset).status.ok());
  }
  EXPECT_EQ(Rpcs("Check"), 3u);
  EXPECT_EQ(Rpcs("Reset"), 3u);
  EXPECT_EQ(Rpcs("Batch"), 0u);
}

TEST_F(CoalescerTest, ErrorsGiveTheSameResultsAsUnaryCalls) {
  v1::CheckRequest unknown_policy;
  *unknown_policy.add_subjects() = Client::MakeSubject("nope", {{"ip", "::1"}});
  v1::CheckRequest bad_ip;
  *bad_ip.add_subjects() = Ip("not-an-ip");
  v1::CheckRequest no_subjects;
  v1::CheckRequest fine;
  *fine.add_subjects() = Ip("203.0.113.9");
  struct Case {
    std::string token;
    v1::CheckRequest request;
    grpc::StatusCode code;
  };
  const std::vector<Case> cases = {
      {kToken, unknown_policy, grpc::StatusCode::NOT_FOUND},
      {kToken, bad_ip, grpc::StatusCode::INVALID_ARGUMENT},
      {kToken, no_subjects, grpc::StatusCode::INVALID_ARGUMENT},
      {kReaderToken, fine, grpc::StatusCode::PERMISSION_DENIED},
      {"unknown-token", fine, grpc::StatusCode::UNAUTHENTICATED}};
  for (const FailureMode mode :
       {FailureMode::kFailOpen, FailureMode::kFailClosed}) {
    for (const Case& c : cases) {
      SCOPED_TRACE(absl::StrCat(c.code, mode == FailureMode::kFailOpen
                                            ? " fail open"
                                            : " fail closed"));
      const Client::Result unary =
          MakeClient(absl::ZeroDuration(), 64, c.token, mode)->Check(c.request);
      const Client::Result coalesced =
          MakeClient(absl::Milliseconds(1), 64, c.token, mode)
              ->Check(c.request);
      EXPECT_EQ(unary.status.error_code(), c.code);
      EXPECT_EQ(coalesced.status.error_code(), unary.status.error_code());
      EXPECT_EQ(coalesced.status.error_message(), unary.status.error_message());
      EXPECT_EQ(coalesced.allowed, unary.allowed);
      EXPECT_EQ(coalesced.degraded, unary.degraded);
      EXPECT_FALSE(coalesced.degraded);
      EXPECT_TRUE(coalesced.verdicts.empty());
    }
  }
  EXPECT_EQ(memory_.size(), 0u);
  EXPECT_GT(Rpcs("Batch"), 0u);
}

TEST_F(CoalescerTest, UnreachableServiceIsDegradedByTheFailureMode) {
  const int port = gatehouse::testing::UnusedLoopbackPort();
  ASSERT_NE(port, 0);
  for (const FailureMode mode :
       {FailureMode::kFailOpen, FailureMode::kFailClosed}) {
    const auto client = MakeClient(absl::Milliseconds(1), 64, kToken, mode,
                                   absl::StrCat("127.0.0.1:", port));
    v1::CheckRequest check;
    *check.add_subjects() = Ip("203.0.113.7");
    const Client::Result result = client->Check(check, absl::Seconds(5));
    EXPECT_EQ(result.status.error_code(), grpc::StatusCode::UNAVAILABLE);
    EXPECT_TRUE(result.degraded);
    EXPECT_EQ(result.allowed, mode == FailureMode::kFailOpen);
  }
}

TEST_F(CoalescerTest, CallerWhoseDeadlinePassesGivesUpWhileItsBatchGoesOn) {
  // Two callers in one batch (max_batch 2; the linger never expires): one
  // with a short deadline, one with a long one. The batch is held in the
  // store until the first has given up.
  const auto client = MakeClient(absl::Hours(1), /*max_batch=*/2, kToken,
                                 FailureMode::kFailClosed);
  store_.SetCommitGateOpen(false);
  v1::RecordRequest impatient, patient;
  *impatient.add_subjects() = UserIp("impatient");
  *patient.add_subjects() = UserIp("patient");
  Client::Result short_result, long_result;
  std::thread short_caller(
      [&] { short_result = client->Record(impatient, absl::Seconds(1)); });
  std::thread long_caller(
      [&] { long_result = client->Record(patient, kLongDeadline); });
  store_.AwaitCommitAtGate();
  short_caller.join();  // Returns at its deadline, the batch still held.
  EXPECT_EQ(short_result.status.error_code(),
            grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_TRUE(short_result.degraded);
  EXPECT_FALSE(short_result.allowed);  // Fail closed.
  store_.SetCommitGateOpen(true);
  long_caller.join();
  ASSERT_TRUE(long_result.status.ok()) << long_result.status.error_message();
  EXPECT_TRUE(long_result.allowed);
  ASSERT_EQ(long_result.verdicts.size(), 1u);
  EXPECT_EQ(long_result.verdicts[0].count(), 1u);
  EXPECT_EQ(Rpcs("Batch"), 1u);
}

TEST_F(CoalescerTest, QueuedCallerWhoseDeadlinePassesIsNeverSent) {
  const auto client = MakeClient(absl::Hours(1));
  v1::RecordRequest record;
  *record.add_subjects() = UserIp("alice");
  const Client::Result result = client->Record(record, absl::Milliseconds(50));
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_TRUE(result.degraded);
  EXPECT_TRUE(result.allowed);                       // Fail open.
  const auto not_sent = MakeClient(absl::Hours(1));  // Another one, idle.
  EXPECT_EQ(Rpcs("Batch"), 0u);
  EXPECT_EQ(memory_.HeadSequence(), 0u);
}

TEST_F(CoalescerTest, DestroyingTheClientWithABatchStillInFlightReturns) {
  auto client = MakeClient(absl::Hours(1), /*max_batch=*/1);
  store_.SetCommitGateOpen(false);
  v1::RecordRequest record;
  *record.add_subjects() = UserIp("alice");
  const Client::Result result = client->Record(record, absl::Milliseconds(200));
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  store_.AwaitCommitAtGate();
  // The batch is still held by the server (its caller gave up): the
  // destructor cancels it and waits for its callback, without hanging.
  client.reset();
  store_.SetCommitGateOpen(true);
}

TEST(CoalescingOptionsTest, RejectsNegativeLingerAndBatchSizeOutOfRange) {
  ClientOptions negative;
  negative.coalesce_linger = -absl::Milliseconds(1);
  ClientOptions zero;
  zero.max_batch = 0;
  ClientOptions too_big;
  too_big.max_batch = 257;
  for (const auto& [options, field] :
       std::vector<std::pair<ClientOptions, std::string>>{
           {negative, "coalesce_linger: "},
           {zero, "max_batch: "},
           {too_big, "max_batch: "}}) {
    const absl::Status status = Client::ValidateOptions(options);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(std::string(status.message()).rfind(field, 0), 0u)
        << status.message();
  }
  ClientOptions on;
  on.coalesce_linger = absl::Microseconds(200);
  on.max_batch = 256;
  EXPECT_TRUE(Client::ValidateOptions(on).ok());
}

}  // namespace
}  // namespace gatehouse
