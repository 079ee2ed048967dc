// The sign-in scenario end to end: the real server binary, the real client.

#include <thread>

#include "tests/integration/fixture.h"

namespace gatehouse::testing {
namespace {

class SignInFlowTest : public ServerTest {
 protected:
  v1::Subject UserIp() const {
    return Client::MakeSubject(
        "failed_auth_user_ip",
        {{"user", "alice@example.com"}, {"ip", "203.0.113.7"}});
  }
  Client::Result PeekUser() {
    v1::PeekRequest request;
    *request.add_subjects() = UserIp();
    return client_->Peek(request);
  }
  Client::Result RecordFailure() {
    v1::RecordRequest request;
    *request.add_subjects() = UserIp();
    (*request.mutable_context())["route"] = "/login";
    return client_->Record(request);
  }
};

TEST_F(SignInFlowTest, SuccessesNeverMoveTheFailureCounterAndFailuresLockOut) {
  // Successful sign-ins only Peek: 50 of them leave the counter at zero.
  for (int i = 0; i < 50; ++i) {
    Client::Result r = PeekUser();
    ASSERT_TRUE(r.status.ok()) << r.status.error_message();
    ASSERT_TRUE(r.allowed);
    ASSERT_EQ(r.verdicts.at(0).count(), 0u);
  }
  // Failures count; the fifth reaches the ceiling and is reported once.
  for (int i = 1; i <= 5; ++i) {
    Client::Result r = RecordFailure();
    ASSERT_TRUE(r.status.ok()) << r.status.error_message();
    EXPECT_EQ(r.verdicts.at(0).count(), static_cast<uint64_t>(i));
    EXPECT_EQ(r.verdicts.at(0).ceiling_hit(), i == 5) << "record " << i;
  }
  Client::Result sixth = RecordFailure();
  EXPECT_FALSE(sixth.verdicts.at(0).ceiling_hit());
  EXPECT_EQ(sixth.verdicts.at(0).count(), 6u);

  // The next sign-in attempt is denied for the rest of the 15m lockout.
  Client::Result peek = PeekUser();
  ASSERT_TRUE(peek.status.ok());
  EXPECT_FALSE(peek.allowed);
  EXPECT_FALSE(peek.degraded);
  const v1::Verdict& v = peek.verdicts.at(0);
  EXPECT_EQ(v.decision(), v1::Verdict::DENY);
  EXPECT_GT(v.retry_after().seconds(), 14 * 60);
  EXPECT_LE(v.retry_after().seconds(), 15 * 60);
  EXPECT_TRUE(v.has_locked_until());

  // A Peek changed nothing, and a Check is denied too without counting.
  v1::CheckRequest check;
  *check.add_subjects() = UserIp();
  Client::Result checked = client_->Check(check);
  EXPECT_FALSE(checked.allowed);
  EXPECT_EQ(checked.verdicts.at(0).count(), 6u);

  // The same user from another IP is not locked out: attackers elsewhere
  // cannot lock the real user out.
  v1::PeekRequest other_ip;
  *other_ip.add_subjects() = Client::MakeSubject(
      "failed_auth_user_ip",
      {{"user", "alice@example.com"}, {"ip", "198.51.100.1"}});
  EXPECT_TRUE(client_->Peek(other_ip).allowed);

  // A successful sign-in resets.
  v1::ResetRequest reset;
  *reset.add_subjects() = UserIp();
  Client::Result cleared = client_->Reset(reset);
  ASSERT_TRUE(cleared.status.ok());
  Client::Result after = PeekUser();
  EXPECT_TRUE(after.allowed);
  EXPECT_EQ(after.verdicts.at(0).count(), 0u);
  EXPECT_FALSE(after.verdicts.at(0).has_locked_until());
}

TEST_F(SignInFlowTest, CheckOnSeveralPoliciesIsAllOrNothing) {
  v1::CheckRequest request;
  *request.add_subjects() =
      Client::MakeSubject("login_ip", {{"ip", "192.0.2.1"}});
  *request.add_subjects() = UserIp();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(RecordFailure().status.ok());
  Client::Result denied = client_->Check(request);
  ASSERT_TRUE(denied.status.ok());
  EXPECT_FALSE(denied.allowed);
  EXPECT_EQ(denied.verdicts.at(0).decision(), v1::Verdict::ALLOW);
  EXPECT_EQ(denied.verdicts.at(1).decision(), v1::Verdict::DENY);

  v1::PeekRequest peek;
  *peek.add_subjects() = Client::MakeSubject("login_ip", {{"ip", "192.0.2.1"}});
  EXPECT_EQ(client_->Peek(peek).verdicts.at(0).count(), 0u)
      << "a denied Check must consume nothing";
}

TEST_F(SignInFlowTest, ConcurrentRecordsFromManyClientsLoseNothing) {
  constexpr int kThreads = 8, kRecords = 100;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      v1::RecordRequest request;
      *request.add_subjects() =
          Client::MakeSubject("login_ip", {{"ip", "10.1.2.3"}});
      for (int i = 0; i < kRecords; ++i) {
        if (!client_->Record(request).status.ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  v1::PeekRequest peek;
  *peek.add_subjects() = Client::MakeSubject("login_ip", {{"ip", "10.1.2.3"}});
  EXPECT_EQ(client_->Peek(peek).verdicts.at(0).count(),
            static_cast<uint64_t>(kThreads * kRecords));
}

TEST_F(SignInFlowTest, BadRequestsAreRejectedNamingTheFieldAndCountNothing) {
  v1::RecordRequest request;
  *request.add_subjects() =
      Client::MakeSubject("login_ip", {{"ip", "10.9.9.9"}});
  *request.add_subjects() =
      Client::MakeSubject("login_ip", {{"ip", std::string(300, '1')}});
  Client::Result r = client_->Record(request);
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(r.status.error_message().find("subjects[1].key[\"ip\"]"),
            std::string::npos)
      << r.status.error_message();
  EXPECT_FALSE(r.degraded);

  v1::PeekRequest peek;
  *peek.add_subjects() = Client::MakeSubject("login_ip", {{"ip", "10.9.9.9"}});
  EXPECT_EQ(client_->Peek(peek).verdicts.at(0).count(), 0u);

  v1::PeekRequest unknown;
  *unknown.add_subjects() = Client::MakeSubject("nope", {{"ip", "10.9.9.9"}});
  EXPECT_EQ(client_->Peek(unknown).status.error_code(),
            grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace gatehouse::testing
