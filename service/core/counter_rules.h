#ifndef GATEHOUSE_SERVICE_CORE_COUNTER_RULES_H_
#define GATEHOUSE_SERVICE_CORE_COUNTER_RULES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "service/core/counter_state.h"
#include "service/core/lockout_index.h"
#include "service/core/policy.h"
#include "service/core/sliding_window.h"

// How a stored counter state is read and kept, for every path that changes
// one (Limiter decisions and operator actions). Internal to the core.
namespace gatehouse {

inline SlidingWindow WindowOf(const Policy& policy) {
  return SlidingWindow(policy.WindowMillis(), policy.BucketMillis());
}

// The state `stored` under a key of `policy` as it stands at `now_ms`:
// empty when absent or expired; brought to the policy's buckets; after the
// wall clock went backwards, clamped (see ClampToClock in the .cc); offences
// older than lockout.forget_after forgotten.
CounterState LiveState(const Policy& policy, std::optional<CounterState> stored,
                       int64_t now_ms);

// When `state` holds nothing worth keeping any more.
int64_t ExpiresAt(const Policy& policy, const CounterState& state);

// Sets a lockout of `state` until `until_ms` that began at `now_ms`.
inline void LockUntil(CounterState& state, int64_t until_ms, int64_t now_ms) {
  state.lockout_until_ms = until_ms;
  state.locked_at_ms = now_ms;
}

// What the lockout index needs so it lists `after`'s lockout instead of
// `before`'s (both states of `entry.storage_key`, before: as read), appended
// to `changes`: nothing when the lockout did not change. `entry` carries the
// policy, storage key, dimension values, reason and operator; its times and
// offences are taken from `after`.
void AppendLockoutChanges(const CounterState& before, const CounterState& after,
                          int64_t now_ms, LockoutEntry entry,
                          std::vector<LockoutChange>& changes);

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_CORE_COUNTER_RULES_H_
