// The gRPC service in-process on port 0: wire mapping, error codes,
// authentication, health and reflection.

#include "service/grpc/rate_limiter_service.h"

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <memory>

#include "tests/grpc/service_fixture.h"

namespace gatehouse {
namespace {

using grpc_test::kFullToken;
using grpc_test::kPeekToken;
using grpc_test::RateLimiterServiceTest;

TEST_F(RateLimiterServiceTest, CheckAllowsUpToLimitThenDeniesWithRetryAfter) {
  v1::CheckRequest request;
  AddSubject(request.mutable_subjects(), "login_ip", {{"ip", "203.0.113.7"}});
  for (int i = 1; i <= 3; ++i) {
    v1::CheckResponse response;
    grpc::Status status =
        stub_->Check(Context(kFullToken).get(), request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_TRUE(response.allowed());
    ASSERT_EQ(response.verdicts_size(), 1);
    const v1::Verdict& v = response.verdicts(0);
    EXPECT_EQ(v.decision(), v1::Verdict::ALLOW);
    EXPECT_EQ(v.count(), static_cast<uint64_t>(i));
    EXPECT_EQ(v.limit(), 3u);
    EXPECT_EQ(v.remaining(), static_cast<uint64_t>(3 - i));
    EXPECT_EQ(v.retry_after().seconds(), 0);
    EXPECT_EQ(v.retry_after().nanos(), 0);
    EXPECT_EQ(v.ceiling_hit(), i == 3);
    EXPECT_EQ(v.policy(), "login_ip");
    EXPECT_EQ(v.window().seconds(), 60);
  }
  clock_.Advance(absl::Seconds(10));
  v1::CheckResponse denied;
  ASSERT_TRUE(stub_->Check(Context(kFullToken).get(), request, &denied).ok());
  EXPECT_FALSE(denied.allowed());
  const v1::Verdict& v = denied.verdicts(0);
  EXPECT_EQ(v.decision(), v1::Verdict::DENY);
  EXPECT_EQ(v.count(), 3u);
  EXPECT_EQ(v.remaining(), 0u);
  EXPECT_FALSE(v.ceiling_hit());
  // Hits at t0 leave the window 60s later (+ one 1s bucket): 51s from now.
  EXPECT_EQ(v.retry_after().seconds(), 51);
  EXPECT_EQ(v.reset_after().seconds(), 51);
}

TEST_F(RateLimiterServiceTest, RecordReportsCeilingAndLockoutOnTheWire) {
  v1::RecordRequest record;
  AddSubject(record.mutable_subjects(), "failed_auth_user_ip",
             {{"user", "alice@example.com"}, {"ip", "::ffff:198.51.100.4"}});
  v1::RecordResponse first, second;
  ASSERT_TRUE(stub_->Record(Context(kFullToken).get(), record, &first).ok());
  EXPECT_TRUE(first.allowed());
  EXPECT_FALSE(first.verdicts(0).ceiling_hit());
  EXPECT_FALSE(first.verdicts(0).has_locked_until());
  ASSERT_TRUE(stub_->Record(Context(kFullToken).get(), record, &second).ok());
  EXPECT_FALSE(second.allowed());
  EXPECT_TRUE(second.verdicts(0).ceiling_hit());
  ASSERT_TRUE(second.verdicts(0).has_locked_until());
  EXPECT_EQ(second.verdicts(0).locked_until().seconds(),
            absl::ToUnixSeconds(clock_.Now() + absl::Minutes(15)));

  // The same subject written as plain IPv4 is the same counter.
  v1::PeekRequest peek;
  AddSubject(peek.mutable_subjects(), "failed_auth_user_ip",
             {{"user", "alice@example.com"}, {"ip", "198.51.100.4"}});
  clock_.Advance(absl::Minutes(1));
  v1::PeekResponse peeked;
  ASSERT_TRUE(stub_->Peek(Context(kFullToken).get(), peek, &peeked).ok());
  EXPECT_FALSE(peeked.allowed());
  EXPECT_EQ(peeked.verdicts(0).count(), 2u);
  EXPECT_EQ(peeked.verdicts(0).retry_after().seconds(), 14 * 60);

  v1::ResetRequest reset;
  AddSubject(reset.mutable_subjects(), "failed_auth_user_ip",
             {{"user", "alice@example.com"}, {"ip", "198.51.100.4"}});
  v1::ResetResponse cleared;
  ASSERT_TRUE(stub_->Reset(Context(kFullToken).get(), reset, &cleared).ok());
  EXPECT_TRUE(cleared.allowed());
  EXPECT_EQ(cleared.verdicts(0).count(), 0u);
  ASSERT_TRUE(stub_->Peek(Context(kFullToken).get(), peek, &peeked).ok());
  EXPECT_TRUE(peeked.allowed());
  EXPECT_EQ(peeked.verdicts(0).count(), 0u);
}

TEST_F(RateLimiterServiceTest, BadInputIsInvalidArgumentNamingTheField) {
  v1::CheckRequest request;
  AddSubject(request.mutable_subjects(), "login_ip", {{"ip", "203.0.113.7"}});
  AddSubject(request.mutable_subjects(), "login_ip", {{"host", "x"}});
  v1::CheckResponse response;
  grpc::Status status =
      stub_->Check(Context(kFullToken).get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("subjects[1].key"), std::string::npos)
      << status.error_message();
  EXPECT_EQ(store_.size(), 0u);  // The valid first subject was not counted.
}

TEST_F(RateLimiterServiceTest, UnknownPolicyIsNotFound) {
  v1::PeekRequest request;
  AddSubject(request.mutable_subjects(), "no_such_policy",
             {{"ip", "10.0.0.1"}});
  v1::PeekResponse response;
  grpc::Status status =
      stub_->Peek(Context(kFullToken).get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(status.error_message().find("subjects[0].policy"),
            std::string::npos);
}

TEST_F(RateLimiterServiceTest,
       MissingOrUnknownTokenIsUnauthenticatedAndCountsNothing) {
  v1::RecordRequest request;
  AddSubject(request.mutable_subjects(), "login_ip", {{"ip", "203.0.113.7"}});
  v1::RecordResponse response;
  EXPECT_EQ(stub_->Record(Context("").get(), request, &response).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(
      stub_->Record(Context("not-a-known-token").get(), request, &response)
          .error_code(),
      grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(store_.size(), 0u);
  // Each refusal has an audit event of its own, and nothing else was written.
  ASSERT_EQ(store_.HeadSequence(), 2u);
  absl::StatusOr<std::vector<AuditEvent>> events = store_.Read(1, 10);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].refusal.rfind("UNAUTHENTICATED: ", 0), 0u)
      << (*events)[0].refusal;
  EXPECT_EQ((*events)[0].policy, "login_ip");
  EXPECT_EQ((*events)[0].decision, Decision::kDeny);
  EXPECT_TRUE((*events)[1].key.empty());
}

TEST_F(RateLimiterServiceTest, ClientWithoutScopeOrPolicyIsPermissionDenied) {
  v1::RecordRequest record;
  AddSubject(record.mutable_subjects(), "login_ip", {{"ip", "203.0.113.7"}});
  v1::RecordResponse recorded;
  EXPECT_EQ(
      stub_->Record(Context(kPeekToken).get(), record, &recorded).error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(store_.size(), 0u);

  v1::PeekRequest peek;
  AddSubject(peek.mutable_subjects(), "failed_auth_user_ip",
             {{"user", "bob"}, {"ip", "10.0.0.1"}});
  v1::PeekResponse peeked;
  EXPECT_EQ(stub_->Peek(Context(kPeekToken).get(), peek, &peeked).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  v1::PeekRequest allowed_peek;
  AddSubject(allowed_peek.mutable_subjects(), "login_ip", {{"ip", "10.0.0.1"}});
  EXPECT_TRUE(
      stub_->Peek(Context(kPeekToken).get(), allowed_peek, &peeked).ok());
}

TEST_F(RateLimiterServiceTest, HealthCheckServesWithoutToken) {
  server_->server().GetHealthCheckService()->SetServingStatus(true);
  grpc::ClientContext ctx;
  // grpc.health.v1.HealthCheckRequest{service: ""} encodes as empty bytes.
  grpc::Slice empty("");
  grpc::ByteBuffer request_buf(&empty, 1), response_buf;
  grpc::GenericStub generic(channel_);
  grpc::CompletionQueue cq;
  auto call = generic.PrepareUnaryCall(&ctx, "/grpc.health.v1.Health/Check",
                                       request_buf, &cq);
  call->StartCall();
  grpc::Status status;
  call->Finish(&response_buf, &status, reinterpret_cast<void*>(1));
  void* tag;
  bool ok;
  ASSERT_TRUE(cq.Next(&tag, &ok));
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(response_buf.Dump(&slices).ok());
  std::string bytes;
  for (auto& s : slices)
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  // HealthCheckResponse{status: SERVING (1)}: field 1, varint 1.
  EXPECT_EQ(bytes, std::string("\x08\x01", 2));
  cq.Shutdown();
}

}  // namespace
}  // namespace gatehouse
