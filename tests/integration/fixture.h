#ifndef GATEHOUSE_TESTS_INTEGRATION_FIXTURE_H_
#define GATEHOUSE_TESTS_INTEGRATION_FIXTURE_H_

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "client/client.h"
#include "service/auth/credentials.h"
#include "tests/integration/server_process.h"

namespace gatehouse::testing {

inline constexpr char kTestPolicies[] = R"(
policies:
  - name: login_ip
    dimensions: [ip]
    limit: 20
    window: 1m
  - name: failed_auth_user_ip
    dimensions: [user, ip]
    limit: 5
    window: 15m
    lockout: {duration: 15m, multiplier: 2, max: 24h}
)";

inline constexpr char kTestToken[] =
    "it-token-4c1f0e9d8b7a6f5e4d3c2b1a09f8e7d6";
inline constexpr char kTestPseudonymKey[] =
    "it-pseudonym-Zq8vN3xR7tL2mK9pW4sY6bH1cJ5dF0gA";

// A real gatehouse binary on a temp data dir with a test credential, and a
// real client of it.
class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    policies_ = dir_.WriteFile("policies.yaml", Policies());
    credentials_ = dir_.WriteFile(
        "credentials.yaml",
        "clients:\n  - id: it\n    token_sha256: [" +
            HexEncode(Sha256(kTestToken)) +
            "]\n    scopes: [check, peek, record, reset, audit]\n");
    token_file_ = dir_.WriteFile("token", std::string(kTestToken) + "\n");
    pseudonym_key_ =
        dir_.WriteFile("pseudonym.key", std::string(kTestPseudonymKey) + "\n");
    StartServer();
  }

  // `extra` flags are added to the usual ones.
  void StartServer(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"--data_dir=" + dir_.path() + "/data",
                                     "--policies=" + policies_,
                                     "--credentials=" + credentials_,
                                     "--pseudonym_key_file=" + pseudonym_key_,
                                     "--shutdown_grace=200ms",
                                     "--max_streams_per_client=64"};
    args.insert(args.end(), extra.begin(), extra.end());
    server_ = std::make_unique<ServerProcess>(std::move(args));
    ASSERT_TRUE(server_->Start()) << server_->stderr_text();
    ClientOptions options;
    options.target = server_->address();
    options.token = kTestToken;
    options.deadline = absl::Seconds(5);
    client_ = Client::Create(options);
  }

  // The policy file the server starts with.
  virtual std::string Policies() const { return kTestPolicies; }

  // Runs gatehousectl with `args` against the server, with the test token.
  CommandResult Ctl(std::vector<std::string> args) {
    std::vector<std::string> argv = {GATEHOUSECTL_BIN};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("--addr=" + server_->address());
    argv.push_back("--token_file=" + token_file_);
    return RunCommand(argv);
  }

  // The count Peek reports for `subject` (0, with a failure, on an error).
  uint64_t PeekCount(const v1::Subject& subject) {
    v1::PeekRequest peek;
    *peek.add_subjects() = subject;
    Client::Result r = client_->Peek(peek);
    EXPECT_TRUE(r.status.ok()) << r.status.error_message();
    return r.verdicts.empty() ? 0 : r.verdicts[0].count();
  }

  TempDir dir_;
  std::string policies_, credentials_, token_file_, pseudonym_key_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<Client> client_;
};

}  // namespace gatehouse::testing

#endif  // GATEHOUSE_TESTS_INTEGRATION_FIXTURE_H_
