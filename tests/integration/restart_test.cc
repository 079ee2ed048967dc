// State survives restarts and reloads of the real server binary.

#include <signal.h>

#include <fstream>
#include <thread>

#include "tests/integration/fixture.h"

namespace gatehouse::testing {
namespace {

class RestartTest : public ServerTest {
 protected:
  uint64_t PeekCount(const std::string& ip) {
    return ServerTest::PeekCount(Client::MakeSubject("login_ip", {{"ip", ip}}));
  }
  void Record(const std::string& ip, uint64_t hits) {
    v1::RecordRequest request;
    *request.add_subjects() =
        Client::MakeSubject("login_ip", {{"ip", ip}}, hits);
    ASSERT_TRUE(client_->Record(request).status.ok());
  }
};

TEST_F(RestartTest, CountersSurviveCleanRestart) {
  Record("203.0.113.50", 7);
  EXPECT_EQ(server_->Stop(), 0);
  StartServer();
  EXPECT_EQ(PeekCount("203.0.113.50"), 7u);
}

TEST_F(RestartTest, AcknowledgedRecordsSurviveKillNine) {
  Record("203.0.113.51", 3);
  Record("203.0.113.51", 2);
  server_->Kill();
  StartServer();
  EXPECT_EQ(PeekCount("203.0.113.51"), 5u);
}

TEST_F(RestartTest, SighupReloadKeepsCountersAndAppliesNewLimit) {
  Record("203.0.113.52", 4);
  std::ofstream(policies_, std::ios::trunc) << R"(
policies:
  - name: login_ip
    dimensions: [ip]
    limit: 4
    window: 1m
)";
  server_->Signal(SIGHUP);
  // Poll until the new limit is visible (the reload is asynchronous).
  v1::PeekRequest peek;
  *peek.add_subjects() =
      Client::MakeSubject("login_ip", {{"ip", "203.0.113.52"}});
  uint64_t limit = 0;
  for (int i = 0; i < 500 && limit != 4; ++i) {
    Client::Result r = client_->Peek(peek);
    ASSERT_TRUE(r.status.ok());
    limit = r.verdicts[0].limit();
    if (limit != 4) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(limit, 4u);
  Client::Result r = client_->Peek(peek);
  EXPECT_EQ(r.verdicts[0].count(), 4u);
  EXPECT_FALSE(r.allowed);

  // A broken file is rejected and the running policies stay.
  std::ofstream(policies_, std::ios::trunc) << "policies: [{name: x}]\n";
  server_->Signal(SIGHUP);
  Client::Result still = client_->Peek(peek);
  ASSERT_TRUE(still.status.ok());
  EXPECT_EQ(still.verdicts[0].limit(), 4u);
}

TEST_F(RestartTest, ChangedPolicyFileIsReloadedWithoutASignal) {
  Record("203.0.113.53", 2);
  std::ofstream(policies_, std::ios::trunc) << R"(
policies:
  - name: login_ip
    dimensions: [ip]
    limit: 3
    window: 1m
  - name: failed_auth_user_ip
    dimensions: [user, ip]
    limit: 5
    window: 15m
)";
  // The server checks the file every 2 s (--watch_interval); poll for the
  // new limit for up to 15 s.
  v1::PeekRequest peek;
  *peek.add_subjects() =
      Client::MakeSubject("login_ip", {{"ip", "203.0.113.53"}});
  uint64_t limit = 0;
  for (int i = 0; i < 1500 && limit != 3; ++i) {
    Client::Result r = client_->Peek(peek);
    ASSERT_TRUE(r.status.ok());
    limit = r.verdicts[0].limit();
    if (limit != 3) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(limit, 3u);
  EXPECT_EQ(client_->Peek(peek).verdicts[0].count(), 2u) << "counts kept";
}

}  // namespace
}  // namespace gatehouse::testing
