#ifndef GATEHOUSE_BENCH_KEY_SPACE_H_
#define GATEHOUSE_BENCH_KEY_SPACE_H_

#include <atomic>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gatehouse::bench {

enum class Distribution {
  kUniform,     // Every key equally likely.
  kZipf,        // Key i drawn with probability ~ 1 / (i + 1)^s.
  kSequential,  // Each key exactly once, in order, then exhausted.
};

absl::StatusOr<Distribution> ParseDistribution(absl::string_view name);

// Which of `keys` distinct keys the next decision is about. Draw() is
// called from every load thread, each with its own generator.
//
// Thread-safe after construction (the sequential cursor is atomic).
class KeySpace {
 public:
  KeySpace(uint64_t keys, Distribution distribution, double zipf_s);
  KeySpace(const KeySpace&) = delete;
  KeySpace& operator=(const KeySpace&) = delete;

  // A key index in [0, keys), or keys when a sequential space is exhausted.
  uint64_t Draw(std::mt19937_64& rng);
  uint64_t keys() const { return keys_; }
  bool Exhausted() const;

 private:
  const uint64_t keys_;
  const Distribution distribution_;
  // Zipf: cumulative probabilities, searched by binary search.
  std::vector<double> cdf_;
  std::atomic<uint64_t> next_{0};
};

// Distinct, valid IPv4 addresses for key indexes below 2^28: 16.0.0.0/4 on.
std::string IpOf(uint64_t index);
// A user name per index ("user123@example.com").
std::string UserOf(uint64_t index);

}  // namespace gatehouse::bench

#endif  // GATEHOUSE_BENCH_KEY_SPACE_H_
