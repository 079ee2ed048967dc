// gatehousectl against the real server, as an operator would use it.

#include <algorithm>

#include "absl/strings/str_split.h"
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

}  // namespace
}  // namespace gatehouse::testing
