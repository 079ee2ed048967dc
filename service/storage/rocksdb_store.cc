#include "service/storage/rocksdb_store.h"

#include <utility>

#include "service/core/status_macros.h"

namespace gatehouse {

RocksDbStore::RocksDbStore(std::unique_ptr<StoreDb> db)
    : db_(std::move(db)),
      writer_(db_.get()),
      counters_(db_.get(), &writer_),
      audit_log_(db_.get()),
      maintenance_(db_.get(), &writer_, &audit_log_) {}

absl::StatusOr<std::unique_ptr<RocksDbStore>> OpenRocksDbStore(
    const std::string& dir, const Clock* clock,
    const RocksDbStoreOptions& options) {
  GH_ASSIGN_OR_RETURN(std::unique_ptr<StoreDb> db,
                      StoreDb::Open(dir, clock, options));
  return std::make_unique<RocksDbStore>(std::move(db));
}

}  // namespace gatehouse
