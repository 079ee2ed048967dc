#include "service/logging/json_log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "absl/strings/str_format.h"

namespace gatehouse {
namespace {

void AppendEscaped(std::string& out, absl::string_view s) {
  out.push_back('"');
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += absl::StrFormat("\\u%04x", static_cast<unsigned char>(c));
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

}  // namespace

std::string FormatJsonFields(absl::string_view msg,
                             std::initializer_list<LogField> fields) {
  std::string out = "\"msg\":";
  AppendEscaped(out, msg);
  for (const LogField& f : fields) {
    out.push_back(',');
    AppendEscaped(out, f.key);
    out.push_back(':');
    if (f.raw) {
      out += f.value;
    } else {
      AppendEscaped(out, f.value);
    }
  }
  return out;
}

void SetUpJsonLogging(spdlog::level::level_enum level) {
  auto logger = spdlog::stderr_logger_mt("gatehouse");
  logger->set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l",%v})",
                      spdlog::pattern_time_type::utc);
  logger->set_level(level);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

void LogJson(spdlog::level::level_enum level, absl::string_view msg,
             std::initializer_list<LogField> fields) {
  if (!spdlog::should_log(level)) return;
  spdlog::log(level, "{}", FormatJsonFields(msg, fields));
}

}  // namespace gatehouse
