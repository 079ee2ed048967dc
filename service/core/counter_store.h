#ifndef GATEHOUSE_SERVICE_CORE_COUNTER_STORE_H_
#define GATEHOUSE_SERVICE_CORE_COUNTER_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "service/core/audit_event.h"
#include "service/core/counter_state.h"
#include "service/core/lockout_index.h"

namespace gatehouse {

// Changes to apply together: all or none.
struct WriteSet {
  std::vector<std::pair<std::string, CounterState>> puts;
  std::vector<std::string> deletes;
  // Appended to the audit log in the same write; Commit assigns their
  // sequence numbers.
  std::vector<AuditEvent> audit;
  // For puts[i] (i < put_events.size()): the index in `audit` of the last
  // event about that key, or kNoEvent. Commit stamps that event's sequence
  // into the state written (CounterState::last_audit_sequence), in place.
  std::vector<size_t> put_events;
  static constexpr size_t kNoEvent = SIZE_MAX;
  // Changes to the lockout index, in order, applied in the same write.
  std::vector<LockoutChange> lockouts;

  bool empty() const {
    return puts.empty() && deletes.empty() && audit.empty() && lockouts.empty();
  }
};

// Sets each put's last_audit_sequence from put_events, once Commit has
// given the events their sequences.
void StampAuditSequences(WriteSet& writes);

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

  // Commit() that does not wait: `done` gets its status once the write has
  // settled, on this thread or on the thread that wrote it. `writes` must
  // stay valid until then. This default commits at once.
  using CommitDone = absl::AnyInvocable<void(absl::Status) &&>;
  virtual void CommitAsync(WriteSet& writes, CommitDone done) {
    std::move(done)(Commit(writes));
  }

  // A page of the lockout index (WriteSet::lockouts): the entries of
  // `query.policy` (every policy when empty) locked until after
  // query.now_ms, newest first, starting after query.after. Served from the
  // index, not by reading counters. UNAVAILABLE / DATA_LOSS as for Read.
  virtual absl::StatusOr<LockoutPage> ListLockouts(
      const LockoutQuery& query) = 0;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_CORE_COUNTER_STORE_H_
