// Fuzzes the policy file parser: any text must give a validated PolicySet or
// INVALID_ARGUMENT, never a crash, a hang or another error code, and what it
// accepts must meet the documented limits.

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "service/config/policy_file.h"
#include "tests/fuzz/fuzz_util.h"

namespace gatehouse {
namespace {

bool IsName(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
      return false;
    }
  }
  return true;
}

void CheckPolicy(const std::string& name, const Policy& p) {
  FUZZ_CHECK(p.name == name, name);
  FUZZ_CHECK(IsName(p.name), p.name);
  FUZZ_CHECK(!p.dimensions.empty() && p.dimensions.size() <= 8, p.name);
  for (size_t i = 0; i < p.dimensions.size(); ++i) {
    FUZZ_CHECK(IsName(p.dimensions[i]), p.name);
    // Sorted and unique: the canonical order of key parts.
    FUZZ_CHECK(i == 0 || p.dimensions[i - 1] < p.dimensions[i], p.name);
  }
  FUZZ_CHECK(p.limit >= 1 && p.limit <= 1'000'000'000, p.name);
  FUZZ_CHECK(p.window >= absl::Seconds(1) && p.window <= absl::Hours(24 * 400),
             p.name);
  FUZZ_CHECK(p.buckets >= 1 && p.buckets <= 3600, p.name);
  FUZZ_CHECK(p.BucketMillis() >= 1, p.name);
  FUZZ_CHECK(p.BucketMillis() * p.buckets >= p.WindowMillis(), p.name);
  if (p.lockout) {
    FUZZ_CHECK(p.lockout->duration > absl::ZeroDuration(), p.name);
    FUZZ_CHECK(p.lockout->max >= p.lockout->duration, p.name);
    FUZZ_CHECK(p.lockout->multiplier >= 1 && p.lockout->multiplier <= 100,
               p.name);
    // Escalation stays within [duration, max] however many offences.
    for (uint32_t n : {1u, 2u, 10u, 1000u, 4'000'000'000u}) {
      const absl::Duration d = p.lockout->LengthOf(n);
      FUZZ_CHECK(d >= p.lockout->duration && d <= p.lockout->max,
                 absl::StrCat(p.name, " offence ", n));
    }
  }
}

}  // namespace
}  // namespace gatehouse

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gatehouse;
  const absl::string_view yaml(reinterpret_cast<const char*>(data), size);
  const auto parsed = ParsePolicyYaml(yaml, "fuzz.yaml");
  if (!parsed.ok()) {
    FUZZ_CHECK(parsed.status().code() == absl::StatusCode::kInvalidArgument,
               parsed.status().ToString());
    FUZZ_CHECK(absl::StartsWith(parsed.status().message(), "fuzz.yaml: "),
               parsed.status().ToString());
    return 0;
  }
  FUZZ_CHECK(*parsed != nullptr, "null policy set");
  FUZZ_CHECK(!(*parsed)->all().empty(), "empty policy set");
  for (const auto& [name, policy] : (*parsed)->all()) {
    CheckPolicy(name, policy);
    FUZZ_CHECK((*parsed)->Find(name) == &policy, name);
  }
  // Parsing is a function of the text.
  const auto again = ParsePolicyYaml(yaml, "fuzz.yaml");
  FUZZ_CHECK(again.ok() && (*again)->all().size() == (*parsed)->all().size(),
             "second parse differs");
  return 0;
}
