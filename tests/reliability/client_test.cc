// gatehouse::Client against the real server binary while it is down, hung
// (SIGSTOP) or restarting: every call answers within its deadline with the
// configured failure mode's result, the client stops waiting on a dead
// server after a few failures, and the same Client gets real answers again
// once the server is back.

#include "client/client.h"

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tests/integration/fixture.h"

namespace gatehouse::testing {
namespace {

constexpr absl::Duration kDeadline = absl::Milliseconds(300);
// Timing is not what these tests check; the slack only has to tell "gave up
// at about the deadline" from "hung" on a loaded machine.
constexpr absl::Duration kSlack = absl::Seconds(2);
constexpr int kCallsAfterTrip = 100;

// Whether every thread of `pid` has stopped (SIGSTOP is delivered
// asynchronously), waiting up to 5 s for it.
bool AwaitStopped(pid_t pid) {
  const std::string tasks = absl::StrCat("/proc/", pid, "/task");
  for (int i = 0; i < 500; ++i) {
    bool all_stopped = true;
    for (const auto& task : std::filesystem::directory_iterator(tasks)) {
      std::ifstream stat(task.path() / "stat");
      std::string line;
      std::getline(stat, line);
      // "pid (comm) S ...": the state follows the last ')'.
      const size_t paren = line.rfind(')');
      if (paren == std::string::npos || paren + 2 >= line.size() ||
          line[paren + 2] != 'T') {
        all_stopped = false;
      }
    }
    if (all_stopped) return true;
    // Polling for the process to stop, not waiting for time.
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

class ClientReliabilityTest
    : public ServerTest,
      public ::testing::WithParamInterface<FailureMode> {
 protected:
  // A client with the default back-off settings and a short deadline.
  std::unique_ptr<Client> MakeClient() const {
    ClientOptions options;
    options.target = server_->address();
    options.token = kTestToken;
    options.deadline = kDeadline;
    options.failure_mode = GetParam();
    return Client::Create(options);
  }
  bool FailOpen() const { return GetParam() == FailureMode::kFailOpen; }

  // A Check of a fresh IP each time, so no limit is ever reached.
  v1::CheckRequest NextCheck() {
    ++ip_;
    v1::CheckRequest request;
    *request.add_subjects() = Client::MakeSubject(
        "login_ip", {{"ip", absl::StrCat("10.", (ip_ >> 16) & 255, ".",
                                         (ip_ >> 8) & 255, ".", ip_ & 255)}});
    return request;
  }

  // Asserts a degraded answer in the failure mode, and returns it.
  Client::Result CheckDegraded(Client& client) {
    const absl::Time start = absl::Now();
    Client::Result result = client.Check(NextCheck());
    const absl::Duration elapsed = absl::Now() - start;
    EXPECT_FALSE(result.status.ok());
    EXPECT_TRUE(result.degraded);
    EXPECT_EQ(result.allowed, FailOpen());
    EXPECT_TRUE(result.verdicts.empty());
    EXPECT_LT(elapsed, kDeadline + kSlack);
    return result;
  }

  // Fails calls until the client cools down: at most
  // failures_before_cooldown (5) of them, each within its deadline.
  void TripTheBreaker(Client& client) {
    for (int i = 0; i < 5; ++i) {
      const Client::Result result = CheckDegraded(client);
      EXPECT_FALSE(result.fail_fast) << "call " << i;
      EXPECT_EQ(result.attempts, 1);
    }
    EXPECT_TRUE(client.GetStats().cooling_down);
  }

  // kCallsAfterTrip calls on a cooling-down client: all degraded in the
  // failure mode, nearly all without an RPC (a slow run may reach the end
  // of a cool-down and send a probe). Returns the time they took.
  absl::Duration CallsAfterTrip(Client& client) {
    const uint64_t failed_fast_before = client.GetStats().failed_fast;
    const absl::Time start = absl::Now();
    for (int i = 0; i < kCallsAfterTrip; ++i) CheckDegraded(client);
    const absl::Duration elapsed = absl::Now() - start;
    EXPECT_GE(client.GetStats().failed_fast - failed_fast_before,
              uint64_t{kCallsAfterTrip - 3});
    return elapsed;
  }

  // Calls until the service answers; returns how long that took, or
  // `limit` when it never did.
  absl::Duration TimeToRecover(Client& client, absl::Duration limit) {
    const absl::Time start = absl::Now();
    while (absl::Now() - start < limit) {
      const Client::Result result = client.Check(NextCheck());
      if (result.status.ok()) {
        EXPECT_TRUE(result.allowed);
        EXPECT_FALSE(result.degraded);
        EXPECT_EQ(result.verdicts.size(), 1u);
        return absl::Now() - start;
      }
      EXPECT_TRUE(result.degraded);
      EXPECT_EQ(result.allowed, FailOpen());
      // Polling for the server to come back, not waiting for time.
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return limit;
  }

  static void Report(const std::string& what, absl::Duration value) {
    std::cout << "[ measured ] " << what << ": " << absl::FormatDuration(value)
              << std::endl;
  }

  int ip_ = 0;
};

TEST_P(ClientReliabilityTest, ServerDownAnswersInFailureModeThenFailsFast) {
  const auto client = MakeClient();
  ASSERT_TRUE(client->Check(NextCheck()).status.ok());
  ASSERT_EQ(server_->Stop(), 0);

  TripTheBreaker(*client);
  const absl::Duration elapsed = CallsAfterTrip(*client);

  Report("100 calls after tripping, server down", elapsed);
  EXPECT_LT(elapsed, kCallsAfterTrip * kDeadline / 10);
  const Client::Result result = client->Check(NextCheck());
  EXPECT_TRUE(result.fail_fast);
  EXPECT_EQ(result.attempts, 0);
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_P(ClientReliabilityTest,
       HungServerCostsOneDeadlineUntilTheClientBacksOff) {
  const auto client = MakeClient();
  ASSERT_TRUE(client->Check(NextCheck()).status.ok());
  server_->Signal(SIGSTOP);
  ASSERT_TRUE(AwaitStopped(server_->pid()));

  for (int i = 0; i < 5; ++i) {
    const Client::Result result = CheckDegraded(*client);
    EXPECT_EQ(result.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  }
  ASSERT_TRUE(client->GetStats().cooling_down);
  const absl::Duration elapsed = CallsAfterTrip(*client);
  server_->Signal(SIGCONT);
  const ClientOptions defaults;
  const absl::Duration limit = defaults.cooldown_max + kDeadline + kSlack;
  const absl::Duration recovery = TimeToRecover(*client, limit);

  Report("100 calls after tripping, server stopped", elapsed);
  Report("first answer after SIGCONT", recovery);
  // Each would have waited the full deadline without backing off.
  EXPECT_LT(elapsed, kCallsAfterTrip * kDeadline / 4);
  EXPECT_LT(recovery, limit);
  EXPECT_FALSE(client->GetStats().cooling_down);
}

TEST_P(ClientReliabilityTest, SameClientReachesTheServerRestartedOnItsPort) {
  const auto client = MakeClient();
  ASSERT_TRUE(client->Check(NextCheck()).status.ok());
  const int port = server_->port();
  server_->Kill();
  TripTheBreaker(*client);

  ASSERT_TRUE(server_->Restart()) << server_->stderr_text();
  ASSERT_EQ(server_->port(), port);
  // The longest wait: the rest of a cool-down, then gRPC's reconnect
  // backoff.
  const ClientOptions defaults;
  const absl::Duration limit =
      defaults.cooldown_max + defaults.max_reconnect_backoff + kSlack;
  const absl::Duration recovery = TimeToRecover(*client, limit);

  Report("first answer after the restarted server was up", recovery);
  EXPECT_LT(recovery, limit);
  v1::PeekRequest peek;
  *peek.add_subjects() = NextCheck().subjects(0);
  const Client::Result result = client->Peek(peek);
  EXPECT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_FALSE(result.degraded);
}

// Issue 20: values an attacker chooses (a login name, a forwarded IP) must
// neither open the gate nor make the client stop asking, in either failure
// mode.
TEST_P(ClientReliabilityTest, HostileValuesAreDeniedAndNeverTripTheBreaker) {
  const auto client = MakeClient();
  const std::vector<std::map<std::string, std::string>> hostile = {
      {{"user", "caf\xe9"}, {"ip", "192.0.2.1"}},              // Latin-1.
      {{"user", std::string(321, 'u')}, {"ip", "192.0.2.1"}},  // Too long.
      {{"user", "a\x01b"}, {"ip", "192.0.2.1"}},               // Control.
      {{"user", "ann"}, {"ip", "not-an-ip"}},                  // Server's.
  };
  for (int round = 0; round < 5; ++round) {
    for (const auto& key : hostile) {
      v1::CheckRequest request;
      *request.add_subjects() = Client::MakeSubject("failed_auth_user_ip", key);
      const Client::Result r = client->Check(request);
      EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
          << r.status.error_message();
      EXPECT_FALSE(r.allowed);
      EXPECT_TRUE(r.refused);
      EXPECT_FALSE(r.degraded);
      EXPECT_FALSE(r.fail_fast);
    }
    const Client::Result fine = client->Check(NextCheck());
    EXPECT_TRUE(fine.status.ok()) << fine.status.error_message();
    EXPECT_TRUE(fine.allowed);
    EXPECT_EQ(fine.attempts, 1);
  }
  const Client::Stats stats = client->GetStats();
  EXPECT_EQ(stats.cooldowns, 0u);
  EXPECT_EQ(stats.failed_fast, 0u);
  EXPECT_FALSE(stats.cooling_down);
  // And limiting is on: the sixth attempt of one user is denied.
  v1::CheckRequest ann;
  *ann.add_subjects() = Client::MakeSubject(
      "failed_auth_user_ip", {{"user", "ann"}, {"ip", "192.0.2.1"}});
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(client->Check(ann).allowed);
  const Client::Result sixth = client->Check(ann);
  EXPECT_TRUE(sixth.status.ok());
  EXPECT_FALSE(sixth.allowed);
}

INSTANTIATE_TEST_SUITE_P(FailureModes, ClientReliabilityTest,
                         ::testing::Values(FailureMode::kFailOpen,
                                           FailureMode::kFailClosed),
                         [](const ::testing::TestParamInfo<FailureMode>& info) {
                           return info.param == FailureMode::kFailOpen
                                      ? "FailOpen"
                                      : "FailClosed";
                         });

}  // namespace
}  // namespace gatehouse::testing
