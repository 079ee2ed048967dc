#ifndef GATEHOUSE_SERVICE_METRICS_REGISTRY_H_
#define GATEHOUSE_SERVICE_METRICS_REGISTRY_H_

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "service/metrics/family.h"

namespace gatehouse::metrics {

// The set of metric families a process exports, rendered in the Prometheus
// text exposition format 0.0.4. Shaped like prometheus-cpp's Registry +
// BuildCounter()...Register() so that library could take its place.
//
// Thread-safe. Owns its families and their series; references returned by
// Add* and Family::WithLabels stay valid until the Registry is destroyed.
//
// Registration errors are programming errors and abort with a message: a
// name that is not [a-zA-Z_:][a-zA-Z0-9_:]*, a label name that is invalid,
// repeated or reserved (`le` on a histogram), a sample name already exported
// by another family, or histogram bounds that are not finite and strictly
// increasing. A family without labels has its single series created at
// registration, so it is exported (as 0) from the first scrape; labelled
// series appear once WithLabels creates them.
class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  Family<Counter>& AddCounter(std::string name, std::string help,
                              std::vector<std::string> label_names = {});
  Family<Gauge>& AddGauge(std::string name, std::string help,
                          std::vector<std::string> label_names = {});
  // `bounds` are the upper bounds of the buckets (`le`), without +Inf.
  Family<Histogram>& AddHistogram(std::string name, std::string help,
                                  std::vector<std::string> label_names,
                                  std::vector<double> bounds);
  // Gauges evaluated at scrape time; see CallbackGauge.
  Family<CallbackGauge>& AddCallbackGauge(
      std::string name, std::string help,
      std::vector<std::string> label_names = {});
  // Counters read at scrape time from a count kept elsewhere (e.g. a
  // cache's hits), exported as TYPE counter. The callback must never
  // decrease.
  Family<CallbackGauge>& AddCallbackCounter(
      std::string name, std::string help,
      std::vector<std::string> label_names = {});

  // The exposition: families sorted by name, series by label values.
  // Evaluates callback gauges on the calling thread.
  std::string Render() const;

  // Every sample name the registered families can export, sorted: a
  // histogram contributes name_bucket, name_sum and name_count.
  std::vector<std::string> SampleNames() const;

 private:
  // Checks names and reserves the family's sample names; aborts on error.
  void Reserve(const std::string& name,
               const std::vector<std::string>& label_names,
               internal::MetricType type) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  template <typename T>
  Family<T>& Add(std::string name, std::string help, internal::MetricType type,
                 std::vector<std::string> label_names,
                 std::function<std::unique_ptr<T>()> make_series);

  mutable absl::Mutex mu_;
  std::map<std::string, std::unique_ptr<internal::Collectable>> families_
      ABSL_GUARDED_BY(mu_);
  std::set<std::string> sample_names_ ABSL_GUARDED_BY(mu_);
};

}  // namespace gatehouse::metrics

#endif  // GATEHOUSE_SERVICE_METRICS_REGISTRY_H_
