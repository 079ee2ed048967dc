// RateLimiter/Batch in-process: per-item semantics, authorization, caps,
// metrics and audit events as the unary calls would have them.

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/grpc/service_fixture.h"

namespace gatehouse {
namespace {

using grpc_test::kFullToken;
using grpc_test::kPeekToken;

class BatchServiceTest : public grpc_test::RateLimiterServiceTest {
 protected:
  template <typename RequestProto>
  static RequestProto Make(const std::string& policy,
                           std::map<std::string, std::string> key,
                           uint64_t hits = 0) {
    RequestProto request;
    AddSubject(request.mutable_subjects(), policy, std::move(key), hits);
    return request;
  }
  static v1::CheckRequest LoginIp(const std::string& ip, uint64_t hits = 0) {
    return Make<v1::CheckRequest>("login_ip", {{"ip", ip}}, hits);
  }
  static std::map<std::string, std::string> UserIp(const std::string& ip) {
    return {{"user", "alice@example.com"}, {"ip", ip}};
  }

  grpc::Status Batch(const std::string& token, const v1::BatchRequest& request,
                     v1::BatchResponse* response) {
    return stub_->Batch(Context(token).get(), request, response);
  }

  uint64_t Decisions(const char* policy, const char* rpc,
                     const char* decision) {
    return Counter(metrics_.decisions_total, {policy, rpc, decision});
  }
};

TEST_F(BatchServiceTest, AnswersEveryItemInOrderWithTheResponseOfItsKind) {
  v1::BatchRequest request;
  *request.add_items()->mutable_check() = LoginIp("203.0.113.7");
  *request.add_items()->mutable_record() =
      Make<v1::RecordRequest>("failed_auth_user_ip", UserIp("203.0.113.7"));
  *request.add_items()->mutable_peek() =
      Make<v1::PeekRequest>("failed_auth_user_ip", UserIp("203.0.113.7"));
  *request.add_items()->mutable_reset() =
      Make<v1::ResetRequest>("failed_auth_user_ip", UserIp("203.0.113.7"));
  *request.add_items()->mutable_check() = LoginIp("203.0.113.7", 2);

  v1::BatchResponse response;
  grpc::Status status = Batch(kFullToken, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.results_size(), 5);
  for (const v1::BatchResult& r : response.results()) {
    EXPECT_EQ(r.status().code(), 0) << r.status().message();
  }
  EXPECT_EQ(response.results(0).response_case(), v1::BatchResult::kCheck);
  EXPECT_EQ(response.results(1).response_case(), v1::BatchResult::kRecord);
  EXPECT_EQ(response.results(2).response_case(), v1::BatchResult::kPeek);
  EXPECT_EQ(response.results(3).response_case(), v1::BatchResult::kReset);
  EXPECT_EQ(response.results(4).response_case(), v1::BatchResult::kCheck);
  EXPECT_EQ(response.results(0).check().verdicts(0).count(), 1u);
  EXPECT_EQ(response.results(1).record().verdicts(0).count(), 1u);
  // Later items see earlier ones.
  EXPECT_EQ(response.results(2).peek().verdicts(0).count(), 1u);
  EXPECT_EQ(response.results(3).reset().verdicts(0).count(), 0u);
  EXPECT_TRUE(response.results(4).check().allowed());
  EXPECT_EQ(response.results(4).check().verdicts(0).count(), 3u);
  EXPECT_TRUE(response.results(4).check().verdicts(0).ceiling_hit());
  EXPECT_NE(response.results(4).check().verdicts(0).audit_sequence(), 0u);
}

TEST_F(BatchServiceTest, EachItemIsAllOrNothingOnItsOwn) {
  v1::BatchRequest request;
  // Fills 198.51.100.1 to its limit of 3.
  *request.add_items()->mutable_check() = LoginIp("198.51.100.1", 3);
  // Denied on .1, so .2 is not counted either.
  v1::CheckRequest both = LoginIp("198.51.100.1");
  AddSubject(both.mutable_subjects(), "login_ip", {{"ip", "198.51.100.2"}});
  *request.add_items()->mutable_check() = both;
  // An independent item on .2 is allowed and counts.
  *request.add_items()->mutable_check() = LoginIp("198.51.100.2");

  v1::BatchResponse response;
  ASSERT_TRUE(Batch(kFullToken, request, &response).ok());
  ASSERT_EQ(response.results_size(), 3);
  EXPECT_TRUE(response.results(0).check().allowed());
  const v1::CheckResponse& denied = response.results(1).check();
  EXPECT_FALSE(denied.allowed());
  EXPECT_EQ(denied.verdicts(0).decision(), v1::Verdict::DENY);
  EXPECT_EQ(denied.verdicts(1).decision(), v1::Verdict::ALLOW);
  EXPECT_EQ(denied.verdicts(1).count(), 0u);
  EXPECT_TRUE(response.results(2).check().allowed());
  EXPECT_EQ(response.results(2).check().verdicts(0).count(), 1u);
}

TEST_F(BatchServiceTest, InvalidItemFailsAloneNamingItsFieldAndCountsNothing) {
  v1::BatchRequest request;
  *request.add_items()->mutable_check() = LoginIp("203.0.113.7");
  v1::RecordRequest bad = Make<v1::RecordRequest>(
      "failed_auth_user_ip", UserIp("203.0.113.9"));  // Valid ...
  AddSubject(bad.mutable_subjects(), "login_ip", {{"ip", "not-an-ip"}});
  *request.add_items()->mutable_record() = bad;
  request.add_items();  // No request at all.
  *request.add_items()->mutable_peek() =
      Make<v1::PeekRequest>("no_such_policy", {{"ip", "10.0.0.1"}});
  *request.add_items()->mutable_check() = LoginIp("203.0.113.7");

  v1::BatchResponse response;
  ASSERT_TRUE(Batch(kFullToken, request, &response).ok());
  ASSERT_EQ(response.results_size(), 5);
  EXPECT_EQ(response.results(0).status().code(), grpc::StatusCode::OK);
  EXPECT_EQ(response.results(1).status().code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(response.results(1).status().message().rfind("subjects[1].key", 0),
            0u)
      << response.results(1).status().message();
  EXPECT_EQ(response.results(1).response_case(),
            v1::BatchResult::RESPONSE_NOT_SET);
  EXPECT_EQ(response.results(2).status().code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(response.results(2).status().message().rfind("items[2]", 0), 0u);
  EXPECT_EQ(response.results(3).status().code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(response.results(4).check().verdicts(0).count(), 2u);
  // Only the two valid Checks were counted and audited.
  EXPECT_EQ(store_.size(), 1u);
  EXPECT_EQ(store_.HeadSequence(), 2u);
  EXPECT_EQ(Counter(metrics_.batch_items_total, {"check", "OK"}), 2u);
  EXPECT_EQ(Counter(metrics_.batch_items_total, {"record", "INVALID_ARGUMENT"}),
            1u);
  // An item of no kind is counted as a check.
  EXPECT_EQ(Counter(metrics_.batch_items_total, {"check", "INVALID_ARGUMENT"}),
            1u);
  EXPECT_EQ(Counter(metrics_.batch_items_total, {"peek", "NOT_FOUND"}), 1u);
  EXPECT_EQ(Counter(metrics_.grpc_requests_total, {"Batch", "OK"}), 1u);
}

TEST_F(BatchServiceTest, ItemTheCallerMayNotDoIsPermissionDeniedAlone) {
  v1::BatchRequest request;
  *request.add_items()->mutable_peek() =
      Make<v1::PeekRequest>("login_ip", {{"ip", "10.0.0.1"}});
  // The reader has no check scope ...
  *request.add_items()->mutable_check() = LoginIp("10.0.0.1");
  // ... and may not use this policy.
  *request.add_items()->mutable_peek() =
      Make<v1::PeekRequest>("failed_auth_user_ip", UserIp("10.0.0.1"));
  *request.add_items()->mutable_peek() =
      Make<v1::PeekRequest>("login_ip", {{"ip", "10.0.0.2"}});

  v1::BatchResponse response;
  ASSERT_TRUE(Batch(kPeekToken, request, &response).ok());
  ASSERT_EQ(response.results_size(), 4);
  EXPECT_EQ(response.results(0).status().code(), grpc::StatusCode::OK);
  EXPECT_TRUE(response.results(0).peek().allowed());
  EXPECT_EQ(response.results(1).status().code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(response.results(2).status().code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(response.results(3).status().code(), grpc::StatusCode::OK);
  EXPECT_EQ(store_.size(), 0u);
  EXPECT_EQ(Counter(metrics_.auth_failures_total, {"missing_scope"}), 1u);
  EXPECT_EQ(Counter(metrics_.auth_failures_total, {"policy_not_allowed"}), 1u);
  // Each refusal is audited as its unary call's would be, naming the caller.
  absl::StatusOr<std::vector<AuditEvent>> events = store_.Read(1, 10);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].op, Operation::kCheck);
  EXPECT_EQ((*events)[0].refusal.rfind("PERMISSION_DENIED: ", 0), 0u);
  EXPECT_EQ((*events)[0].client_id, "reader");
  EXPECT_EQ((*events)[1].op, Operation::kPeek);
  EXPECT_EQ(Counter(metrics_.grpc_requests_total, {"Batch", "OK"}), 1u);
  EXPECT_EQ(Counter(metrics_.batch_items_total, {"peek", "OK"}), 2u);
  EXPECT_EQ(Counter(metrics_.batch_items_total, {"check", "PERMISSION_DENIED"}),
            1u);
  EXPECT_EQ(Counter(metrics_.batch_items_total, {"peek", "PERMISSION_DENIED"}),
            1u);
}

TEST_F(BatchServiceTest, MissingOrUnknownTokenFailsTheWholeCallAuditedOnce) {
  v1::BatchRequest request;
  for (int i = 0; i < 3; ++i) {
    *request.add_items()->mutable_record() =
        Make<v1::RecordRequest>("login_ip", {{"ip", "10.0.0.1"}});
  }
  v1::BatchResponse response;
  EXPECT_EQ(Batch("", request, &response).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Batch("not-a-known-token", request, &response).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(store_.size(), 0u);
  EXPECT_EQ(store_.HeadSequence(), 2u);  // One refusal per call, not per item.
  EXPECT_EQ(Counter(metrics_.auth_failures_total, {"missing_token"}), 1u);
  EXPECT_EQ(Counter(metrics_.auth_failures_total, {"unknown_token"}), 1u);
  EXPECT_EQ(Counter(metrics_.grpc_requests_total, {"Batch", "UNAUTHENTICATED"}),
            2u);
}

TEST_F(BatchServiceTest,
       OverTheCapsIsInvalidArgumentNamingItemsAndCountsNothing) {
  v1::BatchRequest empty;
  v1::BatchRequest too_many;
  for (size_t i = 0; i <= kMaxBatchItems; ++i) {
    *too_many.add_items()->mutable_check() = LoginIp("10.0.0.1");
  }
  v1::BatchRequest too_many_subjects;
  v1::CheckRequest wide;
  for (size_t i = 0; i < kMaxSubjects; ++i) {
    AddSubject(wide.mutable_subjects(), "login_ip",
               {{"ip", absl::StrCat("10.0.1.", i)}});
  }
  for (size_t i = 0; i <= kMaxBatchSubjects / kMaxSubjects; ++i) {
    *too_many_subjects.add_items()->mutable_check() = wide;
  }
  for (const v1::BatchRequest* request :
       {&empty, &too_many, &too_many_subjects}) {
    v1::BatchResponse response;
    grpc::Status status = Batch(kFullToken, *request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(status.error_message().rfind("items: ", 0), 0u)
        << status.error_message();
  }
  EXPECT_EQ(store_.size(), 0u);
  EXPECT_EQ(store_.HeadSequence(), 0u);

  // Exactly at the caps is fine.
  v1::BatchRequest at_caps;
  for (size_t i = 0; i < kMaxBatchSubjects / kMaxSubjects; ++i) {
    *at_caps.add_items()->mutable_peek()->mutable_subjects() = wide.subjects();
  }
  v1::BatchResponse response;
  ASSERT_TRUE(Batch(kFullToken, at_caps, &response).ok());
  EXPECT_EQ(response.results_size(),
            static_cast<int>(kMaxBatchSubjects / kMaxSubjects));
}

TEST_F(BatchServiceTest, OverloadedServerShedsTheWholeCallCountingNothing) {
  InflightLimit limit(1);
  CallPipelineOptions options;
  options.limiter = limiter_.get();
  options.authenticator = authenticator_.get();
  options.metrics = &call_metrics_;
  options.inflight = &limit;
  const CallPipeline pipeline(options);
  RateLimiterService shedding(&pipeline, StreamOptions());
  const InflightLimit::Permit busy = limit.TryAcquire();
  ASSERT_TRUE(busy);
  v1::BatchRequest request;
  *request.add_items()->mutable_record() =
      Make<v1::RecordRequest>("login_ip", {{"ip", "10.0.0.1"}});
  std::unique_ptr<testing::InProcessServer> server =
      testing::InProcessServer::Start({&shedding});
  ASSERT_NE(server, nullptr);
  grpc::ClientContext context;
  context.AddMetadata("authorization", std::string("Bearer ") + kFullToken);
  v1::BatchResponse response;
  const grpc::Status status = v1::RateLimiter::NewStub(server->channel())
                                  ->Batch(&context, request, &response);
  server->Shutdown();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(response.results_size(), 0);
  EXPECT_EQ(store_.size(), 0u);
  EXPECT_EQ(store_.HeadSequence(), 0u);
  EXPECT_EQ(
      Counter(metrics_.grpc_requests_total, {"Batch", "RESOURCE_EXHAUSTED"}),
      1u);
}

// The sign-in flow's calls, once as unary calls on one IP and once as one
// batch on another: metrics and audit events must move the same way.
TEST_F(BatchServiceTest, MetricsAndAuditEventsCountEachItemAsItsUnaryCall) {
  struct Counts {
    uint64_t check_allow, check_deny, peek_allow, peek_deny, record_allow,
        record_deny, ceilings, lockouts;
  };
  auto counts = [&] {
    return Counts{Decisions("login_ip", "check", "allow"),
                  Decisions("login_ip", "check", "deny"),
                  Decisions("failed_auth_user_ip", "peek", "allow"),
                  Decisions("failed_auth_user_ip", "peek", "deny"),
                  Decisions("failed_auth_user_ip", "record", "allow"),
                  Decisions("failed_auth_user_ip", "record", "deny"),
                  Counter(metrics_.ceiling_hits_total, {"failed_auth_user_ip"}),
                  Counter(metrics_.lockouts_total, {"failed_auth_user_ip"})};
  };
  auto items = [&](const std::string& ip) {
    std::vector<v1::BatchItem> out(9);
    for (int i = 0; i < 4; ++i) *out[i].mutable_check() = LoginIp(ip);
    *out[4].mutable_peek() =
        Make<v1::PeekRequest>("failed_auth_user_ip", UserIp(ip));
    *out[5].mutable_record() =
        Make<v1::RecordRequest>("failed_auth_user_ip", UserIp(ip));
    *out[6].mutable_record() =
        Make<v1::RecordRequest>("failed_auth_user_ip", UserIp(ip));
    *out[7].mutable_peek() =
        Make<v1::PeekRequest>("failed_auth_user_ip", UserIp(ip));
    *out[8].mutable_reset() =
        Make<v1::ResetRequest>("failed_auth_user_ip", UserIp(ip));
    return out;
  };

  const Counts zero = counts();
  for (const v1::BatchItem& item : items("10.0.0.1")) {
    grpc::Status status;
    if (item.has_check()) {
      v1::CheckResponse r;
      status = stub_->Check(Context(kFullToken).get(), item.check(), &r);
    } else if (item.has_peek()) {
      v1::PeekResponse r;
      status = stub_->Peek(Context(kFullToken).get(), item.peek(), &r);
    } else if (item.has_record()) {
      v1::RecordResponse r;
      status = stub_->Record(Context(kFullToken).get(), item.record(), &r);
    } else {
      v1::ResetResponse r;
      status = stub_->Reset(Context(kFullToken).get(), item.reset(), &r);
    }
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  const Counts unary = counts();
  const uint64_t unary_events = store_.HeadSequence();

  v1::BatchRequest request;
  for (const v1::BatchItem& item : items("10.0.0.2")) {
    *request.add_items() = item;
  }
  v1::BatchResponse response;
  ASSERT_TRUE(Batch(kFullToken, request, &response).ok());
  const Counts batch = counts();

  // The unary run itself moved the counters (so the comparison can fail).
  EXPECT_EQ(unary.check_allow - zero.check_allow, 3u);
  EXPECT_EQ(unary.check_deny - zero.check_deny, 1u);
  EXPECT_EQ(unary.ceilings - zero.ceilings, 1u);
  EXPECT_EQ(unary.lockouts - zero.lockouts, 1u);
  EXPECT_EQ(batch.check_allow - unary.check_allow,
            unary.check_allow - zero.check_allow);
  EXPECT_EQ(batch.check_deny - unary.check_deny,
            unary.check_deny - zero.check_deny);
  EXPECT_EQ(batch.peek_allow - unary.peek_allow,
            unary.peek_allow - zero.peek_allow);
  EXPECT_EQ(batch.peek_deny - unary.peek_deny,
            unary.peek_deny - zero.peek_deny);
  EXPECT_EQ(batch.record_allow - unary.record_allow,
            unary.record_allow - zero.record_allow);
  EXPECT_EQ(batch.record_deny - unary.record_deny,
            unary.record_deny - zero.record_deny);
  EXPECT_EQ(batch.ceilings - unary.ceilings, unary.ceilings - zero.ceilings);
  EXPECT_EQ(batch.lockouts - unary.lockouts, unary.lockouts - zero.lockouts);

  // Audit events: the same number, and the same op, decision and count each.
  const uint64_t batch_events = store_.HeadSequence() - unary_events;
  ASSERT_EQ(batch_events, unary_events);
  absl::StatusOr<std::vector<AuditEvent>> events =
      store_.Read(1, 2 * unary_events);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 2 * unary_events);
  for (uint64_t i = 0; i < unary_events; ++i) {
    SCOPED_TRACE(i);
    const AuditEvent& u = (*events)[i];
    const AuditEvent& b = (*events)[unary_events + i];
    EXPECT_EQ(b.op, u.op);
    EXPECT_EQ(b.policy, u.policy);
    EXPECT_EQ(b.decision, u.decision);
    EXPECT_EQ(b.count, u.count);
    EXPECT_EQ(b.ceiling_hit, u.ceiling_hit);
    EXPECT_EQ(b.client_id, "api");
  }
  EXPECT_EQ(Counter(metrics_.grpc_requests_total, {"Batch", "OK"}), 1u);
  EXPECT_EQ(Counter(metrics_.grpc_requests_total, {"Check", "OK"}), 4u);
}

}  // namespace
}  // namespace gatehouse
