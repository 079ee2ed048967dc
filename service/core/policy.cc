#include "service/core/policy.h"

#include <algorithm>
#include <cmath>

namespace gatehouse {

absl::Duration LockoutSpec::LengthOf(uint32_t offence) const {
  if (offence <= 1) return std::min(duration, max);
  // Multiply step by step so huge offence counts saturate at max instead of
  // overflowing.
  absl::Duration length = duration;
  for (uint32_t i = 1; i < offence && length < max; ++i) {
    length = length * multiplier;
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

const std::set<std::string>& PolicySet::DefaultPersonalDimensions() {
  static const std::set<std::string>* const kDefault =
      new std::set<std::string>{"user", "email"};
  return *kDefault;
}

PolicySet::PolicySet(std::vector<Policy> policies,
                     std::set<std::string> personal_dimensions)
    : personal_dimensions_(std::move(personal_dimensions)) {
  for (Policy& p : policies) {
    std::string name = p.name;
    policies_.emplace(std::move(name), std::move(p));
  }
}

const Policy* PolicySet::Find(const std::string& name) const {
  auto it = policies_.find(name);
  return it == policies_.end() ? nullptr : &it->second;
}

}  // namespace gatehouse
