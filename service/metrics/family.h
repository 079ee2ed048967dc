#ifndef GATEHOUSE_SERVICE_METRICS_FAMILY_H_
#define GATEHOUSE_SERVICE_METRICS_FAMILY_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "service/metrics/callback_gauge.h"
#include "service/metrics/counter.h"
#include "service/metrics/gauge.h"
#include "service/metrics/histogram.h"
#include "service/metrics/text_format.h"

namespace gatehouse::metrics {

namespace internal {

// What the Registry renders: one metric family.
class Collectable {
 public:
  virtual ~Collectable() = default;
  // Appends HELP, TYPE and every sample, or nothing when there is no sample.
  virtual void AppendText(std::string* out) const = 0;
};

}  // namespace internal

// All series of one metric name, told apart by the values of a fixed list of
// label names declared when the family is registered. T is Counter, Gauge,
// Histogram or CallbackGauge.
//
// Thread-safe. Created and owned by a Registry; every series it hands out
// lives, at the same address, as long as the Registry. Look a series up once
// (WithLabels takes a mutex) and keep the reference: recording through it is
// lock-free.
template <typename T>
class Family final : public internal::Collectable {
 public:
  Family(const Family&) = delete;
  Family& operator=(const Family&) = delete;

  // The series with these label values, in the order of label_names(),
  // created on first use. Values may be any string (they are escaped when
  // rendered) but must come from a bounded set: never a key, IP or user.
  // REQUIRES: values.size() == label_names().size(); aborts otherwise.
  T& WithLabels(const std::vector<std::string>& values);

  const std::string& name() const { return name_; }
  const std::vector<std::string>& label_names() const { return label_names_; }

  void AppendText(std::string* out) const override;

 private:
  friend class Registry;

  Family(std::string name, std::string help, internal::MetricType type,
         std::vector<std::string> label_names,
         std::function<std::unique_ptr<T>()> make_series);

  // Constant after construction.
  const std::string name_;
  const std::string help_;
  const internal::MetricType type_;
  const std::vector<std::string> label_names_;
  const std::function<std::unique_ptr<T>()> make_series_;

  mutable absl::Mutex mu_;
  // Keyed by label values; sorted, so the exposition order is stable.
  std::map<std::vector<std::string>, std::unique_ptr<T>> series_
      ABSL_GUARDED_BY(mu_);
};

extern template class Family<Counter>;
extern template class Family<Gauge>;
extern template class Family<Histogram>;
extern template class Family<CallbackGauge>;

}  // namespace gatehouse::metrics

#endif  // GATEHOUSE_SERVICE_METRICS_FAMILY_H_
