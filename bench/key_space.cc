#include "bench/key_space.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace gatehouse::bench {

absl::StatusOr<Distribution> ParseDistribution(absl::string_view name) {
  if (name == "uniform") return Distribution::kUniform;
  if (name == "zipf") return Distribution::kZipf;
  if (name == "seq") return Distribution::kSequential;
  return absl::InvalidArgumentError(
      absl::StrCat("--dist: \"", name, "\" is not uniform, zipf or seq"));
}

KeySpace::KeySpace(uint64_t keys, Distribution distribution, double zipf_s)
    : keys_(std::max<uint64_t>(1, keys)), distribution_(distribution) {
  if (distribution_ != Distribution::kZipf) return;
  cdf_.resize(keys_);
  double sum = 0;
  for (uint64_t i = 0; i < keys_; ++i) {
    sum += 1.0 / std::pow(static_cast<double>(i + 1), zipf_s);
    cdf_[i] = sum;
  }
  for (double& c : cdf_) c /= sum;
}

uint64_t KeySpace::Draw(std::mt19937_64& rng) {
  switch (distribution_) {
    case Distribution::kUniform:
      return std::uniform_int_distribution<uint64_t>(0, keys_ - 1)(rng);
    case Distribution::kZipf: {
      const double u = std::uniform_real_distribution<double>(0, 1)(rng);
      const auto it = std::lower_bound(cdf_.begin(), cdf_.end(), u);
      return std::min<uint64_t>(it - cdf_.begin(), keys_ - 1);
    }
    case Distribution::kSequential: {
      const uint64_t i = next_.fetch_add(1, std::memory_order_relaxed);
      return std::min(i, keys_);
    }
  }
  return 0;
}

bool KeySpace::Exhausted() const {
  return distribution_ == Distribution::kSequential &&
         next_.load(std::memory_order_relaxed) >= keys_;
}

std::string IpOf(uint64_t index) {
  const uint64_t v = (uint64_t{16} << 24) + index;
  return absl::StrCat((v >> 24) & 255, ".", (v >> 16) & 255, ".",
                      (v >> 8) & 255, ".", v & 255);
}

std::string UserOf(uint64_t index) {
  return absl::StrCat("user", index, "@example.com");
}

}  // namespace gatehouse::bench
