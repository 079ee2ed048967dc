// gatehousectl against the real server, as an operator would use it.

#include "tests/integration/fixture.h"

namespace gatehouse::testing {
namespace {

class GatehousectlTest : public ServerTest {
 protected:
  CommandResult Ctl(std::vector<std::string> args) {
    std::vector<std::string> argv = {GATEHOUSECTL_BIN};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("--addr=" + server_->address());
    argv.push_back("--token_file=" + token_file_);
    return RunCommand(argv);
  }
};

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

TEST_F(GatehousectlTest, WrongTokenIsUnauthenticated) {
  const std::string wrong = dir_.WriteFile("wrong", "not-the-token\n");
  CommandResult r = RunCommand(
      {GATEHOUSECTL_BIN, "peek", "--policy", "login_ip", "--key", "ip=10.0.0.1",
       "--addr=" + server_->address(), "--token_file=" + wrong});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("UNAUTHENTICATED"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace gatehouse::testing
