// The server refuses to start on bad configuration, saying what and where.

#include <string>
#include <utility>
#include <vector>

#include "tests/integration/fixture.h"

namespace gatehouse::testing {
namespace {

class StartupTest : public ::testing::Test {
 protected:
  CommandResult RunServer(std::vector<std::string> flags) {
    std::vector<std::string> argv = {
        GATEHOUSE_BIN, "--listen=127.0.0.1:0", "--metrics_listen=127.0.0.1:0",
        "--data_dir=" + dir_.path() + "/data",
        "--pseudonym_key_file=" + dir_.WriteFile("key", kTestPseudonymKey)};
    argv.insert(argv.end(), flags.begin(), flags.end());
    return RunCommand(argv);
  }
  TempDir dir_;
};

TEST_F(StartupTest, InvalidPolicyFileNamesPolicyAndFieldAndExitsNonZero) {
  const std::string policies = dir_.WriteFile("p.yaml", R"(
policies:
  - name: login_ip
    dimensions: [ip]
    limit: 20
    window: 15x
)");
  CommandResult r =
      RunServer({"--policies=" + policies, "--allow_unauthenticated"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("policies[0] (login_ip).window"), std::string::npos)
      << r.err;
}

TEST_F(StartupTest, RepeatedKeyInPolicyFileNamesKeyAndLinesAndExitsNonZero) {
  const std::string policies = dir_.WriteFile("p.yaml", R"(
policies:
  - name: login_ip
    dimensions: [ip]
    limit: 5
    window: 1m
    limit: 500000
)");
  CommandResult r =
      RunServer({"--policies=" + policies, "--allow_unauthenticated"});
  EXPECT_NE(r.exit_code, 0);
  // The log is JSON: the key's quotes are escaped.
  EXPECT_NE(r.err.find(R"(line 7: duplicate key \"limit\" (first at line 5))"),
            std::string::npos)
      << r.err;
}

TEST_F(StartupTest, OversizedPolicyFileIsRefusedBeforeParsing) {
  // 100,000 policies, 6.5 MB: refused for its size, not after parsing it.
  std::string yaml = "policies:\n";
  for (int i = 0; i < 100000; ++i) {
    yaml += "  - {name: p" + std::to_string(i) +
            ", dimensions: [ip], limit: 5, window: 1m}\n";
  }
  const std::string policies = dir_.WriteFile("big.yaml", yaml);
  CommandResult r =
      RunServer({"--policies=" + policies, "--allow_unauthenticated"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("policy file is over 2 MiB"), std::string::npos)
      << r.err;
}

TEST_F(StartupTest, MissingCredentialsIsRefused) {
  const std::string policies = dir_.WriteFile("p.yaml", kTestPolicies);
  CommandResult r = RunServer({"--policies=" + policies});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--credentials"), std::string::npos) << r.err;
}

TEST_F(StartupTest, UnauthenticatedIsRefusedOffLoopback) {
  const std::string policies = dir_.WriteFile("p.yaml", kTestPolicies);
  std::vector<std::string> argv = {
      GATEHOUSE_BIN,
      "--listen=0.0.0.0:0",
      "--data_dir=" + dir_.path() + "/data",
      "--policies=" + policies,
      "--allow_unauthenticated",
      "--pseudonym_key_file=" + dir_.WriteFile("key", kTestPseudonymKey)};
  CommandResult r = RunCommand(argv);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("loopback"), std::string::npos) << r.err;
}

TEST_F(StartupTest, NegativeCounterCacheIsRefusedNamingTheFlag) {
  const std::string policies = dir_.WriteFile("p.yaml", kTestPolicies);
  CommandResult r =
      RunServer({"--policies=" + policies, "--allow_unauthenticated",
                 "--counter_cache_mb=-1"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--counter_cache_mb"), std::string::npos) << r.err;
}

TEST_F(StartupTest, CheckpointFlagsOutOfRangeAreRefusedNamingTheFlag) {
  const std::string policies = dir_.WriteFile("p.yaml", kTestPolicies);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--checkpoint_interval=0s",
       "--checkpoint_interval: must be from 10ms to 10m, got 0"},
      {"--checkpoint_interval=11m",
       "--checkpoint_interval: must be from 10ms to 10m, got 11m"},
      {"--checkpoint_max_dirty_keys=0",
       "--checkpoint_max_dirty_keys: must be >= 1, got 0"}};
  for (const auto& [flag, error] : cases) {
    CommandResult r =
        RunServer({"--policies=" + policies, "--allow_unauthenticated", flag});
    EXPECT_NE(r.exit_code, 0) << flag;
    EXPECT_NE(r.err.find(error), std::string::npos) << flag << ": " << r.err;
  }
}

TEST_F(StartupTest, MissingPolicyFileNamesThePath) {
  CommandResult r = RunServer({"--policies=" + dir_.path() + "/absent.yaml",
                               "--allow_unauthenticated"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("absent.yaml"), std::string::npos) << r.err;
}

TEST_F(StartupTest, DataDirHeldByAnotherServerIsRefused) {
  const std::string policies = dir_.WriteFile("p.yaml", kTestPolicies);
  ServerProcess first(
      {"--data_dir=" + dir_.path() + "/data", "--policies=" + policies,
       "--allow_unauthenticated",
       "--pseudonym_key_file=" + dir_.WriteFile("key", kTestPseudonymKey)});
  ASSERT_TRUE(first.Start()) << first.stderr_text();
  CommandResult second =
      RunServer({"--policies=" + policies, "--allow_unauthenticated"});
  EXPECT_NE(second.exit_code, 0);
  EXPECT_NE(second.err.find("cannot open RocksDB"), std::string::npos)
      << second.err;
}

TEST_F(StartupTest, PersonalDimensionsWithoutPseudonymKeyAreRefused) {
  const std::string policies = dir_.WriteFile("p.yaml", kTestPolicies);
  CommandResult r = RunCommand(
      {GATEHOUSE_BIN, "--listen=127.0.0.1:0", "--metrics_listen=127.0.0.1:0",
       "--data_dir=" + dir_.path() + "/data", "--policies=" + policies,
       "--allow_unauthenticated"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--pseudonym_key_file"), std::string::npos) << r.err;

  // Without personal dimensions no key is needed.
  const std::string impersonal = dir_.WriteFile("q.yaml", R"(
personal_dimensions: []
policies:
  - name: login_ip
    dimensions: [ip]
    limit: 20
    window: 1m
)");
  ServerProcess server({"--data_dir=" + dir_.path() + "/data2",
                        "--policies=" + impersonal, "--allow_unauthenticated"});
  EXPECT_TRUE(server.Start()) << server.stderr_text();
}

TEST_F(StartupTest, WeakPseudonymKeysAreRefused) {
  const std::string policies = dir_.WriteFile("p.yaml", kTestPolicies);
  const std::vector<std::string> weak = {
      "",                                           // empty
      "short-but-random-Xq9",                       // too short
      std::string(48, 'a'),                         // repeated
      "abcdefghijklmnopqrstuvwxyz0123456789ABCD",   // sequential
      "password-password-password-changeme-admin",  // dictionary
      "qwertyuiopasdfghjklzxcvbnm1234567890qwer",   // keyboard rows
  };
  for (size_t i = 0; i < weak.size(); ++i) {
    const std::string key = dir_.WriteFile("weak" + std::to_string(i), weak[i]);
    CommandResult r = RunCommand(
        {GATEHOUSE_BIN, "--listen=127.0.0.1:0", "--metrics_listen=127.0.0.1:0",
         "--data_dir=" + dir_.path() + "/data", "--policies=" + policies,
         "--allow_unauthenticated", "--pseudonym_key_file=" + key});
    EXPECT_NE(r.exit_code, 0) << "weak key " << i;
    EXPECT_NE(r.err.find("--pseudonym_key_file"), std::string::npos)
        << "weak key " << i << ": " << r.err;
    if (!weak[i].empty()) {
      EXPECT_EQ(r.err.find(weak[i]), std::string::npos)
          << "the secret must not be echoed";
    }
  }
}

}  // namespace
}  // namespace gatehouse::testing
