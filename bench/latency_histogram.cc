#include "bench/latency_histogram.h"

#include <algorithm>
#include <cmath>

namespace gatehouse::bench {

LatencyHistogram::LatencyHistogram()
    : buckets_((64 - kSubBits + 1) * kSub, 0) {}

int LatencyHistogram::Index(uint64_t v) {
  if (v < kSub) return static_cast<int>(v);
  const int msb = 63 - __builtin_clzll(v);
  const int shift = msb - kSubBits;
  return static_cast<int>((shift + 1) * kSub + ((v >> shift) - kSub));
}

uint64_t LatencyHistogram::Midpoint(int index) {
  if (index < static_cast<int>(kSub)) return static_cast<uint64_t>(index);
  const int shift = index / static_cast<int>(kSub) - 1;
  const uint64_t low = (index % kSub + kSub) << shift;
  return low + ((uint64_t{1} << shift) >> 1);
}

void LatencyHistogram::Record(uint64_t nanos) {
  ++buckets_[Index(nanos)];
  ++count_;
  max_ = std::max(max_, nanos);
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  for (size_t i = 0; i < buckets_.size(); ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  max_ = std::max(max_, other.max_);
}

uint64_t LatencyHistogram::Quantile(double q) const {
  if (count_ == 0) return 0;
  // The smallest value with at least ceil(q * count) values at or below it.
  const uint64_t rank = std::max<uint64_t>(
      1, static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_))));
  uint64_t seen = 0;
  for (size_t i = 0; i < buckets_.size(); ++i) {
    seen += buckets_[i];
    if (seen >= rank) {
      return std::min(Midpoint(static_cast<int>(i)), max_);
    }
  }
  return max_;
}

}  // namespace gatehouse::bench
