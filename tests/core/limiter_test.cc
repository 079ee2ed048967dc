#include "service/core/limiter.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "service/core/counter_state.h"
#include "service/core/policy.h"
#include "service/core/subject_key.h"
#include "tests/core/limiter_test_util.h"

namespace gatehouse {
namespace {

using core_test::AlignedStart;
using core_test::MakePolicy;
using core_test::MakeRequest;
using core_test::Subject;

// Policies: "api" 10 per minute per user, "ip" 3 per minute per address,
// "shadow" 2 per minute per user in shadow mode, "login" 3 per minute with a
// 15-minute lockout. The clock starts at a midnight, so whole seconds are
// bucket boundaries.
class LimiterTest : public core_test::LimiterFixture {
 protected:
  void SetUp() override { Install(Policies()); }

  static std::vector<Policy> Policies() {
    Policy shadow = MakePolicy("shadow", {"user"}, 2, absl::Minutes(1));
    shadow.mode = PolicyMode::kShadow;
    Policy login = MakePolicy("login", {"user"}, 3, absl::Minutes(1));
    login.lockout = LockoutSpec{absl::Minutes(15), 2.0, absl::Hours(24)};
    return {MakePolicy("api", {"user"}, 10, absl::Minutes(1)),
            MakePolicy("ip", {"ip"}, 3, absl::Minutes(1)), shadow, login};
  }

  void At(absl::Duration since_start) {
    clock_.Set(AlignedStart() + since_start);
  }

  static SubjectRequest Api(const std::string& user, uint64_t hits = 1) {
    return Subject("api", {{"user", user}}, hits);
  }
  static SubjectRequest Ip(const std::string& ip, uint64_t hits = 1) {
    return Subject("ip", {{"ip", ip}}, hits);
  }
  static SubjectRequest Shadow(const std::string& user, uint64_t hits = 1) {
    return Subject("shadow", {{"user", user}}, hits);
  }
  static SubjectRequest Login(const std::string& user, uint64_t hits = 1) {
    return Subject("login", {{"user", user}}, hits);
  }

  // Peeks and asserts that nothing in the store changed.
  Verdict PeekChangesNothing(const SubjectRequest& s) {
    const auto before = store_.Snapshot();
    const int commits = store_.counter_commits();
    Verdict v = Peek(s);
    EXPECT_EQ(store_.Snapshot(), before);
    EXPECT_EQ(store_.counter_commits(), commits);
    return v;
  }
};

TEST_F(LimiterTest, DeniesOnceLimitReachedInsideWindow) {
  for (uint64_t i = 1; i <= 10; ++i) {
    const Verdict v = Check(Api("alice"));
    ASSERT_EQ(v.decision, Decision::kAllow) << "hit " << i;
    EXPECT_EQ(v.count, i);
    EXPECT_EQ(v.remaining, 10 - i);
    EXPECT_EQ(v.limit, 10u);
    EXPECT_EQ(v.window, absl::Minutes(1));
    EXPECT_EQ(v.retry_after, absl::ZeroDuration());
  }
  At(absl::Seconds(30));
  const Verdict denied = Check(Api("alice"));
  EXPECT_EQ(denied.decision, Decision::kDeny);
  EXPECT_EQ(denied.count, 10u);
  EXPECT_EQ(denied.remaining, 0u);
  // The hits sit in the bucket [0s, 1s), which stops counting at 61s.
  EXPECT_EQ(denied.retry_after, absl::Seconds(31));
  EXPECT_EQ(denied.reset_after, absl::Seconds(31));
  EXPECT_FALSE(denied.locked_until.has_value());
  // Other users have their own counter.
  EXPECT_EQ(Check(Api("bob")).count, 1u);
}

TEST_F(LimiterTest, NoBurstAcrossWindowBoundary) {
  At(absl::Milliseconds(59'900));
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(Check(Api("alice")).decision, Decision::kAllow);
  }
  At(absl::Milliseconds(60'100));
  const Verdict v = Check(Api("alice"));
  EXPECT_EQ(v.decision, Decision::kDeny);
  EXPECT_EQ(v.count, 10u);
  // Bucket [59s, 60s) counts until 120s.
  EXPECT_EQ(v.retry_after, absl::Milliseconds(59'900));
  At(absl::Milliseconds(119'999));
  EXPECT_EQ(Check(Api("alice")).decision, Decision::kDeny);
  At(absl::Seconds(120));
  EXPECT_EQ(Check(Api("alice")).decision, Decision::kAllow);
}

TEST_F(LimiterTest, NoBurstAcrossBucketBoundary) {
  At(absl::Milliseconds(999));
  ASSERT_EQ(Check(Api("alice", 5)).decision, Decision::kAllow);
  At(absl::Seconds(1));
  ASSERT_EQ(Check(Api("alice", 5)).decision, Decision::kAllow);
  // At 60.999s the hit at 0.999s is still inside (t - 60s, t].
  At(absl::Milliseconds(60'999));
  EXPECT_EQ(Check(Api("alice")).decision, Decision::kDeny);
  At(absl::Seconds(61));
  const Verdict v = Check(Api("alice", 5));
  EXPECT_EQ(v.decision, Decision::kAllow);
  EXPECT_EQ(v.count, 10u);
}

TEST_F(LimiterTest, CheckCountsNothingWhenAnySubjectDenies) {
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(Check(Ip("203.0.113.7")).decision, Decision::kAllow);
  }
  const int commits = store_.counter_commits();
  const Response r =
      Run(Operation::kCheck,
          MakeRequest({Api("alice"), Ip("203.0.113.7"), Api("bob", 4)}));
  EXPECT_FALSE(r.allowed);
  ASSERT_EQ(r.verdicts.size(), 3u);
  EXPECT_EQ(r.verdicts[0].decision, Decision::kAllow);
  EXPECT_EQ(r.verdicts[0].count, 0u);
  EXPECT_EQ(r.verdicts[1].decision, Decision::kDeny);
  EXPECT_EQ(r.verdicts[1].count, 3u);
  EXPECT_EQ(r.verdicts[2].decision, Decision::kAllow);
  EXPECT_EQ(r.verdicts[2].count, 0u);
  EXPECT_EQ(store_.counter_commits(), commits);
  EXPECT_EQ(Peek(Api("alice")).count, 0u);
  EXPECT_EQ(Peek(Api("bob")).count, 0u);
  EXPECT_EQ(Peek(Ip("203.0.113.7")).count, 3u);
}

TEST_F(LimiterTest, CheckCountsEverySubjectWhenAllAllow) {
  const Response r =
      Run(Operation::kCheck,
          MakeRequest({Api("alice", 2), Ip("203.0.113.7"), Api("bob", 4)}));
  EXPECT_TRUE(r.allowed);
  ASSERT_EQ(r.verdicts.size(), 3u);
  EXPECT_EQ(r.verdicts[0].policy, "api");
  EXPECT_EQ(r.verdicts[0].count, 2u);
  EXPECT_EQ(r.verdicts[1].policy, "ip");
  EXPECT_EQ(r.verdicts[1].count, 1u);
  EXPECT_EQ(r.verdicts[2].count, 4u);
  EXPECT_EQ(Peek(Api("alice")).count, 2u);
  EXPECT_EQ(Peek(Ip("203.0.113.7")).count, 1u);
  EXPECT_EQ(Peek(Api("bob")).count, 4u);
}

TEST_F(LimiterTest, SameKeyTwiceIsDecidedOnSummedHits) {
  ASSERT_EQ(Record(Api("alice", 7)).count, 7u);
  // 7 + 2 + 2 > 10 although each subject alone would fit.
  Response r =
      Run(Operation::kCheck, MakeRequest({Api("alice", 2), Api("alice", 2)}));
  EXPECT_FALSE(r.allowed);
  ASSERT_EQ(r.verdicts.size(), 2u);
  EXPECT_EQ(r.verdicts[0].decision, Decision::kDeny);
  EXPECT_EQ(r.verdicts[1].decision, Decision::kDeny);
  EXPECT_EQ(Peek(Api("alice")).count, 7u);

  r = Run(Operation::kCheck, MakeRequest({Api("alice", 2), Api("alice", 1)}));
  EXPECT_TRUE(r.allowed);
  ASSERT_EQ(r.verdicts.size(), 2u);
  for (const Verdict& v : r.verdicts) EXPECT_EQ(v.count, 10u);
  // One crossing, reported once: on the first subject naming the key.
  EXPECT_TRUE(r.verdicts[0].ceiling_hit);
  EXPECT_FALSE(r.verdicts[1].ceiling_hit);
  EXPECT_EQ(Peek(Api("alice")).count, 10u);
}

// Past 8 subjects a request's groups are found through an index rather
// than a scan: a key named first and last is still one group.
TEST_F(LimiterTest, SameKeyInALongRequestIsDecidedOnSummedHits) {
  ASSERT_EQ(Record(Api("alice", 7)).count, 7u);
  auto long_request = [](uint64_t last_hits) {
    std::vector<SubjectRequest> subjects = {Api("alice", 2)};
    for (int i = 0; i < 10; ++i) subjects.push_back(Api(absl::StrCat("u", i)));
    subjects.push_back(Api("alice", last_hits));
    return MakeRequest(subjects);
  };
  Response r = Run(Operation::kCheck, long_request(2));
  EXPECT_FALSE(r.allowed);
  ASSERT_EQ(r.verdicts.size(), 12u);
  EXPECT_EQ(r.verdicts[0].decision, Decision::kDeny);
  EXPECT_EQ(r.verdicts[11].decision, Decision::kDeny);
  EXPECT_EQ(r.verdicts[5].decision, Decision::kAllow);
  EXPECT_EQ(Peek(Api("alice")).count, 7u);
  EXPECT_EQ(Peek(Api("u3")).count, 0u);

  r = Run(Operation::kCheck, long_request(1));
  EXPECT_TRUE(r.allowed);
  EXPECT_EQ(r.verdicts[0].count, 10u);
  EXPECT_EQ(r.verdicts[11].count, 10u);
  EXPECT_TRUE(r.verdicts[0].ceiling_hit);
  EXPECT_FALSE(r.verdicts[11].ceiling_hit);
  EXPECT_EQ(Peek(Api("alice")).count, 10u);
  EXPECT_EQ(Peek(Api("u3")).count, 1u);
}

TEST_F(LimiterTest, SpellingsOfOneAddressShareACounter) {
  const Response r =
      Run(Operation::kCheck,
          MakeRequest({Ip("203.0.113.7", 2), Ip("::ffff:203.0.113.7", 2)}));
  EXPECT_FALSE(r.allowed);
  EXPECT_EQ(Peek(Ip("203.0.113.7")).count, 0u);
  ASSERT_EQ(Check(Ip("::FFFF:203.0.113.7", 2)).decision, Decision::kAllow);
  EXPECT_EQ(Peek(Ip("203.0.113.7")).count, 2u);
}

TEST_F(LimiterTest, PeekAnswersLikeCheckAndChangesNothing) {
  // Nothing stored: Peek creates nothing.
  Verdict v = PeekChangesNothing(Api("alice", 3));
  EXPECT_EQ(v.decision, Decision::kAllow);
  EXPECT_EQ(v.count, 0u);
  EXPECT_EQ(memory_.size(), 0u);

  ASSERT_EQ(Check(Api("alice", 9)).count, 9u);
  At(absl::Seconds(20));
  v = PeekChangesNothing(Api("alice"));
  EXPECT_EQ(v.decision, Decision::kAllow);
  EXPECT_EQ(v.count, 9u);
  EXPECT_EQ(v.remaining, 1u);
  EXPECT_FALSE(v.ceiling_hit);

  // Denied path: the answer Check would give, with its retry_after.
  v = PeekChangesNothing(Api("alice", 2));
  EXPECT_EQ(v.decision, Decision::kDeny);
  EXPECT_EQ(v.count, 9u);
  EXPECT_EQ(v.retry_after, absl::Seconds(41));
  const Verdict checked = Check(Api("alice", 2));
  EXPECT_EQ(checked.decision, v.decision);
  EXPECT_EQ(checked.count, v.count);
  EXPECT_EQ(checked.retry_after, v.retry_after);

  // Lockout path.
  ASSERT_TRUE(Check(Login("mallory", 3)).ceiling_hit);
  At(absl::Minutes(5));
  v = PeekChangesNothing(Login("mallory"));
  EXPECT_EQ(v.decision, Decision::kDeny);
  EXPECT_EQ(v.retry_after, absl::Seconds(15 * 60 + 20 - 5 * 60));
  ASSERT_TRUE(v.locked_until.has_value());

  // After the state expired, Peek neither resurrects nor deletes it.
  At(absl::Hours(30));
  v = PeekChangesNothing(Api("alice"));
  EXPECT_EQ(v.count, 0u);
  v = PeekChangesNothing(Login("mallory"));
  EXPECT_EQ(v.decision, Decision::kAllow);
}

TEST_F(LimiterTest, RecordCountsEvenWhenOverTheLimit) {
  for (uint64_t i = 1; i <= 15; ++i) {
    const Verdict v = Record(Api("alice"));
    EXPECT_EQ(v.count, i);
    EXPECT_EQ(v.remaining, i >= 10 ? 0 : 10 - i);
    // The verdict says whether a next single attempt would be allowed.
    EXPECT_EQ(v.decision, i >= 10 ? Decision::kDeny : Decision::kAllow)
        << "record " << i;
    EXPECT_EQ(v.ceiling_hit, i == 10) << "record " << i;
    EXPECT_EQ(v.retry_after,
              i >= 10 ? absl::Seconds(61) : absl::ZeroDuration());
  }
  EXPECT_EQ(Peek(Api("alice")).count, 15u);
}

TEST_F(LimiterTest, RecordCeilingFiresAgainAfterTheWindowSlidBelowTheLimit) {
  ASSERT_FALSE(Record(Api("alice", 8)).ceiling_hit);
  EXPECT_TRUE(Record(Api("alice", 5)).ceiling_hit);  // 8 -> 13 crosses 10.
  EXPECT_FALSE(Record(Api("alice")).ceiling_hit);    // Still over.
  At(absl::Seconds(30));
  EXPECT_FALSE(Record(Api("alice", 3)).ceiling_hit);
  EXPECT_EQ(Peek(Api("alice")).count, 17u);
  // At 61s the first 14 hits left; 3 remain.
  At(absl::Seconds(61));
  Verdict v = Record(Api("alice", 6));
  EXPECT_EQ(v.count, 9u);
  EXPECT_FALSE(v.ceiling_hit);
  v = Record(Api("alice"));
  EXPECT_EQ(v.count, 10u);
  EXPECT_TRUE(v.ceiling_hit);
  EXPECT_FALSE(Record(Api("alice")).ceiling_hit);
}

TEST_F(LimiterTest, CheckReportsCeilingOnlyOnTheHitReachingTheLimit) {
  EXPECT_FALSE(Check(Api("alice", 9)).ceiling_hit);
  EXPECT_TRUE(Check(Api("alice")).ceiling_hit);
  const Verdict denied = Check(Api("alice"));
  EXPECT_EQ(denied.decision, Decision::kDeny);
  EXPECT_FALSE(denied.ceiling_hit);
}

TEST_F(LimiterTest, ShadowModeAllowsButReportsTheEnforcedDecision) {
  for (uint64_t i = 1; i <= 5; ++i) {
    const Response r = Run(Operation::kCheck, MakeRequest({Shadow("alice")}));
    EXPECT_TRUE(r.allowed);
    ASSERT_EQ(r.verdicts.size(), 1u);
    const Verdict& v = r.verdicts[0];
    EXPECT_EQ(v.decision, Decision::kAllow) << "hit " << i;
    EXPECT_TRUE(v.shadow);
    EXPECT_EQ(v.shadow_decision, i <= 2 ? Decision::kAllow : Decision::kDeny)
        << "hit " << i;
    EXPECT_EQ(v.count, i);  // Hits are counted past the limit.
    EXPECT_EQ(v.remaining, i >= 2 ? 0 : 2 - i);
    EXPECT_EQ(v.ceiling_hit, i == 2);
    EXPECT_EQ(v.retry_after, absl::ZeroDuration());
  }
  const Verdict peeked = Peek(Shadow("alice"));
  EXPECT_EQ(peeked.decision, Decision::kAllow);
  EXPECT_EQ(peeked.shadow_decision, Decision::kDeny);
  EXPECT_EQ(peeked.count, 5u);

  // Enforced policies are not marked shadow.
  const Verdict enforced = Check(Api("alice"));
  EXPECT_FALSE(enforced.shadow);
  EXPECT_EQ(enforced.shadow_decision, Decision::kAllow);
}

TEST_F(LimiterTest, ShadowSubjectDoesNotBlockNorEscapeAnEnforcedOne) {
  ASSERT_EQ(Record(Shadow("alice", 5)).count, 5u);
  Response r =
      Run(Operation::kCheck, MakeRequest({Shadow("alice"), Api("alice")}));
  EXPECT_TRUE(r.allowed);
  EXPECT_EQ(Peek(Shadow("alice")).count, 6u);
  EXPECT_EQ(Peek(Api("alice")).count, 1u);

  // An enforced denial keeps the shadow subject from being counted too.
  ASSERT_EQ(Record(Api("alice", 9)).count, 10u);
  r = Run(Operation::kCheck, MakeRequest({Shadow("alice"), Api("alice")}));
  EXPECT_FALSE(r.allowed);
  EXPECT_EQ(r.verdicts[0].decision, Decision::kAllow);
  EXPECT_EQ(r.verdicts[0].shadow_decision, Decision::kDeny);
  EXPECT_EQ(Peek(Shadow("alice")).count, 6u);
}

TEST_F(LimiterTest, ResetClearsTheCounter) {
  ASSERT_EQ(Record(Api("alice", 12)).count, 12u);
  ASSERT_EQ(Record(Api("bob", 4)).count, 4u);
  const Verdict v = Reset(Api("alice"));
  EXPECT_EQ(v.decision, Decision::kAllow);
  EXPECT_EQ(v.count, 0u);
  EXPECT_EQ(v.reset_after, absl::ZeroDuration());
  EXPECT_EQ(Peek(Api("alice")).count, 0u);
  EXPECT_EQ(Peek(Api("bob")).count, 4u);
  EXPECT_EQ(memory_.size(), 1u);
}

// A wall-clock jump backwards must neither crash, nor report negative
// durations, nor forget hits counted up to a window "in the future"; hits
// further ahead, and lockouts ending later than the longest lockout, are
// dropped so a step does not deny for its own length (limiter_clock_test).
TEST_F(LimiterTest, ClockGoingBackwardsKeepsHitsAndDurationsNonNegative) {
  At(absl::Hours(1));
  ASSERT_EQ(Record(Api("alice", 6)).count, 6u);
  ASSERT_TRUE(Check(Login("mallory", 3)).ceiling_hit);

  for (absl::Duration back :
       {absl::Seconds(1), absl::Seconds(30), absl::Minutes(30), absl::Hours(1),
        absl::Hours(48)}) {
    clock_.Set(AlignedStart() + absl::Hours(1) - back);
    SCOPED_TRACE(absl::FormatDuration(back));
    const bool within_window = back <= absl::Minutes(1);
    Verdict v = Peek(Api("alice", 5));
    EXPECT_EQ(v.count, within_window ? 6u : 0u);
    EXPECT_EQ(v.decision, within_window ? Decision::kDeny : Decision::kAllow);
    EXPECT_EQ(v.retry_after > absl::ZeroDuration(), within_window);
    EXPECT_GE(v.reset_after, v.retry_after);
    // The 15-minute lockout (at most 24h) holds for steps up to 23h45m.
    const bool locked = back <= absl::Hours(24) - absl::Minutes(15);
    v = Peek(Login("mallory"));
    EXPECT_EQ(v.decision, locked ? Decision::kDeny : Decision::kAllow);
    EXPECT_EQ(v.retry_after > absl::ZeroDuration(), locked);
    EXPECT_LE(v.retry_after, absl::Hours(24));
    EXPECT_GE(v.reset_after, v.retry_after);
  }

  // Counting while behind: old and new hits add up, and once the clock is
  // back where it was, all of them are still there.
  At(absl::Minutes(59));
  Verdict v = Check(Api("alice", 4));
  EXPECT_EQ(v.decision, Decision::kAllow);
  EXPECT_EQ(v.count, 10u);
  v = Check(Api("alice"));
  EXPECT_EQ(v.decision, Decision::kDeny);
  EXPECT_GE(v.retry_after, absl::ZeroDuration());
  At(absl::Hours(1));
  v = Peek(Api("alice"));
  EXPECT_EQ(v.count, 10u);
  EXPECT_EQ(v.decision, Decision::kDeny);
  EXPECT_GE(v.retry_after, absl::ZeroDuration());
  EXPECT_GE(v.reset_after, absl::ZeroDuration());
}

TEST_F(LimiterTest, ReloadWithChangedLimitKeepsCounts) {
  ASSERT_EQ(Record(Api("alice", 8)).count, 8u);
  std::vector<Policy> policies = Policies();
  policies[0].limit = 5;
  Install(policies);
  Verdict v = Peek(Api("alice"));
  EXPECT_EQ(v.count, 8u);
  EXPECT_EQ(v.limit, 5u);
  EXPECT_EQ(v.remaining, 0u);
  EXPECT_EQ(v.decision, Decision::kDeny);

  policies[0].limit = 20;
  Install(policies);
  v = Check(Api("alice"));
  EXPECT_EQ(v.decision, Decision::kAllow);
  EXPECT_EQ(v.count, 9u);
  EXPECT_EQ(v.remaining, 11u);
}

TEST_F(LimiterTest, ReloadWithChangedWindowRebucketsWithoutLosingHits) {
  // One hit every 10s from 0s to 50s.
  for (int s = 0; s <= 50; s += 10) {
    At(absl::Seconds(s));
    ASSERT_EQ(Record(Api("alice")).decision, Decision::kAllow);
  }
  At(absl::Seconds(55));
  ASSERT_EQ(Peek(Api("alice")).count, 6u);

  struct Change {
    absl::Duration window;
    int buckets;
    uint64_t at_least;  // Hits inside [t - window, t].
  };
  for (const Change& change :
       {Change{absl::Minutes(1), 7, 6}, Change{absl::Minutes(2), 60, 6},
        Change{absl::Hours(1), 12, 6}, Change{absl::Seconds(30), 60, 3},
        Change{absl::Minutes(1), 60, 6}}) {
    SCOPED_TRACE(absl::StrCat(absl::FormatDuration(change.window), " in ",
                              change.buckets, " buckets"));
    std::vector<Policy> policies = Policies();
    policies[0].window = change.window;
    policies[0].buckets = change.buckets;
    Install(policies);
    EXPECT_GE(Peek(Api("alice")).count, change.at_least);
  }

  // Growing the window, then counting, keeps earlier hits for the new
  // window: with 2 minutes, the hit at 0s still counts at 119s.
  std::vector<Policy> policies = Policies();
  policies[0].window = absl::Minutes(2);
  Install(policies);
  ASSERT_EQ(Check(Api("alice")).count, 7u);
  const absl::StatusOr<std::string> key =
      DeriveStorageKey(policies[0], {{"user", "alice"}}, "key");
  ASSERT_TRUE(key.ok());
  const auto state = store_.Read(*key);
  ASSERT_TRUE(state.ok() && state->has_value());
  EXPECT_EQ((*state)->bucket_ms, policies[0].BucketMillis());
  At(absl::Seconds(119));
  EXPECT_EQ(Peek(Api("alice")).count, 7u);
}

}  // namespace
}  // namespace gatehouse
