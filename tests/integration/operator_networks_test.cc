// Exempt and deny networks and permanent lockouts through the real binary:
// a policy file with both, verdict reasons on the wire and in gatehousectl's
// JSON, a reload that changes the lists and keeps counters, and a permanent
// lockout that survives a restart.

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <thread>

#include "gatehouse/v1/audit.grpc.pb.h"
#include "tests/integration/fixture.h"

namespace gatehouse::testing {
namespace {

constexpr char kPolicies[] = R"(
exempt: [10.0.0.0/8, "2001:db8::/32"]
deny:
  - {cidr: 198.51.100.0/24, reason: "credential stuffing, INC-42"}
policies:
  - name: login_ip
    dimensions: [ip]
    limit: 2
    window: 1m
    deny: [{cidr: 203.0.113.128/25, reason: "scanner"}]
  - name: failed_auth_user_ip
    dimensions: [user, ip]
    limit: 2
    window: 15m
    lockout: {duration: 15m, permanent_after: 1}
)";

// The same with the top-level deny list gone and 203.0.113.0/25 exempt.
constexpr char kPoliciesAfterIncident[] = R"(
exempt: [10.0.0.0/8, "2001:db8::/32", 203.0.113.0/25]
policies:
  - name: login_ip
    dimensions: [ip]
    limit: 2
    window: 1m
  - name: failed_auth_user_ip
    dimensions: [user, ip]
    limit: 2
    window: 15m
    lockout: {duration: 15m, permanent_after: 1}
)";

class OperatorNetworksTest : public ServerTest {
 protected:
  std::string Policies() const override { return kPolicies; }

  v1::Verdict Check(const std::string& ip, uint64_t hits = 1) {
    v1::CheckRequest check;
    *check.add_subjects() = Client::MakeSubject("login_ip", {{"ip", ip}}, hits);
    Client::Result r = client_->Check(check);
    EXPECT_TRUE(r.status.ok()) << r.status.error_message();
    return r.verdicts.empty() ? v1::Verdict{} : r.verdicts[0];
  }

  Client::Result RecordFailure() {
    v1::RecordRequest record;
    *record.add_subjects() = Client::MakeSubject(
        "failed_auth_user_ip",
        {{"user", "alice@example.com"}, {"ip", "192.0.2.44"}}, 2);
    return client_->Record(record);
  }
};

TEST_F(OperatorNetworksTest, VerdictsSayExemptOrDenylistedAndCountNothing) {
  for (int i = 0; i < 5; ++i) {
    const v1::Verdict v = Check("::ffff:10.1.2.3", 2);
    EXPECT_EQ(v.decision(), v1::Verdict::ALLOW);
    EXPECT_EQ(v.reason(), v1::Verdict::EXEMPT);
    EXPECT_EQ(v.network(), "10.0.0.0/8");
    EXPECT_EQ(v.count(), 0u);
  }
  const v1::Verdict denied = Check("198.51.100.77");
  EXPECT_EQ(denied.decision(), v1::Verdict::DENY);
  EXPECT_EQ(denied.reason(), v1::Verdict::DENYLISTED);
  EXPECT_EQ(denied.deny_reason(), "credential stuffing, INC-42");
  const v1::Verdict own = Check("203.0.113.200");
  EXPECT_EQ(own.reason(), v1::Verdict::DENYLISTED);
  EXPECT_EQ(own.network(), "203.0.113.128/25");
  EXPECT_EQ(own.deny_reason(), "scanner");

  // gatehousectl shows the reason in its JSON.
  CommandResult ctl =
      Ctl({"check", "--policy", "login_ip", "--key", "ip=198.51.100.78"});
  ASSERT_EQ(ctl.exit_code, 0) << ctl.err;
  EXPECT_NE(ctl.out.find("\"reason\":\"DENYLISTED\""), std::string::npos)
      << ctl.out;
  EXPECT_NE(ctl.out.find("\"network\":\"198.51.100.0/24\""), std::string::npos)
      << ctl.out;

  // The audit log says why too.
  v1::StreamRequest stream;
  stream.set_from_sequence(1);
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", std::string("Bearer ") + kTestToken);
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  auto channel = grpc::CreateChannel(server_->address(),
                                     grpc::InsecureChannelCredentials());
  auto stub = v1::Audit::NewStub(channel);
  auto reader = stub->Stream(&ctx, stream);
  std::vector<v1::AuditEvent> events;
  v1::AuditEvent e;
  while (events.size() < 8 && reader->Read(&e)) events.push_back(e);
  ctx.TryCancel();
  ASSERT_EQ(events.size(), 8u);
  EXPECT_EQ(events[0].reason(), v1::Verdict::EXEMPT);
  EXPECT_EQ(events[5].reason(), v1::Verdict::DENYLISTED);
  EXPECT_EQ(events[5].deny_reason(), "credential stuffing, INC-42");
  EXPECT_EQ(events[7].network(), "198.51.100.0/24");
}

TEST_F(OperatorNetworksTest, AReloadChangesTheListsAndKeepsCounters) {
  EXPECT_EQ(Check("203.0.113.5").count(), 1u);
  ASSERT_EQ(Check("198.51.100.1").reason(), v1::Verdict::DENYLISTED);

  const std::string tmp = policies_ + ".tmp";
  std::ofstream(tmp, std::ios::trunc) << kPoliciesAfterIncident;
  ASSERT_EQ(std::rename(tmp.c_str(), policies_.c_str()), 0);
  server_->Signal(SIGHUP);
  // The reload is asynchronous: poll (bounded) until the deny entry is gone.
  v1::Verdict after;
  for (int i = 0; i < 500; ++i) {
    v1::PeekRequest peek;
    *peek.add_subjects() =
        Client::MakeSubject("login_ip", {{"ip", "198.51.100.1"}});
    Client::Result r = client_->Peek(peek);
    ASSERT_TRUE(r.status.ok()) << r.status.error_message();
    after = r.verdicts.at(0);
    if (after.reason() != v1::Verdict::DENYLISTED) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(after.decision(), v1::Verdict::ALLOW);
  EXPECT_EQ(after.reason(), v1::Verdict::REASON_UNSPECIFIED);
  // 203.0.113.5 is exempt now; its stored count is kept, not cleared.
  const v1::Verdict exempt = Check("203.0.113.5", 5);
  EXPECT_EQ(exempt.reason(), v1::Verdict::EXEMPT);
  EXPECT_EQ(exempt.count(), 1u);
}

TEST_F(OperatorNetworksTest, PermanentLockoutOutlivesARestartUntilReset) {
  Client::Result r = RecordFailure();
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  const v1::Verdict& v = r.verdicts.at(0);
  EXPECT_TRUE(v.ceiling_hit());
  EXPECT_TRUE(v.permanent());
  EXPECT_EQ(v.decision(), v1::Verdict::DENY);
  EXPECT_EQ(v.locked_until().seconds(), 253'402'300'799);

  ASSERT_EQ(server_->Stop(), 0) << server_->stderr_text();
  ASSERT_TRUE(server_->Restart()) << server_->stderr_text();
  v1::PeekRequest peek;
  *peek.add_subjects() = Client::MakeSubject(
      "failed_auth_user_ip",
      {{"user", "alice@example.com"}, {"ip", "192.0.2.44"}});
  Client::Result locked = client_->Peek(peek);
  ASSERT_TRUE(locked.status.ok()) << locked.status.error_message();
  EXPECT_EQ(locked.verdicts.at(0).decision(), v1::Verdict::DENY);
  EXPECT_TRUE(locked.verdicts.at(0).permanent());

  // An operator lifts it.
  CommandResult reset = Ctl({"reset", "--policy", "failed_auth_user_ip",
                             "--key", "user=alice@example.com,ip=192.0.2.44"});
  ASSERT_EQ(reset.exit_code, 0) << reset.err;
  Client::Result open = client_->Peek(peek);
  ASSERT_TRUE(open.status.ok());
  EXPECT_EQ(open.verdicts.at(0).decision(), v1::Verdict::ALLOW);
  EXPECT_FALSE(open.verdicts.at(0).permanent());
}

TEST_F(OperatorNetworksTest, ABadPrefixKeepsTheServerFromStarting) {
  ASSERT_EQ(server_->Stop(), 0);
  const std::string bad = dir_.WriteFile(
      "bad.yaml",
      "exempt: [10.0.0.0/8, 10.0.0.300/8]\npolicies:\n"
      "  - {name: login_ip, dimensions: [ip], limit: 2, window: 1m}\n");
  ServerProcess server({"--data_dir=" + dir_.path() + "/data2",
                        "--policies=" + bad, "--credentials=" + credentials_,
                        "--pseudonym_key_file=" + pseudonym_key_});
  EXPECT_FALSE(server.Start());
}

}  // namespace
}  // namespace gatehouse::testing
