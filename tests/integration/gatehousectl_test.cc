// gatehousectl against the real server, as an operator would use it.

#include <algorithm>
#include <fstream>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gatehouse/v1/admin.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "tests/integration/fixture.h"

namespace gatehouse::testing {
namespace {

class GatehousectlTest : public ServerTest {};

TEST_F(GatehousectlTest, RecordThenPeekPrintsVerdictsAsJson) {
  for (int i = 1; i <= 5; ++i) {
    CommandResult r = Ctl({"record", "--policy", "failed_auth_user_ip", "--key",
                           "user=bob@example.com,ip=198.51.100.9"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("\"count\":\"" + std::to_string(i) + "\""),
              std::string::npos)
        << r.out;
    EXPECT_EQ(r.out.find("\"ceiling_hit\":true") != std::string::npos, i == 5)
        << r.out;
  }
  CommandResult peek = Ctl({"peek", "--policy", "failed_auth_user_ip", "--key",
                            "ip=198.51.100.9,user=bob@example.com"});
  ASSERT_EQ(peek.exit_code, 0) << peek.err;
  EXPECT_NE(peek.out.find("\"allowed\":false"), std::string::npos) << peek.out;
  EXPECT_NE(peek.out.find("\"decision\":\"DENY\""), std::string::npos)
      << peek.out;

  CommandResult reset = Ctl({"reset", "--policy", "failed_auth_user_ip",
                             "--key", "ip=198.51.100.9,user=bob@example.com"});
  ASSERT_EQ(reset.exit_code, 0) << reset.err;
  CommandResult check =
      Ctl({"check", "--policy", "failed_auth_user_ip", "--key",
           "ip=198.51.100.9,user=bob@example.com", "--hits", "2"});
  ASSERT_EQ(check.exit_code, 0) << check.err;
  EXPECT_NE(check.out.find("\"allowed\":true"), std::string::npos) << check.out;
  EXPECT_NE(check.out.find("\"count\":\"2\""), std::string::npos) << check.out;
}

TEST_F(GatehousectlTest, ServiceErrorsExitOneAndUsageErrorsExitTwo) {
  CommandResult unknown =
      Ctl({"peek", "--policy", "nope", "--key", "ip=10.0.0.1"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("NOT_FOUND"), std::string::npos) << unknown.err;

  CommandResult bad_key = Ctl({"peek", "--policy", "login_ip", "--key", "ip"});
  EXPECT_EQ(bad_key.exit_code, 2);
  EXPECT_NE(bad_key.err.find("--key"), std::string::npos) << bad_key.err;
}

TEST_F(GatehousectlTest, InvalidUtf8ValueIsRefusedNamingTheField) {
  CommandResult r = Ctl({"check", "--policy", "failed_auth_user_ip", "--key",
                         "user=caf\xe9,ip=198.51.100.7"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("\"allowed\":false"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("INVALID_ARGUMENT: subjects[0].key[\"user\"]"),
            std::string::npos)
      << r.err;
}

TEST_F(GatehousectlTest, WrongTokenIsUnauthenticated) {
  const std::string wrong = dir_.WriteFile("wrong", "not-the-token\n");
  CommandResult r = RunCommand(
      {GATEHOUSECTL_BIN, "peek", "--policy", "login_ip", "--key", "ip=10.0.0.1",
       "--addr=" + server_->address(), "--token_file=" + wrong});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("UNAUTHENTICATED"), std::string::npos) << r.err;
}

TEST_F(GatehousectlTest, AuditTailPrintsJsonLinesAndPseudonymFindsTheUser) {
  for (int i = 0; i < 6; ++i) {
    ASSERT_EQ(Ctl({"record", "--policy", "failed_auth_user_ip", "--key",
                   "user=carol@example.com,ip=198.51.100.20"})
                  .exit_code,
              0);
  }
  CommandResult all = Ctl({"audit", "tail"});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  std::vector<std::string> lines =
      absl::StrSplit(all.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 6u) << all.out;
  EXPECT_NE(lines[0].find("\"sequence\":\"1\""), std::string::npos) << lines[0];
  EXPECT_NE(lines[5].find("\"sequence\":\"6\""), std::string::npos) << lines[5];

  CommandResult from = Ctl({"audit", "tail", "--from", "5"});
  ASSERT_EQ(from.exit_code, 0) << from.err;
  EXPECT_EQ(std::count(from.out.begin(), from.out.end(), '\n'), 2);

  CommandResult ceiling = Ctl(
      {"audit", "tail", "--ceiling-only", "--policy", "failed_auth_user_ip"});
  ASSERT_EQ(ceiling.exit_code, 0) << ceiling.err;
  ASSERT_EQ(std::count(ceiling.out.begin(), ceiling.out.end(), '\n'), 1)
      << ceiling.out;
  EXPECT_NE(ceiling.out.find("\"sequence\":\"5\""), std::string::npos);
  EXPECT_EQ(all.out.find("carol@example.com"), std::string::npos);

  // The operator's way to find carol's events: her pseudonym.
  CommandResult pseudonym =
      RunCommand({GATEHOUSECTL_BIN, "pseudonym", "--dimension", "user",
                  "--pseudonym_key_file", pseudonym_key_, "carol@example.com"});
  ASSERT_EQ(pseudonym.exit_code, 0) << pseudonym.err;
  std::string p = pseudonym.out.substr(0, pseudonym.out.find('\n'));
  ASSERT_EQ(p.rfind("p_", 0), 0u) << p;
  EXPECT_NE(lines[0].find("\"user\":\"" + p + "\""), std::string::npos)
      << lines[0];

  CommandResult beyond = Ctl({"audit", "tail", "--from", "100"});
  EXPECT_EQ(beyond.exit_code, 1);
  EXPECT_NE(beyond.err.find("OUT_OF_RANGE"), std::string::npos) << beyond.err;
}

// The operator commands against the real server: an "ops" client with the
// admin scope beside the fixture's "it" client, which has every other scope.
constexpr char kOpsToken[] = "it-ops-token-9d3a7c1e5b2f8d4a6c0e1b3f5a7d9c2e";

using ::google::protobuf::util::TimeUtil;

template <typename Message>
Message ParseJson(const std::string& json) {
  Message message;
  const auto status =
      google::protobuf::util::JsonStringToMessage(json, &message);
  EXPECT_TRUE(status.ok()) << status << " in: " << json;
  return message;
}

absl::Time ToTime(const google::protobuf::Timestamp& t) {
  return absl::FromUnixNanos(TimeUtil::TimestampToNanoseconds(t));
}

class GatehousectlAdminTest : public ServerTest {
 protected:
  void SetUp() override {
    ServerTest::SetUp();
    ASSERT_FALSE(HasFatalFailure());
    // The fixture's credentials plus the operator; restarted on them.
    std::ofstream(credentials_, std::ios::trunc)
        << "clients:\n  - id: it\n    token_sha256: ["
        << HexEncode(Sha256(kTestToken))
        << "]\n    scopes: [check, peek, record, reset, audit]\n"
        << "  - id: ops\n    token_sha256: [" << HexEncode(Sha256(kOpsToken))
        << "]\n    scopes: [admin]\n";
    ops_token_file_ = dir_.WriteFile("ops-token", std::string(kOpsToken));
    server_->Stop();
    StartServer();
  }

  // gatehousectl as the operator.
  CommandResult Ops(std::vector<std::string> args) {
    std::vector<std::string> argv = {GATEHOUSECTL_BIN};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("--addr=" + server_->address());
    argv.push_back("--token_file=" + ops_token_file_);
    return RunCommand(argv);
  }

  // Blocks login_ip's `ip` with `reason`; fails the test unless it worked.
  v1::BlockResponse BlockIp(const std::string& ip, const std::string& reason,
                            const std::string& duration = "15m") {
    std::vector<std::string> args = {"block", "--policy", "login_ip",
                                     "--key", "ip=" + ip, "--reason",
                                     reason};
    if (!duration.empty()) args.insert(args.end(), {"--duration", duration});
    CommandResult r = Ops(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return ParseJson<v1::BlockResponse>(r.out);
  }

  v1::CheckResponse CheckIp(const std::string& ip) {
    CommandResult r =
        Ctl({"check", "--policy", "login_ip", "--key", "ip=" + ip});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return ParseJson<v1::CheckResponse>(r.out);
  }

  v1::InspectResponse InspectIp(const std::string& ip) {
    CommandResult r =
        Ops({"inspect", "--policy", "login_ip", "--key", "ip=" + ip});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return ParseJson<v1::InspectResponse>(r.out);
  }

  v1::ListLockoutsResponse Lockouts(std::vector<std::string> args) {
    args.insert(args.begin(), "lockouts");
    CommandResult r = Ops(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return ParseJson<v1::ListLockoutsResponse>(r.out);
  }

  static std::vector<std::string> Reasons(
      const v1::ListLockoutsResponse& response) {
    std::vector<std::string> reasons;
    for (const v1::Lockout& lockout : response.lockouts()) {
      reasons.push_back(lockout.reason());
    }
    return reasons;
  }

  std::string ops_token_file_;
};

TEST_F(GatehousectlAdminTest, BlockDeniesCheckInspectShowsItUnblockLiftsIt) {
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(CheckIp("198.51.100.7").allowed());
  }
  const absl::Time before = absl::Now();
  const v1::BlockResponse blocked = BlockIp("198.51.100.7", "INC-1042 wave");
  const absl::Time after = absl::Now();
  EXPECT_FALSE(blocked.permanent());
  EXPECT_FALSE(blocked.exempt());
  EXPECT_GT(blocked.audit_sequence(), 0u);
  // Fifteen minutes from when the server handled it.
  EXPECT_GE(
      ToTime(blocked.locked_until()),
      absl::FromUnixMillis(absl::ToUnixMillis(before)) + absl::Minutes(15));
  EXPECT_LE(ToTime(blocked.locked_until()), after + absl::Minutes(15));

  const v1::CheckResponse denied = CheckIp("198.51.100.7");
  EXPECT_FALSE(denied.allowed());
  ASSERT_EQ(denied.verdicts_size(), 1);
  EXPECT_EQ(denied.verdicts(0).decision(), v1::Verdict::DENY);
  EXPECT_EQ(ToTime(denied.verdicts(0).locked_until()),
            ToTime(blocked.locked_until()));
  EXPECT_TRUE(CheckIp("198.51.100.8").allowed()) << "only the subject";

  const v1::InspectResponse inspected = InspectIp("198.51.100.7");
  EXPECT_FALSE(inspected.empty());
  EXPECT_EQ(inspected.count(), 3u) << "the denied check counted nothing";
  EXPECT_EQ(inspected.limit(), 20u);
  EXPECT_EQ(TimeUtil::DurationToSeconds(inspected.window()), 60);
  EXPECT_EQ(ToTime(inspected.locked_until()), ToTime(blocked.locked_until()));
  EXPECT_FALSE(inspected.permanent());
  uint64_t in_buckets = 0;
  for (const v1::WindowBucket& bucket : inspected.buckets()) {
    in_buckets += bucket.count();
  }
  EXPECT_EQ(in_buckets, 3u);
  ASSERT_EQ(inspected.stored_key().size(), 1u);
  EXPECT_EQ(inspected.stored_key().at("ip"), "198.51.100.7");

  CommandResult unblock = Ops({"unblock", "--policy", "login_ip", "--key",
                               "ip=198.51.100.7", "--reason", "INC-1042 over"});
  ASSERT_EQ(unblock.exit_code, 0) << unblock.err;
  const auto unblocked = ParseJson<v1::UnblockResponse>(unblock.out);
  EXPECT_TRUE(unblocked.was_locked());
  EXPECT_GT(unblocked.audit_sequence(), blocked.audit_sequence());

  const v1::CheckResponse allowed = CheckIp("198.51.100.7");
  EXPECT_TRUE(allowed.allowed());
  EXPECT_EQ(allowed.verdicts(0).count(), 1u) << "Unblock cleared the counter";
  CommandResult again = Ops({"unblock", "--policy", "login_ip", "--key",
                             "ip=198.51.100.7", "--reason", "twice"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_FALSE(ParseJson<v1::UnblockResponse>(again.out).was_locked());

  // The reasons reached the audit log under the operator's client id.
  CommandResult audit = Ctl({"audit", "tail"});
  ASSERT_EQ(audit.exit_code, 0) << audit.err;
  EXPECT_NE(audit.out.find("\"operator_reason\":\"INC-1042 wave\""),
            std::string::npos)
      << audit.out;
  EXPECT_NE(audit.out.find("\"operator_reason\":\"INC-1042 over\""),
            std::string::npos);
  EXPECT_NE(audit.out.find("\"client_id\":\"ops\""), std::string::npos);
}

TEST_F(GatehousectlAdminTest, BlockWithoutDurationLocksUntilUnblocked) {
  const v1::BlockResponse blocked =
      BlockIp("198.51.100.9", "until we know", /*duration=*/"");
  EXPECT_TRUE(blocked.permanent());
  EXPECT_EQ(TimeUtil::ToString(blocked.locked_until()), "9999-12-31T23:59:59Z");

  const v1::CheckResponse denied = CheckIp("198.51.100.9");
  EXPECT_FALSE(denied.allowed());
  EXPECT_TRUE(denied.verdicts(0).permanent());
  EXPECT_TRUE(InspectIp("198.51.100.9").permanent());
}

TEST_F(GatehousectlAdminTest, CeilingLockoutIsListedInspectedAndUnblocked) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(Ctl({"record", "--policy", "failed_auth_user_ip", "--key",
                   "user=dave@example.com,ip=203.0.113.50"})
                  .exit_code,
              0);
  }
  CommandResult inspect =
      Ops({"inspect", "--policy", "failed_auth_user_ip", "--key",
           "user=dave@example.com,ip=203.0.113.50", "--reason", "ticket 7"});
  ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
  const auto inspected = ParseJson<v1::InspectResponse>(inspect.out);
  EXPECT_EQ(inspected.count(), 5u);
  EXPECT_EQ(inspected.offences(), 1u);
  EXPECT_TRUE(inspected.has_locked_until());
  EXPECT_GT(ToTime(inspected.locked_until()), absl::Now());
  EXPECT_GT(inspected.last_audit_sequence(), 0u);
  // Stored under the pseudonym, never the address.
  ASSERT_EQ(inspected.stored_key().count("user"), 1u);
  EXPECT_EQ(inspected.stored_key().at("user").rfind("p_", 0), 0u);

  const v1::ListLockoutsResponse listed =
      Lockouts({"--policy", "failed_auth_user_ip"});
  ASSERT_EQ(listed.lockouts_size(), 1);
  const v1::Lockout& lockout = listed.lockouts(0);
  EXPECT_EQ(lockout.subject().policy(), "failed_auth_user_ip");
  EXPECT_EQ(lockout.subject().key().at("user"),
            inspected.stored_key().at("user"));
  EXPECT_EQ(lockout.offences(), 1u);
  EXPECT_EQ(lockout.blocked_by(), "");
  EXPECT_EQ(ToTime(lockout.locked_until()), ToTime(inspected.locked_until()));
  EXPECT_EQ(listed.next_page_token(), "");

  CommandResult unblock =
      Ops({"unblock", "--policy", "failed_auth_user_ip", "--key",
           "user=dave@example.com,ip=203.0.113.50", "--reason", "real user"});
  ASSERT_EQ(unblock.exit_code, 0) << unblock.err;
  EXPECT_TRUE(ParseJson<v1::UnblockResponse>(unblock.out).was_locked());
  CommandResult check = Ctl({"check", "--policy", "failed_auth_user_ip",
                             "--key", "user=dave@example.com,ip=203.0.113.50"});
  ASSERT_EQ(check.exit_code, 0) << check.err;
  EXPECT_TRUE(ParseJson<v1::CheckResponse>(check.out).allowed());
  EXPECT_EQ(Lockouts({}).lockouts_size(), 0);
  CommandResult after = Ops({"inspect", "--policy", "failed_auth_user_ip",
                             "--key", "user=dave@example.com,ip=203.0.113.50"});
  ASSERT_EQ(after.exit_code, 0) << after.err;
  const auto cleared = ParseJson<v1::InspectResponse>(after.out);
  EXPECT_EQ(cleared.offences(), 0u);
  EXPECT_FALSE(cleared.has_locked_until());
}

TEST_F(GatehousectlAdminTest, LockoutsListsNewestFirstAndFiltersByPolicy) {
  BlockIp("198.51.100.1", "first");
  CommandResult user = Ops({"block", "--policy", "failed_auth_user_ip", "--key",
                            "user=erin@example.com,ip=198.51.100.2",
                            "--duration", "1h", "--reason", "second"});
  ASSERT_EQ(user.exit_code, 0) << user.err;
  BlockIp("198.51.100.3", "third");

  const v1::ListLockoutsResponse all = Lockouts({});
  EXPECT_EQ(Reasons(all),
            (std::vector<std::string>{"third", "second", "first"}));
  EXPECT_EQ(all.next_page_token(), "");
  for (const v1::Lockout& lockout : all.lockouts()) {
    EXPECT_EQ(lockout.blocked_by(), "ops");
    EXPECT_FALSE(lockout.permanent());
  }
  EXPECT_EQ(all.lockouts(0).subject().key().at("ip"), "198.51.100.3");
  // A personal dimension is listed as its pseudonym.
  EXPECT_EQ(all.lockouts(1).subject().key().at("user").rfind("p_", 0), 0u);

  const v1::ListLockoutsResponse login_ip = Lockouts({"--policy", "login_ip"});
  EXPECT_EQ(Reasons(login_ip), (std::vector<std::string>{"third", "first"}));
}

TEST_F(GatehousectlAdminTest, LockoutsLimitFollowsPagesAndPageTokenGoesOn) {
  for (int i = 0; i < 7; ++i) {
    BlockIp(absl::StrCat("192.0.2.", i), absl::StrCat("block ", i));
  }

  // Three calls of at most two lockouts each make the first five.
  const v1::ListLockoutsResponse first =
      Lockouts({"--limit", "5", "--page_size", "2"});
  EXPECT_EQ(Reasons(first),
            (std::vector<std::string>{"block 6", "block 5", "block 4",
                                      "block 3", "block 2"}));
  ASSERT_NE(first.next_page_token(), "") << "two more remain";

  const v1::ListLockoutsResponse rest =
      Lockouts({"--limit", "5", "--page_size", "2", "--page_token",
                first.next_page_token()});
  EXPECT_EQ(Reasons(rest), (std::vector<std::string>{"block 1", "block 0"}));
  EXPECT_EQ(rest.next_page_token(), "");
}

TEST_F(GatehousectlAdminTest, LockoutsLimitSpansPagesOfAThousand) {
  // More lockouts than one page holds, made through the client library.
  ClientOptions options;
  options.target = server_->address();
  options.token = kOpsToken;
  options.deadline = absl::Seconds(5);
  const auto ops = Client::Create(options);
  constexpr int kBlocked = 1005;
  for (int i = 0; i < kBlocked; ++i) {
    v1::BlockRequest block;
    *block.mutable_subject() = Client::MakeSubject(
        "login_ip", {{"ip", absl::StrCat("10.1.", i / 250, ".", i % 250)}});
    block.mutable_duration()->set_seconds(900);
    block.set_reason("bulk");
    v1::BlockResponse response;
    const grpc::Status status = ops->Block(block, &response);
    ASSERT_TRUE(status.ok()) << i << ": " << status.error_message();
  }

  const v1::ListLockoutsResponse first = Lockouts({"--limit", "1003"});
  ASSERT_EQ(first.lockouts_size(), 1003);
  ASSERT_NE(first.next_page_token(), "");
  const v1::ListLockoutsResponse rest =
      Lockouts({"--page_token", first.next_page_token()});
  ASSERT_EQ(rest.lockouts_size(), 2);
  EXPECT_EQ(rest.next_page_token(), "");
  std::set<std::string> ips;
  for (const auto* page : {&first, &rest}) {
    for (const v1::Lockout& lockout : page->lockouts()) {
      ips.insert(lockout.subject().key().at("ip"));
    }
  }
  EXPECT_EQ(ips.size(), static_cast<size_t>(kBlocked)) << "none twice";
  // Newest first across the pages (Blocks this fast share milliseconds, so
  // only locked_at's order is asserted, not the order of the calls).
  std::vector<int64_t> locked_at;
  for (const auto* page : {&first, &rest}) {
    for (const v1::Lockout& lockout : page->lockouts()) {
      locked_at.push_back(
          TimeUtil::TimestampToMilliseconds(lockout.locked_at()));
    }
  }
  EXPECT_TRUE(std::is_sorted(locked_at.rbegin(), locked_at.rend()));
  EXPECT_GT(locked_at.front(), locked_at.back());
}

TEST_F(GatehousectlAdminTest, CallerWithoutAdminScopeIsPermissionDenied) {
  const std::vector<std::vector<std::string>> commands = {
      {"block", "--policy", "login_ip", "--key", "ip=198.51.100.5", "--reason",
       "r"},
      {"unblock", "--policy", "login_ip", "--key", "ip=198.51.100.5",
       "--reason", "r"},
      {"lockouts"},
      {"inspect", "--policy", "login_ip", "--key", "ip=198.51.100.5"},
  };
  for (const auto& args : commands) {
    SCOPED_TRACE(args[0]);
    CommandResult r = Ctl(args);  // The fixture's token: no admin scope.

    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.err.rfind("error: PERMISSION_DENIED: ", 0), 0u) << r.err;
    EXPECT_EQ(r.out, "");
  }
  EXPECT_TRUE(CheckIp("198.51.100.5").allowed()) << "nothing was blocked";
}

TEST_F(GatehousectlAdminTest, MissingReasonIsAUsageErrorAndSendsNothing) {
  for (const char* command : {"block", "unblock"}) {
    SCOPED_TRACE(command);
    CommandResult r =
        Ops({command, "--policy", "login_ip", "--key", "ip=198.51.100.6"});

    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("--reason is required"), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "");
  }
  EXPECT_TRUE(CheckIp("198.51.100.6").allowed());
  EXPECT_EQ(Lockouts({}).lockouts_size(), 0);
}

}  // namespace
}  // namespace gatehouse::testing
