#ifndef GATEHOUSE_SERVICE_METRICS_TEXT_FORMAT_H_
#define GATEHOUSE_SERVICE_METRICS_TEXT_FORMAT_H_

// The Prometheus text exposition format 0.0.4, for Family and Registry only.
// https://prometheus.io/docs/instrumenting/exposition_formats/

#include <string>
#include <string_view>
#include <vector>

#include "service/metrics/callback_gauge.h"
#include "service/metrics/counter.h"
#include "service/metrics/gauge.h"
#include "service/metrics/histogram.h"

namespace gatehouse::metrics::internal {

enum class MetricType { kCounter, kGauge, kHistogram };

// The Content-Type a scrape response must carry.
inline constexpr char kContentType[] =
    "text/plain; version=0.0.4; charset=utf-8";

// [a-zA-Z_:][a-zA-Z0-9_:]*
bool IsValidMetricName(std::string_view name);
// [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__" (reserved by Prometheus).
bool IsValidLabelName(std::string_view name);

// Shortest text that reads back as `value`; "+Inf", "-Inf", "NaN".
std::string FormatValue(double value);

// "# HELP name help" (help with \ and newline escaped) and "# TYPE name type".
void AppendHeader(std::string_view name, std::string_view help, MetricType type,
                  std::string* out);

// One sample line: name{n1="v1",...[,extra_name="extra_value"]} value. Label
// values are escaped (\\, \", \n) and invalid UTF-8 is replaced by U+FFFD so
// one bad value cannot fail the whole scrape. An empty `extra_name` adds no
// label.
void AppendSample(std::string_view name,
                  const std::vector<std::string>& label_names,
                  const std::vector<std::string>& label_values,
                  std::string_view extra_name, std::string_view extra_value,
                  std::string_view value, std::string* out);

// The sample lines of one series of each metric type.
void AppendSeries(std::string_view name,
                  const std::vector<std::string>& label_names,
                  const std::vector<std::string>& label_values,
                  const Counter& counter, std::string* out);
void AppendSeries(std::string_view name,
                  const std::vector<std::string>& label_names,
                  const std::vector<std::string>& label_values,
                  const Gauge& gauge, std::string* out);
void AppendSeries(std::string_view name,
                  const std::vector<std::string>& label_names,
                  const std::vector<std::string>& label_values,
                  const Histogram& histogram, std::string* out);
// Appends nothing when the gauge has no callback.
void AppendSeries(std::string_view name,
                  const std::vector<std::string>& label_names,
                  const std::vector<std::string>& label_values,
                  const CallbackGauge& gauge, std::string* out);

// Reports a programming error (bad name, wrong label count) on stderr and
// aborts: these are fixed in code, never caused by input.
[[noreturn]] void Fatal(const std::string& message);

}  // namespace gatehouse::metrics::internal

#endif  // GATEHOUSE_SERVICE_METRICS_TEXT_FORMAT_H_
