#include "service/core/policy.h"

#include <algorithm>
#include <cmath>

namespace gatehouse {

absl::Duration LockoutSpec::LengthOf(uint32_t offence) const {
  // Without growth the loop below would run `offence` times (billions for a
  // long-lived offender or a corrupt stored count).
  if (offence <= 1 || !(multiplier > 1) || duration <= absl::ZeroDuration()) {
    return std::min(duration, max);
  }
  // Multiply step by step so huge offence counts saturate at max instead of
  // overflowing.
  constexpr uint32_t kMaxSteps = 1000;
  absl::Duration length = duration;
  uint32_t i = 1;
  for (; i < offence && length < max && i < kMaxSteps; ++i) {
    length = length * multiplier;
  }
  if (i < offence && length < max) {
    // Only a multiplier barely above 1 gets here: finish in one step.
    const double rest = std::pow(multiplier, static_cast<double>(offence - i));
    length = rest >= absl::FDivDuration(max, length) ? max : length * rest;
  }
  return std::min(length, max);
}

int64_t Policy::WindowMillis() const {
  return absl::ToInt64Milliseconds(window);
}

int64_t Policy::BucketMillis() const {
  // Rounded up: with buckets * width >= window a window spans at most
  // buckets + 1 bucket indices. Rounding down let it span up to twice that.
  const int64_t n = std::max(1, buckets);
  return std::max<int64_t>(1, (WindowMillis() + n - 1) / n);
}

NetworkMatch Policy::MatchNetwork(IpAddress address) const {
  for (const auto& table : deny) {
    if (const IpPrefixTable::Entry* e = table->Lookup(address)) {
      return {VerdictReason::kDenylisted, e};
    }
  }
  for (const auto& table : exempt) {
    if (const IpPrefixTable::Entry* e = table->Lookup(address)) {
      return {VerdictReason::kExempt, e};
    }
  }
  return {};
}

const std::set<std::string>& PolicySet::DefaultPersonalDimensions() {
  static const std::set<std::string>* const kDefault =
      new std::set<std::string>{"user", "email"};
  return *kDefault;
}

PolicySet::PolicySet(std::vector<Policy> policies,
                     std::set<std::string> personal_dimensions)
    : personal_dimensions_(std::move(personal_dimensions)) {
  std::vector<std::pair<std::string, EnvoyMapping>> mappings;
  for (Policy& p : policies) {
    if (p.envoy.has_value()) mappings.emplace_back(p.name, *p.envoy);
    std::string name = p.name;
    policies_.emplace(std::move(name), std::move(p));
  }
  envoy_ = EnvoyIndex(mappings);
}

const Policy* PolicySet::Find(const std::string& name) const {
  auto it = policies_.find(name);
  return it == policies_.end() ? nullptr : &it->second;
}

}  // namespace gatehouse
