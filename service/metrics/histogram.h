#ifndef GATEHOUSE_SERVICE_METRICS_HISTOGRAM_H_
#define GATEHOUSE_SERVICE_METRICS_HISTOGRAM_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

namespace gatehouse::metrics {

// A distribution over fixed buckets: one series of a Family<Histogram>.
//
// Thread-safe and lock-free: Observe is a binary search over the bounds, one
// relaxed atomic add on the bucket and a compare-and-swap on the sum. Counts
// are kept per bucket and made cumulative only when read, so the count of
// the implicit +Inf bucket always equals _count. Owned by its Family at a
// stable address, like Counter.
class Histogram {
 public:
  // What a scrape reads. `cumulative_counts[i]` counts observations
  // <= `bounds[i]`; the last element is the +Inf bucket (== count).
  struct Snapshot {
    std::vector<double> bounds;
    std::vector<uint64_t> cumulative_counts;
    double sum = 0;
    uint64_t count = 0;
  };

  // REQUIRES: `bounds` finite and strictly increasing (Registry checks this
  // when the family is registered); +Inf is implicit.
  explicit Histogram(std::vector<double> bounds);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  // Records one observation (in the family's base unit, e.g. seconds). NaN
  // is ignored: it would poison _sum for the life of the process.
  void Observe(double value);

  Snapshot Read() const;

 private:
  // Constant after construction.
  const std::vector<double> bounds_;
  // bounds_.size() + 1 non-cumulative counts; the last is (bounds_.back(),
  // +Inf].
  const std::unique_ptr<std::atomic<uint64_t>[]> counts_;

  std::atomic<double> sum_{0};
};

}  // namespace gatehouse::metrics

#endif  // GATEHOUSE_SERVICE_METRICS_HISTOGRAM_H_
