#include "service/core/sliding_window.h"

#include <cstdint>
#include <random>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "service/core/counter_state.h"
#include "service/core/policy.h"

namespace gatehouse {
namespace {

constexpr int64_t kMinute = 60'000;
constexpr int64_t kSecond = 1'000;

// A window of one minute in one-second buckets, starting at t = 0.
class SlidingWindowTest : public ::testing::Test {
 protected:
  CounterState Fresh() const {
    CounterState state;
    window_.Normalize(state, 0);
    return state;
  }

  const SlidingWindow window_{kMinute, kSecond};
};

TEST_F(SlidingWindowTest, NormalizeAdoptsTheBucketWidthOfAFreshState) {
  CounterState state;
  window_.Normalize(state, 0);
  EXPECT_EQ(state.bucket_ms, kSecond);
  EXPECT_TRUE(state.buckets.empty());
}

TEST_F(SlidingWindowTest, AddsHitsOfTheSameBucketTogether) {
  CounterState state = Fresh();
  window_.Add(state, 1'000, 2);
  window_.Add(state, 1'999, 3);
  window_.Add(state, 2'000, 1);
  ASSERT_EQ(state.buckets.size(), 2u);
  EXPECT_EQ(state.buckets[0], (Bucket{1, 5}));
  EXPECT_EQ(state.buckets[1], (Bucket{2, 1}));
  EXPECT_EQ(window_.Count(state, 2'000), 6u);
}

TEST_F(SlidingWindowTest, AddingZeroHitsCreatesNoBucket) {
  CounterState state = Fresh();
  window_.Add(state, 5'000, 0);
  EXPECT_TRUE(state.buckets.empty());
}

// The oldest bucket that may hold a hit inside (t - window, t] is counted
// whole: a hit at 0.5s counts until the bucket ends a window later, at 61s.
TEST_F(SlidingWindowTest, CountsAHitUntilItsBucketEndsAWindowLater) {
  CounterState state = Fresh();
  window_.Add(state, 500, 1);
  EXPECT_EQ(window_.Count(state, 500), 1u);
  EXPECT_EQ(window_.Count(state, 60'500), 1u);
  EXPECT_EQ(window_.Count(state, 60'999), 1u);
  EXPECT_EQ(window_.Count(state, 61'000), 0u);
  EXPECT_EQ(window_.ExpiryOf(0), 61'000);
}

TEST_F(SlidingWindowTest, NormalizeDropsOnlyBucketsThatNoLongerCount) {
  CounterState state = Fresh();
  window_.Add(state, 0, 1);
  window_.Add(state, 30'000, 2);
  window_.Add(state, 59'999, 4);
  window_.Normalize(state, 61'000);
  ASSERT_EQ(state.buckets.size(), 2u);
  EXPECT_EQ(state.buckets[0], (Bucket{30, 2}));
  EXPECT_EQ(window_.Count(state, 61'000), 6u);
  window_.Normalize(state, 91'000);
  ASSERT_EQ(state.buckets.size(), 1u);
  EXPECT_EQ(state.buckets[0], (Bucket{59, 4}));
}

TEST_F(SlidingWindowTest, RetryAfterIsZeroWhileTheHitsStillFit) {
  CounterState state = Fresh();
  window_.Add(state, 0, 9);
  EXPECT_EQ(window_.RetryAfterMs(state, 10, 1, 10), 0);
}

// Excess 1 is freed when bucket 0 (3 hits) expires; excess 4 needs bucket 10
// too; excess 10 needs all three buckets.
TEST_F(SlidingWindowTest, RetryAfterWaitsUntilEnoughOldBucketsExpire) {
  CounterState state = Fresh();
  window_.Add(state, 0, 3);
  window_.Add(state, 10'000, 2);
  window_.Add(state, 20'000, 5);
  const int64_t now = 30'000;
  ASSERT_EQ(window_.Count(state, now), 10u);
  EXPECT_EQ(window_.RetryAfterMs(state, now, 1, 10), 61'000 - now);
  EXPECT_EQ(window_.RetryAfterMs(state, now, 3, 10), 61'000 - now);
  EXPECT_EQ(window_.RetryAfterMs(state, now, 4, 10), 71'000 - now);
  EXPECT_EQ(window_.RetryAfterMs(state, now, 10, 10), 81'000 - now);
}

TEST_F(SlidingWindowTest, RetryAfterForMoreHitsThanTheLimitIsTimeUntilEmpty) {
  CounterState state = Fresh();
  window_.Add(state, 0, 1);
  window_.Add(state, 10'000, 1);
  EXPECT_EQ(window_.RetryAfterMs(state, 20'000, 11, 10), 71'000 - 20'000);
  EXPECT_EQ(window_.ResetAfterMs(state, 20'000), 71'000 - 20'000);
}

TEST_F(SlidingWindowTest, ResetAfterIsZeroForAnEmptyWindow) {
  EXPECT_EQ(window_.ResetAfterMs(Fresh(), 123'456), 0);
}

// A wall-clock jump backwards of up to a window must not forget hits:
// buckets newer than now are kept by Normalize and counted by Count, and new
// hits keep the buckets sorted.
TEST_F(SlidingWindowTest, CountsBucketsNewerThanNowAfterClockWentBack) {
  CounterState state = Fresh();
  window_.Add(state, 100'000, 3);
  window_.Normalize(state, 40'000);
  EXPECT_EQ(window_.Count(state, 40'000), 3u);
  window_.Add(state, 40'000, 2);
  ASSERT_EQ(state.buckets.size(), 2u);
  EXPECT_EQ(state.buckets[0], (Bucket{40, 2}));
  EXPECT_EQ(state.buckets[1], (Bucket{100, 3}));
  EXPECT_EQ(window_.Count(state, 40'000), 5u);
  EXPECT_GE(window_.RetryAfterMs(state, 40'000, 1, 5), 0);
  EXPECT_EQ(window_.ResetAfterMs(state, 40'000), 161'000 - 40'000);
}

// Buckets more than a window ahead (a clock step back of more than a
// window) are dropped: kept, they would deny for as long as the step.
TEST_F(SlidingWindowTest, DropsBucketsMoreThanAWindowAheadOfNow) {
  CounterState state = Fresh();
  window_.Add(state, 100'000, 3);
  window_.Add(state, 200'000, 4);
  EXPECT_EQ(window_.Count(state, 100'000), 3u);
  // 200'000 is more than a window (60 s) after 100'000.
  window_.Normalize(state, 100'000);
  ASSERT_EQ(state.buckets.size(), 1u);
  EXPECT_EQ(state.buckets[0], (Bucket{100, 3}));
  window_.Normalize(state, 30'000);
  EXPECT_TRUE(state.buckets.empty());
  EXPECT_EQ(window_.ResetAfterMs(state, 30'000), 0);
}

TEST_F(SlidingWindowTest, BucketOfFloorsNegativeTimes) {
  EXPECT_EQ(window_.BucketOf(-1), -1);
  EXPECT_EQ(window_.BucketOf(-1'000), -1);
  EXPECT_EQ(window_.BucketOf(-1'001), -2);
  EXPECT_EQ(window_.BucketOf(999), 0);
  EXPECT_EQ(window_.OldestCounted(59'999), -1);
  EXPECT_EQ(window_.OldestCounted(60'000), 0);
}

// Re-bucketing maps each old bucket by its last millisecond, so under the
// same window no hit expires earlier than before, and none is lost.
TEST_F(SlidingWindowTest, RebucketingNeverExpiresAHitEarlier) {
  std::mt19937_64 rng(20240601);
  for (int round = 0; round < 2'000; ++round) {
    const int64_t window_ms =
        std::uniform_int_distribution<int64_t>(1, 3'600'000)(rng);
    const int64_t old_g =
        std::uniform_int_distribution<int64_t>(1, window_ms)(rng);
    const int64_t new_g =
        std::uniform_int_distribution<int64_t>(1, window_ms)(rng);
    const SlidingWindow before(window_ms, old_g);
    const SlidingWindow after(window_ms, new_g);
    const int64_t now =
        std::uniform_int_distribution<int64_t>(0, 10 * window_ms)(rng);
    CounterState state;
    before.Normalize(state, now);
    for (int i = 0; i < 20; ++i) {
      const int64_t t =
          now - std::uniform_int_distribution<int64_t>(0, window_ms)(rng);
      before.Add(state, t, 1 + i % 3);
    }
    before.Normalize(state, now);
    const uint64_t count_before = before.Count(state, now);
    const CounterState old_state = state;
    after.Normalize(state, now);
    ASSERT_EQ(state.bucket_ms, new_g);
    EXPECT_GE(after.Count(state, now), count_before)
        << "window " << window_ms << " g " << old_g << " -> " << new_g;
    // Each old bucket's hits still count until at least its old expiry.
    for (const Bucket& b : old_state.buckets) {
      const int64_t last_counted = before.ExpiryOf(b.index) - 1;
      if (last_counted < now) continue;
      EXPECT_GE(after.Count(state, last_counted),
                before.Count(old_state, last_counted))
          << "at " << last_counted;
    }
    for (size_t i = 1; i < state.buckets.size(); ++i) {
      EXPECT_LT(state.buckets[i - 1].index, state.buckets[i].index);
    }
  }
}

// Memory per key: after Normalize a state holds at most one bucket per index
// in [OldestCounted(now), BucketOf(now)], which must stay within the policy's
// bucket count plus two for any window and bucket count.
TEST(SlidingWindowSpanTest, CountedBucketsSpanAtMostBucketsPlusTwo) {
  std::mt19937_64 rng(7);
  std::vector<std::pair<int64_t, int>> cases = {
      {1'000, 60}, {1'000, 7}, {1'999, 1'000}, {59'999, 60}, {1'000, 600}};
  for (int i = 0; i < 5'000; ++i) {
    cases.emplace_back(
        std::uniform_int_distribution<int64_t>(1'000, 7'776'000'000)(rng),
        std::uniform_int_distribution<int>(1, 5'000)(rng));
    cases.emplace_back(
        std::uniform_int_distribution<int64_t>(1'000, 20'000)(rng),
        std::uniform_int_distribution<int>(1, 200)(rng));
  }
  for (const auto& [window_ms, buckets] : cases) {
    Policy p;
    p.window = absl::Milliseconds(window_ms);
    p.buckets = buckets;
    const SlidingWindow window(p.WindowMillis(), p.BucketMillis());
    const int64_t g = p.BucketMillis();
    // The span is largest when now is the last millisecond of a bucket.
    for (int64_t now :
         {1'700'000'000'000 / g * g + g - 1, int64_t{0}, g - 1, 5 * g - 1}) {
      const int64_t span = window.BucketOf(now) - window.OldestCounted(now) + 1;
      ASSERT_LE(span, buckets + 2)
          << "window " << window_ms << "ms, " << buckets << " buckets of " << g
          << "ms, now " << now;
    }
  }
}

}  // namespace
}  // namespace gatehouse
