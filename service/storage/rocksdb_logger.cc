#include "service/storage/rocksdb_logger.h"

#include <cstdio>

#include "service/logging/json_log.h"

namespace gatehouse {
namespace {

spdlog::level::level_enum ToSpdlog(rocksdb::InfoLogLevel level) {
  switch (level) {
    case rocksdb::InfoLogLevel::DEBUG_LEVEL:
      return spdlog::level::debug;
    case rocksdb::InfoLogLevel::INFO_LEVEL:
    case rocksdb::InfoLogLevel::HEADER_LEVEL:
      return spdlog::level::info;
    case rocksdb::InfoLogLevel::WARN_LEVEL:
      return spdlog::level::warn;
    case rocksdb::InfoLogLevel::ERROR_LEVEL:
      return spdlog::level::err;
    default:
      return spdlog::level::critical;
  }
}

}  // namespace

void JsonRocksDbLogger::Logv(const char* format, va_list ap) {
  Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap);
}

void JsonRocksDbLogger::Logv(const rocksdb::InfoLogLevel level,
                             const char* format, va_list ap) {
  // HEADER lines (options at open) are INFO-like; the filter applies to all.
  const rocksdb::InfoLogLevel effective =
      level == rocksdb::InfoLogLevel::HEADER_LEVEL
          ? rocksdb::InfoLogLevel::INFO_LEVEL
          : level;
  if (effective < GetInfoLogLevel()) return;
  char buffer[1024];
  const int n = std::vsnprintf(buffer, sizeof(buffer), format, ap);
  if (n < 0) return;
  LogJson(ToSpdlog(level), "rocksdb", {{"message", buffer}});
}

}  // namespace gatehouse
