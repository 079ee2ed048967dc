#ifndef GATEHOUSE_SERVICE_STORAGE_ROCKSDB_MAINTENANCE_H_
#define GATEHOUSE_SERVICE_STORAGE_ROCKSDB_MAINTENANCE_H_

#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "service/core/audit_log.h"
#include "service/core/store_maintenance.h"
#include "service/storage/counter_checkpointer.h"
#include "service/storage/group_commit_writer.h"
#include "service/storage/refusal_folder.h"
#include "service/storage/store_db.h"

namespace rocksdb {
class ColumnFamilyHandle;
}  // namespace rocksdb

namespace gatehouse {

// StoreMaintenance of a RocksDB store (RocksDbStore, rocksdb_store.h): audit
// retention, recovery after failed writes, compaction, and the size and key
// figures.
//
// Thread-safe: every member may run alongside commits. Owns none of the
// StoreDb, the writer and the audit log (`db`'s), which must outlive it.
class RocksDbMaintenance final : public StoreMaintenance {
 public:
  RocksDbMaintenance(StoreDb* db, GroupCommitWriter* writer,
                     const AuditLog* audit_log,
                     CounterCheckpointer* checkpointer);
  RocksDbMaintenance(const RocksDbMaintenance&) = delete;
  RocksDbMaintenance& operator=(const RocksDbMaintenance&) = delete;

  // Retention also compacts the deleted range to reclaim the space.
  //
  // Over the size budget, refusal events give way first (RefusalFolder):
  // runs of them are folded into summaries until the log fits or none is
  // left; only then are the oldest events deleted. Folded events count as
  // deleted. Holds off the commits carrying events only while it deletes.
  absl::StatusOr<uint64_t> ApplyRetention(
      const AuditRetention& retention) override;
  bool writable() const override { return db_->writable(); }
  // DB::Resume, which flushes the memtables and starts a new write-ahead
  // log, proved by a small synced write. Safe alongside commits.
  absl::Status Recover() override;
  // Counters (with their redo log), audit log and lockout index together.
  uint64_t ApproximateBytes() const override {
    return ApproximateCounterBytes() + ApproximateRedoBytes() +
           ApproximateAuditBytes() + ApproximateLockoutIndexBytes();
  }
  // RocksDB's estimate, of the default family (counters).
  uint64_t EstimateNumKeys() const override;

  // Approximate bytes (SST files and memtables) of counters and of the
  // audit log.
  uint64_t ApproximateCounterBytes() const;
  uint64_t ApproximateAuditBytes() const;
  uint64_t ApproximateLockoutIndexBytes() const;
  uint64_t ApproximateRedoBytes() const;

  // Checkpoints the dirty counters, flushes memtables and compacts the
  // whole key range (drops expired counters now). For operators and tests.
  absl::Status CompactAll();

  // Counter keys actually present, once the dirty ones are checkpointed (a
  // full scan; for tests and tools).
  absl::StatusOr<uint64_t> CountCounterKeys() const;

 private:
  uint64_t ApproximateBytes(rocksdb::ColumnFamilyHandle* cf) const;
  // Bytes on disk (flushed events) of sequences `from` to `head`, and of
  // the retained ones.
  absl::StatusOr<uint64_t> BytesFrom(uint64_t from, uint64_t head) const;
  absl::StatusOr<uint64_t> RetainedBytes() const;

  // Constant after construction.
  StoreDb* const db_;
  GroupCommitWriter* const writer_;
  const AuditLog* const audit_log_;
  CounterCheckpointer* const checkpointer_;

  // One retention run at a time; taken before the writer's locks.
  absl::Mutex retention_mu_;
  RefusalFolder folder_ ABSL_GUARDED_BY(retention_mu_);
};

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_STORAGE_ROCKSDB_MAINTENANCE_H_
