#ifndef GATEHOUSE_SERVICE_METRICS_COUNTER_H_
#define GATEHOUSE_SERVICE_METRICS_COUNTER_H_

#include <atomic>
#include <cstdint>

namespace gatehouse::metrics {

// A monotonically increasing count: one series of a Family<Counter>.
//
// Thread-safe and lock-free: Increment is one relaxed atomic add. Owned by
// its Family, which keeps it at a stable address for the Registry's life, so
// callers cache the reference WithLabels returns. Integer-valued (unlike
// prometheus-cpp's double) because everything Gatehouse counts is whole
// events. Aligned to a cache line so hot counters never share one.
class alignas(64) Counter {
 public:
  Counter() = default;
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;

  void Increment(uint64_t n = 1) {
    value_.fetch_add(n, std::memory_order_relaxed);
  }
  uint64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

}  // namespace gatehouse::metrics

#endif  // GATEHOUSE_SERVICE_METRICS_COUNTER_H_
