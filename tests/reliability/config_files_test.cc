// The policy and credentials files as an operator edits them, against the
// real binary: a broken edit is parsed once however the server learns of it
// (SIGHUP, then the watcher), a repeated key is refused with the old
// policies kept, and credentials naming a missing policy are warned of.

#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "tests/reliability/reliability_support.h"

namespace gatehouse::testing {
namespace {

constexpr char kPolicyFailures[] =
    "gatehouse_config_reloads_total{kind=\"policies\",result=\"failure\"}";
constexpr char kPolicySuccesses[] =
    "gatehouse_config_reloads_total{kind=\"policies\",result=\"success\"}";
constexpr char kCredentialSuccesses[] =
    "gatehouse_config_reloads_total{kind=\"credentials\",result=\"success\"}";

void Replace(const std::string& path, const std::string& contents) {
  const std::string tmp = path + ".new";
  std::ofstream(tmp, std::ios::trunc) << contents;
  ASSERT_EQ(std::rename(tmp.c_str(), path.c_str()), 0);
}

// The limit Peek reports for login_ip, or 0 on an error.
uint64_t LoginIpLimit(ReliableServer& server) {
  v1::PeekRequest peek;
  *peek.add_subjects() = Client::MakeSubject("login_ip", {{"ip", "192.0.2.1"}});
  const Client::Result r = server.NewClient()->Peek(peek);
  return r.status.ok() ? r.verdicts[0].limit() : 0;
}

// A counter's value; one never incremented is not rendered yet.
double Count(int metrics_port, const std::string& sample) {
  return std::max(0.0, ScrapeValue(metrics_port, sample));
}

// Waits for `sample` to reach `value` (reloads are asynchronous).
bool AwaitSample(int metrics_port, const std::string& sample, double value) {
  for (int i = 0; i < 500; ++i) {
    if (Count(metrics_port, sample) >= value) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

class ConfigFilesTest : public ::testing::Test {
 protected:
  TempDir dir_;
  ReliableServer server_{
      dir_.path(), dir_.path() + "/data", {"--watch_interval=100ms"}};
};

TEST_F(ConfigFilesTest, BrokenEditIsParsedOnceBySighupAndWatcherTogether) {
  std::string error;
  ASSERT_TRUE(server_.Start(&error)) << error;
  const int metrics = server_.process().metrics_port();
  ASSERT_EQ(Count(metrics, kPolicyFailures), 0);

  std::string repeated = kReliabilityPolicies;
  repeated += "    limit: 7\n";  // a second `limit` in failed_auth_user_ip
  Replace(server_.policies_path(), repeated);
  server_.process().Signal(SIGHUP);
  ASSERT_TRUE(AwaitSample(metrics, kPolicyFailures, 1));
  // Several watcher rounds (--watch_interval=100ms; the housekeeping loop
  // wakes every second) and another SIGHUP see the same broken file.
  server_.process().Signal(SIGHUP);
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  EXPECT_EQ(Count(metrics, kPolicyFailures), 1);
  EXPECT_EQ(Count(metrics, kPolicySuccesses), 1);  // the start-up load
  EXPECT_EQ(Count(metrics, kCredentialSuccesses), 1);
  EXPECT_EQ(LoginIpLimit(server_), 50u);

  // Repaired: applied once.
  Replace(server_.policies_path(), kReliabilityPolicies);
  ASSERT_TRUE(AwaitSample(metrics, kPolicySuccesses, 2));
  EXPECT_EQ(Count(metrics, kPolicyFailures), 1);
}

TEST_F(ConfigFilesTest, CredentialsNamingAMissingPolicyAreWarnedOf) {
  std::string error;
  Replace(server_.credentials_path(),
          CredentialsYaml() + "    policies: [login_ip, retired_policy]\n");
  ASSERT_TRUE(server_.Start(&error)) << error;
  EXPECT_NE(server_.process().stderr_text().find(
                "names policy retired_policy, which the policy file does not "
                "have"),
            std::string::npos)
      << server_.process().stderr_text();

  // On reload too: the policy file drops login_ip.
  std::string without_login_ip = kReliabilityPolicies;
  const std::string login_ip =
      "  - name: login_ip\n    dimensions: [ip]\n    limit: 50\n"
      "    window: 1m\n";
  without_login_ip.erase(without_login_ip.find(login_ip), login_ip.size());
  Replace(server_.policies_path(), without_login_ip);
  server_.process().Signal(SIGHUP);
  ASSERT_TRUE(
      AwaitSample(server_.process().metrics_port(), kPolicySuccesses, 2));
  EXPECT_NE(server_.process().stderr_text().find(
                "names policy login_ip, which the policy file does not have"),
            std::string::npos)
      << server_.process().stderr_text();
}

}  // namespace
}  // namespace gatehouse::testing
