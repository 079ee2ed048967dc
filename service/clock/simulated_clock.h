#ifndef GATEHOUSE_SERVICE_CLOCK_SIMULATED_CLOCK_H_
#define GATEHOUSE_SERVICE_CLOCK_SIMULATED_CLOCK_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "service/clock/clock.h"

namespace gatehouse {

// A clock that only moves when told to. Thread-safe. Time may be set
// backwards, to test how callers handle wall-clock jumps.
class SimulatedClock final : public Clock {
 public:
  explicit SimulatedClock(absl::Time start = absl::FromUnixSeconds(1700000000))
      : now_(start) {}

  absl::Time Now() const override {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void Advance(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }
  void Set(absl::Time t) {
    absl::MutexLock lock(&mu_);
    now_ = t;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_CLOCK_SIMULATED_CLOCK_H_
