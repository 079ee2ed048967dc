#include "service/logging/log_rate_limiter.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "service/clock/simulated_clock.h"

namespace gatehouse {
namespace {

class LogRateLimiterTest : public ::testing::Test {
 protected:
  // Whether `kind` may log now; `suppressed` is set only when it may.
  bool Allow(const std::string& kind, uint64_t* suppressed = nullptr) {
    uint64_t ignored = 0;
    return limiter_.Allow(kind, suppressed != nullptr ? suppressed : &ignored);
  }

  // How many of `n` attempts of `kind` are allowed now.
  int AllowedOf(const std::string& kind, int n) {
    int allowed = 0;
    for (int i = 0; i < n; ++i) allowed += Allow(kind) ? 1 : 0;
    return allowed;
  }

  SimulatedClock clock_{absl::FromUnixSeconds(1'700'000'000)};
  LogRateLimiter limiter_{&clock_, 3, absl::Minutes(1)};
};

TEST_F(LogRateLimiterTest, AllowsMaxLinesPerIntervalThenSuppresses) {
  for (int i = 0; i < 3; ++i) {
    uint64_t suppressed = 99;
    EXPECT_TRUE(Allow("ceiling_hit", &suppressed)) << i;
    EXPECT_EQ(suppressed, 0u) << i;
  }
  EXPECT_EQ(AllowedOf("ceiling_hit", 10), 0);
  // Time inside the interval changes nothing.
  clock_.Advance(absl::Seconds(59));
  EXPECT_FALSE(Allow("ceiling_hit"));
}

TEST_F(LogRateLimiterTest, NextAllowedLineReportsTheSuppressedCount) {
  EXPECT_EQ(AllowedOf("auth_failure", 3 + 7), 3);
  clock_.Advance(absl::Minutes(1));
  uint64_t suppressed = 0;
  ASSERT_TRUE(Allow("auth_failure", &suppressed));
  EXPECT_EQ(suppressed, 7u);
  // Reported once: the next lines carry nothing.
  suppressed = 99;
  ASSERT_TRUE(Allow("auth_failure", &suppressed));
  EXPECT_EQ(suppressed, 0u);
  ASSERT_TRUE(Allow("auth_failure", &suppressed));
  EXPECT_EQ(suppressed, 0u);
  EXPECT_FALSE(Allow("auth_failure"));
}

TEST_F(LogRateLimiterTest, SuppressedCountAccumulatesOverQuietIntervals) {
  EXPECT_EQ(AllowedOf("k", 5), 3);  // 2 suppressed.
  clock_.Advance(absl::Minutes(10));
  uint64_t suppressed = 0;
  ASSERT_TRUE(Allow("k", &suppressed));
  EXPECT_EQ(suppressed, 2u);
  EXPECT_EQ(AllowedOf("k", 4), 2);  // 2 more suppressed.
  clock_.Advance(absl::Minutes(1));
  ASSERT_TRUE(Allow("k", &suppressed));
  EXPECT_EQ(suppressed, 2u);
}

TEST_F(LogRateLimiterTest, KindsAreIndependent) {
  EXPECT_EQ(AllowedOf("ceiling_hit", 10), 3);
  uint64_t suppressed = 99;
  EXPECT_TRUE(Allow("auth_failure", &suppressed));
  EXPECT_EQ(suppressed, 0u);
  EXPECT_EQ(AllowedOf("auth_failure", 10), 2);
  EXPECT_EQ(AllowedOf("storage_error", 1), 1);

  clock_.Advance(absl::Minutes(1));
  ASSERT_TRUE(Allow("ceiling_hit", &suppressed));
  EXPECT_EQ(suppressed, 7u);
  ASSERT_TRUE(Allow("auth_failure", &suppressed));
  EXPECT_EQ(suppressed, 8u);
  ASSERT_TRUE(Allow("storage_error", &suppressed));
  EXPECT_EQ(suppressed, 0u);
}

TEST_F(LogRateLimiterTest, IntervalIsMeasuredFromItsFirstLine) {
  ASSERT_TRUE(Allow("k"));
  clock_.Advance(absl::Seconds(30));
  EXPECT_EQ(AllowedOf("k", 5), 2);
  // 1 ms before the interval that started at the first line ends.
  clock_.Advance(absl::Seconds(30) - absl::Milliseconds(1));
  EXPECT_FALSE(Allow("k"));
  clock_.Advance(absl::Milliseconds(1));
  uint64_t suppressed = 0;
  EXPECT_TRUE(Allow("k", &suppressed));
  EXPECT_EQ(suppressed, 4u);
}

TEST_F(LogRateLimiterTest, ClockSteppingBackStartsANewInterval) {
  EXPECT_EQ(AllowedOf("k", 4), 3);
  clock_.Advance(-absl::Seconds(1));
  uint64_t suppressed = 0;
  ASSERT_TRUE(Allow("k", &suppressed));
  EXPECT_EQ(suppressed, 1u);
  EXPECT_EQ(AllowedOf("k", 5), 2);
  // The new interval runs from the stepped-back time.
  clock_.Advance(absl::Minutes(1) - absl::Milliseconds(1));
  EXPECT_FALSE(Allow("k"));
  clock_.Advance(absl::Milliseconds(1));
  EXPECT_TRUE(Allow("k", &suppressed));
  EXPECT_EQ(suppressed, 4u);
}

TEST(LogRateLimiterLimitsTest, ZeroMaxLinesSuppressesEverything) {
  SimulatedClock clock;
  LogRateLimiter limiter(&clock, 0, absl::Seconds(1));
  uint64_t suppressed = 0;
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(limiter.Allow("k", &suppressed));
  clock.Advance(absl::Hours(1));
  EXPECT_FALSE(limiter.Allow("k", &suppressed));
}

}  // namespace
}  // namespace gatehouse
