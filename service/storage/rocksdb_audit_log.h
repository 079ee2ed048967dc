#ifndef GATEHOUSE_SERVICE_STORAGE_ROCKSDB_AUDIT_LOG_H_
#define GATEHOUSE_SERVICE_STORAGE_ROCKSDB_AUDIT_LOG_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "service/core/audit_log.h"
#include "service/storage/store_db.h"

namespace gatehouse {

// AuditLog on a RocksDB store (RocksDbStore, rocksdb_store.h): events in the
// "audit" column family under their big-endian sequence number, encoded by
// audit_storage_codec.h, appended by the store's GroupCommitWriter. Only
// committed sequences (up to the head) are read, so a commit in flight is
// never seen half-way. A summary of refusals folded by retention
// (AuditEvent::first_sequence) stands for the sequences from its
// first_sequence to its own.
//
// Thread-safe. Does not own the StoreDb, which must outlive it.
class RocksDbAuditLog final : public AuditLog {
 public:
  explicit RocksDbAuditLog(const StoreDb* db);
  RocksDbAuditLog(const RocksDbAuditLog&) = delete;
  RocksDbAuditLog& operator=(const RocksDbAuditLog&) = delete;

  uint64_t HeadSequence() const override;
  uint64_t OldestSequence() const override;
  // Also DATA_LOSS when the log has a gap that retention did not make.
  absl::StatusOr<std::vector<AuditEvent>> Read(uint64_t from,
                                               size_t max) const override;
  bool AwaitAfter(uint64_t after, absl::Duration timeout) const override;
  absl::StatusOr<uint64_t> FirstAtOrAfter(absl::Time t) const override;

 private:
  const StoreDb* const db_;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_STORAGE_ROCKSDB_AUDIT_LOG_H_
