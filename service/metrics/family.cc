#include "service/metrics/family.h"

#include <utility>

namespace gatehouse::metrics {

template <typename T>
Family<T>::Family(std::string name, std::string help, internal::MetricType type,
                  std::vector<std::string> label_names,
                  std::function<std::unique_ptr<T>()> make_series)
    : name_(std::move(name)),
      help_(std::move(help)),
      type_(type),
      label_names_(std::move(label_names)),
      make_series_(std::move(make_series)) {}

template <typename T>
T& Family<T>::WithLabels(const std::vector<std::string>& values) {
  if (values.size() != label_names_.size()) {
    internal::Fatal(name_ + ": " + std::to_string(values.size()) +
                    " label values given, " +
                    std::to_string(label_names_.size()) + " declared");
  }
  absl::MutexLock lock(&mu_);
  std::unique_ptr<T>& series = series_[values];
  if (series == nullptr) series = make_series_();
  return *series;
}

template <typename T>
void Family<T>::AppendText(std::string* out) const {
  std::string samples;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [values, series] : series_) {
      internal::AppendSeries(name_, label_names_, values, *series, &samples);
    }
  }
  if (samples.empty()) return;
  internal::AppendHeader(name_, help_, type_, out);
  out->append(samples);
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;
template class Family<CallbackGauge>;

}  // namespace gatehouse::metrics
