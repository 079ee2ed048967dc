#ifndef GATEHOUSE_CLIENT_CLI_ARGS_H_
#define GATEHOUSE_CLIENT_CLI_ARGS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

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
  kPseudonym,
  // The operator commands of the gatehouse.v1.Admin service.
  kBlock,
  kUnblock,
  kLockouts,
  kInspect,
};

// Parses the subcommand: "check", "peek", "record", "reset", "gen-secret",
// "audit" (whose only verb, "tail", the caller checks), "pseudonym",
// "block", "unblock", "lockouts" or "inspect". INVALID_ARGUMENT naming the
// unknown word otherwise.
absl::StatusOr<Command> ParseCommand(absl::string_view word);

// Whether `command` calls the Admin service (block, unblock, lockouts,
// inspect).
bool IsAdminCommand(Command command);

// The longest lockout Block takes (admin.proto: at most 10 years).
inline constexpr absl::Duration kMaxBlockDuration = absl::Hours(24 * 3650);

// Parses block's --duration: empty text gives nullopt (locked until an
// operator unblocks); otherwise a Go-style duration such as "15m", "2h" or
// "1h30m" (absl::ParseDuration), positive and at most kMaxBlockDuration.
// INVALID_ARGUMENT starting "--duration: " otherwise.
absl::StatusOr<std::optional<absl::Duration>> ParseBlockDuration(
    absl::string_view text);

// The most lockouts one ListLockouts page holds (admin.proto).
inline constexpr int64_t kMaxLockoutsPageSize = 1000;
// The most lockouts one `lockouts` command prints.
inline constexpr int64_t kMaxLockoutsLimit = 1'000'000;

// OK when `lockouts --limit` is 1..kMaxLockoutsLimit and --page_size is
// 1..kMaxLockoutsPageSize; INVALID_ARGUMENT naming the flag otherwise.
absl::Status CheckLockoutsPaging(int64_t limit, int64_t page_size);

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
