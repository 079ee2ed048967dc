// Escalating lockouts: the n-th ceiling hit within forget_after of the
// previous one locks the subject for min(max, duration * multiplier^(n-1)).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "service/core/counter_state.h"
#include "service/core/limiter.h"
#include "service/core/policy.h"
#include "service/core/subject_key.h"
#include "tests/core/limiter_test_util.h"

namespace gatehouse {
namespace {

using core_test::AlignedStart;
using core_test::MakePolicy;
using core_test::Subject;

// "login": 3 per minute per user; lockout 15m doubling up to 24h.
class LimiterLockoutTest : public core_test::LimiterFixture {
 protected:
  void SetUp() override { InstallLogin(absl::Hours(24)); }

  void InstallLogin(absl::Duration forget_after,
                    absl::Duration window = absl::Minutes(1)) {
    Policy login = MakePolicy("login", {"user"}, 3, window);
    login.lockout =
        LockoutSpec{absl::Minutes(15), 2.0, absl::Hours(24), forget_after};
    policy_ = login;
    Install({login});
  }

  // Now, relative to the aligned start.
  absl::Duration Elapsed() const { return clock_.Now() - AlignedStart(); }
  void At(absl::Duration since_start) {
    clock_.Set(AlignedStart() + since_start);
  }

  static SubjectRequest Login(uint64_t hits = 1) {
    return Subject("login", {{"user", "mallory"}}, hits);
  }

  // Hits the ceiling with one Check of 3 hits; returns the lockout length.
  absl::Duration Offend() {
    const Verdict v = Check(Login(3));
    EXPECT_EQ(v.decision, Decision::kAllow);
    EXPECT_TRUE(v.ceiling_hit);
    if (!v.locked_until.has_value()) {
      ADD_FAILURE() << "no lockout after the ceiling";
      return absl::ZeroDuration();
    }
    return *v.locked_until - clock_.Now();
  }

  std::optional<CounterState> Stored() {
    absl::StatusOr<std::string> key =
        DeriveStorageKey(policy_, {{"user", "mallory"}}, "key");
    EXPECT_TRUE(key.ok()) << key.status();
    if (!key.ok()) return std::nullopt;
    auto state = store_.Read(*key);
    EXPECT_TRUE(state.ok()) << state.status();
    return state.ok() ? *state : std::nullopt;
  }

  Policy policy_;
};

TEST_F(LimiterLockoutTest, LocksOutOnceTheCeilingIsHit) {
  EXPECT_FALSE(Check(Login()).locked_until.has_value());
  EXPECT_FALSE(Check(Login()).locked_until.has_value());
  const Verdict third = Check(Login());
  EXPECT_EQ(third.decision, Decision::kAllow);
  EXPECT_TRUE(third.ceiling_hit);
  ASSERT_TRUE(third.locked_until.has_value());
  EXPECT_EQ(*third.locked_until, AlignedStart() + absl::Minutes(15));
  EXPECT_EQ(third.reset_after, absl::Minutes(15));

  const std::optional<CounterState> state = Stored();
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(state->offences, 1u);
  EXPECT_EQ(state->last_offence_ms, absl::ToUnixMillis(AlignedStart()));
  EXPECT_EQ(state->lockout_until_ms,
            absl::ToUnixMillis(AlignedStart() + absl::Minutes(15)));
  // Kept as long as the offence may still escalate the next one.
  EXPECT_EQ(state->expires_at_ms,
            absl::ToUnixMillis(AlignedStart() + absl::Hours(24)));
}

// While locked out, Check and Peek deny with the rest of the lockout, even
// once the window itself is empty.
TEST_F(LimiterLockoutTest, DeniesForTheRestOfTheLockoutWhateverTheWindowSays) {
  ASSERT_EQ(Offend(), absl::Minutes(15));
  for (absl::Duration at :
       {absl::Seconds(1), absl::Seconds(59), absl::Minutes(2),
        absl::Minutes(14), absl::Minutes(15) - absl::Milliseconds(1)}) {
    At(at);
    SCOPED_TRACE(absl::FormatDuration(at));
    const uint64_t window_count = at < absl::Seconds(61) ? 3 : 0;
    for (Operation op : {Operation::kPeek, Operation::kCheck}) {
      const Verdict v = RunOne(op, Login());
      EXPECT_EQ(v.decision, Decision::kDeny) << OperationName(op);
      EXPECT_EQ(v.count, window_count);
      EXPECT_EQ(v.retry_after, absl::Minutes(15) - at);
      EXPECT_EQ(v.reset_after, absl::Minutes(15) - at);
      ASSERT_TRUE(v.locked_until.has_value());
      EXPECT_EQ(*v.locked_until, AlignedStart() + absl::Minutes(15));
    }
  }
  At(absl::Minutes(15));
  const Verdict v = Check(Login());
  EXPECT_EQ(v.decision, Decision::kAllow);
  EXPECT_EQ(v.count, 1u);
  EXPECT_FALSE(v.locked_until.has_value());
}

TEST_F(LimiterLockoutTest, EscalatesWithEachOffenceUpToTheMax) {
  InstallLogin(/*forget_after=*/absl::Hours(48));
  const std::vector<absl::Duration> expected = {
      absl::Minutes(15),  absl::Minutes(30),  absl::Minutes(60),
      absl::Minutes(120), absl::Minutes(240), absl::Minutes(480),
      absl::Minutes(960), absl::Hours(24),    absl::Hours(24),
      absl::Hours(24)};
  for (size_t i = 0; i < expected.size(); ++i) {
    SCOPED_TRACE(absl::StrCat("offence ", i + 1));
    ASSERT_EQ(Offend(), expected[i]);
    const Verdict v = Peek(Login());
    EXPECT_EQ(v.decision, Decision::kDeny);
    EXPECT_EQ(v.retry_after, expected[i]);
    At(Elapsed() + expected[i]);
  }
  const std::optional<CounterState> state = Stored();
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(state->offences, expected.size());
}

TEST_F(LimiterLockoutTest, ForgetAfterResetsTheEscalation) {
  ASSERT_EQ(Offend(), absl::Minutes(15));
  At(absl::Minutes(15));
  ASSERT_EQ(Offend(), absl::Minutes(30));
  // 1ms short of a day after the last offence: still escalates.
  At(absl::Minutes(15) + absl::Hours(24) - absl::Milliseconds(1));
  ASSERT_EQ(Offend(), absl::Minutes(60));
  // A full day later: the first offence again.
  At(Elapsed() + absl::Hours(24));
  EXPECT_EQ(Offend(), absl::Minutes(15));
  const std::optional<CounterState> state = Stored();
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(state->offences, 1u);
}

// "An offence this long after the previous one counts as the first again",
// whether or not later hits have kept the stored state alive meanwhile.
TEST_F(LimiterLockoutTest, ForgetAfterDoesNotDependOnOtherHitsKeepingState) {
  InstallLogin(/*forget_after=*/absl::Minutes(30),
               /*window=*/absl::Minutes(10));
  ASSERT_EQ(Offend(), absl::Minutes(15));
  At(absl::Minutes(30));
  EXPECT_EQ(Offend(), absl::Minutes(15)) << "state expired meanwhile";

  ASSERT_EQ(Reset(Login()).count, 0u);
  At(absl::Hours(1));
  ASSERT_EQ(Offend(), absl::Minutes(15));
  At(absl::Hours(1) + absl::Minutes(25));
  ASSERT_EQ(Record(Login()).count, 1u);  // Keeps the state until ~35m.
  At(absl::Hours(1) + absl::Minutes(30));
  const Verdict v = Check(Login(2));
  ASSERT_TRUE(v.ceiling_hit);
  ASSERT_TRUE(v.locked_until.has_value());
  EXPECT_EQ(*v.locked_until - clock_.Now(), absl::Minutes(15))
      << "state kept alive by a later hit";
}

TEST_F(LimiterLockoutTest, ResetClearsCountersLockoutAndOffences) {
  ASSERT_EQ(Offend(), absl::Minutes(15));
  At(absl::Minutes(15));
  ASSERT_EQ(Offend(), absl::Minutes(30));
  At(absl::Minutes(20));
  ASSERT_EQ(Peek(Login()).decision, Decision::kDeny);

  const Verdict reset = Reset(Login());
  EXPECT_EQ(reset.count, 0u);
  EXPECT_FALSE(reset.locked_until.has_value());
  EXPECT_EQ(reset.reset_after, absl::ZeroDuration());
  EXPECT_FALSE(Stored().has_value());
  EXPECT_EQ(memory_.size(), 0u);

  const Verdict v = Check(Login());
  EXPECT_EQ(v.decision, Decision::kAllow);
  EXPECT_EQ(v.count, 1u);
  EXPECT_FALSE(v.locked_until.has_value());
  // The next offence is the first again.
  At(absl::Minutes(22));
  EXPECT_EQ(Offend(), absl::Minutes(15));
}

TEST_F(LimiterLockoutTest, RecordReachingTheCeilingLocksOutToo) {
  ASSERT_FALSE(Record(Login(2)).ceiling_hit);
  Verdict v = Record(Login());
  EXPECT_TRUE(v.ceiling_hit);
  EXPECT_EQ(v.decision, Decision::kDeny);
  EXPECT_EQ(v.retry_after, absl::Minutes(15));
  ASSERT_TRUE(v.locked_until.has_value());

  // Recording more while over the limit is no new offence.
  At(absl::Seconds(30));
  v = Record(Login(5));
  EXPECT_FALSE(v.ceiling_hit);
  EXPECT_EQ(v.count, 8u);
  EXPECT_EQ(v.retry_after, absl::Minutes(15) - absl::Seconds(30));
  const std::optional<CounterState> state = Stored();
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(state->offences, 1u);
}

TEST_F(LimiterLockoutTest, ShadowModeReportsTheLockoutWithoutEnforcingIt) {
  Policy login = policy_;
  login.mode = PolicyMode::kShadow;
  Install({login});
  ASSERT_TRUE(Check(Login(3)).ceiling_hit);
  At(absl::Minutes(5));
  const Verdict v = Check(Login());
  EXPECT_EQ(v.decision, Decision::kAllow);
  EXPECT_TRUE(v.shadow);
  EXPECT_EQ(v.shadow_decision, Decision::kDeny);
  EXPECT_EQ(v.retry_after, absl::ZeroDuration());
  ASSERT_TRUE(v.locked_until.has_value());
  EXPECT_EQ(*v.locked_until, AlignedStart() + absl::Minutes(15));
}

// lockout.permanent_after: 3: the third offence within forget_after locks
// until an operator lifts it (Reset).
TEST_F(LimiterLockoutTest, PermanentAfterTheNthOffenceUntilReset) {
  policy_.lockout->permanent_after = 3;
  Install({policy_});
  ASSERT_EQ(Offend(), absl::Minutes(15));
  At(absl::Minutes(15));
  ASSERT_EQ(Offend(), absl::Minutes(30));
  EXPECT_FALSE(Peek(Login()).permanent);
  At(absl::Minutes(45));
  const Verdict third = Check(Login(3));
  EXPECT_TRUE(third.ceiling_hit);
  EXPECT_TRUE(third.permanent);
  ASSERT_TRUE(third.locked_until.has_value());
  const absl::Time shown = absl::FromUnixMillis(kPermanentLockoutShownUntilMs);
  EXPECT_EQ(*third.locked_until, shown);
  EXPECT_EQ(absl::FormatTime(*third.locked_until, absl::UTCTimeZone()),
            "9999-12-31T23:59:59+00:00");
  std::optional<CounterState> state = Stored();
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(state->lockout_until_ms, kLockedUntilUnblockedMs);
  EXPECT_EQ(state->offences, 3u);
  EXPECT_EQ(state->expires_at_ms, kLockedUntilUnblockedMs);

  // Still locked far in the future, past forget_after and lockout.max, and
  // whatever the window says; Record keeps counting and changes nothing.
  for (absl::Duration at :
       {absl::Hours(25), absl::Hours(24 * 400), absl::Hours(24 * 365 * 50)}) {
    At(at);
    SCOPED_TRACE(absl::FormatDuration(at));
    for (Operation op :
         {Operation::kPeek, Operation::kCheck, Operation::kRecord}) {
      const Verdict v = RunOne(op, Login());
      EXPECT_EQ(v.decision, Decision::kDeny) << OperationName(op);
      EXPECT_TRUE(v.permanent);
      ASSERT_TRUE(v.locked_until.has_value());
      EXPECT_EQ(*v.locked_until, shown);
      EXPECT_EQ(v.retry_after, shown - clock_.Now());
    }
  }
  state = Stored();
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(state->lockout_until_ms, kLockedUntilUnblockedMs);

  const Verdict reset = Reset(Login());
  EXPECT_FALSE(reset.permanent);
  EXPECT_FALSE(Stored().has_value());
  const Verdict v = Check(Login());
  EXPECT_EQ(v.decision, Decision::kAllow);
  EXPECT_FALSE(v.permanent);
  EXPECT_FALSE(v.locked_until.has_value());
}

TEST_F(LimiterLockoutTest, PermanentAfterCountsOnlyOffencesWithinForgetAfter) {
  policy_.lockout->permanent_after = 2;
  Install({policy_});
  ASSERT_EQ(Offend(), absl::Minutes(15));
  // A day later the next offence is the first again: a temporary lockout.
  At(absl::Hours(24));
  ASSERT_EQ(Offend(), absl::Minutes(15));
  EXPECT_FALSE(Peek(Login()).permanent);
  At(absl::Hours(25));
  const Verdict second = Check(Login(3));
  EXPECT_TRUE(second.permanent);
}

TEST_F(LimiterLockoutTest, PermanentAfterOneLocksOnTheFirstOffence) {
  policy_.lockout->permanent_after = 1;
  Install({policy_});
  const Verdict v = Record(Login(3));
  EXPECT_TRUE(v.ceiling_hit);
  EXPECT_TRUE(v.permanent);
  EXPECT_EQ(v.decision, Decision::kDeny);
  // A reload without permanent_after leaves the lockout in place: only an
  // operator lifts it.
  policy_.lockout->permanent_after = 0;
  Install({policy_});
  At(absl::Hours(48));
  EXPECT_TRUE(Peek(Login()).permanent);
}

}  // namespace
}  // namespace gatehouse
