#ifndef GATEHOUSE_SERVICE_STORAGE_ROCKSDB_COUNTER_STORE_H_
#define GATEHOUSE_SERVICE_STORAGE_ROCKSDB_COUNTER_STORE_H_

#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "service/core/counter_store.h"
#include "service/storage/dirty_counters.h"
#include "service/storage/group_commit_writer.h"
#include "service/storage/store_db.h"

namespace gatehouse {

// CounterStore on a RocksDB store (RocksDbStore, rocksdb_store.h): counter
// states in the default column family, encoded by value_codec.h; expired
// ones are dropped at compaction by ExpiryCompactionFilter. Commits go
// through the store's GroupCommitWriter, with their audit events and
// lockout index changes; the index (store_layout.h) is listed by one seek
// and ended entries are dropped at compaction by LockoutCompactionFilter.
//
// Thread-safe. Owns neither the StoreDb nor the writer, which must outlive
// it.
class RocksDbCounterStore final : public CounterStore {
 public:
  // Reads look in `dirty` (the states the writer committed and no
  // checkpoint moved yet) before the counters family.
  RocksDbCounterStore(const StoreDb* db, GroupCommitWriter* writer,
                      const DirtyCounters* dirty);
  RocksDbCounterStore(const RocksDbCounterStore&) = delete;
  RocksDbCounterStore& operator=(const RocksDbCounterStore&) = delete;

  absl::StatusOr<std::optional<CounterState>> Read(
      absl::string_view key) override;
  absl::Status Commit(WriteSet& writes) override;
  void CommitAsync(WriteSet& writes, CommitDone done) override;
  // The GroupCommitWriter's: `queued` runs once the commit is queued.
  bool writes_in_order() const override { return true; }
  void CommitInOrder(WriteSet& writes, Queued queued, CommitDone done) override;
  // CounterStore::ListLockouts, with one bound on its work: entries whose
  // lockout has ended but that compaction has not dropped yet are passed
  // over, at most kMaxSkippedLockouts of them per call; past that the page
  // ends early (possibly empty) with `next` set, and the caller pages on.
  // DATA_LOSS when an entry it reads does not decode or does not match its
  // key; UNAVAILABLE when reading fails.
  absl::StatusOr<LockoutPage> ListLockouts(const LockoutQuery& query) override;

  static constexpr size_t kMaxSkippedLockouts = 10'000;

 private:
  const StoreDb* const db_;
  GroupCommitWriter* const writer_;
  const DirtyCounters* const dirty_;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_STORAGE_ROCKSDB_COUNTER_STORE_H_
