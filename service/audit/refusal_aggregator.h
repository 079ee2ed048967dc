#ifndef GATEHOUSE_SERVICE_AUDIT_REFUSAL_AGGREGATOR_H_
#define GATEHOUSE_SERVICE_AUDIT_REFUSAL_AGGREGATOR_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "service/clock/clock.h"
#include "service/core/audit_event.h"
#include "service/core/counter_store.h"

namespace gatehouse {

struct RefusalAggregatorOptions {
  // Refusals of one series within this interval become one event.
  absl::Duration interval = absl::Seconds(10);
  // Series tracked at once; the refusals of any further series are counted
  // in one overflow series (peer kOverflowPeer).
  size_t max_series = 256;
};

// Audits refused calls (authentication, authorization) without letting a
// flood of them flood the audit log. Refusals are grouped in series by peer
// address (without port), client id, rpc and reason. The first refusal of a
// series is committed at once as an event of its own; the next ones are
// counted, and Flush() commits one event per series and interval carrying
// their count and first/last times. A series that stays quiet for an
// interval is forgotten, so its next refusal is again written at once.
// Strings the caller chose are cut to their bounds before they are stored
// (event.truncated says so), so at most
// 2 * (max_series + 1) events of bounded size are written per interval
// whatever the rate of refused calls.
//
// Refusals counted but not yet flushed are lost if the process dies (at
// most one interval's); decision events are not affected.
//
// Thread-safe. Does not own the store or the clock, which must outlive it.
class RefusalAggregator {
 public:
  static constexpr size_t kMaxReasonBytes = 256;
  static constexpr size_t kMaxPeerBytes = 64;
  static constexpr size_t kMaxClientIdBytes = 128;
  static constexpr char kOverflowPeer[] = "(other series)";

  RefusalAggregator(CounterStore* store, const Clock* clock,
                    RefusalAggregatorOptions options = {});
  RefusalAggregator(const RefusalAggregator&) = delete;
  RefusalAggregator& operator=(const RefusalAggregator&) = delete;

  // Audits one refused call. `event` says what was refused (op, client id,
  // policy when known, context, refusal reason; see
  // Limiter::RefusalEvent); `peer` is the caller's address as gRPC reports
  // it. OK once the call is committed or counted; the store's error when
  // the first event of a series could not be written (the call is then
  // counted in the series, to be written by the next Flush).
  //
  // `series_reason` (e.g. "PERMISSION_DENIED: policy_not_allowed"), when
  // not empty, groups the series instead of event.refusal, whose message
  // may carry strings the caller chose (a policy name) and so make every
  // call a series of its own; the series' count events then carry
  // `series_reason` as their refusal and no policy or key (the first
  // event keeps the details of its call).
  absl::Status Add(AuditEvent event, absl::string_view peer,
                   absl::string_view series_reason = {});

  // Commits, in one write, one event for each series whose interval has
  // ended (every series with `all`, e.g. at shutdown) and that counted
  // refusals since its last event. Returns the number of events written;
  // the store's error otherwise, in which case the counts are kept for the
  // next Flush.
  absl::StatusOr<uint64_t> Flush(bool all = false);

  // Refused calls counted into a series event instead of an event of their
  // own, since construction.
  uint64_t aggregated_calls() const;

  // `peer` without its port ("ipv4:10.0.0.1:5000" -> "ipv4:10.0.0.1",
  // "ipv6:[::1]:5000" -> "ipv6:[::1]"), cut to kMaxPeerBytes.
  static std::string PeerAddress(absl::string_view peer, bool* truncated);
  // `s` cut to at most `max` bytes on a UTF-8 character boundary; sets
  // *truncated when it was cut.
  static std::string Bounded(absl::string_view s, size_t max, bool* truncated);

 private:
  struct Series {
    // The series' fields, as its events carry them.
    AuditEvent first;
    int64_t window_start_ms = 0;
    // Refusals since the series' last event.
    uint64_t pending = 0;
    int64_t first_pending_ms = 0;
    int64_t last_pending_ms = 0;
  };

  // Counts `calls` refusals made from `first_ms` to `last_ms` into `series`.
  static void Count(Series& series, uint64_t calls, int64_t first_ms,
                    int64_t last_ms);

  CounterStore* const store_;
  const Clock* const clock_;
  const RefusalAggregatorOptions options_;

  mutable absl::Mutex mu_;
  // Keyed by peer, client id, rpc and reason, '\0'-separated.
  std::map<std::string, Series> series_ ABSL_GUARDED_BY(mu_);
  uint64_t aggregated_calls_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_AUDIT_REFUSAL_AGGREGATOR_H_
