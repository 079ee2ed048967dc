#ifndef GATEHOUSE_SERVICE_STORAGE_ROCKSDB_LOGGER_H_
#define GATEHOUSE_SERVICE_STORAGE_ROCKSDB_LOGGER_H_

#include <rocksdb/env.h>

#include <cstdarg>

namespace gatehouse {

// RocksDB's info log, as JSON log lines on stderr ("rocksdb" messages)
// instead of a LOG file in the data directory. Only WARN and above by
// default: RocksDB's INFO lines are many and for its developers.
//
// Why not the LOG file: it lives on the data volume, so when that fills up
// RocksDB's own report of the failure fails to write, and Debian's RocksDB
// 7.8 (built with assertions) then aborts the process in
// WritableFileWriter::AssertFalseAndGetStatusForPrevError. It also keeps
// our logs in one place.
//
// Thread-safe (spdlog is).
class JsonRocksDbLogger final : public rocksdb::Logger {
 public:
  explicit JsonRocksDbLogger(
      rocksdb::InfoLogLevel level = rocksdb::InfoLogLevel::WARN_LEVEL)
      : rocksdb::Logger(level) {}

  void Logv(const char* format, va_list ap) override;
  void Logv(const rocksdb::InfoLogLevel level, const char* format,
            va_list ap) override;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_STORAGE_ROCKSDB_LOGGER_H_
