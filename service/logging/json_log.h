#ifndef GATEHOUSE_SERVICE_LOGGING_JSON_LOG_H_
#define GATEHOUSE_SERVICE_LOGGING_JSON_LOG_H_

#include <spdlog/common.h>

#include <cstdint>
#include <initializer_list>
#include <string>

#include "absl/strings/string_view.h"

namespace gatehouse {

// One field of a structured log line.
struct LogField {
  LogField(absl::string_view k, absl::string_view v) : key(k), value(v) {}
  LogField(absl::string_view k, const std::string& v) : key(k), value(v) {}
  LogField(absl::string_view k, const char* v) : key(k), value(v) {}
  LogField(absl::string_view k, int64_t v)
      : key(k), value(std::to_string(v)), raw(true) {}
  LogField(absl::string_view k, uint64_t v)
      : key(k), value(std::to_string(v)), raw(true) {}
  LogField(absl::string_view k, int v)
      : key(k), value(std::to_string(v)), raw(true) {}

  absl::string_view key;
  std::string value;
  bool raw = false;  // A JSON number; otherwise a string, escaped.
};

// Logs go to stderr, one JSON object per line with stable field names:
//   {"ts":"2026-11-29T05:00:00.123Z","level":"info","msg":"...", ...fields}
// Installs the default spdlog logger; call once at start-up.
void SetUpJsonLogging(spdlog::level::level_enum level);

// Logs `msg` with `fields`. Callers never pass raw personal data: keys are
// pseudonymised before they reach here.
void LogJson(spdlog::level::level_enum level, absl::string_view msg,
             std::initializer_list<LogField> fields = {});

// The `"msg":...,fields` part of a line (without braces), for tests.
std::string FormatJsonFields(absl::string_view msg,
                             std::initializer_list<LogField> fields);

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_LOGGING_JSON_LOG_H_
