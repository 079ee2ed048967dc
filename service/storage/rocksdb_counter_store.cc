#include "service/storage/rocksdb_counter_store.h"

#include <rocksdb/db.h>

#include <utility>

#include "service/storage/value_codec.h"

namespace gatehouse {

RocksDbCounterStore::RocksDbCounterStore(const StoreDb* db,
                                         GroupCommitWriter* writer)
    : db_(db), writer_(writer) {}

absl::StatusOr<std::optional<CounterState>> RocksDbCounterStore::Read(
    absl::string_view key) {
  rocksdb::PinnableSlice value;
  rocksdb::Status s = db_->db()->Get(rocksdb::ReadOptions(), db_->counters(),
                                     ToSlice(key), &value);
  if (s.IsNotFound()) return std::nullopt;
  if (!s.ok()) return FromRocks(s, StorageErrorKind::kRead, "read counter");
  absl::StatusOr<CounterState> state = DecodeCounterState(ToView(value));
  if (!state.ok()) return state.status();
  return std::optional<CounterState>(std::move(*state));
}

absl::Status RocksDbCounterStore::Commit(WriteSet& writes) {
  return writer_->Commit(writes);
}

}  // namespace gatehouse
