// gatehousectl: asks a Gatehouse server one question from the command line
// and prints the answer as JSON. See kUsage for flags and exit codes.

#include <sys/random.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "client/audit_tail.h"
#include "client/cli_args.h"
#include "client/client.h"
#include "client/request_check.h"
#include "gatehouse/v1/admin.pb.h"
#include "gatehouse/v1/ratelimit.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "service/auth/credentials.h"
#include "service/auth/secret_strength.h"
#include "service/core/pseudonymizer.h"
#include "service/core/status_macros.h"
#include "service/core/subject_key.h"

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
ABSL_FLAG(uint64_t, from, 0,
          "audit tail: the first sequence to print (0: the oldest retained); "
          "resume with the last printed + 1.");
ABSL_FLAG(bool, follow, false,
          "audit tail: keep printing new events as they are committed.");
ABSL_FLAG(bool, ceiling_only, false,
          "audit tail: only events that hit a ceiling (also --ceiling-only).");
ABSL_FLAG(std::string, dimension, "",
          "pseudonym: the dimension the value belongs to, e.g. user.");
ABSL_FLAG(std::string, pseudonym_key_file, "",
          "pseudonym: the server's --pseudonym_key_file.");
ABSL_FLAG(std::string, tls_ca_file, "",
          "Use TLS, verifying the server against this CA (PEM).");
ABSL_FLAG(std::string, tls_cert_file, "",
          "mTLS: this client's certificate chain (PEM).");
ABSL_FLAG(std::string, tls_key_file, "", "mTLS: this client's key (PEM).");
ABSL_FLAG(bool, exit_code_on_deny, false,
          "Exit with 3 instead of 0 when the service denies.");
ABSL_FLAG(bool, hash, false,
          "gen-secret: also print the secret's SHA-256 (hex) on a second "
          "line, for the credentials file's token_sha256.");
ABSL_FLAG(std::string, reason, "",
          "block, unblock (required), lockouts, inspect: why, for the audit "
          "log and the lockout list; 1..256 bytes of UTF-8.");
ABSL_FLAG(std::string, duration, "",
          "block: how long, e.g. 15m, 2h or 1h30m (at most 87600h); left "
          "out: until an operator unblocks.");
ABSL_FLAG(int64_t, limit, 100,
          "lockouts: print at most this many (1..1000000), fetching as many "
          "pages as needed.");
ABSL_FLAG(int64_t, page_size, 1000,
          "lockouts: the most lockouts asked for in one call (1..1000).");
ABSL_FLAG(std::string, page_token, "",
          "lockouts: continue where an earlier output's next_page_token "
          "left off.");

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
  gatehousectl gen-secret [--hash]
  gatehousectl audit tail [--from SEQ] [--follow] [--policy P] [--ceiling-only]
  gatehousectl pseudonym --dimension user [--pseudonym_key_file FILE] VALUE
  gatehousectl block --policy P --key NAME=VALUE[,...] --reason TEXT
      [--duration 15m]
  gatehousectl unblock --policy P --key NAME=VALUE[,...] --reason TEXT
  gatehousectl lockouts [--policy P] [--limit 100] [--page_token T]
      [--page_size 1000] [--reason TEXT]
  gatehousectl inspect --policy P --key NAME=VALUE[,...] [--reason TEXT]

  check   count the hits if every subject allows them
  peek    the answer check would give, counting nothing
  record  count hits that already happened
  reset   clear the subject's counters and lockout
  gen-secret  print a new secret: 32 random bytes as URL-safe base64 (43
          characters, no padding); with --hash also its SHA-256 in hex on a
          second line, for the credentials file's token_sha256
  audit tail  print audit events as JSON lines, from --from (or the oldest)
          to the head, or on with --follow; needs the audit scope
  pseudonym  print the pseudonym the server stores for a personal value, to
          find one user's audit events (computed locally with the key)

Operator commands (the admin scope; each call is audited with your client
id and --reason, 1..256 bytes, required for block and unblock):
  block   lock the subject out for --duration (e.g. 15m, 2h, 1h30m; at most
          87600h), or until unblocked when --duration is left out; replaces
          any lockout it has, keeps its offences
  unblock lift the subject's lockout and clear its counters and offences
  lockouts  the subjects locked out now, newest first (of --policy only,
          when given): up to --limit, fetched in pages of up to --page_size;
          a non-empty next_page_token in the output means more remain, and
          --page_token continues from it
  inspect  the subject's count, window buckets, lockout and offences,
          changing nothing

TLS: --tls_ca_file (and for mTLS --tls_cert_file, --tls_key_file).

The token comes from --token_file, else from $GATEHOUSE_TOKEN.

Output: check ... reset print the response as one JSON line; so do block,
unblock, lockouts and inspect (their admin.proto responses, proto field
names, 64-bit integers as strings, timestamps as RFC 3339).

Exit codes: 0 the service answered (allowed or denied), 1 RPC error
("error: CODE: message" on stderr), 2 usage error, 3 denied with
--exit_code_on_deny. gen-secret exits 0, or 1 when no randomness could be
had.)";

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

// 32 bytes from the kernel's CSPRNG as URL-safe base64 without padding.
// Checked against the rule the server applies to secrets, so what this
// prints is always accepted (a random secret fails it with a probability
// far below 2^-40; a broken random source fails it every time).
absl::StatusOr<std::string> NewSecret() {
  for (int attempt = 0; attempt < 4; ++attempt) {
    char bytes[32];
    size_t got = 0;
    while (got < sizeof(bytes)) {
      const ssize_t n = getrandom(bytes + got, sizeof(bytes) - got, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        return absl::InternalError(
            absl::StrCat("getrandom: ", std::strerror(errno)));
      }
      got += static_cast<size_t>(n);
    }
    const std::string secret =
        absl::WebSafeBase64Escape(absl::string_view(bytes, sizeof(bytes)));
    if (CheckSecretStrength(secret, "gen-secret").ok()) return secret;
  }
  return absl::InternalError(
      "the random source gave weak secrets again and again");
}

int GenSecret(bool with_hash) {
  const absl::StatusOr<std::string> secret = NewSecret();
  if (!secret.ok()) {
    std::cerr << "error: " << secret.status().message() << "\n";
    return kExitRpcError;
  }
  std::cout << *secret << "\n";
  if (with_hash) std::cout << HexEncode(Sha256(*secret)) << "\n";
  std::cout.flush();
  return std::cout.good() ? kExitAnswered : kExitRpcError;
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
    case Command::kGenSecret:  // Answered in Main without a call.
    case Command::kAuditTail:
    case Command::kPseudonym:
    case Command::kBlock:  // Answered by AdminCommand.
    case Command::kUnblock:
    case Command::kLockouts:
    case Command::kInspect:
      break;
  }
  return Client::Result{};
}

// One line of JSON: proto field names, fields at their defaults printed.
absl::StatusOr<std::string> ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  std::string json;
  const auto status =
      google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!status.ok()) {
    return absl::InternalError(
        absl::StrCat("cannot print the answer as JSON: ", status.ToString()));
  }
  return json;
}

// All four responses have the same shape, so one message prints them all.
absl::StatusOr<std::string> ToJson(const Client::Result& result) {
  v1::CheckResponse response;
  response.set_allowed(result.allowed);
  for (const v1::Verdict& verdict : result.verdicts) {
    *response.add_verdicts() = verdict;
  }
  return ToJson(static_cast<const google::protobuf::Message&>(response));
}

absl::StatusOr<std::string> ReadFile(const std::string& path,
                                     absl::string_view flag) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        flag, ": cannot open '", path, "': ", std::strerror(errno)));
  }
  std::string contents;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), file)) > 0) {
    contents.append(buffer, n);
  }
  std::fclose(file);
  return contents;
}

// Channel credentials from the --tls_* flags: insecure when none is set.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> ChannelCredentials() {
  const std::string ca = absl::GetFlag(FLAGS_tls_ca_file);
  const std::string cert = absl::GetFlag(FLAGS_tls_cert_file);
  const std::string key = absl::GetFlag(FLAGS_tls_key_file);
  if (ca.empty()) {
    if (!cert.empty() || !key.empty()) {
      return absl::InvalidArgumentError(
          "--tls_cert_file/--tls_key_file: need --tls_ca_file");
    }
    return grpc::InsecureChannelCredentials();
  }
  if (cert.empty() != key.empty()) {
    return absl::InvalidArgumentError(
        "--tls_cert_file and --tls_key_file: give both or neither");
  }
  grpc::SslCredentialsOptions ssl;
  GH_ASSIGN_OR_RETURN(ssl.pem_root_certs, ReadFile(ca, "--tls_ca_file"));
  if (!cert.empty()) {
    GH_ASSIGN_OR_RETURN(ssl.pem_cert_chain, ReadFile(cert, "--tls_cert_file"));
    GH_ASSIGN_OR_RETURN(ssl.pem_private_key, ReadFile(key, "--tls_key_file"));
  }
  return grpc::SslCredentials(ssl);
}

absl::StatusOr<std::string> Token() {
  const std::string token_file = absl::GetFlag(FLAGS_token_file);
  if (!token_file.empty()) return ReadTokenFile(token_file);
  const char* const env_token = std::getenv("GATEHOUSE_TOKEN");
  return std::string(env_token != nullptr ? env_token : "");
}

int Pseudonym(const std::vector<char*>& args) {
  if (args.size() != 3) {
    return UsageError("pseudonym takes exactly one value");
  }
  const std::string dimension = absl::GetFlag(FLAGS_dimension);
  if (dimension.empty()) return UsageError("--dimension is required");
  const std::string key_file = absl::GetFlag(FLAGS_pseudonym_key_file);
  if (key_file.empty()) return UsageError("--pseudonym_key_file is required");
  absl::StatusOr<std::string> key = ReadFile(key_file, "--pseudonym_key_file");
  if (!key.ok()) return UsageError(key.status().message());
  absl::StripAsciiWhitespace(&*key);
  if (key->empty()) return UsageError("--pseudonym_key_file: empty key");
  // The server pseudonymises the canonical form (IPs canonicalised).
  std::string value = args[2];
  if (IsIpDimension(dimension)) {
    absl::StatusOr<std::string> ip = CanonicalizeIp(value);
    if (!ip.ok()) return UsageError("the value is not an IP address");
    value = *std::move(ip);
  }
  std::cout << Pseudonymizer(*std::move(key)).Pseudonym(dimension, value)
            << std::endl;
  return kExitAnswered;
}

int AuditTailCommand(const std::vector<char*>& args) {
  if (args.size() != 3 || absl::string_view(args[2]) != "tail") {
    return UsageError("expected 'audit tail'");
  }
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      ChannelCredentials();
  if (!credentials.ok()) return UsageError(credentials.status().message());
  absl::StatusOr<std::string> token = Token();
  if (!token.ok()) return UsageError(token.status().message());
  AuditTailOptions options;
  options.from_sequence = absl::GetFlag(FLAGS_from);
  options.follow = absl::GetFlag(FLAGS_follow);
  options.ceiling_only = absl::GetFlag(FLAGS_ceiling_only);
  if (const std::string p = absl::GetFlag(FLAGS_policy); !p.empty()) {
    options.policies = absl::StrSplit(p, ',');
  }
  options.token = *std::move(token);
  const grpc::Status status =
      TailAudit(grpc::CreateChannel(absl::GetFlag(FLAGS_addr), *credentials),
                options, [](const v1::AuditEvent& event) {
                  std::cout << AuditEventToJsonLine(event) << "\n";
                  std::cout.flush();
                  return std::cout.good();
                });
  if (!status.ok()) {
    std::cerr << "error: "
              << absl::StatusCodeToString(
                     static_cast<absl::StatusCode>(status.error_code()))
              << ": " << status.error_message() << "\n";
    return kExitRpcError;
  }
  return kExitAnswered;
}

// The names of the flags on the command line (before a "--"): "--name",
// "-name", "--name=value", and "--noname" also as "name". (Debian's Abseil
// keeps CommandLineFlag::IsSpecifiedOnCommandLine private.)
std::set<std::string> FlagsGiven(int argc, char* argv[]) {
  std::set<std::string> given;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--") break;
    if (!absl::ConsumePrefix(&arg, "-")) continue;
    absl::ConsumePrefix(&arg, "-");
    arg = arg.substr(0, arg.find('='));
    given.emplace(arg);
    if (absl::ConsumePrefix(&arg, "no")) given.emplace(arg);
  }
  return given;
}

// OK unless a flag that only some commands take is given to another one
// (it would be ignored silently: e.g. --duration on unblock, --hits on
// block); then INVALID_ARGUMENT naming the flag and the commands it is for.
absl::Status CheckFlagsApplyTo(Command command,
                               const std::set<std::string>& given) {
  using C = Command;
  struct Scope {
    const char* flag;
    std::initializer_list<Command> commands;
    const char* commands_text;
  };
  static const Scope kScopes[] = {
      {"duration", {C::kBlock}, "block"},
      {"reason",
       {C::kBlock, C::kUnblock, C::kLockouts, C::kInspect},
       "block, unblock, lockouts and inspect"},
      {"limit", {C::kLockouts}, "lockouts"},
      {"page_size", {C::kLockouts}, "lockouts"},
      {"page_token", {C::kLockouts}, "lockouts"},
      {"hits",
       {C::kCheck, C::kPeek, C::kRecord, C::kReset},
       "check, peek, record and reset"},
      {"context",
       {C::kCheck, C::kPeek, C::kRecord, C::kReset},
       "check, peek, record and reset"},
      {"fail_closed",
       {C::kCheck, C::kPeek, C::kRecord, C::kReset},
       "check, peek, record and reset"},
      {"exit_code_on_deny",
       {C::kCheck, C::kPeek, C::kRecord, C::kReset},
       "check, peek, record and reset"},
  };
  for (const Scope& scope : kScopes) {
    if (given.count(scope.flag) == 0) continue;
    bool applies = false;
    for (Command c : scope.commands) applies = applies || c == command;
    if (!applies) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--", scope.flag, " applies only to ", scope.commands_text));
    }
  }
  if (command == C::kLockouts && given.count("key") > 0) {
    return absl::InvalidArgumentError(
        "--key does not apply to lockouts: it lists every locked subject "
        "(of --policy, when given)");
  }
  return absl::OkStatus();
}

// The subject named by --policy and --key, with `hits`.
absl::StatusOr<v1::Subject> SubjectFromFlags(uint64_t hits) {
  const std::string policy = absl::GetFlag(FLAGS_policy);
  if (policy.empty()) return absl::InvalidArgumentError("--policy is required");
  absl::StatusOr<std::map<std::string, std::string>> key =
      ParseKeyValueList("key", absl::GetFlag(FLAGS_key));
  if (!key.ok()) return key.status();
  if (key->empty()) return absl::InvalidArgumentError("--key is required");
  return Client::MakeSubject(policy, *std::move(key), hits);
}

// ClientOptions from --addr, --deadline, --fail_closed, the token and the
// TLS flags; INVALID_ARGUMENT naming the flag when one is unusable.
absl::StatusOr<ClientOptions> ClientOptionsFromFlags() {
  ClientOptions options;
  options.target = absl::GetFlag(FLAGS_addr);
  if (options.target.empty()) {
    return absl::InvalidArgumentError("--addr is empty");
  }
  options.deadline = absl::GetFlag(FLAGS_deadline);
  if (options.deadline <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--deadline must be positive");
  }
  options.failure_mode = absl::GetFlag(FLAGS_fail_closed)
                             ? FailureMode::kFailClosed
                             : FailureMode::kFailOpen;
  GH_ASSIGN_OR_RETURN(options.token, Token());
  // --addr and --deadline are checked above, so only the token can fail.
  if (absl::Status valid = Client::ValidateOptions(options); !valid.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(absl::GetFlag(FLAGS_token_file).empty() ? "GATEHOUSE_TOKEN"
                                                             : "--token_file",
                     ": ", valid.message()));
  }
  GH_ASSIGN_OR_RETURN(options.channel_credentials, ChannelCredentials());
  return options;
}

int RpcError(const grpc::Status& status) {
  std::cerr << "error: "
            << absl::StatusCodeToString(
                   static_cast<absl::StatusCode>(status.error_code()))
            << ": " << status.error_message() << "\n";
  return kExitRpcError;
}

int PrintJson(const google::protobuf::Message& message) {
  const absl::StatusOr<std::string> json = ToJson(message);
  if (!json.ok()) {
    std::cerr << "error: " << json.status() << "\n";
    return kExitRpcError;
  }
  std::cout << *json << std::endl;
  return std::cout.good() ? kExitAnswered : kExitRpcError;
}

// Up to --limit lockouts from --page_token on, in pages of up to
// --page_size (each page asks only for what is still missing, so the
// last page's next_page_token continues right after the last one printed).
grpc::Status ListLockouts(const Client& client, const std::string& reason,
                          v1::ListLockoutsResponse* out) {
  const int64_t limit = absl::GetFlag(FLAGS_limit);
  const int64_t page_size = absl::GetFlag(FLAGS_page_size);
  std::string token = absl::GetFlag(FLAGS_page_token);
  while (out->lockouts_size() < limit) {
    v1::ListLockoutsRequest request;
    request.set_policy(absl::GetFlag(FLAGS_policy));
    request.set_page_size(static_cast<uint32_t>(
        std::min(page_size, limit - out->lockouts_size())));
    request.set_page_token(token);
    request.set_reason(reason);
    v1::ListLockoutsResponse page;
    if (grpc::Status status = client.ListLockouts(request, &page);
        !status.ok()) {
      return status;
    }
    for (v1::Lockout& lockout : *page.mutable_lockouts()) {
      *out->add_lockouts() = std::move(lockout);
    }
    if (page.next_page_token().empty()) {
      token.clear();
      break;
    }
    if (page.next_page_token() == token) {
      return grpc::Status(grpc::StatusCode::INTERNAL,
                          "the server answered the same next_page_token "
                          "again; stopped to avoid a loop");
    }
    token = page.next_page_token();
  }
  out->set_next_page_token(token);
  return grpc::Status::OK;
}

// block, unblock, lockouts and inspect. Every argument is checked before
// anything is sent.
int AdminCommand(Command command) {
  const std::string reason = absl::GetFlag(FLAGS_reason);
  const bool reason_required =
      command == Command::kBlock || command == Command::kUnblock;
  if (reason_required && reason.empty()) {
    return UsageError(
        "--reason is required for block and unblock: say why, e.g. the "
        "incident ticket (it goes to the audit log)");
  }
  if (absl::Status valid = CheckReason(reason, "--reason", false);
      !valid.ok()) {
    return UsageError(valid.message());
  }
  v1::Subject subject;
  if (command != Command::kLockouts) {
    absl::StatusOr<v1::Subject> parsed = SubjectFromFlags(/*hits=*/0);
    if (!parsed.ok()) return UsageError(parsed.status().message());
    subject = *std::move(parsed);
  }
  const absl::StatusOr<std::optional<absl::Duration>> duration =
      ParseBlockDuration(absl::GetFlag(FLAGS_duration));
  if (!duration.ok()) return UsageError(duration.status().message());
  if (absl::Status valid = CheckLockoutsPaging(absl::GetFlag(FLAGS_limit),
                                               absl::GetFlag(FLAGS_page_size));
      !valid.ok()) {
    return UsageError(valid.message());
  }
  absl::StatusOr<ClientOptions> options = ClientOptionsFromFlags();
  if (!options.ok()) return UsageError(options.status().message());
  const std::unique_ptr<Client> client = Client::Create(*std::move(options));

  switch (command) {
    case Command::kBlock: {
      v1::BlockRequest request;
      *request.mutable_subject() = subject;
      if (duration->has_value()) {
        *request.mutable_duration() =
            google::protobuf::util::TimeUtil::NanosecondsToDuration(
                absl::ToInt64Nanoseconds(**duration));
      }
      request.set_reason(reason);
      v1::BlockResponse response;
      const grpc::Status status = client->Block(request, &response);
      return status.ok() ? PrintJson(response) : RpcError(status);
    }
    case Command::kUnblock: {
      v1::UnblockRequest request;
      *request.mutable_subject() = subject;
      request.set_reason(reason);
      v1::UnblockResponse response;
      const grpc::Status status = client->Unblock(request, &response);
      return status.ok() ? PrintJson(response) : RpcError(status);
    }
    case Command::kLockouts: {
      v1::ListLockoutsResponse response;
      const grpc::Status status = ListLockouts(*client, reason, &response);
      return status.ok() ? PrintJson(response) : RpcError(status);
    }
    case Command::kInspect: {
      v1::InspectRequest request;
      *request.mutable_subject() = subject;
      request.set_reason(reason);
      v1::InspectResponse response;
      const grpc::Status status = client->Inspect(request, &response);
      return status.ok() ? PrintJson(response) : RpcError(status);
    }
    default:
      break;
  }
  return UsageError("not an operator command");
}

int Main(int argc, char* argv[]) {
  // absl flag names cannot hold '-'; accept the documented --ceiling-only.
  for (int i = 1; i < argc; ++i) {
    if (absl::string_view(argv[i]) == "--ceiling-only") {
      argv[i] = const_cast<char*>("--ceiling_only");
    }
  }
  absl::SetProgramUsageMessage(kUsage);
  exit_code_while_parsing =
      AsksForHelp(argc, argv) ? kExitAnswered : kExitUsage;
  std::atexit(ExitWithOurCodeWhileParsing);
  const std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  exit_code_while_parsing = -1;

  if (args.size() < 2) return UsageError("missing command");
  const absl::StatusOr<Command> command = ParseCommand(args[1]);
  if (!command.ok()) return UsageError(command.status().message());
  if (absl::Status applies =
          CheckFlagsApplyTo(*command, FlagsGiven(argc, argv));
      !applies.ok()) {
    return UsageError(applies.message());
  }
  if (*command == Command::kAuditTail) return AuditTailCommand(args);
  if (*command == Command::kPseudonym) return Pseudonym(args);
  if (args.size() > 2) {
    return UsageError(absl::StrCat("unexpected argument '", args[2], "'"));
  }
  if (*command == Command::kGenSecret) {
    return GenSecret(absl::GetFlag(FLAGS_hash));
  }
  if (absl::GetFlag(FLAGS_hash)) {
    return UsageError("--hash applies only to gen-secret");
  }
  if (IsAdminCommand(*command)) return AdminCommand(*command);

  const absl::StatusOr<v1::Subject> subject =
      SubjectFromFlags(absl::GetFlag(FLAGS_hits));
  if (!subject.ok()) return UsageError(subject.status().message());
  const absl::StatusOr<std::map<std::string, std::string>> context =
      ParseKeyValueList("context", absl::GetFlag(FLAGS_context));
  if (!context.ok()) return UsageError(context.status().message());
  absl::StatusOr<ClientOptions> options = ClientOptionsFromFlags();
  if (!options.ok()) return UsageError(options.status().message());

  const std::unique_ptr<Client> client = Client::Create(*std::move(options));
  const Client::Result result = Run(*client, *command, *subject, *context);
  const absl::StatusOr<std::string> json = ToJson(result);
  if (!json.ok()) {
    std::cerr << "error: " << json.status() << "\n";
    return kExitRpcError;
  }
  std::cout << *json << std::endl;
  if (!result.status.ok()) return RpcError(result.status);
  if (!result.allowed && absl::GetFlag(FLAGS_exit_code_on_deny)) {
    return kExitDenied;
  }
  return kExitAnswered;
}

}  // namespace
}  // namespace gatehouse::cli

int main(int argc, char* argv[]) { return gatehouse::cli::Main(argc, argv); }
