#ifndef GATEHOUSE_SERVICE_STORAGE_ROCKSDB_STORE_H_
#define GATEHOUSE_SERVICE_STORAGE_ROCKSDB_STORE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "service/clock/clock.h"
#include "service/core/store.h"
#include "service/storage/counter_checkpointer.h"
#include "service/storage/dirty_counters.h"
#include "service/storage/group_commit_writer.h"
#include "service/storage/rocksdb_audit_log.h"
#include "service/storage/rocksdb_counter_store.h"
#include "service/storage/rocksdb_maintenance.h"
#include "service/storage/store_db.h"

namespace gatehouse {

// A Store on RocksDB: one DB in a directory (StoreDb), written only through
// one GroupCommitWriter, read and maintained by the three parts. Counter
// changes (as a redo record), audit events and lockout index entries are
// committed in the same WriteBatch, so an audit event (or an index entry)
// is durable exactly when the counter change it describes is; a
// CounterCheckpointer moves the changes into the counters family later.
// On opening, the redo records no checkpoint moved are replayed, and the
// audit head is the last event's sequence; retention, which may delete
// every event, stores the head as it deletes.
//
// Thread-safe. Owns the DB and the parts; the clock must outlive it.
class RocksDbStore final : public Store {
 public:
  // REQUIRES: `db` is open and replayed (CounterCheckpointer::Replay, which
  // returned `redo_sequence`).
  RocksDbStore(std::unique_ptr<StoreDb> db, uint64_t redo_sequence,
               const CheckpointOptions& checkpoints);
  RocksDbStore(const RocksDbStore&) = delete;
  RocksDbStore& operator=(const RocksDbStore&) = delete;

  RocksDbCounterStore& counters() override { return counters_; }
  RocksDbAuditLog& audit_log() override { return audit_log_; }
  RocksDbMaintenance& maintenance() override { return maintenance_; }
  CounterCheckpointer& checkpointer() { return checkpointer_; }
  const DirtyCounters& dirty() const { return dirty_; }
  const GroupCommitWriter& writer() const { return writer_; }
  // The database itself, for tests and tools that look beneath the parts.
  const StoreDb* db() const { return db_.get(); }

 private:
  // Declared in the order of construction: the DB first, destroyed last.
  const std::unique_ptr<StoreDb> db_;
  DirtyCounters dirty_;
  GroupCommitWriter writer_;
  RocksDbCounterStore counters_;
  RocksDbAuditLog audit_log_;
  // Destroyed before the parts it uses, after maintenance, which uses it.
  CounterCheckpointer checkpointer_;
  RocksDbMaintenance maintenance_;
};

// Opens (creating if needed) the store in `dir`. UNAVAILABLE naming the
// directory and RocksDB's reason on failure (e.g. another process holds its
// lock); DATA_LOSS when the stored audit log or a redo record does not
// decode.
absl::StatusOr<std::unique_ptr<RocksDbStore>> OpenRocksDbStore(
    const std::string& dir, const Clock* clock,
    const RocksDbStoreOptions& options = {});

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_STORAGE_ROCKSDB_STORE_H_
