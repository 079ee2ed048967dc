#ifndef GATEHOUSE_SERVICE_CORE_AUDIT_LOG_H_
#define GATEHOUSE_SERVICE_CORE_AUDIT_LOG_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "service/core/audit_event.h"

namespace gatehouse {

// The read side of the durable audit log. Events are appended by
// CounterStore::Commit in the same write as the counter changes they
// describe; sequence numbers start at 1 and have no gaps.
//
// Implementations are thread-safe.
class AuditLog {
 public:
  virtual ~AuditLog() = default;

  // The last committed sequence; 0 when nothing was ever committed.
  virtual uint64_t HeadSequence() const = 0;
  // The oldest retained sequence; HeadSequence() + 1 when none is retained.
  virtual uint64_t OldestSequence() const = 0;

  // Up to `max` events with sequence >= `from`, ascending and contiguous.
  // OUT_OF_RANGE naming the oldest available sequence when `from` is older
  // than retention; UNAVAILABLE / DATA_LOSS from storage.
  virtual absl::StatusOr<std::vector<AuditEvent>> Read(uint64_t from,
                                                       size_t max) const = 0;

  // Blocks until HeadSequence() > `after` or `timeout` passes; returns
  // whether it is.
  virtual bool AwaitAfter(uint64_t after, absl::Duration timeout) const = 0;

  // The first retained sequence whose event time is at or after `t`
  // (HeadSequence() + 1 when none). Assumes event times are non-decreasing
  // in sequence order, which holds unless the wall clock steps back.
  virtual absl::StatusOr<uint64_t> FirstAtOrAfter(absl::Time t) const = 0;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_CORE_AUDIT_LOG_H_
