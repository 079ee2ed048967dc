#include "service/metrics/registry.h"

#include <cmath>
#include <set>
#include <utility>

namespace gatehouse::metrics {

Registry::Registry() = default;
Registry::~Registry() = default;

void Registry::Reserve(const std::string& name,
                       const std::vector<std::string>& label_names,
                       internal::MetricType type) {
  if (!internal::IsValidMetricName(name)) {
    internal::Fatal("invalid metric name \"" + name + "\"");
  }
  std::set<std::string> seen;
  for (const std::string& label : label_names) {
    if (!internal::IsValidLabelName(label)) {
      internal::Fatal(name + ": invalid label name \"" + label + "\"");
    }
    if (type == internal::MetricType::kHistogram && label == "le") {
      internal::Fatal(name + ": label \"le\" is reserved for buckets");
    }
    if (!seen.insert(label).second) {
      internal::Fatal(name + ": label \"" + label + "\" declared twice");
    }
  }
  std::vector<std::string> samples = {name};
  if (type == internal::MetricType::kHistogram) {
    samples = {name + "_bucket", name + "_sum", name + "_count"};
  }
  if (families_.count(name) > 0) {
    internal::Fatal("metric \"" + name + "\" registered twice");
  }
  for (const std::string& sample : samples) {
    if (sample_names_.count(sample) > 0) {
      internal::Fatal("metric \"" + sample + "\" registered twice");
    }
  }
  sample_names_.insert(samples.begin(), samples.end());
}

template <typename T>
Family<T>& Registry::Add(std::string name, std::string help,
                         internal::MetricType type,
                         std::vector<std::string> label_names,
                         std::function<std::unique_ptr<T>()> make_series) {
  absl::MutexLock lock(&mu_);
  Reserve(name, label_names, type);
  const bool unlabelled = label_names.empty();
  // Family's constructor is private to Registry, hence no make_unique.
  auto* family = new Family<T>(name, std::move(help), type,
                               std::move(label_names), std::move(make_series));
  families_[name].reset(family);
  if (unlabelled) family->WithLabels({});
  return *family;
}

Family<Counter>& Registry::AddCounter(std::string name, std::string help,
                                      std::vector<std::string> label_names) {
  return Add<Counter>(std::move(name), std::move(help),
                      internal::MetricType::kCounter, std::move(label_names),
                      [] { return std::make_unique<Counter>(); });
}

Family<Gauge>& Registry::AddGauge(std::string name, std::string help,
                                  std::vector<std::string> label_names) {
  return Add<Gauge>(std::move(name), std::move(help),
                    internal::MetricType::kGauge, std::move(label_names),
                    [] { return std::make_unique<Gauge>(); });
}

Family<Histogram>& Registry::AddHistogram(std::string name, std::string help,
                                          std::vector<std::string> label_names,
                                          std::vector<double> bounds) {
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1])) {
      internal::Fatal(name +
                      ": bucket bounds must be finite and strictly increasing");
    }
  }
  return Add<Histogram>(std::move(name), std::move(help),
                        internal::MetricType::kHistogram,
                        std::move(label_names), [bounds = std::move(bounds)] {
                          return std::make_unique<Histogram>(bounds);
                        });
}

Family<CallbackGauge>& Registry::AddCallbackGauge(
    std::string name, std::string help, std::vector<std::string> label_names) {
  return Add<CallbackGauge>(
      std::move(name), std::move(help), internal::MetricType::kGauge,
      std::move(label_names), [] { return std::make_unique<CallbackGauge>(); });
}

Family<CallbackGauge>& Registry::AddCallbackCounter(
    std::string name, std::string help, std::vector<std::string> label_names) {
  return Add<CallbackGauge>(
      std::move(name), std::move(help), internal::MetricType::kCounter,
      std::move(label_names), [] { return std::make_unique<CallbackGauge>(); });
}

std::string Registry::Render() const {
  std::string out;
  absl::MutexLock lock(&mu_);
  for (const auto& [name, family] : families_) family->AppendText(&out);
  return out;
}

std::vector<std::string> Registry::SampleNames() const {
  absl::MutexLock lock(&mu_);
  return {sample_names_.begin(), sample_names_.end()};
}

}  // namespace gatehouse::metrics
