#include "service/core/policy.h"

#include <cstdint>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace gatehouse {
namespace {

LockoutSpec Escalating() {
  LockoutSpec spec;
  spec.duration = absl::Minutes(15);
  spec.multiplier = 2.0;
  spec.max = absl::Hours(24);
  return spec;
}

TEST(LockoutSpecTest, DoublesPerOffenceUntilCapped) {
  const LockoutSpec spec = Escalating();
  const std::vector<absl::Duration> expected = {
      absl::Minutes(15),  absl::Minutes(30),  absl::Minutes(60),
      absl::Minutes(120), absl::Minutes(240), absl::Minutes(480),
      absl::Minutes(960), absl::Hours(24),    absl::Hours(24)};
  for (uint32_t offence = 1; offence <= expected.size(); ++offence) {
    EXPECT_EQ(spec.LengthOf(offence), expected[offence - 1])
        << "offence " << offence;
  }
}

TEST(LockoutSpecTest, OffenceZeroIsTreatedAsFirst) {
  EXPECT_EQ(Escalating().LengthOf(0), absl::Minutes(15));
}

TEST(LockoutSpecTest, HugeOffenceCountSaturatesAtMax) {
  EXPECT_EQ(Escalating().LengthOf(UINT32_MAX), absl::Hours(24));
}

TEST(LockoutSpecTest, DurationAboveMaxIsCappedFromTheFirstOffence) {
  LockoutSpec spec = Escalating();
  spec.duration = absl::Hours(48);
  EXPECT_EQ(spec.LengthOf(1), absl::Hours(24));
  EXPECT_EQ(spec.LengthOf(2), absl::Hours(24));
}

TEST(LockoutSpecTest, MultiplierOneKeepsLengthConstant) {
  LockoutSpec spec = Escalating();
  spec.multiplier = 1.0;
  EXPECT_EQ(spec.LengthOf(1), absl::Minutes(15));
  EXPECT_EQ(spec.LengthOf(50), absl::Minutes(15));
}

TEST(PolicyTest, BucketWidthIsWindowOverBucketsWhenDivisible) {
  Policy p;
  p.window = absl::Minutes(1);
  p.buckets = 60;
  EXPECT_EQ(p.WindowMillis(), 60'000);
  EXPECT_EQ(p.BucketMillis(), 1'000);
}

// Rounding the width up keeps buckets * width >= window, which is what bounds
// the buckets a window can span (see SlidingWindowTest).
TEST(PolicyTest, BucketWidthRoundsUpWhenNotDivisible) {
  Policy p;
  p.window = absl::Seconds(1);
  p.buckets = 60;
  EXPECT_EQ(p.BucketMillis(), 17);
  EXPECT_GE(p.BucketMillis() * p.buckets, p.WindowMillis());
}

TEST(PolicyTest, BucketWidthIsAtLeastOneMillisecond) {
  Policy p;
  p.window = absl::Milliseconds(10);
  p.buckets = 1000;
  EXPECT_EQ(p.BucketMillis(), 1);
  p.buckets = 0;  // Treated as one bucket, never a division by zero.
  EXPECT_EQ(p.BucketMillis(), 10);
}

TEST(PolicySetTest, FindsPoliciesByExactName) {
  Policy login;
  login.name = "login";
  login.limit = 5;
  Policy api;
  api.name = "api";
  api.limit = 100;
  const PolicySet set({login, api});
  ASSERT_NE(set.Find("login"), nullptr);
  EXPECT_EQ(set.Find("login")->limit, 5u);
  ASSERT_NE(set.Find("api"), nullptr);
  EXPECT_EQ(set.Find("api")->limit, 100u);
  EXPECT_EQ(set.Find("Login"), nullptr);
  EXPECT_EQ(set.Find(""), nullptr);
  EXPECT_EQ(set.all().size(), 2u);
}

}  // namespace
}  // namespace gatehouse
