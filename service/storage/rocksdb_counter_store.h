#ifndef GATEHOUSE_SERVICE_STORAGE_ROCKSDB_COUNTER_STORE_H_
#define GATEHOUSE_SERVICE_STORAGE_ROCKSDB_COUNTER_STORE_H_

#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "service/core/counter_store.h"
#include "service/storage/group_commit_writer.h"
#include "service/storage/store_db.h"

namespace gatehouse {

// CounterStore on a RocksDB store (RocksDbStore, rocksdb_store.h): counter
// states in the default column family, encoded by value_codec.h; expired
// ones are dropped at compaction by ExpiryCompactionFilter. Commits go
// through the store's GroupCommitWriter, with their audit events.
//
// Thread-safe. Owns neither the StoreDb nor the writer, which must outlive
// it.
class RocksDbCounterStore final : public CounterStore {
 public:
  RocksDbCounterStore(const StoreDb* db, GroupCommitWriter* writer);
  RocksDbCounterStore(const RocksDbCounterStore&) = delete;
  RocksDbCounterStore& operator=(const RocksDbCounterStore&) = delete;

  absl::StatusOr<std::optional<CounterState>> Read(
      absl::string_view key) override;
  absl::Status Commit(WriteSet& writes) override;

 private:
  const StoreDb* const db_;
  GroupCommitWriter* const writer_;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_STORAGE_ROCKSDB_COUNTER_STORE_H_
