#include "service/core/sliding_window.h"

#include <algorithm>

namespace gatehouse {
namespace {

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

}  // namespace

int64_t SlidingWindow::BucketOf(int64_t t_ms) const {
  return FloorDiv(t_ms, bucket_ms_);
}

void SlidingWindow::Normalize(CounterState& state, int64_t now_ms) const {
  if (state.bucket_ms != bucket_ms_) {
    if (state.bucket_ms > 0 && !state.buckets.empty()) {
      // Map each old bucket by its last millisecond, so re-bucketing never
      // makes a hit expire earlier than it would have.
      std::vector<Bucket> rebucketed;
      for (const Bucket& b : state.buckets) {
        int64_t index = BucketOf((b.index + 1) * state.bucket_ms - 1);
        if (!rebucketed.empty() && rebucketed.back().index == index) {
          rebucketed.back().count += b.count;
        } else {
          rebucketed.push_back({index, b.count});
        }
      }
      state.buckets = std::move(rebucketed);
    } else {
      state.buckets.clear();
    }
    state.bucket_ms = bucket_ms_;
  }
  const int64_t oldest = OldestCounted(now_ms);
  auto keep =
      std::find_if(state.buckets.begin(), state.buckets.end(),
                   [oldest](const Bucket& b) { return b.index >= oldest; });
  state.buckets.erase(state.buckets.begin(), keep);
  // Hits stamped after now: the wall clock went backwards. Up to a window
  // ahead they stay counted (an NTP correction must not forget an
  // attacker's attempts); further ahead they are dropped, or they would deny
  // for as long as the clock step, which can be months.
  const int64_t newest = NewestCounted(now_ms);
  while (!state.buckets.empty() && state.buckets.back().index > newest) {
    state.buckets.pop_back();
  }
}

uint64_t SlidingWindow::Count(const CounterState& state, int64_t now_ms) const {
  const int64_t oldest = OldestCounted(now_ms);
  const int64_t newest = NewestCounted(now_ms);
  uint64_t count = 0;
  for (const Bucket& b : state.buckets) {
    if (b.index >= oldest && b.index <= newest) count += b.count;
  }
  return count;
}

void SlidingWindow::Add(CounterState& state, int64_t now_ms,
                        uint64_t hits) const {
  if (hits == 0) return;
  const int64_t index = BucketOf(now_ms);
  auto it =
      std::lower_bound(state.buckets.begin(), state.buckets.end(), index,
                       [](const Bucket& b, int64_t i) { return b.index < i; });
  if (it != state.buckets.end() && it->index == index) {
    it->count += hits;
  } else {
    state.buckets.insert(it, Bucket{index, hits});
  }
}

int64_t SlidingWindow::RetryAfterMs(const CounterState& state, int64_t now_ms,
                                    uint64_t hits, uint64_t limit) const {
  const uint64_t count = Count(state, now_ms);
  if (count + hits <= limit) return 0;
  if (hits > limit) return ResetAfterMs(state, now_ms);
  const uint64_t excess = count + hits - limit;
  const int64_t oldest = OldestCounted(now_ms);
  uint64_t freed = 0;
  for (const Bucket& b : state.buckets) {
    if (b.index < oldest) continue;
    freed += b.count;
    if (freed >= excess)
      return std::max<int64_t>(0, ExpiryOf(b.index) - now_ms);
  }
  return ResetAfterMs(state, now_ms);
}

int64_t SlidingWindow::ResetAfterMs(const CounterState& state,
                                    int64_t now_ms) const {
  if (state.buckets.empty()) return 0;
  return std::max<int64_t>(0, ExpiryOf(state.buckets.back().index) - now_ms);
}

}  // namespace gatehouse
