#ifndef GATEHOUSE_CLIENT_CLI_ARGS_H_
#define GATEHOUSE_CLIENT_CLI_ARGS_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

// Argument parsing for gatehousectl, kept apart from main() so it can be
// tested without a process or a server. Pure functions; thread-safe.
namespace gatehouse::cli {

enum class Command {
  kCheck,
  kPeek,
  kRecord,
  kReset,
  kGenSecret,
  kAuditTail,
  kPseudonym
};

// Parses the subcommand: "check", "peek", "record", "reset", "gen-secret",
// "audit" (whose only verb, "tail", the caller checks) or "pseudonym".
// INVALID_ARGUMENT naming the unknown word otherwise.
absl::StatusOr<Command> ParseCommand(absl::string_view word);

// Parses "name=value,name=value" into a map; empty text gives an empty map.
// A value runs to the next ',' and may itself contain '=' and be empty
// (the service is the judge of values); nothing is trimmed.
//
// INVALID_ARGUMENT, with a message starting "--<flag_name>: " and quoting
// the offending item, when an item is empty, has no '=', has an empty name,
// or repeats a name.
absl::StatusOr<std::map<std::string, std::string>> ParseKeyValueList(
    absl::string_view flag_name, absl::string_view text);

}  // namespace gatehouse::cli

#endif  // GATEHOUSE_CLIENT_CLI_ARGS_H_
