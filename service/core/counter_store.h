#ifndef GATEHOUSE_SERVICE_CORE_COUNTER_STORE_H_
#define GATEHOUSE_SERVICE_CORE_COUNTER_STORE_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "service/core/audit_event.h"
#include "service/core/counter_state.h"

namespace gatehouse {

// Changes to apply together: all or none.
struct WriteSet {
  std::vector<std::pair<std::string, CounterState>> puts;
  std::vector<std::string> deletes;
  // Appended to the audit log in the same write; Commit assigns their
  // sequence numbers.
  std::vector<AuditEvent> audit;

  bool empty() const {
    return puts.empty() && deletes.empty() && audit.empty();
  }
};

// Durable home of counter states, keyed by DeriveStorageKey().
//
// Implementations are thread-safe. They do not serialise read-modify-write
// sequences: the Limiter holds per-key locks around them.
class CounterStore {
 public:
  virtual ~CounterStore() = default;

  // The state under `key`, or nullopt when there is none (or it has expired
  // and not been compacted yet; callers check expires_at_ms). UNAVAILABLE
  // when storage fails; DATA_LOSS when the stored value is corrupt.
  virtual absl::StatusOr<std::optional<CounterState>> Read(
      absl::string_view key) = 0;

  // Applies every put and delete and appends every audit event, atomically
  // and durably (per the store's configured durability), and sets the
  // events' sequence numbers (consecutive, continuing the log without gaps).
  // UNAVAILABLE when storage fails, in which case nothing was applied and no
  // sequence number was used.
  virtual absl::Status Commit(WriteSet& writes) = 0;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_CORE_COUNTER_STORE_H_
