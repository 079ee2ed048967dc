#include "service/audit/audit_cursor.h"

#include <cstdint>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "service/core/audit_event.h"
#include "service/core/counter_store.h"
#include "service/core/in_memory_counter_store.h"

namespace gatehouse {
namespace {

constexpr int64_t kStartMs = 1'700'000'000'000;

AuditEvent Event(std::string policy, Decision decision, bool ceiling,
                 int64_t time_ms) {
  AuditEvent e;
  e.policy = std::move(policy);
  e.decision = decision;
  e.ceiling_hit = ceiling;
  e.time_ms = time_ms;
  return e;
}

void Append(InMemoryCounterStore& store, std::vector<AuditEvent> events) {
  WriteSet writes;
  writes.audit = std::move(events);
  ASSERT_TRUE(store.Commit(writes).ok());
}

std::vector<uint64_t> Sequences(const std::vector<AuditEvent>& events) {
  std::vector<uint64_t> out;
  for (const AuditEvent& e : events) out.push_back(e.sequence);
  return out;
}

// An AuditLog forwarding to an InMemoryCounterStore that tells the test when
// a reader starts waiting and what the wait returned.
class ObservedLog final : public AuditLog {
 public:
  explicit ObservedLog(const InMemoryCounterStore* inner) : inner_(inner) {}

  uint64_t HeadSequence() const override { return inner_->HeadSequence(); }
  uint64_t OldestSequence() const override { return inner_->OldestSequence(); }
  absl::StatusOr<std::vector<AuditEvent>> Read(uint64_t from,
                                               size_t max) const override {
    return inner_->Read(from, max);
  }
  bool AwaitAfter(uint64_t after, absl::Duration timeout) const override {
    {
      absl::MutexLock lock(&mu_);
      if (!waiting_.HasBeenNotified()) waiting_.Notify();
    }
    const bool woke = inner_->AwaitAfter(after, timeout);
    absl::MutexLock lock(&mu_);
    results_.push_back(woke);
    return woke;
  }
  absl::StatusOr<uint64_t> FirstAtOrAfter(absl::Time t) const override {
    return inner_->FirstAtOrAfter(t);
  }

  // Notified when AwaitAfter is first entered.
  absl::Notification& waiting() const { return waiting_; }
  std::vector<bool> results() const {
    absl::MutexLock lock(&mu_);
    return results_;
  }

 private:
  const InMemoryCounterStore* const inner_;
  mutable absl::Notification waiting_;
  mutable absl::Mutex mu_;
  mutable std::vector<bool> results_ ABSL_GUARDED_BY(mu_);
};

class AuditCursorTest : public ::testing::Test {
 protected:
  // Five events, one second apart from kStartMs:
  //   1 login_ip ALLOW, 2 login_ip DENY ceiling, 3 per_user ALLOW ceiling,
  //   4 per_user DENY, 5 login_ip DENY.
  void SetUp() override {
    Append(store_,
           {Event("login_ip", Decision::kAllow, false, kStartMs),
            Event("login_ip", Decision::kDeny, true, kStartMs + 1000),
            Event("per_user", Decision::kAllow, true, kStartMs + 2000)});
    Append(store_,
           {Event("per_user", Decision::kDeny, false, kStartMs + 3000),
            Event("login_ip", Decision::kDeny, false, kStartMs + 4000)});
    ASSERT_EQ(store_.HeadSequence(), 5u);
  }

  AuditCursor Open(const AuditStart& start, AuditFilter filter = {},
                   bool follow = false) {
    absl::StatusOr<AuditCursor> cursor =
        AuditCursor::Open(&store_, start, std::move(filter), follow);
    EXPECT_TRUE(cursor.ok()) << cursor.status();
    if (!cursor.ok()) {
      // A cursor past the end, so the test fails on its assertions.
      return *AuditCursor::Open(&store_, Now(), {}, false);
    }
    return *std::move(cursor);
  }

  // Every event the cursor delivers until done, in batches of `max`.
  std::vector<AuditEvent> Drain(AuditCursor& cursor, size_t max = 100) {
    std::vector<AuditEvent> out;
    for (int i = 0; i < 1000 && !cursor.done(); ++i) {
      absl::StatusOr<std::vector<AuditEvent>> batch =
          cursor.Next(max, absl::ZeroDuration());
      EXPECT_TRUE(batch.ok()) << batch.status();
      if (!batch.ok()) break;
      out.insert(out.end(), batch->begin(), batch->end());
    }
    EXPECT_TRUE(cursor.done());
    return out;
  }

  static AuditStart Oldest() { return AuditStart{}; }
  static AuditStart Now() {
    AuditStart s;
    s.kind = AuditStart::Kind::kNow;
    return s;
  }
  static AuditStart FromSequence(uint64_t sequence) {
    AuditStart s;
    s.kind = AuditStart::Kind::kSequence;
    s.sequence = sequence;
    return s;
  }
  static AuditStart FromTime(int64_t ms) {
    AuditStart s;
    s.kind = AuditStart::Kind::kTime;
    s.time = absl::FromUnixMillis(ms);
    return s;
  }

  InMemoryCounterStore store_;
};

TEST_F(AuditCursorTest, FromOldestDeliversEverythingThenIsDone) {
  AuditCursor cursor = Open(Oldest());
  EXPECT_FALSE(cursor.done());
  EXPECT_EQ(cursor.next_sequence(), 1u);
  const std::vector<AuditEvent> events = Drain(cursor);
  EXPECT_EQ(Sequences(events), (std::vector<uint64_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(events[2].policy, "per_user");
  EXPECT_EQ(cursor.next_sequence(), 6u);
  // Done stays done, even when more arrives.
  Append(store_, {Event("login_ip", Decision::kAllow, false, kStartMs)});
  absl::StatusOr<std::vector<AuditEvent>> more =
      cursor.Next(10, absl::ZeroDuration());
  ASSERT_TRUE(more.ok());
  EXPECT_TRUE(more->empty());
}

TEST_F(AuditCursorTest, FromOldestStartsAtRetentionNotAtOne) {
  store_.DropAuditBefore(4);
  AuditCursor cursor = Open(Oldest());
  EXPECT_EQ(cursor.next_sequence(), 4u);
  EXPECT_EQ(Sequences(Drain(cursor)), (std::vector<uint64_t>{4, 5}));
}

TEST_F(AuditCursorTest, FromSequenceStartsThere) {
  AuditCursor cursor = Open(FromSequence(3));
  EXPECT_EQ(Sequences(Drain(cursor)), (std::vector<uint64_t>{3, 4, 5}));
}

TEST_F(AuditCursorTest, FromHeadPlusOneIsEmptyAndDone) {
  AuditCursor cursor = Open(FromSequence(6));
  EXPECT_TRUE(Drain(cursor).empty());
  EXPECT_EQ(cursor.next_sequence(), 6u);
}

TEST_F(AuditCursorTest, FromSequenceBeyondHeadPlusOneIsOutOfRange) {
  absl::StatusOr<AuditCursor> cursor =
      AuditCursor::Open(&store_, FromSequence(7), {}, false);
  EXPECT_EQ(cursor.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_TRUE(absl::StrContains(cursor.status().message(), "head 5"))
      << cursor.status();
}

TEST_F(AuditCursorTest, FromSequenceOlderThanRetentionNamesTheOldest) {
  store_.DropAuditBefore(3);
  ASSERT_EQ(store_.OldestSequence(), 3u);
  for (uint64_t from : {0, 1, 2}) {
    absl::StatusOr<AuditCursor> cursor =
        AuditCursor::Open(&store_, FromSequence(from), {}, false);
    EXPECT_EQ(cursor.status().code(), absl::StatusCode::kOutOfRange) << from;
    EXPECT_TRUE(absl::StrContains(cursor.status().message(),
                                  "the oldest available is 3"))
        << cursor.status();
  }
  AuditCursor at_oldest = Open(FromSequence(3));
  EXPECT_EQ(Sequences(Drain(at_oldest)), (std::vector<uint64_t>{3, 4, 5}));
}

TEST_F(AuditCursorTest, FromTimeStartsAtTheFirstEventAtOrAfterIt) {
  struct Case {
    int64_t ms;
    std::vector<uint64_t> want;
  };
  for (const Case& c : std::vector<Case>{
           {kStartMs - 60'000, {1, 2, 3, 4, 5}},
           {kStartMs, {1, 2, 3, 4, 5}},
           {kStartMs + 1, {2, 3, 4, 5}},
           {kStartMs + 2000, {3, 4, 5}},
           {kStartMs + 3999, {5}},
           {kStartMs + 4001, {}},
       }) {
    SCOPED_TRACE(c.ms - kStartMs);
    AuditCursor cursor = Open(FromTime(c.ms));
    EXPECT_EQ(Sequences(Drain(cursor)), c.want);
  }
}

TEST_F(AuditCursorTest, FromNowSkipsHistoryButSeesLaterEvents) {
  AuditCursor cursor = Open(Now());
  EXPECT_EQ(cursor.next_sequence(), 6u);
  Append(store_, {Event("a", Decision::kAllow, false, kStartMs + 5000),
                  Event("b", Decision::kDeny, false, kStartMs + 6000)});
  const std::vector<AuditEvent> events = Drain(cursor);
  EXPECT_EQ(Sequences(events), (std::vector<uint64_t>{6, 7}));
  EXPECT_EQ(events[0].policy, "a");
}

TEST_F(AuditCursorTest, FiltersByPolicyDecisionAndCeiling) {
  struct Case {
    std::string name;
    AuditFilter filter;
    std::vector<uint64_t> want;
  };
  AuditFilter by_policy;
  by_policy.policies = {"per_user"};
  AuditFilter by_decision;
  by_decision.decisions = {Decision::kDeny};
  AuditFilter ceilings;
  ceilings.ceiling_only = true;
  AuditFilter combined;
  combined.policies = {"login_ip", "other"};
  combined.decisions = {Decision::kDeny};
  combined.ceiling_only = true;
  AuditFilter both_decisions;
  both_decisions.decisions = {Decision::kAllow, Decision::kDeny};
  AuditFilter unknown_policy;
  unknown_policy.policies = {"nope"};
  for (const Case& c : std::vector<Case>{
           {"none", AuditFilter{}, {1, 2, 3, 4, 5}},
           {"policy", by_policy, {3, 4}},
           {"decision", by_decision, {2, 4, 5}},
           {"ceiling", ceilings, {2, 3}},
           {"combined", combined, {2}},
           {"both_decisions", both_decisions, {1, 2, 3, 4, 5}},
           {"unknown_policy", unknown_policy, {}},
       }) {
    SCOPED_TRACE(c.name);
    AuditCursor cursor = Open(Oldest(), c.filter);
    EXPECT_EQ(Sequences(Drain(cursor, 2)), c.want);
    // Filtered-out events are still consumed.
    EXPECT_EQ(cursor.next_sequence(), 6u);
  }
}

TEST_F(AuditCursorTest, BatchesNeverExceedMax) {
  for (int i = 0; i < 20; ++i) {
    Append(store_, {Event("bulk", Decision::kAllow, false, kStartMs + 5000)});
  }
  AuditCursor cursor = Open(Oldest());
  std::vector<size_t> sizes;
  std::vector<uint64_t> all;
  while (!cursor.done() && sizes.size() < 100) {
    absl::StatusOr<std::vector<AuditEvent>> batch =
        cursor.Next(10, absl::ZeroDuration());
    ASSERT_TRUE(batch.ok()) << batch.status();
    sizes.push_back(batch->size());
    for (const AuditEvent& e : *batch) all.push_back(e.sequence);
  }
  EXPECT_EQ(sizes, (std::vector<size_t>{10, 10, 5, 0}));
  ASSERT_EQ(all.size(), 25u);
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i], i + 1);

  // A filter drops events from a batch; it never pulls in more.
  AuditFilter bulk;
  bulk.policies = {"bulk"};
  AuditCursor filtered = Open(Oldest(), bulk);
  absl::StatusOr<std::vector<AuditEvent>> first =
      filtered.Next(10, absl::ZeroDuration());
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(Sequences(*first), (std::vector<uint64_t>{6, 7, 8, 9, 10}));
  EXPECT_EQ(filtered.next_sequence(), 11u);
}

TEST_F(AuditCursorTest, RetentionOvertakingTheCursorIsOutOfRange) {
  AuditCursor cursor = Open(Oldest());
  absl::StatusOr<std::vector<AuditEvent>> first =
      cursor.Next(2, absl::ZeroDuration());
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(Sequences(*first), (std::vector<uint64_t>{1, 2}));
  store_.DropAuditBefore(5);
  absl::StatusOr<std::vector<AuditEvent>> next =
      cursor.Next(2, absl::ZeroDuration());
  EXPECT_EQ(next.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_TRUE(
      absl::StrContains(next.status().message(), "the oldest available is 5"))
      << next.status();
}

TEST_F(AuditCursorTest, FollowWaitsAndThenDeliversAnEventCommittedMeanwhile) {
  ObservedLog log(&store_);
  AuditFilter deny;
  deny.decisions = {Decision::kDeny};
  absl::StatusOr<AuditCursor> opened =
      AuditCursor::Open(&log, FromSequence(4), deny, /*follow=*/true);
  ASSERT_TRUE(opened.ok()) << opened.status();
  AuditCursor cursor = *std::move(opened);

  absl::StatusOr<std::vector<AuditEvent>> history =
      cursor.Next(10, absl::ZeroDuration());
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(Sequences(*history), (std::vector<uint64_t>{4, 5}));

  // Commits only once the cursor is waiting; the wait is bounded so a
  // broken wake-up fails the test instead of hanging it.
  std::thread writer([this, &log] {
    const bool waited =
        log.waiting().WaitForNotificationWithTimeout(absl::Seconds(30));
    EXPECT_TRUE(waited);
    Append(store_, {Event("login_ip", Decision::kAllow, false, kStartMs + 5000),
                    Event("login_ip", Decision::kDeny, true, kStartMs + 5000)});
  });
  absl::StatusOr<std::vector<AuditEvent>> woken =
      cursor.Next(10, absl::Seconds(60));
  writer.join();
  ASSERT_TRUE(woken.ok()) << woken.status();
  // The wait ended because the log moved, not because it timed out.
  EXPECT_EQ(log.results(), (std::vector<bool>{true}));
  EXPECT_FALSE(cursor.done());

  absl::StatusOr<std::vector<AuditEvent>> live =
      cursor.Next(10, absl::ZeroDuration());
  ASSERT_TRUE(live.ok()) << live.status();
  ASSERT_EQ(Sequences(*live), (std::vector<uint64_t>{7}));
  EXPECT_TRUE((*live)[0].ceiling_hit);
  EXPECT_EQ(cursor.next_sequence(), 8u);
}

TEST_F(AuditCursorTest, FollowWithNothingNewTimesOutEmptyAndStaysOpen) {
  ObservedLog log(&store_);
  absl::StatusOr<AuditCursor> opened =
      AuditCursor::Open(&log, Now(), {}, /*follow=*/true);
  ASSERT_TRUE(opened.ok()) << opened.status();
  AuditCursor cursor = *std::move(opened);
  absl::StatusOr<std::vector<AuditEvent>> batch =
      cursor.Next(10, absl::Milliseconds(20));
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_TRUE(batch->empty());
  EXPECT_FALSE(cursor.done());
  EXPECT_EQ(log.results(), (std::vector<bool>{false}));
  EXPECT_EQ(cursor.next_sequence(), 6u);
}

}  // namespace
}  // namespace gatehouse
