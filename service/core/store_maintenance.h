#ifndef GATEHOUSE_SERVICE_CORE_STORE_MAINTENANCE_H_
#define GATEHOUSE_SERVICE_CORE_STORE_MAINTENANCE_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace gatehouse {

// How much audit history to keep; zero means no limit of that kind.
struct AuditRetention {
  absl::Duration max_age = absl::ZeroDuration();
  uint64_t max_bytes = 0;
};

// The upkeep of a durable store, apart from serving reads and commits:
// audit retention, recovery after failed writes, and the figures an
// operator watches. Housekeeping drives it periodically. Implementations
// are thread-safe: every member may run alongside commits.
class StoreMaintenance {
 public:
  virtual ~StoreMaintenance() = default;

  // Deletes the oldest audit events beyond `retention` (by age relative to
  // the store's clock, and by approximate size on disk). Returns the number
  // deleted. Consumers behind the new oldest get OUT_OF_RANGE.
  virtual absl::StatusOr<uint64_t> ApplyRetention(
      const AuditRetention& retention) = 0;

  // Whether commits succeed: false from a failed commit (e.g. the disk is
  // full) until a later commit or Recover() succeeds. Reads keep working.
  virtual bool writable() const = 0;
  // When not writable(): tries to make writes go through again. OK, and
  // writable() again, once they do; the failure otherwise. Cheap when
  // writable().
  virtual absl::Status Recover() = 0;

  // Approximate bytes on disk of everything stored: counters, audit log and
  // lockout index.
  virtual uint64_t ApproximateBytes() const = 0;
  // An estimate of the number of keys stored.
  virtual uint64_t EstimateNumKeys() const = 0;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_CORE_STORE_MAINTENANCE_H_
