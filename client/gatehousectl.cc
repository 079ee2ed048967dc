// gatehousectl: asks a Gatehouse server one question from the command line
// and prints the answer as JSON. See kUsage for flags and exit codes.

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "client/cli_args.h"
#include "client/client.h"
#include "gatehouse/v1/ratelimit.pb.h"
#include "google/protobuf/util/json_util.h"

ABSL_FLAG(std::string, policy, "", "Policy name (required).");
ABSL_FLAG(std::string, key, "",
          "The subject's dimension values, name=value[,name=value...] "
          "(required), e.g. ip=203.0.113.7,user=alice@example.com.");
ABSL_FLAG(uint64_t, hits, 0, "Hits to count; 0 means 1.");
ABSL_FLAG(std::string, context, "",
          "Audit context, name=value[,name=value...], e.g. route=/login.");
ABSL_FLAG(std::string, addr, "127.0.0.1:50051", "Server address, HOST:PORT.");
ABSL_FLAG(std::string, token_file, "",
          "File holding the bearer token (trailing whitespace is stripped). "
          "Default: the GATEHOUSE_TOKEN environment variable, if set.");
ABSL_FLAG(absl::Duration, deadline, absl::Seconds(2),
          "Deadline of the call, e.g. 200ms or 2s.");
ABSL_FLAG(bool, fail_closed, false,
          "On an RPC error, print allowed=false instead of the default "
          "fail-open allowed=true (the exit code is 1 either way).");
ABSL_FLAG(bool, exit_code_on_deny, false,
          "Exit with 3 instead of 0 when the service denies.");

namespace gatehouse::cli {
namespace {

constexpr int kExitAnswered = 0;
constexpr int kExitRpcError = 1;
constexpr int kExitUsage = 2;
constexpr int kExitDenied = 3;

constexpr char kUsage[] =
    R"(asks a Gatehouse rate limiter and prints its answer as JSON.

Usage:
  gatehousectl check|peek|record|reset --policy P --key NAME=VALUE[,...]
      [--hits N] [--context NAME=VALUE[,...]] [--addr HOST:PORT]
      [--token_file FILE] [--deadline 2s] [--fail_closed] [--exit_code_on_deny]

  check   count the hits if every subject allows them
  peek    the answer check would give, counting nothing
  record  count hits that already happened
  reset   clear the subject's counters and lockout

The token comes from --token_file, else from $GATEHOUSE_TOKEN.

Exit codes: 0 the service answered (allowed or denied), 1 RPC error
("error: CODE: message" on stderr), 2 usage error, 3 denied with
--exit_code_on_deny.)";

// absl::ParseCommandLine calls exit(1) after reporting an unknown flag or a
// malformed value (e.g. --hits=-1), which would read as an RPC error, and
// also after printing --help. While it runs, any exit becomes ours: 0 when
// help was asked for, else the usage-error code.
int exit_code_while_parsing = -1;
void ExitWithOurCodeWhileParsing() {
  if (exit_code_while_parsing < 0) return;
  std::fflush(nullptr);  // _Exit skips the flush of --help's output.
  std::_Exit(exit_code_while_parsing);
}

// Whether argv holds one of absl's informational flags (--help, --helpfull,
// --helpon=..., --version, --only_check_args).
bool AsksForHelp(int argc, char* argv[]) {
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--") break;
    if (!absl::ConsumePrefix(&arg, "-")) continue;
    absl::ConsumePrefix(&arg, "-");
    arg = arg.substr(0, arg.find('='));
    if (absl::StartsWith(arg, "help") || arg == "version" ||
        arg == "only_check_args") {
      return true;
    }
  }
  return false;
}

int UsageError(absl::string_view message) {
  std::cerr << "gatehousectl: " << message
            << "\nRun 'gatehousectl --help' for usage.\n";
  return kExitUsage;
}

absl::StatusOr<std::string> ReadTokenFile(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--token_file: cannot open '", path, "': ", std::strerror(errno)));
  }
  std::string contents;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), file)) > 0) {
    contents.append(buffer, n);
  }
  const bool failed = std::ferror(file) != 0;
  std::fclose(file);
  if (failed) {
    return absl::InvalidArgumentError(
        absl::StrCat("--token_file: cannot read '", path, "'"));
  }
  absl::StripTrailingAsciiWhitespace(&contents);
  if (contents.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--token_file: '", path, "' holds no token"));
  }
  return contents;
}

template <typename Request>
Request MakeRequest(const v1::Subject& subject,
                    const std::map<std::string, std::string>& context) {
  Request request;
  *request.add_subjects() = subject;
  request.mutable_context()->insert(context.begin(), context.end());
  return request;
}

Client::Result Run(const Client& client, Command command,
                   const v1::Subject& subject,
                   const std::map<std::string, std::string>& context) {
  switch (command) {
    case Command::kCheck:
      return client.Check(MakeRequest<v1::CheckRequest>(subject, context));
    case Command::kPeek:
      return client.Peek(MakeRequest<v1::PeekRequest>(subject, context));
    case Command::kRecord:
      return client.Record(MakeRequest<v1::RecordRequest>(subject, context));
    case Command::kReset:
      return client.Reset(MakeRequest<v1::ResetRequest>(subject, context));
  }
  return Client::Result{};
}

// All four responses have the same shape, so one message prints them all.
absl::StatusOr<std::string> ToJson(const Client::Result& result) {
  v1::CheckResponse response;
  response.set_allowed(result.allowed);
  for (const v1::Verdict& verdict : result.verdicts) {
    *response.add_verdicts() = verdict;
  }
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  std::string json;
  const auto status =
      google::protobuf::util::MessageToJsonString(response, &json, options);
  if (!status.ok()) {
    return absl::InternalError(
        absl::StrCat("cannot print the answer as JSON: ", status.ToString()));
  }
  return json;
}

int Main(int argc, char* argv[]) {
  absl::SetProgramUsageMessage(kUsage);
  exit_code_while_parsing =
      AsksForHelp(argc, argv) ? kExitAnswered : kExitUsage;
  std::atexit(ExitWithOurCodeWhileParsing);
  const std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  exit_code_while_parsing = -1;

  if (args.size() < 2) return UsageError("missing command");
  if (args.size() > 2) {
    return UsageError(absl::StrCat("unexpected argument '", args[2], "'"));
  }
  const absl::StatusOr<Command> command = ParseCommand(args[1]);
  if (!command.ok()) return UsageError(command.status().message());

  const std::string policy = absl::GetFlag(FLAGS_policy);
  if (policy.empty()) return UsageError("--policy is required");
  const absl::StatusOr<std::map<std::string, std::string>> key =
      ParseKeyValueList("key", absl::GetFlag(FLAGS_key));
  if (!key.ok()) return UsageError(key.status().message());
  if (key->empty()) return UsageError("--key is required");
  const absl::StatusOr<std::map<std::string, std::string>> context =
      ParseKeyValueList("context", absl::GetFlag(FLAGS_context));
  if (!context.ok()) return UsageError(context.status().message());

  ClientOptions options;
  options.target = absl::GetFlag(FLAGS_addr);
  if (options.target.empty()) return UsageError("--addr is empty");
  options.deadline = absl::GetFlag(FLAGS_deadline);
  if (options.deadline <= absl::ZeroDuration()) {
    return UsageError("--deadline must be positive");
  }
  options.failure_mode = absl::GetFlag(FLAGS_fail_closed)
                             ? FailureMode::kFailClosed
                             : FailureMode::kFailOpen;
  const std::string token_file = absl::GetFlag(FLAGS_token_file);
  const char* const env_token = std::getenv("GATEHOUSE_TOKEN");
  if (!token_file.empty()) {
    absl::StatusOr<std::string> token = ReadTokenFile(token_file);
    if (!token.ok()) return UsageError(token.status().message());
    options.token = *std::move(token);
  } else if (env_token != nullptr) {
    options.token = env_token;
  }
  // --addr and --deadline are checked above, so only the token can fail.
  if (absl::Status valid = Client::ValidateOptions(options); !valid.ok()) {
    return UsageError(
        absl::StrCat(token_file.empty() ? "GATEHOUSE_TOKEN" : "--token_file",
                     ": ", valid.message()));
  }

  const std::unique_ptr<Client> client = Client::Create(std::move(options));
  const Client::Result result = Run(
      *client, *command,
      Client::MakeSubject(policy, *key, absl::GetFlag(FLAGS_hits)), *context);
  const absl::StatusOr<std::string> json = ToJson(result);
  if (!json.ok()) {
    std::cerr << "error: " << json.status() << "\n";
    return kExitRpcError;
  }
  std::cout << *json << std::endl;
  if (!result.status.ok()) {
    std::cerr << "error: "
              << absl::StatusCodeToString(
                     static_cast<absl::StatusCode>(result.status.error_code()))
              << ": " << result.status.error_message() << "\n";
    return kExitRpcError;
  }
  if (!result.allowed && absl::GetFlag(FLAGS_exit_code_on_deny)) {
    return kExitDenied;
  }
  return kExitAnswered;
}

}  // namespace
}  // namespace gatehouse::cli

int main(int argc, char* argv[]) { return gatehouse::cli::Main(argc, argv); }
