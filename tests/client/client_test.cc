#include "client/client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/request_check.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "service/clock/simulated_clock.h"
#include "tests/client/fake_rate_limiter.h"
#include "tests/testing/loopback_port.h"

namespace gatehouse {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Optional;
using ::testing::Pair;
using ::testing::StartsWith;
using ::testing::UnorderedElementsAre;

// Timing is not what these tests check; the slack only has to tell "gave up
// at about the deadline" from "hung".
constexpr absl::Duration kSlack = absl::Seconds(2);
constexpr absl::Duration kShortDeadline = absl::Milliseconds(200);

// A TCP socket bound to 127.0.0.1 on a port the kernel picks.
int BindLoopback(int* port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    return -1;
  }
  *port = ntohs(addr.sin_port);
  return fd;
}

// Accepts TCP connections on a background thread and never answers: a
// server that is up but hung.
class SilentListener {
 public:
  SilentListener() {
    fd_ = BindLoopback(&port_);
    if (fd_ < 0 || listen(fd_, 16) != 0) return;
    thread_ = std::thread([this] { AcceptUntilShutdown(); });
  }
  SilentListener(const SilentListener&) = delete;
  SilentListener& operator=(const SilentListener&) = delete;
  ~SilentListener() {
    // Wakes the blocked accept() with an error.
    if (fd_ >= 0) shutdown(fd_, SHUT_RDWR);
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) close(fd_);
    absl::MutexLock lock(&mu_);
    for (const int fd : accepted_) close(fd);
  }

  bool ok() const { return thread_.joinable(); }
  std::string target() const { return absl::StrCat("127.0.0.1:", port_); }

  // Whether a connection has been accepted, waiting up to `timeout` for one.
  bool AwaitConnection(absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    return mu_.AwaitWithTimeout(
        absl::Condition(
            +[](std::vector<int>* accepted) { return !accepted->empty(); },
            &accepted_),
        timeout);
  }

 private:
  void AcceptUntilShutdown() {
    while (true) {
      const int fd = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) return;
      absl::MutexLock lock(&mu_);
      accepted_.push_back(fd);
    }
  }

  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  absl::Mutex mu_;
  std::vector<int> accepted_ ABSL_GUARDED_BY(mu_);
};

v1::CheckRequest LoginRequest() {
  v1::CheckRequest request;
  *request.add_subjects() =
      Client::MakeSubject("login_ip", {{"ip", "203.0.113.7"}});
  return request;
}

v1::Verdict MakeVerdict(v1::Verdict::Decision decision, uint64_t count,
                        uint64_t limit) {
  v1::Verdict verdict;
  verdict.set_policy("login_ip");
  verdict.set_decision(decision);
  verdict.set_count(count);
  verdict.set_limit(limit);
  verdict.set_remaining(count < limit ? limit - count : 0);
  verdict.mutable_retry_after()->set_seconds(decision == v1::Verdict::DENY ? 30
                                                                           : 0);
  verdict.mutable_reset_after()->set_seconds(60);
  return verdict;
}

std::unique_ptr<Client> MakeClient(std::string target, FailureMode mode,
                                   std::string token = "",
                                   absl::Duration deadline = kShortDeadline) {
  ClientOptions options;
  options.target = std::move(target);
  options.failure_mode = mode;
  options.token = std::move(token);
  options.deadline = deadline;
  return Client::Create(std::move(options));
}

// For calls the fake server answers at once: a deadline a loaded (or
// sanitized) test machine cannot miss, so the answer, not the time, is what
// the test sees.
std::unique_ptr<Client> MakeAnsweredClient(std::string target, FailureMode mode,
                                           std::string token = "") {
  return MakeClient(std::move(target), mode, std::move(token),
                    absl::Seconds(20));
}

TEST(ClientDegradedTest, NothingListeningFailsOpenAsDegradedUnavailable) {
  const int port = gatehouse::testing::UnusedLoopbackPort();
  ASSERT_NE(port, 0);
  const auto client =
      MakeClient(absl::StrCat("127.0.0.1:", port), FailureMode::kFailOpen);

  const absl::Time start = absl::Now();
  const Client::Result result = client->Check(LoginRequest());
  const absl::Duration elapsed = absl::Now() - start;

  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_TRUE(result.degraded);
  EXPECT_TRUE(result.allowed);
  EXPECT_TRUE(result.verdicts.empty());
  EXPECT_LT(elapsed, kShortDeadline + kSlack);
}

TEST(ClientDegradedTest, NothingListeningFailsClosedWhenConfigured) {
  const int port = gatehouse::testing::UnusedLoopbackPort();
  ASSERT_NE(port, 0);
  const auto client =
      MakeClient(absl::StrCat("127.0.0.1:", port), FailureMode::kFailClosed);

  const absl::Time start = absl::Now();
  const Client::Result result = client->Check(LoginRequest());
  const absl::Duration elapsed = absl::Now() - start;

  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_TRUE(result.degraded);
  EXPECT_FALSE(result.allowed);
  EXPECT_LT(elapsed, kShortDeadline + kSlack);
}

TEST(ClientDegradedTest, HungServerHitsDeadlineAndFailsOpen) {
  SilentListener listener;
  ASSERT_TRUE(listener.ok());
  const auto client = MakeClient(listener.target(), FailureMode::kFailOpen);

  const absl::Time start = absl::Now();
  const Client::Result result = client->Check(LoginRequest());
  const absl::Duration elapsed = absl::Now() - start;

  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_TRUE(result.degraded);
  EXPECT_TRUE(result.allowed);
  EXPECT_TRUE(result.verdicts.empty());
  EXPECT_LT(elapsed, kShortDeadline + kSlack);
  // The deadline came from a silent peer, not a refused connection.
  EXPECT_TRUE(listener.AwaitConnection(kSlack));
}

TEST(ClientDegradedTest, HungServerHitsDeadlineAndFailsClosedWhenConfigured) {
  SilentListener listener;
  ASSERT_TRUE(listener.ok());
  const auto client = MakeClient(listener.target(), FailureMode::kFailClosed);

  const absl::Time start = absl::Now();
  const Client::Result result = client->Record(v1::RecordRequest());
  const absl::Duration elapsed = absl::Now() - start;

  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_TRUE(result.degraded);
  EXPECT_FALSE(result.allowed);
  EXPECT_LT(elapsed, kShortDeadline + kSlack);
}

TEST(ClientDegradedTest, PerCallDeadlineOverridesTheDefault) {
  SilentListener listener;
  ASSERT_TRUE(listener.ok());
  ClientOptions options;
  options.target = listener.target();
  options.deadline = absl::Seconds(20);
  const auto client = Client::Create(std::move(options));

  const absl::Time start = absl::Now();
  const Client::Result result = client->Peek(v1::PeekRequest(), kShortDeadline);
  const absl::Duration elapsed = absl::Now() - start;

  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_TRUE(result.degraded);
  EXPECT_LT(elapsed, kShortDeadline + kSlack);
}

class ClientWithFakeServerTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.ok()); }

  FakeServer server_;
};

TEST_F(ClientWithFakeServerTest, PassesAnswerAndVerdictsThrough) {
  const std::vector<v1::Verdict> verdicts = {
      MakeVerdict(v1::Verdict::ALLOW, 3, 10),
      MakeVerdict(v1::Verdict::DENY, 5, 5)};
  server_.service().SetReply(grpc::Status::OK, /*allowed=*/false, verdicts);
  const auto client =
      MakeAnsweredClient(server_.target(), FailureMode::kFailOpen);
  v1::CheckRequest request = LoginRequest();
  *request.add_subjects() = Client::MakeSubject(
      "login_user", {{"user", "alice@example.com"}}, /*hits=*/2);
  (*request.mutable_context())["route"] = "/login";

  const Client::Result result = client->Check(request);

  EXPECT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_FALSE(result.degraded);
  EXPECT_FALSE(result.allowed);
  ASSERT_EQ(result.verdicts.size(), 2u);
  EXPECT_TRUE(MessageDifferencer::Equals(result.verdicts[0], verdicts[0]));
  EXPECT_TRUE(MessageDifferencer::Equals(result.verdicts[1], verdicts[1]));
  const auto calls = server_.service().calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_TRUE(MessageDifferencer::Equals(calls[0].request, request));
}

TEST_F(ClientWithFakeServerTest, AllowedAnswerIsAllowedEvenWhenFailingClosed) {
  server_.service().SetReply(grpc::Status::OK, /*allowed=*/true,
                             {MakeVerdict(v1::Verdict::ALLOW, 1, 5)});
  const auto client =
      MakeAnsweredClient(server_.target(), FailureMode::kFailClosed);

  const Client::Result result = client->Check(LoginRequest());

  EXPECT_TRUE(result.status.ok());
  EXPECT_TRUE(result.allowed);
  EXPECT_FALSE(result.degraded);
  EXPECT_EQ(result.verdicts.size(), 1u);
}

TEST_F(ClientWithFakeServerTest, EachMethodCallsItsOwnRpc) {
  const auto client =
      MakeAnsweredClient(server_.target(), FailureMode::kFailOpen);

  EXPECT_TRUE(client->Check(v1::CheckRequest()).status.ok());
  EXPECT_TRUE(client->Peek(v1::PeekRequest()).status.ok());
  EXPECT_TRUE(client->Record(v1::RecordRequest()).status.ok());
  EXPECT_TRUE(client->Reset(v1::ResetRequest()).status.ok());

  std::vector<std::string> methods;
  for (const auto& call : server_.service().calls()) {
    methods.push_back(call.method);
  }
  EXPECT_THAT(methods, ElementsAre("Check", "Peek", "Record", "Reset"));
}

TEST_F(ClientWithFakeServerTest, SendsTokenAsBearerAuthorization) {
  const auto client = MakeAnsweredClient(
      server_.target(), FailureMode::kFailOpen, "s3cret-t0ken");

  client->Check(LoginRequest());
  client->Reset(v1::ResetRequest());

  const auto calls = server_.service().calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_THAT(calls[0].authorization,
              Optional(std::string("Bearer s3cret-t0ken")));
  EXPECT_THAT(calls[1].authorization,
              Optional(std::string("Bearer s3cret-t0ken")));
}

TEST_F(ClientWithFakeServerTest, SendsNoAuthorizationWithoutToken) {
  const auto client =
      MakeAnsweredClient(server_.target(), FailureMode::kFailOpen);

  client->Check(LoginRequest());

  const auto calls = server_.service().calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].authorization, std::nullopt);
}

TEST_F(ClientWithFakeServerTest, CallerErrorsApplyFailureModeWithoutDegrading) {
  for (const grpc::StatusCode code :
       {grpc::StatusCode::INVALID_ARGUMENT, grpc::StatusCode::NOT_FOUND,
        grpc::StatusCode::UNAUTHENTICATED,
        grpc::StatusCode::PERMISSION_DENIED}) {
    for (const FailureMode mode :
         {FailureMode::kFailOpen, FailureMode::kFailClosed}) {
      SCOPED_TRACE(
          absl::StrCat("code ", code, ", fail ",
                       mode == FailureMode::kFailOpen ? "open" : "closed"));
      server_.service().SetReply(
          grpc::Status(code, "subjects[0].policy: no policy 'nope'"));
      const auto client = MakeAnsweredClient(server_.target(), mode);

      const Client::Result result = client->Check(LoginRequest());

      EXPECT_EQ(result.status.error_code(), code);
      EXPECT_EQ(result.status.error_message(),
                "subjects[0].policy: no policy 'nope'");
      EXPECT_FALSE(result.degraded);
      EXPECT_TRUE(result.refused);
      // A request refused for its values is denied whatever the mode.
      EXPECT_EQ(result.allowed, code != grpc::StatusCode::INVALID_ARGUMENT &&
                                    mode == FailureMode::kFailOpen);
      EXPECT_TRUE(result.verdicts.empty());
    }
  }
}

TEST_F(ClientWithFakeServerTest, InvalidRequestModeCanFollowTheFailureMode) {
  server_.service().SetReply(
      grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "subjects[0]: bad"));
  for (const FailureMode mode :
       {FailureMode::kFailOpen, FailureMode::kFailClosed}) {
    ClientOptions options;
    options.target = server_.target();
    options.failure_mode = mode;
    options.invalid_request_mode = InvalidRequestMode::kFailureMode;
    const Client::Result result =
        Client::Create(options)->Check(LoginRequest());
    EXPECT_TRUE(result.refused);
    EXPECT_EQ(result.allowed, mode == FailureMode::kFailOpen);
  }
}

TEST_F(ClientWithFakeServerTest, InvalidValuesAreDeniedWithoutSending) {
  const auto client =
      MakeAnsweredClient(server_.target(), FailureMode::kFailOpen);
  struct Case {
    v1::CheckRequest request;
    std::string field;
  };
  std::vector<Case> cases(5);
  *cases[0].request.add_subjects() =
      Client::MakeSubject("login", {{"user", "caf\xe9"}});
  cases[0].field = "subjects[0].key[\"user\"]: value must be UTF-8";
  *cases[1].request.add_subjects() =
      Client::MakeSubject("login", {{"user", std::string(321, 'u')}});
  cases[1].field = "subjects[0].key[\"user\"]: value is 321 bytes, at most 320";
  *cases[2].request.add_subjects() =
      Client::MakeSubject("log\xffin", {{"user", "ann"}});
  cases[2].field = "subjects[0].policy";
  *cases[3].request.add_subjects() = Client::MakeSubject("login", {{"u", "a"}});
  (*cases[3].request.mutable_context())["route"] = "/x\x01";
  cases[3].field = "context[\"route\"]";
  for (int i = 0; i < 65; ++i) {
    *cases[4].request.add_subjects() =
        Client::MakeSubject("login", {{"u", "a"}});
  }
  cases[4].field = "subjects: 65 subjects, at most 64";
  for (const Case& c : cases) {
    const Client::Result result = client->Check(c.request);
    EXPECT_EQ(result.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(result.status.error_message(), HasSubstr(c.field));
    EXPECT_FALSE(result.allowed);
    EXPECT_TRUE(result.refused);
    EXPECT_FALSE(result.degraded);
    EXPECT_EQ(result.attempts, 0);
  }
  // 320 bytes is sent.
  v1::CheckRequest email;
  *email.add_subjects() =
      Client::MakeSubject("login", {{"user", std::string(320, 'e')}});
  EXPECT_EQ(client->Check(email).attempts, 1);
  EXPECT_EQ(server_.service().calls().size(), 1u);
  EXPECT_EQ(client->GetStats().cooldowns, 0u);
}

TEST_F(ClientWithFakeServerTest, ServiceFailuresAreDegraded) {
  for (const grpc::StatusCode code :
       {grpc::StatusCode::UNAVAILABLE, grpc::StatusCode::INTERNAL,
        grpc::StatusCode::DATA_LOSS, grpc::StatusCode::RESOURCE_EXHAUSTED}) {
    for (const FailureMode mode :
         {FailureMode::kFailOpen, FailureMode::kFailClosed}) {
      SCOPED_TRACE(
          absl::StrCat("code ", code, ", fail ",
                       mode == FailureMode::kFailOpen ? "open" : "closed"));
      server_.service().SetReply(grpc::Status(code, "store failed"));
      const auto client = MakeAnsweredClient(server_.target(), mode);

      const Client::Result result = client->Check(LoginRequest());

      EXPECT_EQ(result.status.error_code(), code);
      EXPECT_TRUE(result.degraded);
      EXPECT_EQ(result.allowed, mode == FailureMode::kFailOpen);
      EXPECT_TRUE(result.verdicts.empty());
    }
  }
}

TEST_F(ClientWithFakeServerTest, ReusesOneConnectionAcrossCalls) {
  const auto client =
      MakeAnsweredClient(server_.target(), FailureMode::kFailOpen);

  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(client->Check(LoginRequest()).status.ok());
    ASSERT_TRUE(client->Peek(v1::PeekRequest()).status.ok());
  }

  std::set<std::string> peers;
  for (const auto& call : server_.service().calls()) peers.insert(call.peer);
  ASSERT_EQ(peers.size(), 1u);
  EXPECT_NE(peers.begin()->find("127.0.0.1:"), std::string::npos);
}

TEST_F(ClientWithFakeServerTest, OneClientServesManyThreadsOverOneConnection) {
  constexpr int kThreads = 8;
  constexpr int kCallsPerThread = 25;
  const auto client =
      MakeAnsweredClient(server_.target(), FailureMode::kFailClosed);
  absl::Mutex mu;
  int ok_answers = 0;

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kCallsPerThread; ++i) {
        // Generous per-call deadline: a loaded test machine is not a failure.
        const Client::Result result =
            client->Check(LoginRequest(), absl::Seconds(30));
        if (result.status.ok() && result.allowed) {
          absl::MutexLock lock(&mu);
          ++ok_answers;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();

  EXPECT_EQ(ok_answers, kThreads * kCallsPerThread);
  std::set<std::string> peers;
  for (const auto& call : server_.service().calls()) peers.insert(call.peer);
  EXPECT_EQ(peers.size(), 1u);
}

TEST_F(ClientWithFakeServerTest, SendsOptionsDeadlineUnlessOverridden) {
  ClientOptions options;
  options.target = server_.target();
  options.deadline = absl::Seconds(20);
  const auto client = Client::Create(std::move(options));

  ASSERT_TRUE(client->Check(LoginRequest()).status.ok());
  ASSERT_TRUE(client->Check(LoginRequest(), absl::Hours(1)).status.ok());

  const auto calls = server_.service().calls();
  ASSERT_EQ(calls.size(), 2u);
  // Bounds loose enough for the transit time and grpc-timeout rounding.
  EXPECT_GT(calls[0].time_left, absl::ZeroDuration());
  EXPECT_LT(calls[0].time_left, absl::Minutes(1));
  EXPECT_GT(calls[1].time_left, absl::Minutes(30));
}

TEST_F(ClientWithFakeServerTest, InvalidOptionsFailEveryCallWithoutSending) {
  for (const FailureMode mode :
       {FailureMode::kFailOpen, FailureMode::kFailClosed}) {
    // gRPC would abort the process on this header value.
    const auto client = MakeClient(server_.target(), mode, "line1\nline2");

    const Client::Result result = client->Check(LoginRequest());

    EXPECT_EQ(result.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(result.status.error_message(), HasSubstr("token"));
    EXPECT_FALSE(result.degraded);
    EXPECT_EQ(result.allowed, mode == FailureMode::kFailOpen);
  }
  EXPECT_THAT(server_.service().calls(), IsEmpty());
}

// The Admin calls: same channel, token and breaker; a status, no
// FailureMode.
v1::Subject AdminSubject() {
  return Client::MakeSubject(
      "failed_auth_user_ip",
      {{"user", "alice@example.com"}, {"ip", "203.0.113.7"}});
}

TEST_F(ClientWithFakeServerTest, AdminCallsSendTheirRequestsWithTheToken) {
  v1::BlockResponse block_answer;
  block_answer.set_permanent(true);
  block_answer.set_audit_sequence(7);
  server_.admin().SetBlockResponse(block_answer);
  v1::UnblockResponse unblock_answer;
  unblock_answer.set_was_locked(true);
  server_.admin().SetUnblockResponse(unblock_answer);
  v1::InspectResponse inspect_answer;
  inspect_answer.set_count(3);
  inspect_answer.set_offences(1);
  server_.admin().SetInspectResponse(inspect_answer);
  v1::Lockout lockout;
  *lockout.mutable_subject() = AdminSubject();
  lockout.set_reason("INC-1");
  server_.admin().SetLockouts({lockout});
  const auto client =
      MakeClient(server_.target(), FailureMode::kFailOpen, "ops-token");

  v1::BlockRequest block;
  *block.mutable_subject() = AdminSubject();
  block.mutable_duration()->set_seconds(900);
  block.set_reason("INC-1");
  v1::BlockResponse block_response;
  const grpc::Status blocked = client->Block(block, &block_response);
  v1::UnblockRequest unblock;
  *unblock.mutable_subject() = AdminSubject();
  unblock.set_reason("INC-1 resolved");
  v1::UnblockResponse unblock_response;
  const grpc::Status unblocked = client->Unblock(unblock, &unblock_response);
  v1::ListLockoutsRequest list;
  list.set_policy("failed_auth_user_ip");
  list.set_page_size(10);
  v1::ListLockoutsResponse list_response;
  const grpc::Status listed = client->ListLockouts(list, &list_response);
  v1::InspectRequest inspect;
  *inspect.mutable_subject() = AdminSubject();
  v1::InspectResponse inspect_response;
  const grpc::Status inspected = client->Inspect(inspect, &inspect_response);

  ASSERT_TRUE(blocked.ok()) << blocked.error_message();
  ASSERT_TRUE(unblocked.ok()) << unblocked.error_message();
  ASSERT_TRUE(listed.ok()) << listed.error_message();
  ASSERT_TRUE(inspected.ok()) << inspected.error_message();
  EXPECT_TRUE(MessageDifferencer::Equals(block_response, block_answer));
  EXPECT_TRUE(MessageDifferencer::Equals(unblock_response, unblock_answer));
  EXPECT_TRUE(MessageDifferencer::Equals(inspect_response, inspect_answer));
  ASSERT_EQ(list_response.lockouts_size(), 1);
  EXPECT_EQ(list_response.lockouts(0).reason(), "INC-1");
  const auto calls = server_.admin().calls();
  ASSERT_EQ(calls.size(), 4u);
  EXPECT_EQ(calls[0].method, "Block");
  EXPECT_TRUE(MessageDifferencer::Equals(calls[0].block, block));
  EXPECT_EQ(calls[1].method, "Unblock");
  EXPECT_TRUE(MessageDifferencer::Equals(calls[1].unblock, unblock));
  EXPECT_EQ(calls[2].method, "ListLockouts");
  EXPECT_TRUE(MessageDifferencer::Equals(calls[2].list, list));
  EXPECT_EQ(calls[3].method, "Inspect");
  EXPECT_TRUE(MessageDifferencer::Equals(calls[3].inspect, inspect));
  for (const FakeAdmin::Call& call : calls) {
    EXPECT_THAT(call.authorization, Optional(std::string("Bearer ops-token")));
  }
  EXPECT_THAT(server_.service().calls(), IsEmpty());
}

TEST_F(ClientWithFakeServerTest, AdminValuesAreRefusedWithoutSending) {
  const auto client = MakeClient(server_.target(), FailureMode::kFailOpen, "");
  v1::BlockResponse block_response;
  v1::UnblockResponse unblock_response;
  v1::ListLockoutsResponse list_response;
  v1::InspectResponse inspect_response;

  v1::BlockRequest no_reason;
  *no_reason.mutable_subject() = AdminSubject();
  v1::UnblockRequest long_reason;
  *long_reason.mutable_subject() = AdminSubject();
  long_reason.set_reason(std::string(kMaxReasonBytes + 1, 'r'));
  v1::InspectRequest bad_value;
  *bad_value.mutable_subject() =
      Client::MakeSubject("login_ip", {{"ip", "203.0.113.7\n"}});
  v1::ListLockoutsRequest control_reason;
  control_reason.set_reason("a\x01");
  const grpc::Status statuses[] = {
      client->Block(no_reason, &block_response),
      client->Unblock(long_reason, &unblock_response),
      client->Inspect(bad_value, &inspect_response),
      client->ListLockouts(control_reason, &list_response),
  };

  for (const grpc::Status& status : statuses) {
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
  EXPECT_THAT(statuses[0].error_message(), StartsWith("reason: required"));
  EXPECT_EQ(statuses[1].error_message(), "reason: 257 bytes, at most 256");
  EXPECT_EQ(statuses[2].error_message(),
            "subject.key[\"ip\"]: value must be UTF-8 without control "
            "characters");
  EXPECT_EQ(statuses[3].error_message(),
            "reason: must be UTF-8 without control characters");
  EXPECT_THAT(server_.admin().calls(), IsEmpty());
}

TEST_F(ClientWithFakeServerTest, AdminCallsWithInvalidOptionsSendNothing) {
  const auto client =
      MakeClient(server_.target(), FailureMode::kFailOpen, "line1\nline2");
  v1::InspectRequest inspect;
  *inspect.mutable_subject() = AdminSubject();
  v1::InspectResponse response;

  const grpc::Status status = client->Inspect(inspect, &response);

  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("token"));
  EXPECT_THAT(server_.admin().calls(), IsEmpty());
}

class ClientResilienceTest : public ClientWithFakeServerTest {
 protected:
  // Cool-downs run on clock_; the threshold is low to keep tests short.
  ClientOptions Options(FailureMode mode = FailureMode::kFailOpen) {
    ClientOptions options;
    options.target = server_.target();
    options.failure_mode = mode;
    options.deadline = absl::Seconds(10);
    options.failures_before_cooldown = kThreshold;
    options.clock = &clock_;
    return options;
  }
  std::vector<std::string> Methods() {
    std::vector<std::string> methods;
    for (const auto& call : server_.service().calls()) {
      methods.push_back(call.method);
    }
    return methods;
  }

  static constexpr int kThreshold = 3;
  SimulatedClock clock_;
};

TEST_F(ClientResilienceTest, PeekIsRetriedOnceOnUnavailable) {
  server_.service().SetReply(grpc::Status(grpc::StatusCode::UNAVAILABLE, "x"));
  const auto client = Client::Create(Options());

  const Client::Result result = client->Peek(v1::PeekRequest());

  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_TRUE(result.degraded);
  EXPECT_FALSE(result.fail_fast);
  EXPECT_EQ(result.attempts, 2);
  EXPECT_THAT(Methods(), ElementsAre("Peek", "Peek"));
  EXPECT_EQ(client->GetStats().retries, 1u);
}

TEST_F(ClientResilienceTest, RetriedPeekReturnsTheSecondAnswer) {
  // The first Peek fails slowly; the answer is switched to OK meanwhile.
  server_.service().SetReply(grpc::Status(grpc::StatusCode::UNAVAILABLE, "x"));
  server_.service().SetDelay(absl::Milliseconds(300));
  const auto client = Client::Create(Options());
  std::thread heal([this] {
    while (server_.service().calls().empty())
      absl::SleepFor(absl::Milliseconds(1));
    server_.service().SetReply(grpc::Status::OK, /*allowed=*/false);
  });

  const Client::Result result = client->Peek(v1::PeekRequest());
  heal.join();

  EXPECT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_FALSE(result.degraded);
  EXPECT_FALSE(result.allowed);
  EXPECT_EQ(result.attempts, 2);
}

TEST_F(ClientResilienceTest, PeekRetriesFollowTheOption) {
  server_.service().SetReply(grpc::Status(grpc::StatusCode::UNAVAILABLE, "x"));
  ClientOptions three = Options();
  three.peek_retries = 3;
  three.failures_before_cooldown = 10;
  ClientOptions none = Options();
  none.peek_retries = 0;

  EXPECT_EQ(Client::Create(three)->Peek(v1::PeekRequest()).attempts, 4);
  EXPECT_EQ(Client::Create(none)->Peek(v1::PeekRequest()).attempts, 1);
  EXPECT_EQ(Methods().size(), 5u);
}

TEST_F(ClientResilienceTest, PeekIsNotRetriedOnOtherErrors) {
  for (const grpc::StatusCode code :
       {grpc::StatusCode::RESOURCE_EXHAUSTED, grpc::StatusCode::INTERNAL,
        grpc::StatusCode::NOT_FOUND, grpc::StatusCode::PERMISSION_DENIED}) {
    server_.service().SetReply(grpc::Status(code, "x"));
    EXPECT_EQ(Client::Create(Options())->Peek(v1::PeekRequest()).attempts, 1)
        << "code " << code;
  }
  EXPECT_EQ(Methods().size(), 4u);
}

TEST_F(ClientResilienceTest, PeekRetryNeverOutlivesTheCallersDeadline) {
  // The first attempt takes 1 s of the 1.5 s deadline to fail.
  constexpr absl::Duration kDeadline = absl::Milliseconds(1500);
  server_.service().SetReply(grpc::Status(grpc::StatusCode::UNAVAILABLE, "x"));
  server_.service().SetDelay(absl::Seconds(1));
  const auto client = Client::Create(Options());

  const absl::Time start = absl::Now();
  const Client::Result result = client->Peek(v1::PeekRequest(), kDeadline);
  const absl::Duration elapsed = absl::Now() - start;

  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_TRUE(result.degraded);
  EXPECT_EQ(result.attempts, 2);
  EXPECT_LT(elapsed, kDeadline + kSlack);
  const auto calls = server_.service().calls();
  ASSERT_EQ(calls.size(), 2u);
  // The retry carries what is left of the first deadline (about 0.5 s), not
  // a fresh one (1.5 s).
  EXPECT_GT(calls[0].time_left, absl::Seconds(1));
  EXPECT_LT(calls[1].time_left, absl::Seconds(1));
}

TEST_F(ClientResilienceTest, CheckRecordAndResetAreNeverRetried) {
  server_.service().SetReply(grpc::Status(grpc::StatusCode::UNAVAILABLE, "x"));
  const auto client = Client::Create(Options());

  EXPECT_EQ(client->Check(LoginRequest()).attempts, 1);
  EXPECT_EQ(client->Record(v1::RecordRequest()).attempts, 1);
  EXPECT_EQ(client->Reset(v1::ResetRequest()).attempts, 1);

  EXPECT_THAT(Methods(), ElementsAre("Check", "Record", "Reset"));
  EXPECT_EQ(client->GetStats().retries, 0u);
}

TEST_F(ClientResilienceTest, FailsFastAfterConsecutiveFailuresWithoutSending) {
  for (const FailureMode mode :
       {FailureMode::kFailOpen, FailureMode::kFailClosed}) {
    SCOPED_TRACE(mode == FailureMode::kFailOpen ? "fail open" : "fail closed");
    server_.service().SetReply(
        grpc::Status(grpc::StatusCode::UNAVAILABLE, "x"));
    const auto client = Client::Create(Options(mode));
    const size_t sent_before = Methods().size();

    for (int i = 0; i < kThreshold; ++i) {
      EXPECT_FALSE(client->Check(LoginRequest()).fail_fast);
    }
    for (int i = 0; i < 10; ++i) {
      const Client::Result result = client->Check(LoginRequest());
      EXPECT_TRUE(result.fail_fast);
      EXPECT_TRUE(result.degraded);
      EXPECT_EQ(result.attempts, 0);
      EXPECT_EQ(result.allowed, mode == FailureMode::kFailOpen);
      EXPECT_EQ(result.status.error_code(), grpc::StatusCode::UNAVAILABLE);
      EXPECT_THAT(result.status.error_message(),
                  HasSubstr("cooling down after 3 consecutive failures"));
    }

    EXPECT_EQ(Methods().size() - sent_before, size_t{kThreshold});
    const Client::Stats stats = client->GetStats();
    EXPECT_TRUE(stats.cooling_down);
    EXPECT_EQ(stats.cooldowns, 1u);
    EXPECT_EQ(stats.failed_fast, 10u);
  }
}

TEST_F(ClientResilienceTest, ProbeAfterTheCooldownBringsTheClientBack) {
  server_.service().SetReply(grpc::Status(grpc::StatusCode::UNAVAILABLE, "x"));
  ClientOptions options = Options();
  options.cooldown_initial = absl::Seconds(30);
  options.cooldown_max = absl::Minutes(5);
  const auto client = Client::Create(options);
  for (int i = 0; i < kThreshold; ++i) client->Check(LoginRequest());
  ASSERT_TRUE(client->Check(LoginRequest()).fail_fast);
  server_.service().SetReply(grpc::Status::OK, /*allowed=*/false);

  // Jitter shortens a cool-down by up to a fifth: 24 to 30 s.
  clock_.Advance(absl::Seconds(23));
  EXPECT_TRUE(client->Check(LoginRequest()).fail_fast);
  clock_.Advance(absl::Seconds(7));
  const Client::Result probe = client->Check(LoginRequest());
  const Client::Result next = client->Check(LoginRequest());

  EXPECT_TRUE(probe.status.ok()) << probe.status.error_message();
  EXPECT_EQ(probe.attempts, 1);
  EXPECT_FALSE(probe.allowed);
  EXPECT_TRUE(next.status.ok());
  EXPECT_FALSE(client->GetStats().cooling_down);
  EXPECT_EQ(Methods().size(), size_t{kThreshold} + 2);
}

TEST_F(ClientResilienceTest, CallerErrorsNeverStartACooldown) {
  server_.service().SetReply(
      grpc::Status(grpc::StatusCode::NOT_FOUND, "no policy"));
  const auto client = Client::Create(Options());

  for (int i = 0; i < 4 * kThreshold; ++i) {
    const Client::Result result = client->Check(LoginRequest());
    EXPECT_FALSE(result.fail_fast);
    EXPECT_EQ(result.attempts, 1);
  }

  EXPECT_EQ(Methods().size(), size_t{4 * kThreshold});
  EXPECT_EQ(client->GetStats().cooldowns, 0u);
}

TEST_F(ClientResilienceTest, PeekRetryIsNotSentOnceTheBreakerOpens) {
  server_.service().SetReply(grpc::Status(grpc::StatusCode::UNAVAILABLE, "x"));
  ClientOptions options = Options();
  options.failures_before_cooldown = 1;
  const auto client = Client::Create(options);

  const Client::Result result = client->Peek(v1::PeekRequest());

  EXPECT_EQ(result.attempts, 1);
  EXPECT_FALSE(result.fail_fast);
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(Methods().size(), 1u);
}

TEST_F(ClientResilienceTest, NonPositiveDeadlineSendsNothingAndCountsNothing) {
  ClientOptions options = Options();
  options.failures_before_cooldown = 1;
  const auto client = Client::Create(options);

  for (int i = 0; i < 3; ++i) {
    const Client::Result result =
        client->Check(LoginRequest(), absl::ZeroDuration());
    EXPECT_EQ(result.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
    EXPECT_EQ(result.attempts, 0);
  }

  EXPECT_THAT(Methods(), IsEmpty());
  EXPECT_TRUE(client->Check(LoginRequest()).status.ok());
}

TEST_F(ClientResilienceTest, AdminCallsAreNeverRetriedAndPassErrorsThrough) {
  server_.admin().SetStatus(
      grpc::Status(grpc::StatusCode::UNAVAILABLE, "store down"));
  const auto client = Client::Create(Options());
  v1::InspectRequest inspect;
  *inspect.mutable_subject() = AdminSubject();
  v1::InspectResponse response;
  v1::ListLockoutsResponse list_response;

  const grpc::Status inspected = client->Inspect(inspect, &response);
  const grpc::Status listed =
      client->ListLockouts(v1::ListLockoutsRequest(), &list_response);

  EXPECT_EQ(inspected.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(inspected.error_message(), "store down");
  EXPECT_EQ(listed.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(server_.admin().calls().size(), 2u) << "one RPC each";
}

TEST_F(ClientResilienceTest, AdminCallsFailFastWhileCoolingDown) {
  server_.service().SetReply(grpc::Status(grpc::StatusCode::UNAVAILABLE, "x"));
  const auto client = Client::Create(Options());
  for (int i = 0; i < kThreshold; ++i) client->Check(LoginRequest());
  ASSERT_TRUE(client->GetStats().cooling_down);
  v1::BlockRequest block;
  *block.mutable_subject() = AdminSubject();
  block.set_reason("INC-1");
  v1::BlockResponse response;

  const grpc::Status status = client->Block(block, &response);

  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(status.error_message(), HasSubstr("cooling down"));
  EXPECT_THAT(server_.admin().calls(), IsEmpty());
}

TEST(ClientHungServerTest, DeadlinesStartACooldown) {
  SilentListener listener;
  ASSERT_TRUE(listener.ok());
  SimulatedClock clock;
  ClientOptions options;
  options.target = listener.target();
  options.deadline = absl::Milliseconds(100);
  options.failures_before_cooldown = 2;
  options.clock = &clock;
  const auto client = Client::Create(options);

  for (int i = 0; i < 2; ++i) {
    const Client::Result result = client->Check(LoginRequest());
    EXPECT_EQ(result.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
    EXPECT_EQ(result.attempts, 1);
  }
  const Client::Result result = client->Check(LoginRequest());

  EXPECT_TRUE(result.fail_fast);
  EXPECT_TRUE(result.degraded);
  EXPECT_TRUE(result.allowed);
  EXPECT_EQ(result.attempts, 0);
}

TEST(ValidateOptionsTest, AcceptsDefaultsAndAToken) {
  ClientOptions options;
  EXPECT_TRUE(Client::ValidateOptions(options).ok());
  options.token = "eyJhbGciOi.J9-_~+/=";
  EXPECT_TRUE(Client::ValidateOptions(options).ok());
}

TEST(ValidateOptionsTest, RejectsEachBadFieldNamingIt) {
  ClientOptions empty_target;
  empty_target.target = "";
  ClientOptions zero_deadline;
  zero_deadline.deadline = absl::ZeroDuration();
  ClientOptions control_byte;
  control_byte.token = "abc\r";
  ClientOptions non_ascii;
  non_ascii.token = "caf\xc3\xa9";
  ClientOptions no_failures;
  no_failures.failures_before_cooldown = 0;
  ClientOptions zero_cooldown;
  zero_cooldown.cooldown_initial = absl::ZeroDuration();
  ClientOptions max_below_initial;
  max_below_initial.cooldown_initial = absl::Seconds(2);
  max_below_initial.cooldown_max = absl::Seconds(1);
  ClientOptions negative_retries;
  negative_retries.peek_retries = -1;
  ClientOptions zero_backoff;
  zero_backoff.max_reconnect_backoff = absl::ZeroDuration();

  for (const auto& [options, field] :
       std::vector<std::pair<ClientOptions, std::string>>{
           {empty_target, "target: "},
           {zero_deadline, "deadline: "},
           {control_byte, "token: byte 0x0d at offset 3"},
           {non_ascii, "token: byte 0xc3 at offset 3"},
           {no_failures, "failures_before_cooldown: "},
           {zero_cooldown, "cooldown_initial: "},
           {max_below_initial, "cooldown_max: "},
           {negative_retries, "peek_retries: "},
           {zero_backoff, "max_reconnect_backoff: "}}) {
    const absl::Status status = Client::ValidateOptions(options);

    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(status.message()), StartsWith(field));
  }
}

TEST(MakeSubjectTest, FillsPolicyKeyAndHits) {
  const v1::Subject subject = Client::MakeSubject(
      "login_user", {{"ip", "203.0.113.7"}, {"user", "alice@example.com"}},
      /*hits=*/3);

  EXPECT_EQ(subject.policy(), "login_user");
  EXPECT_THAT(subject.key(),
              UnorderedElementsAre(Pair("ip", "203.0.113.7"),
                                   Pair("user", "alice@example.com")));
  EXPECT_EQ(subject.hits(), 3u);
}

TEST(MakeSubjectTest, LeavesHitsUnsetByDefault) {
  EXPECT_EQ(Client::MakeSubject("p", {{"ip", "::1"}}).hits(), 0u);
}

}  // namespace
}  // namespace gatehouse
