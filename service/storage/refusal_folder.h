#ifndef GATEHOUSE_SERVICE_STORAGE_REFUSAL_FOLDER_H_
#define GATEHOUSE_SERVICE_STORAGE_REFUSAL_FOLDER_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "service/core/audit_log.h"
#include "service/storage/store_db.h"

namespace gatehouse {

// The first step of audit retention over its size budget on a RocksDB store
// (RocksDbMaintenance::ApplyRetention): runs of consecutive refusal events,
// oldest first, are folded into one summary each, stored under the run's
// last sequence (AuditEvent::first_sequence: the run's first; the sum of
// its refused calls; its first and last refusal times), so that refused
// calls, which anyone who reaches the port can make, give way before any
// decision is evicted. Summaries number at most one more than the decision
// events between them.
//
// Not thread-safe: one Fold() at a time (retention runs one at a time); it
// may run alongside commits. Owns neither the StoreDb nor the log, which
// must outlive it.
class RefusalFolder {
 public:
  // `log` reads `db`'s audit events.
  RefusalFolder(StoreDb* db, const AuditLog* log);
  RefusalFolder(const RefusalFolder&) = delete;
  RefusalFolder& operator=(const RefusalFolder&) = delete;

  // One pass: folds runs of refusal events from where the last pass
  // stopped until about `target_bytes` (encoded) are saved or the head is
  // reached, and compacts their range. Returns the encoded bytes saved (0:
  // nothing left to fold) and adds the number of events folded away to
  // *removed. Storage errors as UNAVAILABLE or DATA_LOSS.
  absl::StatusOr<uint64_t> Fold(uint64_t target_bytes, uint64_t* removed);

 private:
  StoreDb* const db_;
  const AuditLog* const log_;
  // Every refusal event before this sequence is folded (the event just
  // before it may be a summary that the next pass extends); 0 at opening.
  uint64_t cursor_ = 0;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_STORAGE_REFUSAL_FOLDER_H_
