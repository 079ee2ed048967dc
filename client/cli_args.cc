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
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown command '", word,
      "': expected check, peek, record, reset, gen-secret, audit or "
      "pseudonym"));
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
