#ifndef GATEHOUSE_SERVICE_CORE_SLIDING_WINDOW_H_
#define GATEHOUSE_SERVICE_CORE_SLIDING_WINDOW_H_

#include <cstdint>

#include "service/core/counter_state.h"

namespace gatehouse {

// A sliding window of `window_ms` kept as buckets of `bucket_ms`.
//
// At time t the count is the sum of every bucket whose index is at least
// floor((t - window_ms) / bucket_ms): the buckets that may hold a hit inside
// (t - window, t]. The oldest such bucket is counted whole, so a hit is
// remembered for between `window` and `window + bucket` and an admission
// test "count + hits <= limit" guarantees that no interval of length
// `window` ever holds more than `limit` admitted hits: there is no burst at
// bucket or window boundaries. Buckets newer than t (the wall clock went
// backwards) are counted too, so a clock jump never forgets hits.
//
// A value type holding only the two widths; thread-compatible.
class SlidingWindow {
 public:
  // REQUIRES: window_ms > 0, bucket_ms > 0.
  SlidingWindow(int64_t window_ms, int64_t bucket_ms)
      : window_ms_(window_ms), bucket_ms_(bucket_ms) {}

  // Brings `state` to this window's bucket width (after a policy change) and
  // drops buckets that no longer count at `now_ms`.
  void Normalize(CounterState& state, int64_t now_ms) const;

  // Hits counted at `now_ms`. REQUIRES: state normalized.
  uint64_t Count(const CounterState& state, int64_t now_ms) const;

  // Counts `hits` at `now_ms`. REQUIRES: state normalized.
  void Add(CounterState& state, int64_t now_ms, uint64_t hits) const;

  // Milliseconds from `now_ms` until count + hits <= limit; 0 when that
  // already holds. When hits > limit no wait suffices and the time until the
  // window is empty is returned.
  int64_t RetryAfterMs(const CounterState& state, int64_t now_ms, uint64_t hits,
                       uint64_t limit) const;

  // Milliseconds from `now_ms` until the window holds no hits.
  int64_t ResetAfterMs(const CounterState& state, int64_t now_ms) const;

  // Time (ms since epoch) at which bucket `index` stops counting.
  int64_t ExpiryOf(int64_t index) const {
    return (index + 1) * bucket_ms_ + window_ms_;
  }
  int64_t BucketOf(int64_t t_ms) const;
  int64_t OldestCounted(int64_t now_ms) const {
    return BucketOf(now_ms - window_ms_);
  }
  // Buckets after now exist only when the clock went backwards; those more
  // than a window ahead are not counted (see Normalize).
  int64_t NewestCounted(int64_t now_ms) const {
    return BucketOf(now_ms + window_ms_);
  }

 private:
  int64_t window_ms_;
  int64_t bucket_ms_;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_CORE_SLIDING_WINDOW_H_
