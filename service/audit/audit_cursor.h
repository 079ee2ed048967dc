#ifndef GATEHOUSE_SERVICE_AUDIT_AUDIT_CURSOR_H_
#define GATEHOUSE_SERVICE_AUDIT_AUDIT_CURSOR_H_

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "service/core/audit_log.h"

namespace gatehouse {

// Which events a consumer wants; empty sets mean all.
struct AuditFilter {
  std::set<std::string> policies;
  std::set<Decision> decisions;
  bool ceiling_only = false;

  bool Matches(const AuditEvent& event) const;
};

// Where a stream starts.
struct AuditStart {
  enum class Kind { kOldest, kSequence, kTime, kNow };
  Kind kind = Kind::kOldest;
  uint64_t sequence = 0;
  absl::Time time;
};

// A consumer's position in the audit log. Every read goes to the log (on
// disk for the RocksDB store), so a slow consumer costs one batch of memory,
// never a growing queue; replay and live following are the same loop, so
// there is no gap between them.
//
// Thread-compatible (one per stream). The log must outlive it.
class AuditCursor {
 public:
  // OUT_OF_RANGE naming the oldest available sequence when a sequence start
  // is older than retention, or naming the head when it is beyond head + 1.
  static absl::StatusOr<AuditCursor> Open(const AuditLog* log,
                                          const AuditStart& start,
                                          AuditFilter filter, bool follow);

  // The next matching events, ascending, from at most `max` scanned. When
  // caught up: without follow, returns nothing and done() becomes true; with
  // follow, waits up to `wait` for new events and may return nothing.
  // OUT_OF_RANGE when retention overtook the cursor.
  absl::StatusOr<std::vector<AuditEvent>> Next(size_t max, absl::Duration wait);

  bool done() const { return done_; }
  // The sequence the next read starts at.
  uint64_t next_sequence() const { return next_; }

 private:
  AuditCursor(const AuditLog* log, uint64_t next, AuditFilter filter,
              bool follow)
      : log_(log), next_(next), filter_(std::move(filter)), follow_(follow) {}

  const AuditLog* log_;
  uint64_t next_;
  AuditFilter filter_;
  bool follow_;
  bool done_ = false;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_AUDIT_AUDIT_CURSOR_H_
