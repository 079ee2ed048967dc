#ifndef GATEHOUSE_BENCH_LATENCY_HISTOGRAM_H_
#define GATEHOUSE_BENCH_LATENCY_HISTOGRAM_H_

#include <cstdint>
#include <vector>

namespace gatehouse::bench {

// An HDR-style histogram of latencies in nanoseconds: log-linear buckets,
// 128 per power of two, so any recorded value is reported within 1% of
// itself, from 1 ns up to ~2^63 ns, in a fixed 58 KiB.
//
// Not thread-safe: keep one per thread and Merge() them at the end.
class LatencyHistogram {
 public:
  LatencyHistogram();

  void Record(uint64_t nanos);
  void Merge(const LatencyHistogram& other);

  uint64_t count() const { return count_; }
  uint64_t max() const { return max_; }
  // The value at quantile q in [0, 1] (0 when empty), within 1%.
  uint64_t Quantile(double q) const;

 private:
  static constexpr int kSubBits = 7;
  static constexpr uint64_t kSub = uint64_t{1} << kSubBits;
  static int Index(uint64_t v);
  static uint64_t Midpoint(int index);

  std::vector<uint64_t> buckets_;
  uint64_t count_ = 0;
  uint64_t max_ = 0;
};

}  // namespace gatehouse::bench

#endif  // GATEHOUSE_BENCH_LATENCY_HISTOGRAM_H_
