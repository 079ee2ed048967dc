#ifndef GATEHOUSE_SERVICE_METRICS_GAUGE_H_
#define GATEHOUSE_SERVICE_METRICS_GAUGE_H_

#include <atomic>

namespace gatehouse::metrics {

// A value that goes up and down: one series of a Family<Gauge>.
//
// Thread-safe and lock-free: Set is an atomic store, Increment/Decrement a
// compare-and-swap loop (C++17 has no atomic<double>::fetch_add). Owned by
// its Family at a stable address, like Counter.
class alignas(64) Gauge {
 public:
  Gauge() = default;
  Gauge(const Gauge&) = delete;
  Gauge& operator=(const Gauge&) = delete;

  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Increment(double delta = 1) { Add(delta); }
  void Decrement(double delta = 1) { Add(-delta); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  void Add(double delta) {
    double current = value_.load(std::memory_order_relaxed);
    while (!value_.compare_exchange_weak(current, current + delta,
                                         std::memory_order_relaxed)) {
    }
  }

  std::atomic<double> value_{0};
};

}  // namespace gatehouse::metrics

#endif  // GATEHOUSE_SERVICE_METRICS_GAUGE_H_
