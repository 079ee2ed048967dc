#include "client/cli_args.h"

#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace gatehouse::cli {

absl::StatusOr<Command> ParseCommand(absl::string_view word) {
  if (word == "check") return Command::kCheck;
  if (word == "peek") return Command::kPeek;
  if (word == "record") return Command::kRecord;
  if (word == "reset") return Command::kReset;
  if (word == "gen-secret") return Command::kGenSecret;
  if (word == "audit") return Command::kAuditTail;
  if (word == "pseudonym") return Command::kPseudonym;
  if (word == "block") return Command::kBlock;
  if (word == "unblock") return Command::kUnblock;
  if (word == "lockouts") return Command::kLockouts;
  if (word == "inspect") return Command::kInspect;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown command '", word,
                   "': expected check, peek, record, reset, gen-secret, audit, "
                   "pseudonym, block, unblock, lockouts or inspect"));
}

bool IsAdminCommand(Command command) {
  switch (command) {
    case Command::kBlock:
    case Command::kUnblock:
    case Command::kLockouts:
    case Command::kInspect:
      return true;
    default:
      return false;
  }
}

absl::StatusOr<std::optional<absl::Duration>> ParseBlockDuration(
    absl::string_view text) {
  if (text.empty()) return std::nullopt;
  absl::Duration duration;
  if (!absl::ParseDuration(text, &duration)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--duration: '", text,
                     "' is not a duration: expected e.g. 15m, 2h or 1h30m"));
  }
  if (duration == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(
        "--duration: for a lockout until unblocked, leave --duration out");
  }
  if (duration <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--duration: must be positive, got ", text));
  }
  if (duration > kMaxBlockDuration) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--duration: at most ", absl::FormatDuration(kMaxBlockDuration),
        " (10 years), got ", text,
        "; for a lockout until unblocked, leave --duration out"));
  }
  return duration;
}

absl::Status CheckLockoutsPaging(int64_t limit, int64_t page_size) {
  if (limit < 1 || limit > kMaxLockoutsLimit) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--limit: must be 1..", kMaxLockoutsLimit, ", got ", limit));
  }
  if (page_size < 1 || page_size > kMaxLockoutsPageSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--page_size: must be 1..", kMaxLockoutsPageSize, ", got ", page_size));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::map<std::string, std::string>> ParseKeyValueList(
    absl::string_view flag_name, absl::string_view text) {
  std::map<std::string, std::string> result;
  if (text.empty()) return result;
  const std::vector<absl::string_view> items = absl::StrSplit(text, ',');
  for (size_t i = 0; i < items.size(); ++i) {
    const absl::string_view item = items[i];
    const std::string where =
        absl::StrCat("--", flag_name, ": item ", i + 1, " '", item, "'");
    if (item.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--", flag_name, ": item ", i + 1, " is empty (stray ',')"));
    }
    const size_t eq = item.find('=');
    if (eq == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, " has no '=': expected name=value"));
    }
    if (eq == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, " has an empty name"));
    }
    std::string name(item.substr(0, eq));
    if (result.count(name) > 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, " repeats the name '", name, "'"));
    }
    result.emplace(std::move(name), std::string(item.substr(eq + 1)));
  }
  return result;
}

}  // namespace gatehouse::cli
