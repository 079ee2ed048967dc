#ifndef GATEHOUSE_SERVICE_CORE_COUNTER_STORE_H_
#define GATEHOUSE_SERVICE_CORE_COUNTER_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "service/core/audit_event.h"
#include "service/core/commit_outcome.h"
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
  // The commits this one's decisions read states of before those were
  // written (ReadLatest): when one of them failed, this one fails too,
  // unwritten.
  CommitOutcomes after;
  // Whether this commit was written, for the commits decided on its states
  // early; set by the store that shows them (CommitInOrder), else null.
  std::shared_ptr<CommitOutcome> outcome;

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

  // Read() for a caller that holds the key's lock (the Limiter's stripe)
  // and commits what it decides on it with CommitInOrder: where the store
  // shows_queued_states(), the state of the last commit queued for the key
  // even if it is not yet written, whose CommitOutcome is then added to
  // `after` (the caller's WriteSet::after). This default is Read().
  virtual absl::StatusOr<std::optional<CounterState>> ReadLatest(
      absl::string_view key, CommitOutcomes& after) {
    (void)after;
    return Read(key);
  }
  // Whether ReadLatest shows the states of commits not yet written, as
  // soon as CommitInOrder's `queued` runs: a caller may then release its
  // keys' locks there rather than once the commit settled.
  virtual bool shows_queued_states() const { return false; }
  // CommitAsync() whose `queued` runs, before `done`, once every commit
  // started after it is sure to be written after this one (or to fail when
  // this one fails) and, where shows_queued_states(), once ReadLatest shows
  // its states. This default runs it when the commit has settled.
  //
  // Where writes_in_order(), `queued` runs before the commit is written, a
  // commit whose WriteSet::after holds a failed outcome fails unwritten
  // (UNAVAILABLE), and WriteSet::outcome, when set, is set before any later
  // commit is written: a store in front may then show queued states.
  virtual bool writes_in_order() const { return false; }
  using Queued = absl::AnyInvocable<void() &&>;
  virtual void CommitInOrder(WriteSet& writes, Queued queued, CommitDone done) {
    CommitAsync(writes, [queued = std::move(queued), done = std::move(done)](
                            absl::Status committed) mutable {
      std::move(queued)();
      std::move(done)(std::move(committed));
    });
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
