#include "service/config/duration.h"

#include <cctype>
#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"

namespace gatehouse {

absl::StatusOr<absl::Duration> ParseConfigDuration(absl::string_view text) {
  auto bad = [&text]() {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", text,
        "\" is not a duration (use e.g. 500ms, 30s, 15m, 36h, 90d)"));
  };
  if (text.empty() || text.size() > 32) return bad();
  absl::Duration total = absl::ZeroDuration();
  size_t i = 0;
  while (i < text.size()) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return bad();
    int64_t n = 0;
    while (i < text.size() &&
           std::isdigit(static_cast<unsigned char>(text[i]))) {
      n = n * 10 + (text[i] - '0');
      if (n > 1'000'000'000) return bad();
      ++i;
    }
    size_t unit_start = i;
    while (i < text.size() &&
           std::isalpha(static_cast<unsigned char>(text[i]))) {
      ++i;
    }
    absl::string_view unit = text.substr(unit_start, i - unit_start);
    if (unit == "ms") {
      total += absl::Milliseconds(n);
    } else if (unit == "s") {
      total += absl::Seconds(n);
    } else if (unit == "m") {
      total += absl::Minutes(n);
    } else if (unit == "h") {
      total += absl::Hours(n);
    } else if (unit == "d") {
      total += absl::Hours(24 * n);
    } else {
      return bad();
    }
  }
  if (total <= absl::ZeroDuration()) return bad();
  return total;
}

std::string FormatConfigDuration(absl::Duration d) {
  const int64_t ms = absl::ToInt64Milliseconds(d);
  struct Unit {
    int64_t ms;
    const char* suffix;
  };
  static constexpr Unit kUnits[] = {
      {86'400'000, "d"}, {3'600'000, "h"}, {60'000, "m"}, {1'000, "s"}};
  for (const Unit& u : kUnits) {
    if (ms != 0 && ms % u.ms == 0) return absl::StrCat(ms / u.ms, u.suffix);
  }
  return absl::StrCat(ms, "ms");
}

}  // namespace gatehouse
