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
#include "gatehouse/v1/admin.pb.h"
#include "gatehouse/v1/ratelimit.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "service/auth/credentials.h"
#include "service/auth/secret_strength.h"
#include "tests/client/fake_rate_limiter.h"
#include "tests/testing/temp_dir.h"

extern char** environ;

namespace gatehouse {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::google::protobuf::util::TimeUtil;
using ::testing::ElementsAre;
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

// The operator commands (block, unblock, lockouts, inspect) against the
// FakeAdmin: the requests their flags make, their JSON, their errors.

template <typename Message>
Message ParseJsonAs(const std::string& json) {
  Message message;
  const auto status =
      google::protobuf::util::JsonStringToMessage(json, &message);
  EXPECT_TRUE(status.ok()) << status << " in: " << json;
  return message;
}

google::protobuf::Timestamp Time(const char* rfc3339) {
  google::protobuf::Timestamp time;
  EXPECT_TRUE(TimeUtil::FromString(rfc3339, &time)) << rfc3339;
  return time;
}

v1::Lockout LockoutOf(int i) {
  v1::Lockout lockout;
  lockout.mutable_subject()->set_policy("login_ip");
  (*lockout.mutable_subject()->mutable_key())["ip"] =
      absl::StrCat("198.51.100.", i % 250);
  *lockout.mutable_locked_until() = Time("2026-12-06T21:00:00Z");
  lockout.set_reason(absl::StrCat("lockout ", i));
  return lockout;
}

std::vector<v1::Lockout> Lockouts(int n) {
  std::vector<v1::Lockout> lockouts;
  for (int i = 0; i < n; ++i) lockouts.push_back(LockoutOf(i));
  return lockouts;
}

std::vector<std::string> Reasons(const v1::ListLockoutsResponse& response) {
  std::vector<std::string> reasons;
  for (const v1::Lockout& lockout : response.lockouts()) {
    reasons.push_back(lockout.reason());
  }
  return reasons;
}

TEST_F(GatehousectlTest, BlockSendsSubjectDurationAndReasonAndPrintsTheAnswer) {
  v1::BlockResponse answer;
  *answer.mutable_locked_until() = Time("2026-12-06T22:30:00Z");
  answer.set_audit_sequence(42);
  server_.admin().SetBlockResponse(answer);
  const std::string token_file = WriteFile("token", "ops-token\n");

  const Outcome outcome =
      Run({"block", "--policy", "failed_auth_user_ip", "--key",
           "user=alice@example.com,ip=203.0.113.7", "--duration", "1h30m",
           "--reason", "INC-1042 stuffing", "--addr", server_.target(),
           "--token_file", token_file});

  EXPECT_EQ(outcome.exit_code, 0) << outcome.err;
  EXPECT_THAT(outcome.err, IsEmpty());
  const auto calls = server_.admin().calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].method, "Block");
  EXPECT_THAT(calls[0].authorization,
              Optional(std::string("Bearer ops-token")));
  const v1::BlockRequest& request = calls[0].block;
  EXPECT_EQ(request.subject().policy(), "failed_auth_user_ip");
  EXPECT_THAT(request.subject().key(),
              UnorderedElementsAre(Pair("ip", "203.0.113.7"),
                                   Pair("user", "alice@example.com")));
  EXPECT_EQ(request.subject().hits(), 0u);
  ASSERT_TRUE(request.has_duration());
  EXPECT_EQ(request.duration().seconds(), 5400);
  EXPECT_EQ(request.duration().nanos(), 0);
  EXPECT_EQ(request.reason(), "INC-1042 stuffing");
  EXPECT_TRUE(MessageDifferencer::Equals(
      ParseJsonAs<v1::BlockResponse>(outcome.out), answer));
  // The field order is protobuf 3.21's: with every primitive field
  // printed, the message fields (locked_until) come last.
  EXPECT_EQ(outcome.out,
            "{\"permanent\":false,\"audit_sequence\":\"42\",\"exempt\":false,"
            "\"locked_until\":\"2026-12-06T22:30:00Z\"}\n");
  EXPECT_THAT(server_.service().calls(), IsEmpty());
}

TEST_F(GatehousectlTest, BlockWithoutDurationAsksForAPermanentLockout) {
  const Outcome outcome =
      Run({"block", "--policy", "login_ip", "--key", "ip=203.0.113.7",
           "--reason", "until we know", "--addr", server_.target()});

  EXPECT_EQ(outcome.exit_code, 0) << outcome.err;
  const auto calls = server_.admin().calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_FALSE(calls[0].block.has_duration());
}

TEST_F(GatehousectlTest, BlockKeepsSubSecondDurations) {
  const Outcome outcome =
      Run({"block", "--policy", "login_ip", "--key", "ip=203.0.113.7",
           "--duration", "2.5s", "--reason", "r", "--addr", server_.target()});

  EXPECT_EQ(outcome.exit_code, 0) << outcome.err;
  const auto calls = server_.admin().calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].block.duration().seconds(), 2);
  EXPECT_EQ(calls[0].block.duration().nanos(), 500'000'000);
}

TEST_F(GatehousectlTest, UnblockSendsSubjectAndReasonAndPrintsWasLocked) {
  v1::UnblockResponse answer;
  answer.set_was_locked(true);
  answer.set_audit_sequence(43);
  server_.admin().SetUnblockResponse(answer);

  const Outcome outcome =
      Run({"unblock", "--policy", "login_ip", "--key", "ip=203.0.113.7",
           "--reason", "false positive", "--addr", server_.target()});

  EXPECT_EQ(outcome.exit_code, 0) << outcome.err;
  const auto calls = server_.admin().calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].method, "Unblock");
  EXPECT_EQ(calls[0].unblock.subject().policy(), "login_ip");
  EXPECT_THAT(calls[0].unblock.subject().key(),
              ElementsAre(Pair("ip", "203.0.113.7")));
  EXPECT_EQ(calls[0].unblock.reason(), "false positive");
  EXPECT_EQ(outcome.out, "{\"was_locked\":true,\"audit_sequence\":\"43\"}\n");
}

TEST_F(GatehousectlTest, InspectPrintsTheWholeAnswerWithOptionalReason) {
  v1::InspectResponse answer;
  answer.set_count(7);
  *answer.mutable_locked_until() = Time("2026-12-06T21:15:00Z");
  answer.set_offences(2);
  answer.set_limit(5);
  *answer.mutable_window() = TimeUtil::SecondsToDuration(900);
  *answer.mutable_bucket_width() = TimeUtil::SecondsToDuration(60);
  v1::WindowBucket* bucket = answer.add_buckets();
  *bucket->mutable_start() = Time("2026-12-06T20:59:00Z");
  bucket->set_count(7);
  answer.set_last_audit_sequence(99);
  (*answer.mutable_stored_key())["ip"] = "203.0.113.7";
  server_.admin().SetInspectResponse(answer);
  const std::vector<std::string> args = {
      "inspect",        "--policy", "login_ip",      "--key",
      "ip=203.0.113.7", "--addr",   server_.target()};
  std::vector<std::string> with_reason = args;
  with_reason.insert(with_reason.end(), {"--reason", "ticket 7"});

  const Outcome without = Run(args);
  const Outcome with = Run(with_reason);

  EXPECT_EQ(without.exit_code, 0) << without.err;
  EXPECT_EQ(with.exit_code, 0) << with.err;
  const auto calls = server_.admin().calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].method, "Inspect");
  EXPECT_EQ(calls[0].inspect.subject().policy(), "login_ip");
  EXPECT_EQ(calls[0].inspect.reason(), "");
  EXPECT_EQ(calls[1].inspect.reason(), "ticket 7");
  EXPECT_TRUE(MessageDifferencer::Equals(
      ParseJsonAs<v1::InspectResponse>(without.out), answer));
  EXPECT_THAT(without.out, HasSubstr("\"count\":\"7\""));
  EXPECT_THAT(without.out, HasSubstr("\"offences\":2"));
  EXPECT_THAT(without.out,
              HasSubstr("\"locked_until\":\"2026-12-06T21:15:00Z\""));
  EXPECT_THAT(without.out, HasSubstr("\"empty\":false"));
  EXPECT_EQ(without.out.find('\n'), without.out.size() - 1) << "one line";
}

TEST_F(GatehousectlTest, LockoutsFollowsPagesUpToTheLimitAndSaysWhereToGoOn) {
  server_.admin().SetLockouts(Lockouts(10));

  const Outcome first =
      Run({"lockouts", "--policy", "login_ip", "--limit", "7", "--page_size",
           "3", "--reason", "INC-9", "--addr", server_.target()});

  ASSERT_EQ(first.exit_code, 0) << first.err;
  const auto pages = server_.admin().calls();
  ASSERT_EQ(pages.size(), 3u);
  // Each page asks only for what is still missing.
  EXPECT_EQ(pages[0].list.page_size(), 3u);
  EXPECT_EQ(pages[1].list.page_size(), 3u);
  EXPECT_EQ(pages[2].list.page_size(), 1u);
  EXPECT_EQ(pages[0].list.page_token(), "");
  EXPECT_EQ(pages[1].list.page_token(), "at:3");
  EXPECT_EQ(pages[2].list.page_token(), "at:6");
  for (const FakeAdmin::Call& page : pages) {
    EXPECT_EQ(page.method, "ListLockouts");
    EXPECT_EQ(page.list.policy(), "login_ip");
    EXPECT_EQ(page.list.reason(), "INC-9");
  }
  const auto printed = ParseJsonAs<v1::ListLockoutsResponse>(first.out);
  EXPECT_THAT(Reasons(printed),
              ElementsAre("lockout 0", "lockout 1", "lockout 2", "lockout 3",
                          "lockout 4", "lockout 5", "lockout 6"));
  EXPECT_EQ(printed.next_page_token(), "at:7");

  const Outcome rest = Run({"lockouts", "--policy", "login_ip", "--page_token",
                            "at:7", "--addr", server_.target()});

  ASSERT_EQ(rest.exit_code, 0) << rest.err;
  const auto calls = server_.admin().calls();
  ASSERT_EQ(calls.size(), 4u);
  EXPECT_EQ(calls[3].list.page_token(), "at:7");
  const auto remaining = ParseJsonAs<v1::ListLockoutsResponse>(rest.out);
  EXPECT_THAT(Reasons(remaining),
              ElementsAre("lockout 7", "lockout 8", "lockout 9"));
  EXPECT_EQ(remaining.next_page_token(), "");
  // The end of the list is said, not left out.
  EXPECT_THAT(rest.out, HasSubstr("\"next_page_token\":\"\""));
}

TEST_F(GatehousectlTest, LockoutsAsksForPagesOfAtMostAThousand) {
  server_.admin().SetLockouts(Lockouts(1500));

  const Outcome outcome =
      Run({"lockouts", "--limit", "1200", "--addr", server_.target()});

  ASSERT_EQ(outcome.exit_code, 0) << outcome.err;
  const auto calls = server_.admin().calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].list.page_size(), 1000u);
  EXPECT_EQ(calls[1].list.page_size(), 200u);
  EXPECT_EQ(calls[0].list.policy(), "");
  const auto printed = ParseJsonAs<v1::ListLockoutsResponse>(outcome.out);
  ASSERT_EQ(printed.lockouts_size(), 1200);
  EXPECT_EQ(printed.lockouts(1199).reason(), "lockout 1199");
  EXPECT_EQ(printed.next_page_token(), "at:1200");
}

TEST_F(GatehousectlTest, LockoutsStopsAtTheLastPageBeforeTheLimit) {
  server_.admin().SetLockouts(Lockouts(5));

  const Outcome outcome = Run({"lockouts", "--addr", server_.target()});

  ASSERT_EQ(outcome.exit_code, 0) << outcome.err;
  const auto calls = server_.admin().calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].list.page_size(), 100u) << "--limit defaults to 100";
  const auto printed = ParseJsonAs<v1::ListLockoutsResponse>(outcome.out);
  EXPECT_EQ(printed.lockouts_size(), 5);
  EXPECT_EQ(printed.next_page_token(), "");
}

TEST_F(GatehousectlTest, LockoutsWithNoneLockedPrintsAnEmptyList) {
  const Outcome outcome = Run({"lockouts", "--addr", server_.target()});

  ASSERT_EQ(outcome.exit_code, 0) << outcome.err;
  EXPECT_EQ(outcome.out, "{\"lockouts\":[],\"next_page_token\":\"\"}\n");
}

TEST_F(GatehousectlTest, AdminRpcErrorExitsOneWithNothingOnStdout) {
  server_.admin().SetStatus(grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                                         "client 'it' lacks scope admin"));
  const std::string addr = server_.target();
  const std::vector<std::vector<std::string>> commands = {
      {"block", "--policy", "p", "--key", "ip=1", "--reason", "r"},
      {"unblock", "--policy", "p", "--key", "ip=1", "--reason", "r"},
      {"lockouts"},
      {"inspect", "--policy", "p", "--key", "ip=1"},
  };
  for (std::vector<std::string> args : commands) {
    SCOPED_TRACE(args[0]);
    args.insert(args.end(), {"--addr", addr});

    const Outcome outcome = Run(args);

    EXPECT_EQ(outcome.exit_code, 1);
    EXPECT_EQ(outcome.err,
              "error: PERMISSION_DENIED: client 'it' lacks scope admin\n");
    EXPECT_THAT(outcome.out, IsEmpty());
  }
  EXPECT_EQ(server_.admin().calls().size(), 4u);
}

TEST_F(GatehousectlTest, LockoutsWithAnUnknownPageTokenIsTheServicesError) {
  server_.admin().SetLockouts(Lockouts(3));

  const Outcome outcome =
      Run({"lockouts", "--page_token", "bogus", "--addr", server_.target()});

  EXPECT_EQ(outcome.exit_code, 1);
  EXPECT_EQ(outcome.err, "error: INVALID_ARGUMENT: page_token: unknown\n");
  EXPECT_THAT(outcome.out, IsEmpty());
}

TEST_F(GatehousectlTest, AdminUsageErrorsExitTwoNamingTheFlagAndSendNothing) {
  const std::string addr = server_.target();
  const std::string long_reason(257, 'r');
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"block", "--policy", "p", "--key", "ip=1"}, "--reason is required"},
      {{"unblock", "--policy", "p", "--key", "ip=1"}, "--reason is required"},
      {{"block", "--policy", "p", "--key", "ip=1", "--reason="},
       "--reason is required"},
      {{"block", "--policy", "p", "--key", "ip=1", "--reason", long_reason},
       "--reason: 257 bytes, at most 256"},
      {{"inspect", "--policy", "p", "--key", "ip=1", "--reason", "a\tb"},
       "--reason: must be UTF-8 without control characters"},
      {{"lockouts", "--reason", "caf\xe9"},
       "--reason: must be UTF-8 without control characters"},
      {{"block", "--policy", "p", "--key", "ip=1", "--reason", "r",
        "--duration", "15"},
       "--duration: '15' is not a duration"},
      {{"block", "--policy", "p", "--key", "ip=1", "--reason", "r",
        "--duration", "-5m"},
       "--duration: must be positive"},
      {{"block", "--policy", "p", "--key", "ip=1", "--reason", "r",
        "--duration", "0s"},
       "--duration: must be positive"},
      {{"block", "--policy", "p", "--key", "ip=1", "--reason", "r",
        "--duration", "inf"},
       "leave --duration out"},
      {{"block", "--policy", "p", "--key", "ip=1", "--reason", "r",
        "--duration", "87601h"},
       "--duration: at most 87600h"},
      {{"unblock", "--policy", "p", "--key", "ip=1", "--reason", "r",
        "--duration", "1h"},
       "--duration applies only to block"},
      {{"block", "--key", "ip=1", "--reason", "r"}, "--policy is required"},
      {{"inspect", "--policy", "p"}, "--key is required"},
      {{"unblock", "--policy", "p", "--key", "ip", "--reason", "r"},
       "--key: item 1 'ip'"},
      {{"block", "--policy", "p", "--key", "ip=1", "--reason", "r", "--hits",
        "3"},
       "--hits applies only to check, peek, record and reset"},
      {{"inspect", "--policy", "p", "--key", "ip=1", "--context", "a=b"},
       "--context applies only to check, peek, record and reset"},
      {{"block", "--policy", "p", "--key", "ip=1", "--reason", "r",
        "--exit_code_on_deny"},
       "--exit_code_on_deny applies only to"},
      {{"check", "--policy", "p", "--key", "ip=1", "--reason", "r"},
       "--reason applies only to block, unblock, lockouts and inspect"},
      {{"inspect", "--policy", "p", "--key", "ip=1", "--limit", "5"},
       "--limit applies only to lockouts"},
      {{"block", "--policy", "p", "--key", "ip=1", "--reason", "r",
        "--page_token", "x"},
       "--page_token applies only to lockouts"},
      {{"lockouts", "--key", "ip=1"}, "--key does not apply to lockouts"},
      {{"lockouts", "--limit", "0"}, "--limit: must be 1..1000000, got 0"},
      {{"lockouts", "--limit", "-3"}, "--limit: must be 1..1000000, got -3"},
      {{"lockouts", "--limit", "1000001"}, "--limit: must be 1..1000000"},
      {{"lockouts", "--page_size", "1001"}, "--page_size: must be 1..1000"},
      {{"lockouts", "--page_size", "0"}, "--page_size: must be 1..1000"},
      {{"lockouts", "--limit", "many"}, "limit"},  // absl's flag parser.
      {{"lockouts", "extra"}, "unexpected argument 'extra'"},
      {{"block", "--policy", "p", "--key", "ip=1", "--reason", "r",
        "--deadline", "0s"},
       "--deadline must be positive"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.message);
    std::vector<std::string> args = c.args;
    args.insert(args.end(), {"--addr", addr});

    const Outcome outcome = Run(args);

    EXPECT_EQ(outcome.exit_code, 2);
    EXPECT_THAT(outcome.err, HasSubstr(c.message));
    EXPECT_THAT(outcome.out, IsEmpty());
  }
  EXPECT_THAT(server_.admin().calls(), IsEmpty());
  EXPECT_THAT(server_.service().calls(), IsEmpty());
}

TEST_F(GatehousectlTest, AdminSubjectValuesAreCheckedBeforeSending) {
  const Outcome outcome =
      Run({"block", "--policy", "p", "--key", "user=caf\xe9", "--reason", "r",
           "--addr", server_.target()});

  EXPECT_EQ(outcome.exit_code, 1);
  EXPECT_EQ(outcome.err,
            "error: INVALID_ARGUMENT: subject.key[\"user\"]: value must be "
            "UTF-8 without control characters\n");
  EXPECT_THAT(server_.admin().calls(), IsEmpty());
}

TEST_F(GatehousectlTest, HelpDescribesTheOperatorCommands) {
  const Outcome outcome = Run({"--help"});

  EXPECT_EQ(outcome.exit_code, 0);
  EXPECT_THAT(outcome.out, HasSubstr("gatehousectl block --policy P"));
  EXPECT_THAT(outcome.out, HasSubstr("gatehousectl unblock --policy P"));
  EXPECT_THAT(outcome.out, HasSubstr("gatehousectl lockouts [--policy P]"));
  EXPECT_THAT(outcome.out, HasSubstr("gatehousectl inspect --policy P"));
  EXPECT_THAT(outcome.out, HasSubstr("next_page_token"));
}

}  // namespace
}  // namespace gatehouse
