// Limiter::RunBatch: independent items decided in order, one commit.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "service/core/in_memory_counter_store.h"
#include "service/core/limiter.h"
#include "tests/core/limiter_test_util.h"
#include "tests/testing/fault_injecting_counter_store.h"

namespace gatehouse {
namespace {

using core_test::MakePolicy;
using core_test::MakeRequest;
using core_test::Subject;

class LimiterBatchTest : public ::testing::Test {
 protected:
  LimiterBatchTest() {
    Policy login = MakePolicy("login", {"user"}, 3, absl::Minutes(1));
    login.lockout = LockoutSpec{absl::Minutes(15), 2.0, absl::Hours(24)};
    auto policies = std::make_shared<const PolicySet>(std::vector<Policy>{
        MakePolicy("ip", {"ip"}, 2, absl::Minutes(1)), login});
    limiter_ = std::make_unique<Limiter>(&clock_, &store_, policies);
  }

  // Runs (op, request) pairs as one batch.
  std::vector<absl::StatusOr<Response>> RunBatch(
      const std::vector<std::pair<Operation, Request>>& items) {
    std::vector<BatchItem> batch;
    for (const auto& [op, request] : items) batch.push_back({op, &request});
    return limiter_->RunBatch(batch);
  }

  static Request Login(const std::string& user) {
    return MakeRequest({Subject("login", {{"user", user}})});
  }
  static Request Ip(const std::string& ip) {
    return MakeRequest({Subject("ip", {{"ip", ip}})});
  }

  SimulatedClock clock_{core_test::AlignedStart()};
  InMemoryCounterStore memory_;
  // Counts every commit (also audit-only ones) and fails them on request.
  testing::FaultInjectingCounterStore store_{&memory_};
  std::unique_ptr<Limiter> limiter_;
};

// The same sequence of operations on fresh keys: the batch on "a" keys, one
// call at a time on "b" keys.
std::vector<std::pair<Operation, Request>> Sequence(const std::string& tag) {
  auto login = [&] {
    return MakeRequest({Subject("login", {{"user", "u-" + tag}})});
  };
  auto ip = [&] { return MakeRequest({Subject("ip", {{"ip", tag}})}); };
  auto both = [&] {
    return MakeRequest({Subject("login", {{"user", "u-" + tag}}),
                        Subject("ip", {{"ip", tag}})});
  };
  return {{Operation::kCheck, ip()},     {Operation::kRecord, login()},
          {Operation::kPeek, login()},   {Operation::kCheck, both()},
          {Operation::kRecord, login()}, {Operation::kCheck, ip()},
          {Operation::kPeek, both()},    {Operation::kReset, login()},
          {Operation::kCheck, both()},   {Operation::kRecord, login()}};
}

TEST_F(LimiterBatchTest, AnswersExactlyAsTheSameCallsOneAfterAnother) {
  const auto batch_items = Sequence("10.0.0.1");
  const auto unary_items = Sequence("10.0.0.2");

  const int before = store_.commits();
  const std::vector<absl::StatusOr<Response>> batched = RunBatch(batch_items);
  EXPECT_EQ(store_.commits() - before, 1);

  ASSERT_EQ(batched.size(), unary_items.size());
  for (size_t i = 0; i < unary_items.size(); ++i) {
    SCOPED_TRACE(i);
    const absl::StatusOr<Response> unary =
        limiter_->Run(unary_items[i].first, unary_items[i].second);
    ASSERT_TRUE(unary.ok()) << unary.status();
    ASSERT_TRUE(batched[i].ok()) << batched[i].status();
    EXPECT_EQ(batched[i]->allowed, unary->allowed);
    ASSERT_EQ(batched[i]->verdicts.size(), unary->verdicts.size());
    for (size_t v = 0; v < unary->verdicts.size(); ++v) {
      const Verdict& b = batched[i]->verdicts[v];
      const Verdict& u = unary->verdicts[v];
      EXPECT_EQ(b.decision, u.decision);
      EXPECT_EQ(b.count, u.count);
      EXPECT_EQ(b.remaining, u.remaining);
      EXPECT_EQ(b.ceiling_hit, u.ceiling_hit);
      EXPECT_EQ(b.retry_after, u.retry_after);
      EXPECT_EQ(b.locked_until, u.locked_until);
      EXPECT_EQ(b.audit_sequence != 0, u.audit_sequence != 0);
    }
  }
  // The second Check of "ip" (limit 2) was the third hit: denied.
  EXPECT_FALSE(batched[5]->allowed);
  // After the Reset the login counter started again from zero.
  EXPECT_EQ(batched[9]->verdicts[0].count, 1u);
}

TEST_F(LimiterBatchTest, AuditSequencesFollowItemOrderWithoutGaps) {
  const std::vector<absl::StatusOr<Response>> results =
      RunBatch({{Operation::kRecord, Login("alice")},
                {Operation::kPeek, Login("alice")},  // Allowed: no event.
                {Operation::kCheck, Ip("10.0.0.1")},
                {Operation::kReset, Login("alice")}});
  ASSERT_EQ(results.size(), 4u);
  for (const auto& r : results) ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(results[0]->verdicts[0].audit_sequence, 1u);
  EXPECT_EQ(results[1]->verdicts[0].audit_sequence, 0u);
  EXPECT_EQ(results[2]->verdicts[0].audit_sequence, 2u);
  EXPECT_EQ(results[3]->verdicts[0].audit_sequence, 3u);
  EXPECT_EQ(memory_.HeadSequence(), 3u);
  absl::StatusOr<std::vector<AuditEvent>> events = memory_.Read(1, 10);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 3u);
  EXPECT_EQ((*events)[0].op, Operation::kRecord);
  EXPECT_EQ((*events)[1].op, Operation::kCheck);
  EXPECT_EQ((*events)[2].op, Operation::kReset);
}

TEST_F(LimiterBatchTest, InvalidItemFailsAloneAndCountsNothing) {
  Request unknown = MakeRequest({Subject("nope", {{"ip", "10.0.0.1"}})});
  Request bad_ip = MakeRequest({Subject("ip", {{"ip", "10.0.0.1"}}),
                                Subject("ip", {{"ip", "not-an-ip"}})});
  const std::vector<absl::StatusOr<Response>> results =
      RunBatch({{Operation::kCheck, Ip("10.0.0.1")},
                {Operation::kCheck, unknown},
                {Operation::kRecord, bad_ip},
                {Operation::kCheck, Ip("10.0.0.1")}});
  ASSERT_EQ(results.size(), 4u);
  ASSERT_TRUE(results[0].ok());
  EXPECT_EQ(results[1].status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(results[2].status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(results[2].status().message().find("subjects[1].key"),
            absl::string_view::npos)
      << results[2].status();
  ASSERT_TRUE(results[3].ok());
  // The invalid Record's valid first subject counted nothing: 2, not 3.
  EXPECT_EQ(results[3]->verdicts[0].count, 2u);
  EXPECT_TRUE(results[3]->allowed);
  EXPECT_EQ(memory_.HeadSequence(), 2u);
}

TEST_F(LimiterBatchTest, RecordThenResetLeavesNoCounterResetThenRecordOne) {
  auto results = RunBatch({{Operation::kRecord, Login("alice")},
                           {Operation::kRecord, Login("alice")},
                           {Operation::kReset, Login("alice")},
                           {Operation::kReset, Login("bob")},
                           {Operation::kRecord, Login("bob")}});
  for (const auto& r : results) ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(results[1]->verdicts[0].count, 2u);
  EXPECT_EQ(memory_.size(), 1u);  // Only bob's counter is stored.
  const absl::StatusOr<Response> alice =
      limiter_->Run(Operation::kPeek, Login("alice"));
  const absl::StatusOr<Response> bob =
      limiter_->Run(Operation::kPeek, Login("bob"));
  ASSERT_TRUE(alice.ok() && bob.ok());
  EXPECT_EQ(alice->verdicts[0].count, 0u);
  EXPECT_EQ(bob->verdicts[0].count, 1u);
}

TEST_F(LimiterBatchTest, CeilingAndLockoutCrossedOnceInsideABatch) {
  std::vector<std::pair<Operation, Request>> items;
  for (int i = 0; i < 5; ++i) items.push_back({Operation::kRecord, Login("a")});
  items.push_back({Operation::kCheck, Login("a")});
  const auto results = RunBatch(items);
  int ceilings = 0;
  for (size_t i = 0; i < 5; ++i) {
    ASSERT_TRUE(results[i].ok());
    EXPECT_EQ(results[i]->verdicts[0].count, i + 1);
    if (results[i]->verdicts[0].ceiling_hit) ++ceilings;
  }
  EXPECT_EQ(ceilings, 1);
  EXPECT_TRUE(results[2]->verdicts[0].ceiling_hit);
  ASSERT_TRUE(results[5].ok());
  EXPECT_FALSE(results[5]->allowed);
  EXPECT_EQ(results[5]->verdicts[0].retry_after, absl::Minutes(15));
}

TEST_F(LimiterBatchTest, FailedCommitFailsEveryDecidedItemAndWritesNothing) {
  store_.FailCommits(absl::UnavailableError("commit: disk on fire"));
  Request unknown = MakeRequest({Subject("nope", {{"ip", "10.0.0.1"}})});
  const auto results = RunBatch({{Operation::kRecord, Login("alice")},
                                 {Operation::kCheck, unknown},
                                 {Operation::kPeek, Ip("10.0.0.1")},
                                 {Operation::kPeek, Login("alice")}});
  ASSERT_EQ(results.size(), 4u);
  EXPECT_EQ(results[0].status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(results[1].status().code(), absl::StatusCode::kNotFound);
  // A Peek of what the store holds answers, unaudited, as a unary Peek does
  // ...
  ASSERT_TRUE(results[2].ok()) << results[2].status();
  EXPECT_EQ(results[2]->audit_status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(results[2]->verdicts[0].count, 0u);
  // ... but not one that saw the Record that was never written.
  EXPECT_EQ(results[3].status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(store_.commits(), 1);
  EXPECT_EQ(memory_.size(), 0u);
  EXPECT_EQ(memory_.HeadSequence(), 0u);
}

TEST_F(LimiterBatchTest, BatchOfOnlyInvalidItemsCommitsNothing) {
  Request empty;
  const auto results = RunBatch({{Operation::kCheck, empty}});
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_.commits(), 0);
}

}  // namespace
}  // namespace gatehouse
