#include "service/metrics/text_format.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace gatehouse::metrics::internal {
namespace {

bool IsNameStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }

// Length of the valid UTF-8 sequence starting at s[i], or 0 if invalid
// (overlong forms, surrogates and code points past U+10FFFF included).
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) {
    return static_cast<unsigned char>(s[i + k]);
  };
  const unsigned char b0 = byte(0);
  if (b0 < 0x80) return 1;
  size_t len;
  unsigned char lo = 0x80, hi = 0xBF;  // bounds of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  if (byte(1) < lo || byte(1) > hi) return 0;
  for (size_t k = 2; k < len; ++k) {
    if (byte(k) < 0x80 || byte(k) > 0xBF) return 0;
  }
  return len;
}

void AppendEscapedLabelValue(std::string_view value, std::string* out) {
  size_t i = 0;
  while (i < value.size()) {
    const char c = value[i];
    if (c == '\\') {
      out->append("\\\\");
    } else if (c == '"') {
      out->append("\\\"");
    } else if (c == '\n') {
      out->append("\\n");
    } else {
      const size_t len = Utf8SequenceLength(value, i);
      if (len == 0) {
        out->append("\xEF\xBF\xBD");  // U+FFFD REPLACEMENT CHARACTER
        ++i;
        continue;
      }
      out->append(value.substr(i, len));
      i += len;
      continue;
    }
    ++i;
  }
}

const char* TypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

}  // namespace

bool IsValidMetricName(std::string_view name) {
  if (name.empty() || !(IsNameStart(name[0]) || name[0] == ':')) return false;
  for (char c : name) {
    if (!IsNameChar(c) && c != ':') return false;
  }
  return true;
}

bool IsValidLabelName(std::string_view name) {
  if (name.empty() || !IsNameStart(name[0])) return false;
  if (name.size() >= 2 && name[0] == '_' && name[1] == '_') return false;
  for (char c : name) {
    if (!IsNameChar(c)) return false;
  }
  return true;
}

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  // The shortest of %.15g..%.17g that round-trips, as Go's strconv does:
  // 0.1 prints as 0.1, not 0.10000000000000001.
  char buffer[32];
  for (int precision = 15; precision <= 17; ++precision) {
    std::snprintf(buffer, sizeof(buffer), "%.*g", precision, value);
    if (std::strtod(buffer, nullptr) == value) break;
  }
  return buffer;
}

void AppendHeader(std::string_view name, std::string_view help, MetricType type,
                  std::string* out) {
  out->append("# HELP ").append(name).append(" ");
  for (char c : help) {
    if (c == '\\') {
      out->append("\\\\");
    } else if (c == '\n') {
      out->append("\\n");
    } else {
      out->push_back(c);
    }
  }
  out->append("\n# TYPE ").append(name).append(" ");
  out->append(TypeName(type)).append("\n");
}

void AppendSample(std::string_view name,
                  const std::vector<std::string>& label_names,
                  const std::vector<std::string>& label_values,
                  std::string_view extra_name, std::string_view extra_value,
                  std::string_view value, std::string* out) {
  out->append(name);
  if (!label_names.empty() || !extra_name.empty()) {
    out->push_back('{');
    for (size_t i = 0; i < label_names.size(); ++i) {
      if (i > 0) out->push_back(',');
      out->append(label_names[i]).append("=\"");
      AppendEscapedLabelValue(label_values[i], out);
      out->push_back('"');
    }
    if (!extra_name.empty()) {
      if (!label_names.empty()) out->push_back(',');
      out->append(extra_name).append("=\"");
      AppendEscapedLabelValue(extra_value, out);
      out->push_back('"');
    }
    out->push_back('}');
  }
  out->push_back(' ');
  out->append(value).push_back('\n');
}

void AppendSeries(std::string_view name,
                  const std::vector<std::string>& label_names,
                  const std::vector<std::string>& label_values,
                  const Counter& counter, std::string* out) {
  AppendSample(name, label_names, label_values, {}, {},
               std::to_string(counter.Value()), out);
}

void AppendSeries(std::string_view name,
                  const std::vector<std::string>& label_names,
                  const std::vector<std::string>& label_values,
                  const Gauge& gauge, std::string* out) {
  AppendSample(name, label_names, label_values, {}, {},
               FormatValue(gauge.Value()), out);
}

void AppendSeries(std::string_view name,
                  const std::vector<std::string>& label_names,
                  const std::vector<std::string>& label_values,
                  const Histogram& histogram, std::string* out) {
  const Histogram::Snapshot snapshot = histogram.Read();
  const std::string bucket_name = std::string(name) + "_bucket";
  for (size_t i = 0; i < snapshot.cumulative_counts.size(); ++i) {
    const std::string le = i < snapshot.bounds.size()
                               ? FormatValue(snapshot.bounds[i])
                               : std::string("+Inf");
    AppendSample(bucket_name, label_names, label_values, "le", le,
                 std::to_string(snapshot.cumulative_counts[i]), out);
  }
  AppendSample(std::string(name) + "_sum", label_names, label_values, {}, {},
               FormatValue(snapshot.sum), out);
  AppendSample(std::string(name) + "_count", label_names, label_values, {}, {},
               std::to_string(snapshot.count), out);
}

void AppendSeries(std::string_view name,
                  const std::vector<std::string>& label_names,
                  const std::vector<std::string>& label_values,
                  const CallbackGauge& gauge, std::string* out) {
  const std::optional<double> value = gauge.Evaluate();
  if (!value.has_value()) return;
  AppendSample(name, label_names, label_values, {}, {}, FormatValue(*value),
               out);
}

void Fatal(const std::string& message) {
  std::fprintf(stderr, "gatehouse metrics: %s\n", message.c_str());
  std::abort();
}

}  // namespace gatehouse::metrics::internal
