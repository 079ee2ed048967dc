#ifndef GATEHOUSE_SERVICE_CORE_COUNTER_STATE_H_
#define GATEHOUSE_SERVICE_CORE_COUNTER_STATE_H_

#include <cstdint>
#include <vector>

namespace gatehouse {

// Hits counted in one sub-window bucket: those at times t (ms since the Unix
// epoch) with floor(t / bucket_ms) == index.
struct Bucket {
  int64_t index = 0;
  uint64_t count = 0;

  bool operator==(const Bucket& o) const {
    return index == o.index && count == o.count;
  }
};

// lockout_until_ms of a permanent lockout: until an operator lifts it.
// Stored as is (the value codec holds any non-negative time).
inline constexpr int64_t kLockedUntilUnblockedMs = INT64_MAX;

// Everything stored for one subject of one policy. A plain value; the
// SlidingWindow and the Limiter give it meaning. All times are milliseconds
// since the Unix epoch.
struct CounterState {
  // Width of the buckets below; a policy whose window changed re-buckets.
  int64_t bucket_ms = 0;
  // Non-zero buckets in ascending index order. Bounded by the policy's
  // bucket count plus two once pruned.
  std::vector<Bucket> buckets;
  // Locked out until this time; 0 when never locked;
  // kLockedUntilUnblockedMs when permanent.
  int64_t lockout_until_ms = 0;
  // When the lockout above began (a ceiling hit or Block); its entry in
  // the lockout index (lockout_index.h) is keyed by it. 0 when never
  // locked, or locked by a binary from before the index.
  int64_t locked_at_ms = 0;
  // Offences (ceiling hits of a policy with lockout) and the last one's time.
  uint32_t offences = 0;
  int64_t last_offence_ms = 0;
  // After this time the state holds nothing worth keeping; compaction drops
  // it and readers treat it as absent.
  int64_t expires_at_ms = 0;
  // Sequence of the last audit event that changed this state, stamped by
  // the store as it commits (WriteSet::put_events); 0 when none.
  uint64_t last_audit_sequence = 0;

  bool operator==(const CounterState& o) const {
    return bucket_ms == o.bucket_ms && buckets == o.buckets &&
           lockout_until_ms == o.lockout_until_ms &&
           locked_at_ms == o.locked_at_ms && offences == o.offences &&
           last_offence_ms == o.last_offence_ms &&
           expires_at_ms == o.expires_at_ms &&
           last_audit_sequence == o.last_audit_sequence;
  }
};

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_CORE_COUNTER_STATE_H_
