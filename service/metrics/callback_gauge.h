#ifndef GATEHOUSE_SERVICE_METRICS_CALLBACK_GAUGE_H_
#define GATEHOUSE_SERVICE_METRICS_CALLBACK_GAUGE_H_

#include <functional>
#include <optional>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace gatehouse::metrics {

// A gauge whose value is computed at scrape time (RocksDB size, resident
// memory): one series of a Family<CallbackGauge>. A series without a
// callback is left out of the exposition.
//
// Thread-safe. The callback runs on the scraping thread with this gauge's
// mutex held, so once SetCallback(nullptr) returns the old callback is not
// running and never will again: that is how its captures may be destroyed.
class CallbackGauge {
 public:
  CallbackGauge() = default;
  CallbackGauge(const CallbackGauge&) = delete;
  CallbackGauge& operator=(const CallbackGauge&) = delete;

  // Replaces the callback (nullptr removes it). `fn` must be cheap, must not
  // call into the Registry, and what it captures must stay valid until it is
  // replaced or the Registry is destroyed.
  void SetCallback(std::function<double()> fn) {
    absl::MutexLock lock(&mu_);
    fn_ = std::move(fn);
  }

  // The callback's value, or nullopt when there is none.
  std::optional<double> Evaluate() const {
    absl::MutexLock lock(&mu_);
    if (!fn_) return std::nullopt;
    return fn_();
  }

 private:
  mutable absl::Mutex mu_;
  std::function<double()> fn_ ABSL_GUARDED_BY(mu_);
};

}  // namespace gatehouse::metrics

#endif  // GATEHOUSE_SERVICE_METRICS_CALLBACK_GAUGE_H_
