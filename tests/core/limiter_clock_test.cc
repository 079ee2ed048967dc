// The wall clock stepping backwards or forwards (NTP corrections, a VM
// restored from a snapshot): never a negative duration, never a crash, never
// a denial longer than two windows or the policy's longest lockout. A step
// back of up to a window forgets nothing; a larger one forgets the hits and
// lockouts it would otherwise stretch. Forward steps are time passing:
// counts and lockouts end early, as they would have by then.

#include <algorithm>
#include <cstdint>
#include <random>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "service/core/limiter.h"
#include "service/core/policy.h"
#include "tests/core/limiter_test_util.h"

namespace gatehouse {
namespace {

using core_test::AlignedStart;
using core_test::MakePolicy;
using core_test::Subject;

constexpr uint64_t kLimit = 3;
const absl::Duration kWindow = absl::Minutes(10);
// 60 buckets: a hit is remembered up to one bucket past the window.
const absl::Duration kBucket = kWindow / 60;
const absl::Duration kLockout = absl::Minutes(15);
const absl::Duration kLockoutMax = absl::Hours(2);

class LimiterClockTest : public core_test::LimiterFixture {
 protected:
  void SetUp() override {
    Policy login = MakePolicy("login", {"user"}, kLimit, kWindow);
    login.lockout = LockoutSpec{kLockout, 2.0, kLockoutMax, absl::Hours(24)};
    Policy plain = MakePolicy("plain", {"user"}, kLimit, kWindow);
    Install({login, plain});
  }

  static SubjectRequest Login(uint64_t hits = 1) {
    return Subject("login", {{"user", "mallory"}}, hits);
  }
  static SubjectRequest Plain(uint64_t hits = 1) {
    return Subject("plain", {{"user", "mallory"}}, hits);
  }

  // Every duration of a verdict is non-negative and bounded by what the
  // policy allows: two windows (hits up to a window ahead of a clock that
  // stepped back) plus a bucket, or the longest lockout.
  static void ExpectSane(const Verdict& v) {
    const absl::Duration longest = std::max(2 * kWindow + kBucket, kLockoutMax);
    EXPECT_GE(v.retry_after, absl::ZeroDuration());
    EXPECT_GE(v.reset_after, absl::ZeroDuration());
    EXPECT_LE(v.retry_after, longest);
    EXPECT_LE(v.reset_after, longest);
    EXPECT_LE(v.count, 1000u);
  }
};

TEST_F(LimiterClockTest, SmallBackwardStepForgetsNoHit) {
  for (int i = 0; i < 3; ++i) Record(Plain());
  ASSERT_EQ(Peek(Plain()).decision, Decision::kDeny);

  // Back by less than a window: the hits still count...
  clock_.Advance(-kWindow / 2);
  Verdict v = Peek(Plain());
  ExpectSane(v);
  EXPECT_EQ(v.count, 3u);
  EXPECT_EQ(v.decision, Decision::kDeny);
  EXPECT_EQ(v.retry_after, kWindow / 2 + kWindow + kBucket);

  // ...and expire once the clock has passed their window again.
  clock_.Advance(v.retry_after);
  v = Peek(Plain());
  ExpectSane(v);
  EXPECT_EQ(v.count, 0u);
  EXPECT_EQ(v.decision, Decision::kAllow);
  EXPECT_EQ(Check(Plain()).decision, Decision::kAllow);
}

TEST_F(LimiterClockTest, LargeBackwardStepDoesNotDenyForTheLengthOfTheStep) {
  for (int i = 0; i < 3; ++i) Record(Plain());
  ASSERT_EQ(Peek(Plain()).decision, Decision::kDeny);
  clock_.Advance(-absl::Hours(24 * 30));
  const Verdict v = Peek(Plain());
  ExpectSane(v);
  EXPECT_EQ(v.count, 0u);
  EXPECT_EQ(v.decision, Decision::kAllow);
  // The limit holds from the new "now" on.
  for (int i = 0; i < 3; ++i) Check(Plain());
  EXPECT_EQ(Check(Plain()).decision, Decision::kDeny);
}

TEST_F(LimiterClockTest, BackwardStepNeverLocksOutLongerThanTheLongestLockout) {
  for (int i = 0; i < 3; ++i) Record(Login());
  Verdict v = Peek(Login());
  ASSERT_TRUE(v.locked_until.has_value());
  EXPECT_EQ(v.retry_after, kLockout);

  // Back by an hour: the lockout now ends 1h15m from now, within the
  // longest lockout (2h), so it holds.
  clock_.Advance(-absl::Hours(1));
  v = Peek(Login());
  ExpectSane(v);
  EXPECT_EQ(v.decision, Decision::kDeny);
  EXPECT_EQ(v.retry_after, absl::Hours(1) + kLockout);

  // Back by a year: it would end a year from now; it is lifted.
  clock_.Advance(-absl::Hours(24 * 365));
  v = Peek(Login());
  ExpectSane(v);
  EXPECT_EQ(v.decision, Decision::kAllow);
  EXPECT_FALSE(v.locked_until.has_value());
}

TEST_F(LimiterClockTest, ForwardStepIsTimePassing) {
  for (int i = 0; i < 3; ++i) Record(Login());
  ASSERT_EQ(Peek(Login()).decision, Decision::kDeny);
  clock_.Advance(absl::Hours(24 * 365));
  Verdict v = Peek(Login());
  ExpectSane(v);
  EXPECT_EQ(v.count, 0u);
  EXPECT_EQ(v.decision, Decision::kAllow);
  EXPECT_EQ(v.retry_after, absl::ZeroDuration());
  EXPECT_FALSE(v.locked_until.has_value());
}

TEST_F(LimiterClockTest, BackwardStepThenMoreHitsStillEnforcesTheLimit) {
  Record(Plain());
  Record(Plain());
  clock_.Advance(-kWindow / 3);
  // The two hits from "the future" still count: one more reaches the limit.
  EXPECT_EQ(Check(Plain()).decision, Decision::kAllow);
  const Verdict v = Check(Plain());
  ExpectSane(v);
  EXPECT_EQ(v.decision, Decision::kDeny);
  EXPECT_EQ(v.count, 3u);
}

// A random walk of the clock, with steps either way from a millisecond to a
// week, under every operation: every verdict stays sane and, once the clock
// stops stepping, a full window plus the longest lockout always frees the
// subject again (no permanent lockout).
TEST_F(LimiterClockTest, RandomClockWalkNeverBreaksTheBounds) {
  std::mt19937_64 rng(20261129);
  std::uniform_int_distribution<int> op_of(0, 3);
  std::uniform_int_distribution<int64_t> step_ms(-7 * 24 * 3600 * 1000LL,
                                                 7 * 24 * 3600 * 1000LL);
  std::uniform_int_distribution<int> small(0, 9);
  for (int i = 0; i < 4000; ++i) {
    // Mostly small steps forward, sometimes a large step either way.
    if (small(rng) == 0) {
      clock_.Advance(absl::Milliseconds(step_ms(rng)));
    } else {
      clock_.Advance(absl::Milliseconds(small(rng) * 1000));
    }
    const SubjectRequest s = (i % 2 == 0) ? Login() : Plain();
    Verdict v;
    switch (op_of(rng)) {
      case 0:
        v = Check(s);
        break;
      case 1:
        v = Peek(s);
        break;
      case 2:
        v = Record(s);
        break;
      default:
        if (small(rng) == 0) v = Reset(s);
        break;
    }
    ExpectSane(v);
    if (HasFailure()) {
      ADD_FAILURE() << "at step " << i;
      return;
    }
  }
  clock_.Advance(kWindow + kBucket + kLockoutMax);
  EXPECT_EQ(Peek(Login()).decision, Decision::kAllow);
  EXPECT_EQ(Peek(Plain()).decision, Decision::kAllow);
}

}  // namespace
}  // namespace gatehouse
