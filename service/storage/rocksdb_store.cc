#include "service/storage/rocksdb_store.h"

#include <utility>

#include "service/core/status_macros.h"

namespace gatehouse {

RocksDbStore::RocksDbStore(std::unique_ptr<StoreDb> db, uint64_t redo_sequence,
                           const CheckpointOptions& checkpoints)
    : db_(std::move(db)),
      writer_(db_.get(), &dirty_, redo_sequence),
      counters_(db_.get(), &writer_, &dirty_),
      audit_log_(db_.get()),
      checkpointer_(db_.get(), &writer_, &dirty_, checkpoints),
      maintenance_(db_.get(), &writer_, &audit_log_, &checkpointer_) {}

absl::StatusOr<std::unique_ptr<RocksDbStore>> OpenRocksDbStore(
    const std::string& dir, const Clock* clock,
    const RocksDbStoreOptions& options) {
  GH_ASSIGN_OR_RETURN(std::unique_ptr<StoreDb> db,
                      StoreDb::Open(dir, clock, options));
  GH_ASSIGN_OR_RETURN(const uint64_t redo_sequence,
                      CounterCheckpointer::Replay(db.get()));
  CheckpointOptions checkpoints;
  checkpoints.interval = options.checkpoint_interval;
  checkpoints.max_dirty_keys = options.checkpoint_max_dirty_keys;
  return std::make_unique<RocksDbStore>(std::move(db), redo_sequence,
                                        checkpoints);
}

}  // namespace gatehouse
