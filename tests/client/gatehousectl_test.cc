// Runs the gatehousectl binary against a FakeServer: the CLI's contract
// (flags, JSON output, exit codes). End-to-end runs against the real server
// belong to tests/integration.

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gatehouse/v1/ratelimit.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "service/auth/credentials.h"
#include "service/auth/secret_strength.h"
#include "tests/client/fake_rate_limiter.h"
#include "tests/testing/temp_dir.h"

extern char** environ;

namespace gatehouse {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::MatchesRegex;
using ::testing::Optional;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

struct Outcome {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

// A fresh directory per test, for the child's output and token files.
class GatehousectlTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.ok()); }

  std::string WriteFile(const std::string& name, const std::string& text) {
    const std::string path = Path(name);
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

  // Runs gatehousectl with `args` and, when set, GATEHOUSE_TOKEN=`env_token`
  // (the variable is otherwise removed from the child's environment).
  Outcome Run(std::vector<std::string> args, const char* env_token = nullptr) {
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
      if (!absl::StartsWith(*e, "GATEHOUSE_TOKEN=")) env.emplace_back(*e);
    }
    if (env_token != nullptr) {
      env.push_back(absl::StrCat("GATEHOUSE_TOKEN=", env_token));
    }
    args.insert(args.begin(), GATEHOUSECTL_PATH);

    const std::string out = Path("stdout"), err = Path("stderr");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid = 0;
    const int spawned =
        posix_spawn(&pid, GATEHOUSECTL_PATH, &actions, nullptr,
                    Pointers(args).data(), Pointers(env).data());
    posix_spawn_file_actions_destroy(&actions);
    Outcome outcome;
    if (spawned != 0) {
      ADD_FAILURE() << "posix_spawn: " << std::strerror(spawned);
      return outcome;
    }
    int status = 0;
    if (waitpid(pid, &status, 0) == pid && WIFEXITED(status)) {
      outcome.exit_code = WEXITSTATUS(status);
    }
    outcome.out = ReadFile(out);
    outcome.err = ReadFile(err);
    return outcome;
  }

  FakeServer server_;

 private:
  std::string Path(const std::string& name) { return dir_.Sub(name); }

  static std::vector<char*> Pointers(std::vector<std::string>& strings) {
    std::vector<char*> pointers;
    for (std::string& s : strings) pointers.push_back(s.data());
    pointers.push_back(nullptr);
    return pointers;
  }

  testing::TempDir dir_;
};

v1::Verdict DenyVerdict() {
  v1::Verdict verdict;
  verdict.set_policy("login_ip");
  verdict.set_decision(v1::Verdict::DENY);
  verdict.set_count(5);
  verdict.set_limit(5);
  verdict.set_remaining(0);
  verdict.mutable_retry_after()->set_seconds(30);
  verdict.mutable_reset_after()->set_seconds(60);
  return verdict;
}

v1::CheckResponse ParseJson(const std::string& json) {
  v1::CheckResponse response;
  const auto status =
      google::protobuf::util::JsonStringToMessage(json, &response);
  EXPECT_TRUE(status.ok()) << status << " in: " << json;
  return response;
}

TEST_F(GatehousectlTest, SendsTheRequestTheFlagsDescribe) {
  const std::string token_file = WriteFile("token", "s3cret\n\n");

  const Outcome outcome =
      Run({"record", "--policy", "login_user", "--key",
           "ip=203.0.113.7,user=alice@example.com", "--hits", "3", "--context",
           "route=/login,ua=curl", "--addr", server_.target(), "--token_file",
           token_file});

  EXPECT_EQ(outcome.exit_code, 0) << outcome.err;
  const auto calls = server_.service().calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].method, "Record");
  EXPECT_THAT(calls[0].authorization, Optional(std::string("Bearer s3cret")));
  ASSERT_EQ(calls[0].request.subjects_size(), 1);
  const v1::Subject& subject = calls[0].request.subjects(0);
  EXPECT_EQ(subject.policy(), "login_user");
  EXPECT_THAT(subject.key(),
              UnorderedElementsAre(Pair("ip", "203.0.113.7"),
                                   Pair("user", "alice@example.com")));
  EXPECT_EQ(subject.hits(), 3u);
  EXPECT_THAT(
      calls[0].request.context(),
      UnorderedElementsAre(Pair("route", "/login"), Pair("ua", "curl")));
}

TEST_F(GatehousectlTest, TakesTheTokenFromTheEnvironmentWithoutTokenFile) {
  const Outcome outcome = Run({"peek", "--policy", "login_ip", "--key",
                               "ip=203.0.113.7", "--addr", server_.target()},
                              /*env_token=*/"from-env");

  EXPECT_EQ(outcome.exit_code, 0) << outcome.err;
  const auto calls = server_.service().calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].method, "Peek");
  EXPECT_THAT(calls[0].authorization, Optional(std::string("Bearer from-env")));
}

TEST_F(GatehousectlTest, PrintsTheAnswerAsOneJsonObjectWithProtoFieldNames) {
  server_.service().SetReply(grpc::Status::OK, /*allowed=*/false,
                             {DenyVerdict()});

  const Outcome outcome = Run({"check", "--policy", "login_ip", "--key",
                               "ip=203.0.113.7", "--addr", server_.target()});

  EXPECT_EQ(outcome.exit_code, 0) << outcome.err;
  EXPECT_THAT(outcome.err, IsEmpty());
  const v1::CheckResponse printed = ParseJson(outcome.out);
  EXPECT_FALSE(printed.allowed());
  ASSERT_EQ(printed.verdicts_size(), 1);
  EXPECT_TRUE(MessageDifferencer::Equals(printed.verdicts(0), DenyVerdict()));
  // Default-valued fields are printed, under their proto names.
  EXPECT_THAT(outcome.out, HasSubstr("\"allowed\":false"));
  EXPECT_THAT(outcome.out, HasSubstr("\"remaining\":\"0\""));
  EXPECT_THAT(outcome.out, HasSubstr("\"ceiling_hit\":false"));
  EXPECT_THAT(outcome.out, HasSubstr("\"retry_after\":\"30s\""));
  EXPECT_THAT(outcome.out, HasSubstr("\"reset_after\":\"60s\""));
  EXPECT_EQ(outcome.out.find('\n'), outcome.out.size() - 1) << "one line";
}

TEST_F(GatehousectlTest, DenialExitsThreeOnlyWithExitCodeOnDeny) {
  server_.service().SetReply(grpc::Status::OK, /*allowed=*/false,
                             {DenyVerdict()});
  const std::vector<std::string> args = {
      "check",          "--policy", "login_ip",      "--key",
      "ip=203.0.113.7", "--addr",   server_.target()};
  std::vector<std::string> with_flag = args;
  with_flag.push_back("--exit_code_on_deny");

  EXPECT_EQ(Run(args).exit_code, 0);
  EXPECT_EQ(Run(with_flag).exit_code, 3);
}

TEST_F(GatehousectlTest, AllowedExitsZeroEvenWithExitCodeOnDeny) {
  const Outcome outcome =
      Run({"check", "--policy", "login_ip", "--key", "ip=203.0.113.7", "--addr",
           server_.target(), "--exit_code_on_deny"});

  EXPECT_EQ(outcome.exit_code, 0) << outcome.err;
  EXPECT_TRUE(ParseJson(outcome.out).allowed());
}

TEST_F(GatehousectlTest, RpcErrorExitsOneWithCodeAndMessageOnStderr) {
  server_.service().SetReply(
      grpc::Status(grpc::StatusCode::NOT_FOUND, "no policy 'nope'"));

  const Outcome outcome =
      Run({"check", "--policy", "nope", "--key", "ip=203.0.113.7", "--addr",
           server_.target(), "--exit_code_on_deny"});

  EXPECT_EQ(outcome.exit_code, 1);
  EXPECT_EQ(outcome.err, "error: NOT_FOUND: no policy 'nope'\n");
  EXPECT_TRUE(ParseJson(outcome.out).allowed()) << "fails open by default";
}

TEST_F(GatehousectlTest, FailClosedPrintsDeniedOnRpcError) {
  server_.service().SetReply(
      grpc::Status(grpc::StatusCode::UNAVAILABLE, "store down"));

  const Outcome outcome =
      Run({"check", "--policy", "login_ip", "--key", "ip=203.0.113.7", "--addr",
           server_.target(), "--fail_closed"});

  EXPECT_EQ(outcome.exit_code, 1);
  EXPECT_EQ(outcome.err, "error: UNAVAILABLE: store down\n");
  EXPECT_FALSE(ParseJson(outcome.out).allowed());
}

TEST_F(GatehousectlTest, UsageErrorsExitTwoNamingTheProblem) {
  const std::string missing_file =
      absl::StrCat(::testing::TempDir(), "/gatehousectl_no_such_file");
  const std::string addr = server_.target();
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"check", "--policy", "p", "--key", "ip=1.2.3.4,alice", "--addr", addr},
       "--key: item 2 'alice'"},
      {{"check", "--policy", "p", "--key", "=1.2.3.4", "--addr", addr},
       "--key: item 1"},
      {{"check", "--policy", "p", "--key", "ip=1,ip=2", "--addr", addr},
       "repeats the name 'ip'"},
      {{"check", "--policy", "p", "--key", "ip=1", "--context", "route",
        "--addr", addr},
       "--context: item 1 'route'"},
      {{"check", "--key", "ip=1", "--addr", addr}, "--policy is required"},
      {{"check", "--policy", "p", "--addr", addr}, "--key is required"},
      {{"--policy", "p", "--key", "ip=1", "--addr", addr}, "missing command"},
      {{"allow", "--policy", "p", "--key", "ip=1", "--addr", addr},
       "unknown command 'allow'"},
      {{"check", "extra", "--policy", "p", "--key", "ip=1", "--addr", addr},
       "unexpected argument 'extra'"},
      {{"check", "--policy", "p", "--key", "ip=1", "--deadline", "0s", "--addr",
        addr},
       "--deadline must be positive"},
      {{"check", "--policy", "p", "--key", "ip=1", "--token_file", missing_file,
        "--addr", addr},
       "--token_file: cannot open"},
      // Reported by absl's flag parser.
      {{"check", "--policy", "p", "--key", "ip=1", "--hits", "-1", "--addr",
        addr},
       "hits"},
      {{"check", "--policy", "p", "--key", "ip=1", "--colour", "--addr", addr},
       "colour"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.message);
    const Outcome outcome = Run(c.args);

    EXPECT_EQ(outcome.exit_code, 2);
    EXPECT_THAT(outcome.err, HasSubstr(c.message));
    EXPECT_THAT(outcome.out, IsEmpty());
  }
  EXPECT_THAT(server_.service().calls(), IsEmpty());
}

TEST_F(GatehousectlTest, HelpExitsZeroWithUsageOnStdout) {
  const Outcome outcome = Run({"--help"});

  EXPECT_EQ(outcome.exit_code, 0);
  EXPECT_THAT(outcome.out, HasSubstr("check|peek|record|reset"));
  EXPECT_THAT(outcome.out, HasSubstr("--exit_code_on_deny"));
}

TEST_F(GatehousectlTest, EmptyTokenFileIsAUsageError) {
  const std::string token_file = WriteFile("token", " \n");

  const Outcome outcome =
      Run({"check", "--policy", "p", "--key", "ip=1", "--addr",
           server_.target(), "--token_file", token_file});

  EXPECT_EQ(outcome.exit_code, 2);
  EXPECT_THAT(outcome.err, HasSubstr("--token_file:"));
  EXPECT_THAT(server_.service().calls(), IsEmpty());
}

TEST_F(GatehousectlTest, TokenThatCannotBeAHeaderIsAUsageError) {
  const std::string token_file = WriteFile("token", "first\nsecond\n");
  const std::vector<std::string> args = {
      "check", "--policy", "p", "--key", "ip=1", "--addr", server_.target()};
  std::vector<std::string> with_file = args;
  with_file.insert(with_file.end(), {"--token_file", token_file});

  const Outcome from_file = Run(with_file);
  const Outcome from_env = Run(args, /*env_token=*/"tab\there");

  EXPECT_EQ(from_file.exit_code, 2);
  EXPECT_THAT(from_file.err, HasSubstr("--token_file: token: byte 0x0a"));
  EXPECT_EQ(from_env.exit_code, 2);
  EXPECT_THAT(from_env.err, HasSubstr("GATEHOUSE_TOKEN: token: byte 0x09"));
  EXPECT_THAT(server_.service().calls(), IsEmpty());
}

TEST_F(GatehousectlTest, GenSecretPrintsAStrongUrlSafeSecret) {
  const Outcome outcome = Run({"gen-secret"});

  EXPECT_EQ(outcome.exit_code, 0) << outcome.err;
  EXPECT_THAT(outcome.err, IsEmpty());
  // 32 bytes: 43 characters of URL-safe base64, no padding, one line.
  EXPECT_THAT(outcome.out, MatchesRegex("[A-Za-z0-9_-]{43}\n"));
  const std::string secret = outcome.out.substr(0, outcome.out.size() - 1);
  EXPECT_TRUE(CheckSecretStrength(secret, "gen-secret output").ok())
      << CheckSecretStrength(secret, "gen-secret output");
  EXPECT_THAT(server_.service().calls(), IsEmpty());
}

TEST_F(GatehousectlTest, GenSecretPrintsADifferentSecretEachTime) {
  std::set<std::string> seen;
  for (int i = 0; i < 20; ++i) {
    const Outcome outcome = Run({"gen-secret"});
    ASSERT_EQ(outcome.exit_code, 0) << outcome.err;
    seen.insert(outcome.out);
  }
  EXPECT_EQ(seen.size(), 20u);
}

TEST_F(GatehousectlTest, GenSecretWithHashAddsTheSha256OfTheSecret) {
  const Outcome outcome = Run({"gen-secret", "--hash"});

  EXPECT_EQ(outcome.exit_code, 0) << outcome.err;
  EXPECT_THAT(outcome.out, MatchesRegex("[A-Za-z0-9_-]{43}\n[0-9a-f]{64}\n"));
  const std::string secret = outcome.out.substr(0, 43);
  const std::string hash = outcome.out.substr(44, 64);
  // What the server compares: sha256 of the token exactly as sent.
  EXPECT_EQ(hash, HexEncode(Sha256(secret)));
  const auto credentials = Credentials::Parse(
      absl::StrCat("clients:\n  - id: ops\n    token_sha256: [", hash,
                   "]\n    scopes: [admin]\n"),
      "generated");
  ASSERT_TRUE(credentials.ok()) << credentials.status();
  ASSERT_NE((*credentials)->FindByToken(secret), nullptr);
  EXPECT_EQ((*credentials)->FindByToken(secret)->id, "ops");
}

TEST_F(GatehousectlTest, GenSecretOutputWorksAsATokenFile) {
  const Outcome generated = Run({"gen-secret"});
  ASSERT_EQ(generated.exit_code, 0) << generated.err;
  const std::string token_file = WriteFile("token", generated.out);

  const Outcome outcome =
      Run({"peek", "--policy", "login_ip", "--key", "ip=203.0.113.7", "--addr",
           server_.target(), "--token_file", token_file});

  EXPECT_EQ(outcome.exit_code, 0) << outcome.err;
  const auto calls = server_.service().calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_THAT(calls[0].authorization,
              Optional(absl::StrCat("Bearer ", generated.out.substr(0, 43))));
}

TEST_F(GatehousectlTest, HashFlagOutsideGenSecretIsAUsageError) {
  const Outcome outcome = Run({"check", "--policy", "p", "--key", "ip=1",
                               "--addr", server_.target(), "--hash"});

  EXPECT_EQ(outcome.exit_code, 2);
  EXPECT_THAT(outcome.err, HasSubstr("--hash applies only to gen-secret"));
  EXPECT_THAT(outcome.out, IsEmpty());
  EXPECT_THAT(server_.service().calls(), IsEmpty());
}

TEST_F(GatehousectlTest, GenSecretWithExtraArgumentIsAUsageError) {
  const Outcome outcome = Run({"gen-secret", "now"});

  EXPECT_EQ(outcome.exit_code, 2);
  EXPECT_THAT(outcome.err, HasSubstr("unexpected argument 'now'"));
  EXPECT_THAT(outcome.out, IsEmpty());
}

TEST_F(GatehousectlTest, HelpDescribesGenSecret) {
  const Outcome outcome = Run({"--help"});

  EXPECT_EQ(outcome.exit_code, 0);
  EXPECT_THAT(outcome.out, HasSubstr("gen-secret [--hash]"));
}

}  // namespace
}  // namespace gatehouse
