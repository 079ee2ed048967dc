// Operator actions (Block, Unblock, Inspect, ListLockouts) and the lockout
// index the Limiter keeps beside the counters, on a simulated clock and an
// in-memory store.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/core/counter_state.h"
#include "service/core/limiter.h"
#include "service/core/lockout_index.h"
#include "service/core/policy.h"
#include "tests/core/limiter_test_util.h"

namespace gatehouse {
namespace {

using core_test::AlignedStart;
using core_test::MakePolicy;
using core_test::MakeRequest;
using core_test::Subject;
using ::testing::ElementsAre;
using ::testing::Pair;

// "login": 3 per minute per user, lockout 15m doubling up to 1h, permanent
// at the third offence; "ip": 100 per minute per ip, no lockout.
class LimiterAdminTest : public core_test::LimiterFixture {
 protected:
  void SetUp() override {
    Policy login = MakePolicy("login", {"user"}, 3, absl::Minutes(1));
    login.lockout =
        LockoutSpec{absl::Minutes(15), 2.0, absl::Hours(1), absl::Hours(24)};
    login.lockout->permanent_after = 3;
    Install({login, MakePolicy("ip", {"ip"}, 100, absl::Minutes(1))});
  }

  static Request Operator(SubjectRequest subject, std::string reason) {
    Request r = MakeRequest({std::move(subject)});
    r.client_id = "oncall";
    r.operator_reason = std::move(reason);
    return r;
  }
  static SubjectRequest User(std::string user) {
    return Subject("login", {{"user", std::move(user)}});
  }
  static SubjectRequest Ip(std::string ip) {
    return Subject("ip", {{"ip", std::move(ip)}});
  }

  Limiter::LockoutListing List(const std::string& policy = "",
                               size_t page_size = 0,
                               const std::string& token = "") {
    absl::StatusOr<Limiter::LockoutListing> listing =
        limiter_->ListLockouts(policy, page_size, token, "oncall", "");
    EXPECT_TRUE(listing.ok()) << listing.status();
    return listing.ok() ? *std::move(listing) : Limiter::LockoutListing{};
  }
  // The listed subjects' first dimension values, in order.
  std::vector<std::string> Listed(const std::string& policy = "") {
    std::vector<std::string> out;
    for (const LockoutEntry& e : List(policy, kMaxLockoutPageSize).entries) {
      out.push_back(e.key.empty() ? "" : e.key.front().second);
    }
    return out;
  }
  // Three failures: the ceiling, and a lockout.
  void Offend(const std::string& user) {
    for (int i = 0; i < 3; ++i) Record(User(user));
  }
  AuditEvent LastEvent() { return Event(memory_.HeadSequence()); }
  AuditEvent Event(uint64_t sequence) {
    absl::StatusOr<std::vector<AuditEvent>> events = memory_.Read(sequence, 1);
    EXPECT_TRUE(events.ok() && events->size() == 1);
    return events.ok() && !events->empty() ? events->front() : AuditEvent{};
  }
};

TEST_F(LimiterAdminTest, CeilingLockoutsAreListedNewestFirst) {
  Offend("alice");
  clock_.Advance(absl::Seconds(1));
  Offend("bob");
  EXPECT_THAT(Listed(), ElementsAre("bob", "alice"));
  const LockoutEntry bob = List().entries.front();
  EXPECT_EQ(bob.policy, "login");
  EXPECT_EQ(bob.locked_at_ms, absl::ToUnixMillis(clock_.Now()));
  EXPECT_EQ(bob.locked_until_ms,
            absl::ToUnixMillis(clock_.Now() + absl::Minutes(15)));
  EXPECT_EQ(bob.offences, 1u);
  EXPECT_EQ(bob.reason, "");
  EXPECT_EQ(bob.blocked_by, "");
}

TEST_F(LimiterAdminTest, ResetAndExpiryTakeSubjectsOffTheList) {
  Offend("alice");
  Offend("bob");
  Reset(User("alice"));
  EXPECT_THAT(Listed(), ElementsAre("bob"));
  clock_.Advance(absl::Minutes(15));
  EXPECT_THAT(Listed(), ElementsAre());
}

TEST_F(LimiterAdminTest, AnEscalatedLockoutReplacesItsEntry) {
  Offend("alice");
  clock_.Advance(absl::Minutes(16));  // Lockout over, window empty.
  Offend("alice");
  const std::vector<LockoutEntry> entries = List().entries;
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].offences, 2u);
  EXPECT_EQ(entries[0].locked_until_ms,
            absl::ToUnixMillis(clock_.Now() + absl::Minutes(30)));
  EXPECT_EQ(memory_.ListLockouts({"", INT64_MIN, 100, ""})->entries.size(), 1u)
      << "the first lockout's entry is deleted, not left to expire";
}

TEST_F(LimiterAdminTest, BlockLocksOutUntilTheDurationEnds) {
  absl::StatusOr<Limiter::BlockResult> blocked = limiter_->Block(
      Operator(Ip("203.0.113.9"), "credential stuffing"), absl::Hours(2));
  ASSERT_TRUE(blocked.ok()) << blocked.status();
  EXPECT_FALSE(blocked->permanent);
  EXPECT_EQ(blocked->locked_until_ms,
            absl::ToUnixMillis(clock_.Now() + absl::Hours(2)));
  const Verdict denied = Check(Ip("203.0.113.9"));
  EXPECT_EQ(denied.decision, Decision::kDeny);
  EXPECT_EQ(denied.retry_after, absl::Hours(2));

  const std::vector<LockoutEntry> entries = List("ip").entries;
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].reason, "credential stuffing");
  EXPECT_EQ(entries[0].blocked_by, "oncall");
  EXPECT_THAT(entries[0].key, ElementsAre(Pair("ip", "203.0.113.9")));

  const AuditEvent e = Event(blocked->audit_sequence);
  EXPECT_EQ(RpcOf(e), "Block");
  EXPECT_EQ(e.client_id, "oncall");
  EXPECT_EQ(e.operator_reason, "credential stuffing");
  EXPECT_EQ(e.decision, Decision::kDeny);

  // Longer than the policy's longest lockout (it has none): a clock step
  // back of less than a minute does not lift it, and the block ends on time.
  clock_.Advance(absl::Seconds(-30));
  EXPECT_EQ(Check(Ip("203.0.113.9")).decision, Decision::kDeny);
  clock_.Advance(absl::Hours(2) + absl::Seconds(30));
  EXPECT_EQ(Check(Ip("203.0.113.9")).decision, Decision::kAllow);
  EXPECT_THAT(Listed(), ElementsAre());
}

TEST_F(LimiterAdminTest, BlockWithoutDurationIsPermanentUntilUnblocked) {
  auto blocked = limiter_->Block(Operator(User("mallory"), "fraud ring"),
                                 absl::InfiniteDuration());
  ASSERT_TRUE(blocked.ok()) << blocked.status();
  EXPECT_TRUE(blocked->permanent);
  clock_.Advance(absl::Hours(24 * 400));
  const Verdict v = Check(User("mallory"));
  EXPECT_EQ(v.decision, Decision::kDeny);
  EXPECT_TRUE(v.permanent);
  EXPECT_THAT(Listed("login"), ElementsAre("mallory"));

  auto unblocked = limiter_->Unblock(Operator(User("mallory"), "ticket 42"));
  ASSERT_TRUE(unblocked.ok()) << unblocked.status();
  EXPECT_TRUE(unblocked->was_locked);
  EXPECT_EQ(Check(User("mallory")).decision, Decision::kAllow);
  EXPECT_THAT(Listed(), ElementsAre());
  const AuditEvent e = Event(unblocked->audit_sequence);
  EXPECT_EQ(RpcOf(e), "Unblock");
  EXPECT_EQ(e.operator_reason, "ticket 42");
  EXPECT_EQ(e.client_id, "oncall");
  EXPECT_EQ(RpcOf(LastEvent()), "ListLockouts");
}

TEST_F(LimiterAdminTest, UnblockClearsCountsAndOffenceHistory) {
  Offend("alice");
  clock_.Advance(absl::Minutes(16));
  Offend("alice");  // Second offence: 30 minutes.
  auto unblocked = limiter_->Unblock(Operator(User("alice"), "verified"));
  ASSERT_TRUE(unblocked.ok());
  EXPECT_TRUE(unblocked->was_locked);
  Offend("alice");
  const std::vector<LockoutEntry> entries = List().entries;
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].offences, 1u) << "offence history was cleared";
  auto again = limiter_->Unblock(Operator(User("bob"), "never locked"));
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->was_locked);
}

TEST_F(LimiterAdminTest, ThePermanentOffenceIsListedAsPermanent) {
  for (int i = 0; i < 3; ++i) {
    Offend("eve");
    clock_.Advance(absl::Hours(2));
  }
  const std::vector<LockoutEntry> entries = List().entries;
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].locked_until_ms, kLockedUntilUnblockedMs);
  EXPECT_EQ(entries[0].offences, 3u);
}

TEST_F(LimiterAdminTest, InspectShowsTheLiveStateAndChangesNothing) {
  Record(User("alice"));
  clock_.Advance(absl::Seconds(1));
  Record(User("alice"));
  const uint64_t last = memory_.HeadSequence();
  clock_.Advance(absl::Seconds(1));
  absl::StatusOr<Limiter::Inspection> seen =
      limiter_->Inspect(Operator(User("alice"), ""));
  ASSERT_TRUE(seen.ok()) << seen.status();
  EXPECT_FALSE(seen->empty);
  EXPECT_EQ(seen->count, 2u);
  EXPECT_EQ(seen->limit, 3u);
  EXPECT_EQ(seen->window, absl::Minutes(1));
  EXPECT_EQ(seen->state.buckets.size(), 2u);
  EXPECT_EQ(seen->state.last_audit_sequence, last);
  EXPECT_EQ(seen->state.lockout_until_ms, 0);
  EXPECT_THAT(seen->stored_key, ElementsAre(Pair("user", "alice")));
  EXPECT_TRUE(seen->audit_status.ok());
  EXPECT_EQ(RpcOf(LastEvent()), "Inspect");
  EXPECT_EQ(Peek(User("alice")).count, 2u);

  auto nobody = limiter_->Inspect(Operator(User("nobody"), ""));
  ASSERT_TRUE(nobody.ok());
  EXPECT_TRUE(nobody->empty);
  EXPECT_EQ(nobody->count, 0u);
}

TEST_F(LimiterAdminTest, ListLockoutsPagesWithTokens) {
  for (int i = 0; i < 7; ++i) {
    Offend("user" + std::to_string(i));
    clock_.Advance(absl::Milliseconds(i % 2));  // Some share a time.
  }
  std::vector<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    Limiter::LockoutListing page = List("login", 3, token);
    EXPECT_LE(page.entries.size(), 3u);
    for (const LockoutEntry& e : page.entries) seen.push_back(e.key[0].second);
    token = page.next_page_token;
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen, Listed("login"));
  EXPECT_EQ(seen.size(), 7u);
  EXPECT_THAT(Listed("ip"), ElementsAre());
}

TEST_F(LimiterAdminTest, ABatchThatLocksThenResetsLeavesNoEntry) {
  Record(User("alice"));
  Record(User("alice"));
  const Request fail = MakeRequest({User("alice")});
  const BatchItem items[] = {{Operation::kRecord, &fail},
                             {Operation::kReset, &fail}};
  for (const auto& result : limiter_->RunBatch(items)) {
    ASSERT_TRUE(result.ok()) << result.status();
  }
  EXPECT_THAT(Listed(), ElementsAre());
}

TEST_F(LimiterAdminTest, AFailedCommitChangesNeitherStateNorIndex) {
  store_.FailCommits(absl::UnavailableError("disk gone"), 1);
  EXPECT_TRUE(absl::IsUnavailable(
      limiter_->Block(Operator(User("mallory"), "x"), absl::Hours(1))
          .status()));
  EXPECT_THAT(Listed(), ElementsAre());
  EXPECT_EQ(Check(User("mallory")).decision, Decision::kAllow);
}

TEST_F(LimiterAdminTest, BadRequestsNameTheFieldAndChangeNothing) {
  const uint64_t head = memory_.HeadSequence();
  auto no_reason = limiter_->Block(Operator(User("a"), ""), absl::Hours(1));
  EXPECT_TRUE(absl::IsInvalidArgument(no_reason.status()));
  EXPECT_THAT(std::string(no_reason.status().message()),
              ::testing::StartsWith("reason:"));
  auto negative = limiter_->Block(Operator(User("a"), "x"), absl::Seconds(-1));
  EXPECT_THAT(std::string(negative.status().message()),
              ::testing::StartsWith("duration:"));
  auto too_long = limiter_->Block(Operator(User("a"), "x"),
                                  Limiter::kMaxBlockDuration + absl::Hours(1));
  EXPECT_TRUE(absl::IsInvalidArgument(too_long.status()));
  auto unknown = limiter_->Unblock(Operator(Subject("nope", {}), "x"));
  EXPECT_TRUE(absl::IsNotFound(unknown.status()));
  auto control = limiter_->Unblock(Operator(User("a"), "bad\nreason"));
  EXPECT_TRUE(absl::IsInvalidArgument(control.status()));
  Request two = Operator(User("a"), "x");
  two.subjects.push_back(User("b"));
  EXPECT_TRUE(absl::IsInvalidArgument(limiter_->Inspect(two).status()));
  auto bad_token = limiter_->ListLockouts("", 10, "garbage!", "oncall", "");
  EXPECT_THAT(std::string(bad_token.status().message()),
              ::testing::StartsWith("page_token:"));
  auto big_page = limiter_->ListLockouts("", 1001, "", "oncall", "");
  EXPECT_THAT(std::string(big_page.status().message()),
              ::testing::StartsWith("page_size:"));
  auto no_policy = limiter_->ListLockouts("nope", 10, "", "oncall", "");
  EXPECT_TRUE(absl::IsNotFound(no_policy.status()));
  EXPECT_EQ(memory_.HeadSequence(), head) << "nothing was audited";
  EXPECT_EQ(memory_.size(), 0u) << "nothing was counted";
}

TEST_F(LimiterAdminTest, ChangedStatesCarryTheirLastAuditSequence) {
  Check(User("alice"));
  const uint64_t checked = memory_.HeadSequence();
  Peek(User("alice"));  // An allowed Peek writes nothing.
  auto seen = limiter_->Inspect(Operator(User("alice"), ""));
  ASSERT_TRUE(seen.ok());
  EXPECT_EQ(seen->state.last_audit_sequence, checked);
  auto blocked =
      limiter_->Block(Operator(User("alice"), "x"), absl::Minutes(5));
  ASSERT_TRUE(blocked.ok());
  seen = limiter_->Inspect(Operator(User("alice"), ""));
  ASSERT_TRUE(seen.ok());
  EXPECT_EQ(seen->state.last_audit_sequence, blocked->audit_sequence);
  EXPECT_EQ(seen->state.locked_at_ms, absl::ToUnixMillis(clock_.Now()));
}

TEST_F(LimiterAdminTest, LockoutsOfARemovedPolicyAreNotListed) {
  Offend("alice");
  ASSERT_TRUE(
      limiter_->Block(Operator(Ip("203.0.113.9"), "scan"), absl::Hours(1))
          .ok());
  Install({MakePolicy("ip", {"ip"}, 100, absl::Minutes(1))});
  EXPECT_THAT(Listed(), ElementsAre("203.0.113.9"));
  Policy login = MakePolicy("login", {"user"}, 3, absl::Minutes(1));
  login.lockout =
      LockoutSpec{absl::Minutes(15), 2.0, absl::Hours(1), absl::Hours(24)};
  Install({login, MakePolicy("ip", {"ip"}, 100, absl::Minutes(1))});
  EXPECT_THAT(Listed(), ElementsAre("203.0.113.9", "alice"));
}

}  // namespace
}  // namespace gatehouse
