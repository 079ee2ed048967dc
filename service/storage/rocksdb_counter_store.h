#ifndef GATEHOUSE_SERVICE_STORAGE_ROCKSDB_COUNTER_STORE_H_
#define GATEHOUSE_SERVICE_STORAGE_ROCKSDB_COUNTER_STORE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "service/clock/clock.h"
#include "service/core/counter_store.h"

namespace rocksdb {
class DB;
}  // namespace rocksdb

namespace gatehouse {

class ExpiryCompactionFilter;

struct RocksDbStoreOptions {
  // fsync the write-ahead log on every commit (survives power loss); the
  // default survives a process crash.
  bool sync = false;
  // Block cache size: bounds read memory whatever the number of keys.
  size_t block_cache_bytes = 64 << 20;
  // Memtable size per write buffer.
  size_t write_buffer_bytes = 32 << 20;
  // Recompact every file at least this often so expired counters of keys
  // that stopped being seen are dropped; 0 leaves RocksDB's default.
  uint64_t periodic_compaction_seconds = 24 * 3600;
};

// CounterStore on RocksDB: one DB in a directory, counter states encoded by
// value_codec.h, expired states dropped at compaction by
// ExpiryCompactionFilter.
//
// Thread-safe. Owns the DB; the clock must outlive the store.
class RocksDbCounterStore final : public CounterStore {
 public:
  // Opens (creating if needed) the DB in `dir`. UNAVAILABLE naming the
  // directory and RocksDB's reason on failure (e.g. another process holds
  // its lock).
  static absl::StatusOr<std::unique_ptr<RocksDbCounterStore>> Open(
      const std::string& dir, const Clock* clock,
      const RocksDbStoreOptions& options = {});

  ~RocksDbCounterStore() override;
  RocksDbCounterStore(const RocksDbCounterStore&) = delete;
  RocksDbCounterStore& operator=(const RocksDbCounterStore&) = delete;

  absl::StatusOr<std::optional<CounterState>> Read(
      absl::string_view key) override;
  absl::Status Commit(const WriteSet& writes) override;

  // Flushes memtables and compacts the whole key range (drops expired
  // counters now). For operators and tests.
  absl::Status CompactAll();

  // RocksDB's estimate of the number of keys.
  uint64_t EstimateNumKeys() const;
  // Counter keys actually present (a full scan; for tests and tools).
  absl::StatusOr<uint64_t> CountCounterKeys() const;

 private:
  RocksDbCounterStore(std::unique_ptr<ExpiryCompactionFilter> filter,
                      std::unique_ptr<rocksdb::DB> db, bool sync);

  // The filter must outlive the DB, so it is declared first.
  std::unique_ptr<ExpiryCompactionFilter> filter_;
  std::unique_ptr<rocksdb::DB> db_;
  const bool sync_;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_STORAGE_ROCKSDB_COUNTER_STORE_H_
